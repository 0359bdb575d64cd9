//! Ensembles of classifiers trained on different encoders: how their
//! calibrated probabilities and centroid similarities are combined, how the
//! combination is fitted on held-out data (member weights, temperature,
//! out-of-scope thresholds), and the `ensemble.json` artifact that lists the
//! member directories.
//!
//! Combination rule, per message: `z = Σ wᵢ · ln pᵢ` over the members'
//! calibrated probabilities (a weighted geometric mean), then
//! `softmax(z / T)`; the centroid similarity is `Σ wᵢ · simᵢ`. Encoders trained
//! on different corpora make different mistakes, so the mix is more accurate
//! than either member (measured in the README).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::calibration::{ThresholdGoal, choose_thresholds, ece, fit_temperature};
use super::classifier::softmax_rows;
use super::labels::{LabelledTexts, held_out_classes, top1_accuracy};
use super::member::Member;
use super::prediction::{Scores, Thresholds};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The file that marks a model directory as an ensemble.
pub const ENSEMBLE_FILE: &str = "ensemble.json";
/// Bumped when the ensemble layout changes.
pub const ENSEMBLE_FORMAT_VERSION: u32 = 1;

/// One member: a classifier directory (relative to the ensemble directory)
/// and its weight in the mix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemberRef {
    pub dir: String,
    pub weight: f32,
}

/// `ensemble.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnsembleMeta {
    pub format_version: u32,
    /// Class names, the same in every member.
    pub labels: Vec<String>,
    pub oos_label: Option<String>,
    pub members: Vec<MemberRef>,
    /// Temperature applied to the combined log-probabilities.
    pub temperature: f32,
    pub thresholds: Thresholds,
    pub training_data_sha256: String,
    pub catalog_sha256: Option<String>,
    /// Free-form report: held-out accuracy of each member and of the mix, ECE.
    pub training: serde_json::Value,
}

impl EnsembleMeta {
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(ENSEMBLE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let meta: EnsembleMeta =
            serde_json::from_str(&text).map_err(|e| Error::ModelFileCorrupt {
                path: path.clone(),
                reason: e.to_string(),
                hint:
                    "rebuild it with `intentdesk train --ensemble ENCODER` or `intentdesk combine`"
                        .into(),
            })?;
        if meta.format_version != ENSEMBLE_FORMAT_VERSION {
            return Err(Error::ClassifierMismatch {
                path,
                reason: format!(
                    "ensemble format {} but this build reads {ENSEMBLE_FORMAT_VERSION}; rebuild it",
                    meta.format_version
                ),
            });
        }
        if meta.members.is_empty() {
            return Err(Error::ClassifierMismatch {
                path,
                reason: "the ensemble lists no members".into(),
            });
        }
        Ok(meta)
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(ENSEMBLE_FILE);
        let json =
            serde_json::to_string_pretty(self).map_err(|e| Error::InvalidInput(e.to_string()))?;
        std::fs::write(&path, json).map_err(|e| Error::io(&path, e))
    }
}

/// Fits an ensemble of the classifier directories `member_dirs` (relative to
/// `dir`, already in place) on the held-out rows `valid`, and writes
/// `dir/ensemble.json`. Each member runs on the encoder it was trained on
/// (the default one from `cache_dir`).
pub fn assemble(
    dir: &Path,
    member_dirs: &[String],
    cache_dir: &Path,
    valid: &LabelledTexts,
    goal: ThresholdGoal,
    progress: bool,
) -> Result<EnsembleMeta> {
    if member_dirs.len() < 2 {
        return Err(Error::InvalidInput(
            "an ensemble needs at least two members".into(),
        ));
    }
    let mut members = Vec::with_capacity(member_dirs.len());
    for name in member_dirs {
        members.push(Member::load(&dir.join(name), cache_dir)?);
    }
    let first = &members[0].classifier.meta;
    for (m, name) in members.iter().zip(member_dirs).skip(1) {
        let meta = &m.classifier.meta;
        let reason = if meta.labels != first.labels {
            Some("its labels differ from the first member's")
        } else if meta.catalog_sha256 != first.catalog_sha256 {
            Some("it was trained on another catalog than the first member")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Error::ClassifierMismatch {
                path: dir.join(name),
                reason: reason.into(),
            });
        }
    }
    let oos_class = first
        .oos_label
        .as_deref()
        .and_then(|l| first.labels.iter().position(|x| x == l));
    let labels = held_out_classes(&valid.labels, &first.labels, oos_class)?;
    let texts: Vec<&str> = valid.texts.iter().map(String::as_str).collect();
    let bar = Progress::new(
        (texts.len() * members.len()) as u64,
        "scoring held-out rows",
        progress,
        false,
    );
    let scores = members
        .iter()
        .map(|m| m.score_all(&texts, &bar))
        .collect::<Result<Vec<_>>>()?;
    bar.finish();
    let fitted = fit(&scores, &labels, oos_class, goal)?;
    let mut training = fitted.report;
    training["members"] = serde_json::json!(members
        .iter()
        .map(|m| serde_json::json!({"encoder": m.encoder.identity.source, "training": m.classifier.meta.training}))
        .collect::<Vec<_>>());
    let meta = EnsembleMeta {
        format_version: ENSEMBLE_FORMAT_VERSION,
        labels: first.labels.clone(),
        oos_label: first.oos_label.clone(),
        members: member_dirs
            .iter()
            .zip(&fitted.weights)
            .map(|(d, &weight)| MemberRef {
                dir: d.clone(),
                weight,
            })
            .collect(),
        temperature: fitted.temperature,
        thresholds: fitted.thresholds,
        training_data_sha256: first.training_data_sha256.clone(),
        catalog_sha256: first.catalog_sha256.clone(),
        training,
    };
    meta.save(dir)?;
    Ok(meta)
}

