//! What training minimises and in what order it sees rows: cross-entropy with label
//! smoothing, the supervised contrastive term, and the two ways of forming batches.

use std::collections::HashMap;

use candle_core::{D, Tensor};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::error::Result;

/// Cross-entropy with label smoothing.
pub(super) fn loss(logits: &Tensor, targets: &Tensor, smoothing: f64) -> Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let nll = logp
        .gather(&targets.unsqueeze(1)?, 1)?
        .squeeze(1)?
        .mean_all()?
        .neg()?;
    let uniform = logp.mean_all()?.neg()?;
    Ok(((nll * (1.0 - smoothing))? + (uniform * smoothing)?)?)
}

/// Rows of one intent that sit together in a batch when the contrastive term
/// is on: each row then has `CONTRASTIVE_GROUP - 1` positives.
pub(super) const CONTRASTIVE_GROUP: usize = 4;

/// Supervised contrastive loss (Khosla et al., 2020) of a batch: for each row
/// with at least one other row of its intent, minus the mean log-probability
/// of picking those rows among all others by cosine similarity / temperature.
/// Out-of-scope rows are negatives only: unrelated messages are not pulled
/// together. `None` when no row has a positive.
pub(super) fn supervised_contrastive(
    pooled: &Tensor,
    labels: &[usize],
    oos_class: Option<usize>,
    temperature: f64,
) -> Result<Option<Tensor>> {
    let n = labels.len();
    let mut positives = vec![0f32; n * n];
    let mut self_mask = vec![0f32; n * n];
    let mut anchors = vec![0f32; n];
    for i in 0..n {
        self_mask[i * n + i] = -1e4;
        let mut count = 0usize;
        for j in 0..n {
            if i != j && labels[i] == labels[j] && Some(labels[i]) != oos_class {
                positives[i * n + j] = 1.0;
                count += 1;
            }
        }
        if count > 0 {
            for j in 0..n {
                positives[i * n + j] /= count as f32;
            }
            anchors[i] = 1.0;
        }
    }
    let anchor_count: f32 = anchors.iter().sum();
    if anchor_count == 0.0 {
        return Ok(None);
    }
    let device = pooled.device();
    let unit = crate::model::encoder::l2_normalize(pooled)?;
    let sims = (unit.matmul(&unit.t()?)? / temperature)?;
    let sims = sims.broadcast_add(&Tensor::from_vec(self_mask, (n, n), device)?)?;
    let log_prob = candle_nn::ops::log_softmax(&sims, D::Minus1)?;
    let per_anchor = (log_prob * Tensor::from_vec(positives, (n, n), device)?)?.sum(1)?;
    let total = (per_anchor * Tensor::from_vec(anchors, n, device)?)?.sum_all()?;
    Ok(Some((total.neg()? / anchor_count as f64)?))
}

/// Batches for plain cross-entropy: shuffled, then sorted by length within
/// windows of 8 batches, so batches stay random with little padding.
pub(super) fn length_sorted_batches(
    lengths: &[usize],
    bs: usize,
    rng: &mut StdRng,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(rng);
    for window in order.chunks_mut(bs * 8) {
        window.sort_by_key(|&i| lengths[i]);
    }
    let mut batches: Vec<Vec<usize>> = order.chunks(bs).map(<[usize]>::to_vec).collect();
    batches.shuffle(rng);
    batches
}

/// How many batches [`grouped_batches`] makes (the same every epoch).
pub(super) fn grouped_batch_count(labels: &[usize], bs: usize, group: usize) -> usize {
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for &y in labels {
        *counts.entry(y).or_default() += 1;
    }
    let groups: usize = counts.values().map(|c| c.div_ceil(group.max(1))).sum();
    groups.div_ceil((bs / group.max(1)).max(1))
}

