//! Classification figures from gold and predicted labels: accuracy,
//! macro-F1, per-intent precision/recall/F1 and confusions, out-of-scope
//! precision/recall/F1, and the confusion matrix.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Headline figures over a set of rows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Figures {
    pub rows: usize,
    /// Share of rows whose predicted label (out-of-scope included) is right.
    pub accuracy: f64,
    /// Mean F1 over the gold labels present.
    pub macro_f1: f64,
    /// In-scope rows predicted with the right intent and not rejected, over all in-scope rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_scope_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oos_recall: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oos_precision: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oos_f1: Option<f64>,
}

/// Precision, recall, F1 and the main confusions of one intent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PerIntent {
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Intents this one was most often predicted as (gold = this intent).
    pub confused_with: Vec<(String, usize)>,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Figures over `rows` of `gold`/`predicted`; `oos` names the out-of-scope label.
pub fn figures(
    gold: &[String],
    predicted: &[String],
    rows: &[usize],
    oos: Option<&str>,
) -> (Figures, BTreeMap<String, PerIntent>) {
    let labels: BTreeSet<&str> = rows.iter().map(|&i| gold[i].as_str()).collect();
    let mut per_intent = BTreeMap::new();
    for &label in &labels {
        let tp = rows
            .iter()
            .filter(|&&i| gold[i] == label && predicted[i] == label)
            .count();
        let gold_n = rows.iter().filter(|&&i| gold[i] == label).count();
        let pred_n = rows.iter().filter(|&&i| predicted[i] == label).count();
        let (p, r) = (ratio(tp, pred_n), ratio(tp, gold_n));
        let mut confusions: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in rows {
            if gold[i] == label && predicted[i] != label {
                *confusions.entry(predicted[i].as_str()).or_default() += 1;
            }
        }
        let mut confused_with: Vec<(String, usize)> = confusions
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        confused_with.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        confused_with.truncate(3);
        per_intent.insert(
            label.to_string(),
            PerIntent {
                support: gold_n,
                precision: p,
                recall: r,
                f1: f1(p, r),
                confused_with,
            },
        );
    }
    let correct = rows.iter().filter(|&&i| gold[i] == predicted[i]).count();
    let macro_f1 = per_intent.values().map(|p| p.f1).sum::<f64>() / per_intent.len().max(1) as f64;
    let mut figures = Figures {
        rows: rows.len(),
        accuracy: ratio(correct, rows.len()),
        macro_f1,
        in_scope_accuracy: None,
        oos_recall: None,
        oos_precision: None,
        oos_f1: None,
    };
    if let Some(oos) = oos {
        let in_scope: Vec<usize> = rows.iter().copied().filter(|&i| gold[i] != oos).collect();
        let in_ok = in_scope
            .iter()
            .filter(|&&i| predicted[i] == gold[i])
            .count();
        let oos_gold = rows.iter().filter(|&&i| gold[i] == oos).count();
        let oos_pred = rows.iter().filter(|&&i| predicted[i] == oos).count();
        let oos_tp = rows
            .iter()
            .filter(|&&i| gold[i] == oos && predicted[i] == oos)
            .count();
        let (p, r) = (ratio(oos_tp, oos_pred), ratio(oos_tp, oos_gold));
        figures.in_scope_accuracy = Some(ratio(in_ok, in_scope.len()));
        figures.oos_recall = (oos_gold > 0).then_some(r);
        figures.oos_precision = (oos_gold > 0).then_some(p);
        figures.oos_f1 = (oos_gold > 0).then_some(f1(p, r));
    }
    (figures, per_intent)
}

/// The confusion matrix: labels (gold and predicted, sorted) and counts[gold][predicted].
pub fn confusion(gold: &[String], predicted: &[String]) -> (Vec<String>, Vec<Vec<u32>>) {
    let labels: Vec<String> = gold
        .iter()
        .chain(predicted)
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let mut m = vec![vec![0u32; labels.len()]; labels.len()];
    for (g, p) in gold.iter().zip(predicted) {
        m[index[g.as_str()]][index[p.as_str()]] += 1;
    }
    (labels, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn figures_with_out_of_scope() {
        let gold = s(&["a", "a", "b", "b", "oos", "oos"]);
        let pred = s(&["a", "oos", "b", "a", "oos", "b"]);
        let rows: Vec<usize> = (0..6).collect();
        let (f, per) = figures(&gold, &pred, &rows, Some("oos"));
        assert!((f.accuracy - 3.0 / 6.0).abs() < 1e-9);
        assert_eq!(f.in_scope_accuracy, Some(0.5));
        assert_eq!(f.oos_recall, Some(0.5));
        assert_eq!(f.oos_precision, Some(0.5));
        assert_eq!(per["a"].precision, 0.5);
        assert_eq!(per["a"].recall, 0.5);
        assert_eq!(per["b"].confused_with, vec![("a".to_string(), 1)]);
        let (labels, m) = confusion(&gold, &pred);
        assert_eq!(labels, s(&["a", "b", "oos"]));
        assert_eq!(m[0], vec![1, 0, 1]);
    }

    #[test]
    fn figures_without_out_of_scope_and_on_a_subset() {
        let gold = s(&["a", "b", "b"]);
        let pred = s(&["a", "b", "a"]);
        let (f, _) = figures(&gold, &pred, &[1, 2], None);
        assert_eq!(f.rows, 2);
        assert_eq!(f.accuracy, 0.5);
        assert!(f.in_scope_accuracy.is_none());
        // macro-F1 over gold labels present in the subset: only "b" (p=1, r=.5).
        assert!((f.macro_f1 - 2.0 / 3.0).abs() < 1e-9);
    }
}
