//! Confidence calibration and the out-of-scope thresholds: temperature
//! scaling fitted on held-out data, expected calibration error, reliability
//! bins, and the thresholds (confidence, margin, centroid similarity, and an
//! evidence gate on confidence plus nearest-example similarity) that best
//! separate in-scope from out-of-scope messages.

use serde::{Deserialize, Serialize};

use super::classifier::softmax_rows;
use super::prediction::{EvidenceGate, Scores, Thresholds, TopClass};

/// Mean negative log-likelihood of the true classes.
pub fn nll(probs: &[Vec<f32>], labels: &[usize]) -> f64 {
    let total: f64 = probs
        .iter()
        .zip(labels)
        .map(|(p, &y)| -(p[y].max(1e-12) as f64).ln())
        .sum();
    total / probs.len().max(1) as f64
}

/// The temperature minimising the NLL of `logits` (golden-section search over
/// log T in [0.05, 20]).
pub fn fit_temperature(logits: &[Vec<f32>], labels: &[usize]) -> f32 {
    if logits.is_empty() {
        return 1.0;
    }
    let loss = |log_t: f64| nll(&softmax_rows(logits, log_t.exp() as f32), labels);
    let (mut a, mut b) = (0.05f64.ln(), 20f64.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (loss(c), loss(d));
    for _ in 0..60 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = loss(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = loss(d);
        }
    }
    (((a + b) / 2.0).exp()) as f32
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReliabilityBin {
    pub lower: f32,
    pub upper: f32,
    pub count: usize,
    /// Mean top-1 confidence of the rows in the bin.
    pub confidence: f32,
    /// Share of those rows whose top-1 class is right.
    pub accuracy: f32,
}

/// Rows binned by top-1 confidence into `bins` equal-width bins.
pub fn reliability(probs: &[Vec<f32>], labels: &[usize], bins: usize) -> Vec<ReliabilityBin> {
    let mut sums = vec![(0usize, 0f64, 0f64); bins];
    for (p, &y) in probs.iter().zip(labels) {
        let (best, conf) =
            p.iter().enumerate().fold(
                (0, f32::MIN),
                |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
            );
        let bin = ((conf * bins as f32) as usize).min(bins - 1);
        sums[bin].0 += 1;
        sums[bin].1 += conf as f64;
        sums[bin].2 += (best == y) as u8 as f64;
    }
    sums.iter()
        .enumerate()
        .map(|(i, &(n, c, a))| ReliabilityBin {
            lower: i as f32 / bins as f32,
            upper: (i + 1) as f32 / bins as f32,
            count: n,
            confidence: if n > 0 { (c / n as f64) as f32 } else { 0.0 },
            accuracy: if n > 0 { (a / n as f64) as f32 } else { 0.0 },
        })
        .collect()
}

/// Expected calibration error over 15 equal-width bins.
pub fn ece(probs: &[Vec<f32>], labels: &[usize]) -> f32 {
    let n = probs.len().max(1) as f32;
    reliability(probs, labels, 15)
        .iter()
        .map(|b| b.count as f32 / n * (b.confidence - b.accuracy).abs())
        .sum()
}

/// How thresholds are chosen.
#[derive(Debug, Clone, Copy)]
pub struct ThresholdGoal {
    /// With out-of-scope rows: weight of out-of-scope recall against in-scope
    /// accuracy in the objective (1.0 = balanced).
    pub oos_weight: f32,
    /// Without out-of-scope rows: the share of correctly classified in-scope
    /// rows the thresholds may turn down.
    pub max_false_reject: f32,
}

impl Default for ThresholdGoal {
    fn default() -> Self {
        ThresholdGoal {
            oos_weight: 1.0,
            max_false_reject: 0.02,
        }
    }
}

/// Chooses thresholds on held-out rows. `labels[i]` is `None` for an
/// out-of-scope row; `oos_class` is the out-of-scope class index, if the model
/// has one (a row predicted as that class is rejected whatever the thresholds).
/// Centroid similarities are used when the scores have them; with
/// nearest-example similarities and out-of-scope rows to judge by, an
/// [`EvidenceGate`] is added when it scores better on the held-out rows.
pub fn choose_thresholds(
    scores: &[Scores],
    labels: &[Option<usize>],
    oos_class: Option<usize>,
    goal: ThresholdGoal,
) -> Thresholds {
    let rows: Vec<HeldOut> = scores
        .iter()
        .zip(labels)
        .map(|(s, &label)| HeldOut {
            label,
            top: TopClass::of(s, oos_class),
        })
        .collect();
    let has_oos = labels.iter().any(Option::is_none);
    let has_similarities = scores.iter().all(|s| s.similarities.is_some()) && !scores.is_empty();
    let judge = |t: &Thresholds| objective(&rows, oos_class, has_oos, t, goal);
    let best = best_plain_gates(&rows, has_similarities, &judge);
    // The evidence gate, on top of the gates above or alone. Without
    // out-of-scope rows there is nothing to show what it buys, so it is left off.
    if has_oos && rows.iter().all(|r| r.top.neighbor_similarity.is_some()) && !rows.is_empty() {
        return with_evidence_gate(&rows, oos_class, best, &judge).1;
    }
    best.1
}

/// The best confidence, margin and (with similarities) similarity cut-offs on a grid,
/// with their score.
fn best_plain_gates(
    rows: &[HeldOut],
    has_similarities: bool,
    judge: &dyn Fn(&Thresholds) -> f32,
) -> (f32, Thresholds) {
    let confidences: Vec<f32> = (0..=95).map(|c| c as f32 / 100.0).collect();
    let margins = [0.0f32, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3];
    // Similarity cut-offs: low quantiles of the in-scope rows' similarities
    // (what share of in-scope rows each would turn down), plus "off".
    let mut similarity_cuts = vec![0.0f32];
    if has_similarities {
        similarity_cuts.extend(in_scope_quantiles(
            rows,
            |r| r.top.similarity.unwrap_or(1.0),
            &[0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2],
        ));
    }
    let mut best = (f32::MIN, Thresholds::default());
    for &min_similarity in &similarity_cuts {
        for &min_confidence in &confidences {
            for &min_margin in &margins {
                let t = Thresholds {
                    min_confidence,
                    min_margin,
                    min_similarity,
                    evidence: None,
                };
                let score = judge(&t);
                if score > best.0 {
                    best = (score, t);
                }
            }
        }
    }
    best
}

/// `best`, or an [`EvidenceGate`] on top of its gates or alone when one scores better.
fn with_evidence_gate(
    rows: &[HeldOut],
    oos_class: Option<usize>,
    mut best: (f32, Thresholds),
    judge: &dyn Fn(&Thresholds) -> f32,
) -> (f32, Thresholds) {
    let base = best.1;
    // The out-of-scope class's probability counts only when there is one.
    let penalties: &[f32] = if oos_class.is_some() {
        &[0.0, 0.25, 0.5, 1.0]
    } else {
        &[0.0]
    };
    let quantiles: Vec<f64> = (1..=60).map(|i| i as f64 * 0.005).collect();
    for neighbor_weight in [1.0f32, 2.0, 4.0, 8.0, 16.0] {
        for &oos_penalty in penalties {
            let probe = EvidenceGate {
                neighbor_weight,
                oos_penalty,
                min_evidence: 0.0,
            };
            let cuts = in_scope_quantiles(
                rows,
                |r| r.top.evidence(&probe).unwrap_or(f32::NEG_INFINITY),
                &quantiles,
            );
            for min_evidence in cuts {
                let evidence = Some(EvidenceGate {
                    min_evidence,
                    ..probe
                });
                let alone = Thresholds {
                    evidence,
                    ..Thresholds::default()
                };
                for t in [Thresholds { evidence, ..base }, alone] {
                    let score = judge(&t);
                    if score > best.0 {
                        best = (score, t);
                    }
                }
            }
        }
    }
    best
}

/// What threshold choice needs of one held-out row.
struct HeldOut {
    label: Option<usize>,
    top: TopClass,
}

impl HeldOut {
    fn rejected(&self, oos_class: Option<usize>, t: &Thresholds) -> bool {
        self.top.rejection(oos_class, t).is_some()
    }
}

/// Values of `value` over the in-scope rows at the given quantiles.
fn in_scope_quantiles(
    rows: &[HeldOut],
    value: impl Fn(&HeldOut) -> f32,
    quantiles: &[f64],
) -> Vec<f32> {
    let mut values: Vec<f32> = rows
        .iter()
        .filter(|r| r.label.is_some())
        .map(value)
        .collect();
    values.sort_by(f32::total_cmp);
    quantiles
        .iter()
        .filter_map(|q| values.get(((values.len() as f64) * q) as usize).copied())
        .collect()
}

/// How good thresholds `t` are on the held-out rows (higher is better;
/// `f32::MIN` when not admissible).
fn objective(
    rows: &[HeldOut],
    oos_class: Option<usize>,
    has_oos: bool,
    t: &Thresholds,
    goal: ThresholdGoal,
) -> f32 {
    let (mut in_n, mut in_ok, mut oos_n, mut oos_ok, mut correct, mut correct_rejected) =
        (0f32, 0f32, 0f32, 0f32, 0f32, 0f32);
    for row in rows {
        let rej = row.rejected(oos_class, t);
        match row.label {
            Some(y) => {
                in_n += 1.0;
                let right = row.top.index == y;
                in_ok += (right && !rej) as u8 as f32;
                correct += right as u8 as f32;
                correct_rejected += (right && rej) as u8 as f32;
            }
            None => {
                oos_n += 1.0;
                oos_ok += rej as u8 as f32;
            }
        }
    }
    if has_oos {
        let in_acc = in_ok / in_n.max(1.0);
        let oos_recall = oos_ok / oos_n.max(1.0);
        (in_acc + goal.oos_weight * oos_recall) / (1.0 + goal.oos_weight)
    } else if correct_rejected / correct.max(1.0) <= goal.max_false_reject {
        // Among admissible settings prefer the strictest.
        t.min_confidence + t.min_margin + t.min_similarity
    } else {
        f32::MIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::classifier::softmax_rows;
    use crate::model::prediction::decide;

    fn to_scores(
        probs: &[Vec<f32>],
        sims: Option<&[Vec<f32>]>,
        neighbors: Option<&[f32]>,
    ) -> Vec<Scores> {
        probs
            .iter()
            .enumerate()
            .map(|(i, p)| Scores {
                probs: p.clone(),
                similarities: sims.map(|s| s[i].clone()),
                neighbor_similarity: neighbors.map(|n| n[i]),
            })
            .collect()
    }

    #[test]
    fn temperature_undoes_overconfidence() {
        // Logits scaled by 4 are overconfident for labels that are right 70 %
        // of the time; the fitted temperature must be well above 1.
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        for i in 0..100 {
            logits.push(vec![4.0, 0.0, 0.0]);
            labels.push(if i % 10 < 7 { 0 } else { 1 + i % 2 });
        }
        let t = fit_temperature(&logits, &labels);
        assert!(t > 2.0, "temperature {t}");
        let before = ece(&softmax_rows(&logits, 1.0), &labels);
        let after = ece(&softmax_rows(&logits, t), &labels);
        assert!(after < before / 3.0, "ece {before} -> {after}");
        assert!(
            nll(&softmax_rows(&logits, t), &labels) < nll(&softmax_rows(&logits, 1.0), &labels)
        );
    }

    #[test]
    fn ece_is_zero_for_perfect_calibration() {
        let probs = vec![vec![1.0, 0.0]; 10];
        assert_eq!(ece(&probs, &[0; 10]), 0.0);
        let half = vec![vec![0.5, 0.5]; 10];
        let labels: Vec<usize> = (0..10).map(|i| i % 2).collect();
        assert!(ece(&half, &labels) < 1e-6);
        let bins = reliability(&probs, &[0; 10], 10);
        assert_eq!(bins[9].count, 10);
        assert_eq!(bins[9].accuracy, 1.0);
    }

    #[test]
    fn thresholds_separate_confident_in_scope_from_unsure_out_of_scope() {
        let mut probs = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..50 {
            probs.push(vec![0.9, 0.05, 0.05]);
            labels.push(Some(0));
        }
        for _ in 0..50 {
            probs.push(vec![0.4, 0.35, 0.25]);
            labels.push(None);
        }
        let t = choose_thresholds(
            &to_scores(&probs, None, None),
            &labels,
            None,
            ThresholdGoal::default(),
        );
        // Whichever rule does it, every in-scope row is kept and every
        // out-of-scope row turned down.
        let rejects = |p: &Vec<f32>| {
            let mut s = p.clone();
            s.sort_by(|a, b| b.total_cmp(a));
            s[0] < t.min_confidence || s[0] - s[1] < t.min_margin
        };
        assert!(
            probs[..50].iter().all(|p| !rejects(p)),
            "{t:?} rejects in-scope rows"
        );
        assert!(
            probs[50..].iter().all(rejects),
            "{t:?} keeps out-of-scope rows"
        );
    }

    #[test]
    fn similarity_catches_confident_out_of_scope_rows() {
        // Out-of-scope rows look as confident as in-scope ones; only their
        // distance to the centroids tells them apart.
        let mut probs = Vec::new();
        let mut sims = Vec::new();
        let mut labels = Vec::new();
        for i in 0..60 {
            probs.push(vec![0.9, 0.1]);
            sims.push(vec![0.8 + (i % 10) as f32 * 0.01, 0.2]);
            labels.push(Some(0));
        }
        for _ in 0..20 {
            probs.push(vec![0.9, 0.1]);
            sims.push(vec![0.5, 0.1]);
            labels.push(None);
        }
        let t = choose_thresholds(
            &to_scores(&probs, Some(&sims), None),
            &labels,
            None,
            ThresholdGoal::default(),
        );
        assert!(t.min_similarity > 0.5 && t.min_similarity <= 0.8, "{t:?}");
    }

    #[test]
    fn without_oos_rows_few_correct_rows_are_rejected() {
        let mut probs = Vec::new();
        let mut labels = Vec::new();
        for i in 0..100 {
            let c = 0.3 + 0.007 * i as f32;
            probs.push(vec![c, 1.0 - c]);
            labels.push(Some(if c > 0.5 { 0 } else { 1 }));
        }
        let goal = ThresholdGoal {
            oos_weight: 1.0,
            max_false_reject: 0.05,
        };
        let t = choose_thresholds(&to_scores(&probs, None, None), &labels, None, goal);
        let correct_rejected = probs
            .iter()
            .filter(|p| p[0].max(p[1]) < t.min_confidence || (p[0] - p[1]).abs() < t.min_margin)
            .count();
        assert!(correct_rejected <= 5, "{t:?} rejects {correct_rejected}");
        assert!(t.min_confidence > 0.0 || t.min_margin > 0.0);
    }

    #[test]
    fn evidence_gate_separates_what_no_single_cut_can() {
        // In scope: confident but not that close to an example, or close to
        // an example but unsure. Out of scope: middling on both. No cut on
        // confidence, margin or nearness alone keeps the first two and turns
        // down the third; their sum does.
        let labels_of = ["a", "b", "c"].map(String::from);
        let mut probs = Vec::new();
        let mut near = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..40 {
            probs.push(vec![0.9, 0.05, 0.05]);
            near.push(0.55);
            labels.push(Some(0));
            probs.push(vec![0.35, 0.33, 0.32]);
            near.push(0.9);
            labels.push(Some(0));
        }
        for _ in 0..40 {
            probs.push(vec![0.6, 0.3, 0.1]);
            near.push(0.6);
            labels.push(None);
        }
        let scores = to_scores(&probs, None, Some(&near));
        let t = choose_thresholds(&scores, &labels, None, ThresholdGoal::default());
        assert!(t.evidence.is_some(), "{t:?}");
        for (s, label) in scores.iter().zip(&labels) {
            let p = decide(s, &labels_of, None, &t);
            assert_eq!(p.out_of_scope, label.is_none(), "{t:?} on {s:?}");
        }
        // The same rows without nearest-example similarities: no gate, and
        // the best the other cut-offs can do leaves some rows misjudged.
        let blind = to_scores(&probs, None, None);
        let t = choose_thresholds(&blind, &labels, None, ThresholdGoal::default());
        assert!(t.evidence.is_none());
        let wrong = blind
            .iter()
            .zip(&labels)
            .filter(|(s, label)| decide(s, &labels_of, None, &t).out_of_scope != label.is_none())
            .count();
        assert!(wrong >= 40, "{t:?} misjudges only {wrong}");
    }
}
