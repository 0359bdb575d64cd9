//! Confidence calibration and the out-of-scope thresholds: temperature
//! scaling fitted on held-out data, expected calibration error, reliability
//! bins, and the (confidence, margin) pair that best separates in-scope from
//! out-of-scope messages.

use serde::{Deserialize, Serialize};

use super::classifier::{Thresholds, softmax_rows};

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
        let (best, conf) = p
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc });
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
/// has one (a row predicted as that class is rejected whatever the thresholds);
/// `similarities[i]` holds row i's cosine similarity to each class centroid,
/// when the model has centroids.
pub fn choose_thresholds(
    probs: &[Vec<f32>],
    similarities: Option<&[Vec<f32>]>,
    labels: &[Option<usize>],
    oos_class: Option<usize>,
    goal: ThresholdGoal,
) -> Thresholds {
    // (top-1 index, top-1 prob, margin, similarity to the top-1 centroid) per row.
    let tops: Vec<(usize, f32, f32, f32)> = probs
        .iter()
        .enumerate()
        .map(|(row, p)| {
            let mut idx: Vec<usize> = (0..p.len()).collect();
            idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
            let second = idx.get(1).map(|&i| p[i]).unwrap_or(0.0);
            let sim = similarities.map(|s| s[row][idx[0]]).unwrap_or(1.0);
            (idx[0], p[idx[0]], p[idx[0]] - second, sim)
        })
        .collect();
    let has_oos = labels.iter().any(Option::is_none);
    let confidences: Vec<f32> = (0..=95).map(|c| c as f32 / 100.0).collect();
    let margins = [0.0f32, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3];
    // Similarity cut-offs: low quantiles of the in-scope rows' similarities
    // (what share of in-scope rows each would turn down), plus "off".
    let mut similarity_cuts = vec![0.0f32];
    if similarities.is_some() {
        let mut in_sims: Vec<f32> = labels
            .iter()
            .zip(&tops)
            .filter(|(l, _)| l.is_some())
            .map(|(_, t)| t.3)
            .collect();
        in_sims.sort_by(f32::total_cmp);
        for q in [0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2] {
            if let Some(&v) = in_sims.get(((in_sims.len() as f64) * q) as usize) {
                similarity_cuts.push(v);
            }
        }
    }
    let mut best = (f32::MIN, Thresholds::default());
    for &min_similarity in &similarity_cuts {
        for &min_confidence in &confidences {
            for &min_margin in &margins {
                let t = Thresholds {
                    min_confidence,
                    min_margin,
                    min_similarity,
                };
                let (mut in_n, mut in_ok, mut oos_n, mut oos_ok, mut correct, mut correct_rejected) =
                    (0f32, 0f32, 0f32, 0f32, 0f32, 0f32);
                for (i, label) in labels.iter().enumerate() {
                    let (top, conf, margin, sim) = tops[i];
                    let rej = Some(top) == oos_class || conf < t.min_confidence || margin < t.min_margin || sim < t.min_similarity;
                    match label {
                        Some(y) => {
                            in_n += 1.0;
                            let right = top == *y;
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
                let score = if has_oos {
                    let in_acc = in_ok / in_n.max(1.0);
                    let oos_recall = oos_ok / oos_n.max(1.0);
                    (in_acc + goal.oos_weight * oos_recall) / (1.0 + goal.oos_weight)
                } else if correct_rejected / correct.max(1.0) <= goal.max_false_reject {
                    // Among admissible settings prefer the strictest.
                    min_confidence + min_margin + min_similarity
                } else {
                    f32::MIN
                };
                if score > best.0 {
                    best = (score, t);
                }
            }
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::classifier::softmax_rows;

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
        assert!(nll(&softmax_rows(&logits, t), &labels) < nll(&softmax_rows(&logits, 1.0), &labels));
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
        let t = choose_thresholds(&probs, None, &labels, None, ThresholdGoal::default());
        // Whichever rule does it, every in-scope row is kept and every
        // out-of-scope row turned down.
        let rejects = |p: &Vec<f32>| {
            let mut s = p.clone();
            s.sort_by(|a, b| b.total_cmp(a));
            s[0] < t.min_confidence || s[0] - s[1] < t.min_margin
        };
        assert!(probs[..50].iter().all(|p| !rejects(p)), "{t:?} rejects in-scope rows");
        assert!(probs[50..].iter().all(rejects), "{t:?} keeps out-of-scope rows");
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
        let t = choose_thresholds(&probs, Some(&sims), &labels, None, ThresholdGoal::default());
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
        let t = choose_thresholds(&probs, None, &labels, None, goal);
        let correct_rejected = probs
            .iter()
            .filter(|p| p[0].max(p[1]) < t.min_confidence || (p[0] - p[1]).abs() < t.min_margin)
            .count();
        assert!(correct_rejected <= 5, "{t:?} rejects {correct_rejected}");
        assert!(t.min_confidence > 0.0 || t.min_margin > 0.0);
    }
}
