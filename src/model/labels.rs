//! Labels shared by training, calibration and ensembles: texts with their labels, held-out
//! labels as class indices, and top-1 accuracy.

use std::collections::HashMap;

use super::prediction::is_oos_label;
use crate::error::{Error, Result};

/// Texts with their labels.
#[derive(Debug, Clone, Default)]
pub struct LabelledTexts {
    pub texts: Vec<String>,
    pub labels: Vec<String>,
}

impl LabelledTexts {
    pub fn len(&self) -> usize {
        self.texts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

/// Class indices of held-out labels: `None` for an out-of-scope row (the
/// out-of-scope class, or an out-of-scope name the classes lack); a label that
/// is neither a class nor out of scope is an error naming it.
pub fn held_out_classes(
    held_out: &[String],
    classes: &[String],
    oos_class: Option<usize>,
) -> Result<Vec<Option<usize>>> {
    let index: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    held_out
        .iter()
        .map(|l| match index.get(l.as_str()) {
            Some(&i) if Some(i) != oos_class => Ok(Some(i)),
            Some(_) => Ok(None),
            None if is_oos_label(l) => Ok(None),
            None => Err(Error::InvalidInput(format!(
                "validation label {l:?} is not one of the classifier's labels"
            ))),
        })
        .collect()
}

/// Share of in-scope rows whose arg-max is right (out-of-scope rows ignored);
/// rows of logits or of probabilities alike.
pub fn top1_accuracy(logits: &[Vec<f32>], labels: &[Option<usize>]) -> f64 {
    let (mut n, mut ok) = (0usize, 0usize);
    for (l, y) in logits.iter().zip(labels) {
        if let Some(y) = y {
            n += 1;
            let best = l
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|x| x.0);
            ok += (best == Some(*y)) as usize;
        }
    }
    ok as f64 / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top1_accuracy_ignores_out_of_scope_rows() {
        let logits = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]];
        assert_eq!(top1_accuracy(&logits, &[Some(0), Some(0), None]), 0.5);
    }

    #[test]
    fn held_out_labels_become_classes_or_out_of_scope_and_strangers_are_named() {
        let classes = vec!["a".to_string(), "b".to_string(), "oos".to_string()];
        let held = vec![
            "b".to_string(),
            "oos".to_string(),
            "out_of_scope".to_string(),
        ];
        assert_eq!(
            held_out_classes(&held, &classes, Some(2)).unwrap(),
            vec![Some(1), None, None]
        );
        let err = held_out_classes(&["zzz".to_string()], &classes, Some(2)).unwrap_err();
        assert!(err.to_string().contains("\"zzz\""), "{err}");
    }
}