/// One message's members' scores mixed, before the temperature.
#[derive(Debug, Clone, PartialEq)]
pub struct Combined {
    /// Weighted sum of the members' log-probabilities.
    pub log_probs: Vec<f32>,
    /// Weighted mean of the members' centroid similarities (if all have them).
    pub similarities: Option<Vec<f32>>,
    /// Weighted mean of the members' nearest-example similarities (if all have them).
    pub neighbor_similarity: Option<f32>,
}

/// Mixes one message's members' scores with the given weights.
pub fn combine(members: &[&Scores], weights: &[f32]) -> Combined {
    let n = members.first().map(|s| s.probs.len()).unwrap_or(0);
    let mut z = vec![0f32; n];
    let mut sims = Some(vec![0f32; n]);
    let mut near = Some(0f32);
    for (scores, &w) in members.iter().zip(weights) {
        for (acc, p) in z.iter_mut().zip(&scores.probs) {
            *acc += w * p.max(1e-12).ln();
        }
        sims = match (sims, &scores.similarities) {
            (Some(mut acc), Some(s)) => {
                for (a, v) in acc.iter_mut().zip(s) {
                    *a += w * v;
                }
                Some(acc)
            }
            _ => None,
        };
        near = near
            .zip(scores.neighbor_similarity)
            .map(|(acc, v)| acc + w * v);
    }
    Combined {
        log_probs: z,
        similarities: sims,
        neighbor_similarity: near,
    }
}

/// Final scores from mixed scores and the ensemble's temperature.
pub fn finish(mixed: Combined, temperature: f32) -> Scores {
    Scores {
        probs: softmax_rows(&[mixed.log_probs], temperature).remove(0),
        similarities: mixed.similarities,
        neighbor_similarity: mixed.neighbor_similarity,
    }
}

/// What fitting the combination found.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub weights: Vec<f32>,
    pub temperature: f32,
    pub thresholds: Thresholds,
    pub report: serde_json::Value,
}

/// Fits the mix on held-out rows: `member_scores[m][row]`, `labels[row]`
/// the class (`None` = out of scope). Weights: for two members, the split in
/// steps of 0.1 with the lowest held-out log-loss; otherwise equal. Then the
/// temperature (on in-scope rows) and the thresholds, as for one classifier.
pub fn fit(
    member_scores: &[Vec<Scores>],
    labels: &[Option<usize>],
    oos_class: Option<usize>,
    goal: ThresholdGoal,
) -> Result<Fitted> {
    let m = member_scores.len();
    if m == 0 || member_scores.iter().any(|s| s.len() != labels.len()) {
        return Err(Error::InvalidInput(
            "every member needs a score for every held-out row".into(),
        ));
    }
    if labels.is_empty() {
        return Err(Error::InvalidInput(
            "an ensemble needs held-out rows to be fitted on".into(),
        ));
    }
    let rows = labels.len();
    let mix = |weights: &[f32]| -> Vec<Combined> {
        (0..rows)
            .map(|r| {
                let scores: Vec<&Scores> = member_scores.iter().map(|s| &s[r]).collect();
                combine(&scores, weights)
            })
            .collect()
    };
    let in_scope = |mixed: &[Combined]| -> (Vec<Vec<f32>>, Vec<usize>) {
        mixed
            .iter()
            .zip(labels)
            .filter_map(|(c, y)| y.map(|y| (c.log_probs.clone(), y)))
            .unzip()
    };
    let candidates: Vec<Vec<f32>> = if m == 2 {
        (1..10)
            .map(|i| vec![i as f32 / 10.0, 1.0 - i as f32 / 10.0])
            .collect()
    } else {
        vec![vec![1.0 / m as f32; m]]
    };
    let mut best: Option<(f64, Vec<f32>)> = None;
    for weights in candidates {
        let (z, y) = in_scope(&mix(&weights));
        let t = fit_temperature(&z, &y);
        let nll = log_loss(&softmax_rows(&z, t), &y);
        if best.as_ref().is_none_or(|(b, _)| nll < *b) {
            best = Some((nll, weights));
        }
    }
    let (nll, weights) = best.expect("at least one candidate");
    let mixed = mix(&weights);
    let (z, y) = in_scope(&mixed);
    let temperature = fit_temperature(&z, &y);
    let scores: Vec<Scores> = mixed.into_iter().map(|c| finish(c, temperature)).collect();
    let probs: Vec<Vec<f32>> = scores.iter().map(|s| s.probs.clone()).collect();
    let thresholds = choose_thresholds(&scores, labels, oos_class, goal);
    let member_top1: Vec<f64> = member_scores
        .iter()
        .map(|s| {
            top1_accuracy(
                &s.iter().map(|x| x.probs.clone()).collect::<Vec<_>>(),
                labels,
            )
        })
        .collect();
    let report = serde_json::json!({
        "held_out_rows": rows,
        "held_out_log_loss": nll,
        "held_out_member_top1": member_top1,
        "held_out_ensemble_top1": top1_accuracy(&probs, labels),
        "held_out_ece_after_calibration": ece(&softmax_rows(&z, temperature), &y),
    });
    Ok(Fitted {
        weights,
        temperature,
        thresholds,
        report,
    })
}

