//! What the classifier says about one message ([`Prediction`]) and the rule
//! that turns the model's scores ([`Scores`]) into it: top-3, margin, and the
//! out-of-scope decision. Pure data and logic, no tensors.

use serde::{Deserialize, Serialize};

/// When a prediction is turned down as out of scope.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Calibrated top-1 probability below which the model says "none of these".
    pub min_confidence: f32,
    /// Smallest allowed gap between the top-1 and top-2 probabilities.
    pub min_margin: f32,
    /// Smallest allowed cosine similarity between the message and the centroid
    /// of its predicted intent's training examples (0 = not used). Softmax
    /// confidence is relative to the other intents; this one is absolute: a
    /// message far from everything the intent was trained on is turned down.
    #[serde(default)]
    pub min_similarity: f32,
    /// A gate on confidence and nearness together (`None` = not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceGate>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_confidence: 0.0,
            min_margin: 0.0,
            min_similarity: 0.0,
            evidence: None,
        }
    }
}

impl std::fmt::Display for Thresholds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "confidence {:.2}, margin {:.2}, centroid similarity {:.2}",
            self.min_confidence, self.min_margin, self.min_similarity
        )?;
        match self.evidence {
            Some(g) if g.oos_penalty != 0.0 => write!(
                f,
                ", evidence ln(p) + {}·nearest - {}·ln(p_oos) >= {:.2}",
                g.neighbor_weight, g.oos_penalty, g.min_evidence
            ),
            Some(g) => write!(
                f,
                ", evidence ln(p) + {}·nearest >= {:.2}",
                g.neighbor_weight, g.min_evidence
            ),
            None => Ok(()),
        }
    }
}

/// Turns a message down when its evidence,
/// `ln(confidence) + neighbor_weight × s − oos_penalty × ln(p_oos)`, is below
/// `min_evidence`: `s` is the cosine similarity to the nearest in-scope
/// training example, `p_oos` the probability of the out-of-scope class (when
/// the model has one; the term is left out otherwise). A message must be
/// confidently classified, or close to something the model was trained on,
/// or far from the out-of-scope class, and a little of each will do:
/// out-of-scope messages tend to be short of all at once, which separate
/// cut-offs cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvidenceGate {
    pub neighbor_weight: f32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub oos_penalty: f32,
    pub min_evidence: f32,
}

fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

impl EvidenceGate {
    /// The gate's score for a top-1 confidence, a nearest-example similarity
    /// and the out-of-scope class's probability (if the model has that class).
    pub fn evidence(
        &self,
        confidence: f32,
        neighbor_similarity: f32,
        oos_probability: Option<f32>,
    ) -> f32 {
        let oos_term = match oos_probability {
            Some(p) if self.oos_penalty != 0.0 => -self.oos_penalty * p.max(1e-12).ln(),
            _ => 0.0,
        };
        confidence.max(1e-12).ln() + self.neighbor_weight * neighbor_similarity + oos_term
    }
}

/// The model's raw verdict on one message before the decision rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scores {
    /// Calibrated probabilities, in label order.
    pub probs: Vec<f32>,
    /// Cosine similarity to each label's centroid, when the classifier has them.
    pub similarities: Option<Vec<f32>>,
    /// Cosine similarity to the nearest in-scope training example, when the
    /// classifier keeps its training examples.
    pub neighbor_similarity: Option<f32>,
}

/// Why a message was judged out of scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// The best class is the out-of-scope class itself.
    OutOfScopeClass,
    /// The top-1 probability is below the threshold.
    LowConfidence,
    /// The top-1 and top-2 probabilities are too close.
    SmallMargin,
    /// The message is far from the predicted intent's training examples.
    LowSimilarity,
    /// Neither confident enough nor close enough to a training example
    /// ([`EvidenceGate`]).
    LittleEvidence,
}

/// One scored intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub intent: String,
    pub confidence: f32,
}