/// Batches for the contrastive term: every row once, in groups of `group`
/// rows of one label, `bs / group` groups per batch in random order, so
/// that most rows meet others of their intent.
pub(super) fn grouped_batches(
    labels: &[usize],
    bs: usize,
    group: usize,
    rng: &mut StdRng,
) -> Vec<Vec<usize>> {
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &y) in labels.iter().enumerate() {
        by_class[y].push(i);
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for mut rows in by_class {
        rows.shuffle(rng);
        groups.extend(rows.chunks(group.max(1)).map(<[usize]>::to_vec));
    }
    groups.shuffle(rng);
    let per_batch = (bs / group.max(1)).max(1);
    groups.chunks(per_batch).map(|g| g.concat()).collect()
}

#[cfg(test)]
mod tests {
    use candle_core::Device;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn label_smoothing_raises_the_loss_of_a_confident_right_answer() {
        let logits = Tensor::new(&[[10f32, 0., 0.]], &Device::Cpu).unwrap();
        let y = Tensor::new(&[0u32], &Device::Cpu).unwrap();
        let plain = loss(&logits, &y, 0.0).unwrap().to_scalar::<f32>().unwrap();
        let smooth = loss(&logits, &y, 0.1).unwrap().to_scalar::<f32>().unwrap();
        assert!(plain < 1e-3 && smooth > plain);
    }

    fn contrastive(rows: &[[f32; 2]], labels: &[usize], oos: Option<usize>) -> Option<f32> {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let pooled = Tensor::from_vec(flat, (rows.len(), 2), &Device::Cpu).unwrap();
        supervised_contrastive(&pooled, labels, oos, 0.1)
            .unwrap()
            .map(|l| l.to_scalar::<f32>().unwrap())
    }

    #[test]
    fn contrastive_loss_is_low_when_intents_cluster_and_high_when_they_mix() {
        let labels = [0, 0, 1, 1];
        let clustered = contrastive(&[[1., 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9]], &labels, None);
        let mixed = contrastive(&[[1., 0.], [0., 1.], [0.9, 0.1], [0.1, 0.9]], &labels, None);
        let (clustered, mixed) = (clustered.unwrap(), mixed.unwrap());
        assert!(clustered < 0.1, "{clustered}");
        assert!(mixed > 5.0, "{mixed}");
        // Only the direction counts: scaling a row changes nothing.
        let scaled = contrastive(&[[3., 0.], [0.9, 0.1], [0., 1.], [0.2, 1.8]], &labels, None);
        assert!((scaled.unwrap() - clustered).abs() < 1e-5);
    }

    #[test]
    fn contrastive_loss_never_pulls_out_of_scope_rows_together() {
        // Two out-of-scope rows far apart cost nothing, and a batch without
        // any in-scope pair has no loss at all.
        assert_eq!(
            contrastive(&[[1., 0.], [0., 1.], [0.7, 0.7]], &[2, 2, 0], Some(2)),
            None
        );
        let with_oos = contrastive(
            &[[1., 0.], [1., 0.], [0., 1.], [-1., 0.]],
            &[0, 0, 2, 2],
            Some(2),
        );
        let without = contrastive(
            &[[1., 0.], [1., 0.], [0., 1.], [-1., 0.]],
            &[0, 0, 1, 3],
            None,
        );
        assert!((with_oos.unwrap() - without.unwrap()).abs() < 1e-5);
    }

    #[test]
    fn grouped_batches_cover_every_row_once_with_intents_together() {
        let labels: Vec<usize> = (0..103).map(|i| i % 10).collect();
        let mut rng = StdRng::seed_from_u64(7);
        let batches = grouped_batches(&labels, 8, 4, &mut rng);
        assert_eq!(batches.len(), grouped_batch_count(&labels, 8, 4));
        let mut seen: Vec<usize> = batches.concat();
        seen.sort_unstable();
        assert_eq!(seen, (0..103).collect::<Vec<_>>());
        assert!(batches.iter().all(|b| b.len() <= 8));
        // Every row of a full group shares its batch with 3 rows of its intent.
        let labels = &labels;
        let paired = batches
            .iter()
            .flat_map(|b| {
                b.iter()
                    .map(move |&i| b.iter().filter(|&&j| labels[j] == labels[i]).count())
            })
            .filter(|&same| same >= 4)
            .count();
        assert!(paired >= 80, "{paired}");
    }
}