/// Mean negative log-probability of the right class.
fn log_loss(probs: &[Vec<f32>], labels: &[usize]) -> f64 {
    let sum: f64 = probs
        .iter()
        .zip(labels)
        .map(|(p, &y)| -(p[y].max(1e-12) as f64).ln())
        .sum();
    sum / labels.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(probs: &[f32]) -> Scores {
        Scores {
            probs: probs.to_vec(),
            similarities: Some(probs.iter().map(|p| p / 2.0).collect()),
            neighbor_similarity: Some(probs[0]),
        }
    }

    #[test]
    fn combining_is_a_weighted_geometric_mean() {
        let a = scores(&[0.9, 0.1]);
        let b = scores(&[0.3, 0.7]);
        let mixed = finish(combine(&[&a, &b], &[0.5, 0.5]), 1.0);
        let p = &mixed.probs;
        let expected = (0.9f32 * 0.3).sqrt() / ((0.9f32 * 0.3).sqrt() + (0.1f32 * 0.7).sqrt());
        assert!((p[0] - expected).abs() < 1e-5, "{p:?}");
        assert_eq!(mixed.similarities.unwrap(), vec![0.3, 0.2]);
        assert!((mixed.neighbor_similarity.unwrap() - 0.6).abs() < 1e-6);
        // A member alone with weight 1 gives back its own probabilities.
        let p = finish(combine(&[&a, &b], &[1.0, 0.0]), 1.0).probs;
        assert!((p[0] - 0.9).abs() < 1e-5);
    }

    #[test]
    fn similarities_are_dropped_when_a_member_lacks_them() {
        let a = scores(&[0.6, 0.4]);
        let b = Scores {
            probs: vec![0.5, 0.5],
            similarities: None,
            neighbor_similarity: None,
        };
        let mixed = combine(&[&a, &b], &[0.5, 0.5]);
        assert!(mixed.similarities.is_none());
        assert!(mixed.neighbor_similarity.is_none());
    }

    #[test]
    fn fitting_weights_favours_the_member_that_is_right() {
        // Member 0 is right on every row, member 1 is wrong on every row.
        let rows = 40;
        let labels: Vec<Option<usize>> = (0..rows).map(|i| Some(i % 2)).collect();
        let good: Vec<Scores> = labels
            .iter()
            .map(|y| {
                if *y == Some(0) {
                    scores(&[0.8, 0.2])
                } else {
                    scores(&[0.2, 0.8])
                }
            })
            .collect();
        let bad: Vec<Scores> = labels
            .iter()
            .map(|y| {
                if *y == Some(0) {
                    scores(&[0.3, 0.7])
                } else {
                    scores(&[0.7, 0.3])
                }
            })
            .collect();
        let fitted = fit(&[good, bad], &labels, None, ThresholdGoal::default()).unwrap();
        assert!(
            fitted.weights[0] > fitted.weights[1],
            "{:?}",
            fitted.weights
        );
        assert_eq!(fitted.report["held_out_ensemble_top1"], 1.0);
    }

    #[test]
    fn fitting_refuses_members_of_different_lengths() {
        let labels = vec![Some(0), Some(1)];
        let one = vec![scores(&[0.5, 0.5])];
        assert!(fit(&[one.clone(), one], &labels, None, ThresholdGoal::default()).is_err());
    }
}