/// The classifier's verdict on one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The intent, or the out-of-scope label when rejected.
    pub intent: String,
    /// Calibrated probability of the best class.
    pub confidence: f32,
    /// The best three classes with their probabilities.
    pub top: Vec<Scored>,
    pub out_of_scope: bool,
    pub rejection: Option<Rejection>,
    /// top-1 minus top-2 probability.
    pub margin: f32,
}

/// The label used for rejected messages when the data had none.
pub const DEFAULT_OOS_LABEL: &str = "out_of_scope";

/// Whether a label names the out-of-scope class.
pub fn is_oos_label(label: &str) -> bool {
    matches!(label, "oos" | "out_of_scope" | "out-of-scope" | "OOS")
}

/// What the decision rule reads of one message's scores: its top-1 class and
/// the figures the thresholds judge. Shared by [`decide`] and threshold choice,
/// so both apply the same rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopClass {
    pub index: usize,
    pub confidence: f32,
    /// top-1 minus top-2 probability.
    pub margin: f32,
    /// Similarity to the top-1 class's centroid, when the model has centroids.
    pub similarity: Option<f32>,
    pub neighbor_similarity: Option<f32>,
    /// Probability of the out-of-scope class, when the model has one.
    pub oos_probability: Option<f32>,
}

impl TopClass {
    /// The top-1 class of `scores` (the first of equals) and its figures;
    /// `oos_class` is the index of the out-of-scope class, if any.
    pub fn of(scores: &Scores, oos_class: Option<usize>) -> Self {
        let probs = &scores.probs;
        let (mut index, mut confidence, mut second) = (0, f32::NEG_INFINITY, f32::NEG_INFINITY);
        for (i, &p) in probs.iter().enumerate() {
            if p > confidence {
                (index, second, confidence) = (i, confidence, p);
            } else if p > second {
                second = p;
            }
        }
        let confidence = if probs.is_empty() { 0.0 } else { confidence };
        let second = if probs.len() < 2 { 0.0 } else { second };
        TopClass {
            index,
            confidence,
            margin: confidence - second,
            similarity: scores
                .similarities
                .as_ref()
                .and_then(|s| s.get(index).copied()),
            neighbor_similarity: scores.neighbor_similarity,
            oos_probability: oos_class.and_then(|c| probs.get(c).copied()),
        }
    }

    /// The evidence gate's score, when there is a nearest-example similarity.
    pub fn evidence(&self, gate: &EvidenceGate) -> Option<f32> {
        self.neighbor_similarity
            .map(|near| gate.evidence(self.confidence, near, self.oos_probability))
    }

    /// Why thresholds `t` turn this message down, if they do.
    pub fn rejection(&self, oos_class: Option<usize>, t: &Thresholds) -> Option<Rejection> {
        if Some(self.index) == oos_class {
            Some(Rejection::OutOfScopeClass)
        } else if self.confidence < t.min_confidence {
            Some(Rejection::LowConfidence)
        } else if self.margin < t.min_margin {
            Some(Rejection::SmallMargin)
        } else if self.similarity.is_some_and(|s| s < t.min_similarity) {
            Some(Rejection::LowSimilarity)
        } else if let Some(gate) = t.evidence
            && self.evidence(&gate).is_some_and(|e| e < gate.min_evidence)
        {
            Some(Rejection::LittleEvidence)
        } else {
            None
        }
    }
}

/// Turns a message's scores (calibrated probabilities and, when the model has
/// them, centroid and nearest-example similarities) into a prediction.
pub fn decide(
    scores: &Scores,
    labels: &[String],
    oos_label: Option<&str>,
    t: &Thresholds,
) -> Prediction {
    let probs = &scores.probs;
    let oos_class = oos_label.and_then(|l| labels.iter().position(|x| x == l));
    let top = TopClass::of(scores, oos_class);
    let rejection = top.rejection(oos_class, t);
    let best_label = labels.get(top.index).cloned().unwrap_or_default();
    let (confidence, margin) = (top.confidence, top.margin);
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    let intent = match rejection {
        Some(_) => oos_label.unwrap_or(DEFAULT_OOS_LABEL).to_string(),
        None => best_label,
    };
    Prediction {
        intent,
        confidence,
        top: order
            .iter()
            .take(3)
            .map(|&i| Scored {
                intent: labels[i].clone(),
                confidence: probs[i],
            })
            .collect(),
        out_of_scope: rejection.is_some(),
        rejection,
        margin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["a", "b", "oos"].iter().map(|s| s.to_string()).collect()
    }

    fn scores(probs: &[f32], similarities: Option<&[f32]>, neighbor: Option<f32>) -> Scores {
        Scores {
            probs: probs.to_vec(),
            similarities: similarities.map(<[f32]>::to_vec),
            neighbor_similarity: neighbor,
        }
    }

    fn gates(min_confidence: f32, min_margin: f32, min_similarity: f32) -> Thresholds {
        Thresholds {
            min_confidence,
            min_margin,
            min_similarity,
            evidence: None,
        }
    }

    #[test]
    fn confident_prediction_is_accepted() {
        let t = gates(0.5, 0.1, 0.0);
        let p = decide(
            &scores(&[0.8, 0.15, 0.05], None, None),
            &labels(),
            Some("oos"),
            &t,
        );
        assert_eq!(p.intent, "a");
        assert!(!p.out_of_scope);
        assert_eq!(p.top.len(), 3);
        assert_eq!(p.top[1].intent, "b");
        assert!((p.margin - 0.65).abs() < 1e-6);
    }

    #[test]
    fn each_rejection_rule_fires() {
        let t = gates(0.5, 0.1, 0.0);
        let oos = decide(
            &scores(&[0.1, 0.2, 0.7], None, None),
            &labels(),
            Some("oos"),
            &t,
        );
        assert_eq!(
            (oos.intent.as_str(), oos.rejection),
            ("oos", Some(Rejection::OutOfScopeClass))
        );
        let low = decide(
            &scores(&[0.45, 0.3, 0.25], None, None),
            &labels(),
            Some("oos"),
            &t,
        );
        assert_eq!(low.rejection, Some(Rejection::LowConfidence));
        assert_eq!(low.top[0].intent, "a", "best guesses survive a rejection");
        let close = decide(
            &scores(&[0.52, 0.46, 0.02], None, None),
            &labels(),
            Some("oos"),
            &t,
        );
        assert_eq!(close.rejection, Some(Rejection::SmallMargin));
        // Without an out-of-scope label a rejection uses the default one.
        let none = decide(&scores(&[0.4, 0.3, 0.3], None, None), &labels(), None, &t);
        assert_eq!(none.intent, DEFAULT_OOS_LABEL);
        // A confident prediction far from its intent's centroid is turned down.
        let t = gates(0.5, 0.1, 0.6);
        let far = decide(
            &scores(&[0.8, 0.15, 0.05], Some(&[0.4, 0.9, 0.1]), None),
            &labels(),
            Some("oos"),
            &t,
        );
        assert_eq!(far.rejection, Some(Rejection::LowSimilarity));
        let near = decide(
            &scores(&[0.8, 0.15, 0.05], Some(&[0.7, 0.2, 0.1]), None),
            &labels(),
            Some("oos"),
            &t,
        );
        assert_eq!(near.rejection, None);
    }

    /// Confidence at least 0.3 and the given evidence gate.
    fn gated(neighbor_weight: f32, oos_penalty: f32, min_evidence: f32) -> Thresholds {
        Thresholds {
            evidence: Some(EvidenceGate {
                neighbor_weight,
                oos_penalty,
                min_evidence,
            }),
            ..gates(0.3, 0.0, 0.0)
        }
    }

    /// Why `t` turns down a message with these probabilities and nearest similarity.
    fn rejection_of(probs: &[f32], near: Option<f32>, t: &Thresholds) -> Option<Rejection> {
        decide(&scores(probs, None, near), &labels(), Some("oos"), t).rejection
    }

    #[test]
    fn evidence_gate_weighs_confidence_against_nearness() {
        let t = gated(4.0, 0.0, 2.0);
        // Confident and close: ln 0.8 + 4 × 0.7 = 2.58.
        assert_eq!(rejection_of(&[0.8, 0.15, 0.05], Some(0.7), &t), None);
        // Equally confident but far from every example: ln 0.8 + 4 × 0.5 = 1.78.
        let far = decide(
            &scores(&[0.8, 0.15, 0.05], None, Some(0.5)),
            &labels(),
            Some("oos"),
            &t,
        );
        assert_eq!(
            (far.intent.as_str(), far.rejection),
            ("oos", Some(Rejection::LittleEvidence))
        );
        // Unsure but very close to an example: ln 0.45 + 4 × 0.75 = 2.2.
        assert_eq!(rejection_of(&[0.45, 0.35, 0.2], Some(0.75), &t), None);
        // Without a nearest-example similarity the gate has nothing to judge.
        assert_eq!(rejection_of(&[0.8, 0.15, 0.05], None, &t), None);
        // Weighing the out-of-scope class: the same far message passes when
        // that class is very unlikely (ln 0.8 + 4 × 0.5 − 0.5 × ln 0.001 =
        // 5.23) and not when it is the runner-up (… − 0.5 × ln 0.15 = 2.73
        // against a cut of 3).
        let t = gated(4.0, 0.5, 3.0);
        assert_eq!(rejection_of(&[0.8, 0.199, 0.001], Some(0.5), &t), None);
        assert_eq!(
            rejection_of(&[0.8, 0.05, 0.15], Some(0.5), &t),
            Some(Rejection::LittleEvidence)
        );
    }

    #[test]
    fn the_first_of_equal_classes_is_on_top_with_no_margin() {
        let top = TopClass::of(
            &scores(&[0.4, 0.4, 0.2], Some(&[0.1, 0.9, 0.5]), None),
            Some(2),
        );
        assert_eq!(top.index, 0);
        assert_eq!(top.margin, 0.0);
        assert_eq!(top.similarity, Some(0.1));
        assert_eq!(top.oos_probability, Some(0.2));
        let empty = TopClass::of(&scores(&[], None, None), None);
        assert_eq!((empty.confidence, empty.margin), (0.0, 0.0));
    }

    #[test]
    fn thresholds_print_every_gate_in_use() {
        let t = gates(0.5, 0.1, 0.62);
        assert_eq!(
            t.to_string(),
            "confidence 0.50, margin 0.10, centroid similarity 0.62"
        );
        let t = gated(4.0, 0.0, 2.5);
        assert!(
            t.to_string()
                .ends_with(", evidence ln(p) + 4·nearest >= 2.50"),
            "{t}"
        );
        let t = gated(4.0, 0.5, 2.5);
        assert!(
            t.to_string()
                .ends_with(", evidence ln(p) + 4·nearest - 0.5·ln(p_oos) >= 2.50"),
            "{t}"
        );
        // A gate without the out-of-scope term reads and writes without it.
        let json = r#"{"neighbor_weight":4.0,"min_evidence":2.5}"#;
        let gate: EvidenceGate = serde_json::from_str(json).unwrap();
        assert_eq!(gate.oos_penalty, 0.0);
        assert_eq!(serde_json::to_string(&gate).unwrap(), json);
    }

    #[test]
    fn thresholds_without_an_evidence_gate_read_and_write_as_before() {
        let old = r#"{"min_confidence":0.5,"min_margin":0.1,"min_similarity":0.6}"#;
        let t: Thresholds = serde_json::from_str(old).unwrap();
        assert_eq!(t, gates(0.5, 0.1, 0.6));
        assert_eq!(serde_json::to_string(&t).unwrap(), old);
    }
}
