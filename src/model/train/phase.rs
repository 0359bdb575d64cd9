//! The stages of training: the frozen encoder run once over every text, the trainable
//! part (tuned layers and head), and one stage's epochs of AdamW.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use serde_json::json;

use super::TrainOptions;
use super::objective::{
    CONTRASTIVE_GROUP, grouped_batch_count, grouped_batches, length_sorted_batches, loss,
    supervised_contrastive,
};
use crate::error::Result;
use crate::model::classifier::head_logits;
use crate::model::embed::EmbeddingModel;
use crate::model::encoder::{EncoderLayer, mask_bias, masked_mean};
use crate::model::labels::top1_accuracy;
use crate::progress::Progress;

/// What the frozen part of the encoder produced for each text.
pub(super) enum Frozen {
    /// Pooled final embeddings [n, hidden] (no layer is tuned).
    Pooled(Tensor),
    /// Hidden states [len_i, hidden] after the frozen layers.
    Hidden(Vec<Tensor>),
}

fn bar(len: u64, label: &str, show: bool) -> Progress {
    Progress::new(len, label, show, false)
}

/// Runs the frozen layers over `texts` once.
pub(super) fn run_frozen(
    model: &EmbeddingModel,
    texts: &[&str],
    tune: usize,
    label: &str,
    show: bool,
) -> Result<Frozen> {
    let layers = model.encoder.layers().len();
    let progress = bar(texts.len() as u64, label, show);
    let order = model.length_order(texts)?;
    let mut out: Vec<Option<Tensor>> = vec![None; texts.len()];
    for chunk in order.chunks(crate::model::embed::BULK_BATCH) {
        let batch_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        let (hidden, batch) = model.hidden_after(&batch_texts, layers - tune)?;
        let pooled = if tune == 0 {
            Some(masked_mean(&hidden, &batch.mask)?)
        } else {
            None
        };
        for (j, &i) in chunk.iter().enumerate() {
            out[i] = Some(match &pooled {
                Some(p) => p.get(j)?,
                None => hidden
                    .get(j)?
                    .narrow(0, 0, batch.lengths[j])?
                    .contiguous()?,
            });
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    let rows: Vec<Tensor> = out.into_iter().flatten().collect();
    Ok(if tune == 0 {
        Frozen::Pooled(Tensor::stack(&rows, 0)?)
    } else {
        Frozen::Hidden(rows)
    })
}

/// The trainable part: tuned layers and the head.
pub(super) struct Trainable {
    pub layers: Vec<EncoderLayer>,
    pub head_w: Tensor,
    pub head_b: Tensor,
}

impl Trainable {
    /// Logits of pooled features; `dropout` (a mask) is applied to them first.
    pub fn head(&self, pooled: &Tensor, dropout: Option<&Tensor>) -> Result<Tensor> {
        let pooled = match dropout {
            Some(m) => pooled.broadcast_mul(m)?,
            None => pooled.clone(),
        };
        head_logits(&pooled, &self.head_w, &self.head_b)
    }

    /// Pooled features of rows `idx`: taken as they are, or run through the layers.
    pub fn pooled(&self, frozen: &Frozen, idx: &[usize], train: bool) -> Result<Tensor> {
        Ok(match frozen {
            Frozen::Pooled(p) => {
                let ids = Tensor::from_vec(
                    idx.iter().map(|&i| i as u32).collect::<Vec<_>>(),
                    idx.len(),
                    p.device(),
                )?;
                p.index_select(&ids, 0)?
            }
            Frozen::Hidden(rows) => {
                let longest = idx.iter().map(|&i| rows[i].dims()[0]).max().unwrap_or(1);
                let hidden = rows[idx[0]].dim(1)?;
                let device = rows[idx[0]].device();
                let mut padded = Vec::with_capacity(idx.len());
                let mut mask = Vec::with_capacity(idx.len() * longest);
                for &i in idx {
                    let len = rows[i].dim(0)?;
                    padded.push(if len < longest {
                        Tensor::cat(
                            &[
                                &rows[i],
                                &Tensor::zeros((longest - len, hidden), DType::F32, device)?,
                            ],
                            0,
                        )?
                    } else {
                        rows[i].clone()
                    });
                    mask.extend(std::iter::repeat_n(1f32, len));
                    mask.extend(std::iter::repeat_n(0f32, longest - len));
                }
                let mut x = Tensor::stack(&padded, 0)?;
                let mask = Tensor::from_vec(mask, (idx.len(), longest), device)?;
                let bias = mask_bias(&mask)?;
                for layer in &self.layers {
                    x = layer.forward(&x, &bias, train)?;
                }
                masked_mean(&x, &mask)?
            }
        })
    }

    /// Pooled features of every row, in batches, without gradients: [n, hidden].
    pub fn all_pooled(&self, frozen: &Frozen, n: usize) -> Result<Tensor> {
        let idx: Vec<usize> = (0..n).collect();
        let mut parts = Vec::new();
        for chunk in idx.chunks(64) {
            parts.push(self.pooled(frozen, chunk, false)?.detach());
        }
        Ok(Tensor::cat(&parts, 0)?)
    }

    /// Logits of every row, in batches, without gradients.
    pub fn all_logits(&self, frozen: &Frozen, n: usize) -> Result<Vec<Vec<f32>>> {
        self.logits_of(&self.all_pooled(frozen, n)?)
    }

    /// Logits of already pooled features.
    pub fn logits_of(&self, pooled: &Tensor) -> Result<Vec<Vec<f32>>> {
        Ok(head_logits(pooled, &self.head_w, &self.head_b)?
            .detach()
            .to_vec2::<f32>()?)
    }
}

/// One training stage.
pub(super) struct Phase {
    pub name: &'static str,
    pub epochs: usize,
    pub lr_head: f64,
    pub lr_layers: f64,
}

/// Pooled features of cached hidden states run through `layers` (no gradients).
pub(super) fn pool_through(layers: &[EncoderLayer], rows: &[Tensor], show: bool) -> Result<Frozen> {
    let progress = bar(rows.len() as u64, "pooling frozen features", show);
    let fixed = Trainable {
        layers: layers.to_vec(),
        head_w: Tensor::zeros((1, 1), DType::F32, &Device::Cpu)?,
        head_b: Tensor::zeros(1, DType::F32, &Device::Cpu)?,
    };
    let frozen = Frozen::Hidden(rows.to_vec());
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].dims()[0]);
    let mut pooled: Vec<Option<Tensor>> = vec![None; rows.len()];
    for chunk in order.chunks(64) {
        let p = fixed.pooled(&frozen, chunk, false)?;
        for (j, &i) in chunk.iter().enumerate() {
            pooled[i] = Some(p.get(j)?);
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    let rows: Vec<Tensor> = pooled.into_iter().flatten().collect();
    if rows.is_empty() {
        return Ok(Frozen::Pooled(Tensor::zeros(
            (0, 1),
            DType::F32,
            &Device::Cpu,
        )?));
    }
    Ok(Frozen::Pooled(Tensor::stack(&rows, 0)?))
}

pub(super) fn clone_frozen(f: &Frozen) -> Frozen {
    match f {
        Frozen::Pooled(t) => Frozen::Pooled(t.clone()),
        Frozen::Hidden(rows) => Frozen::Hidden(rows.clone()),
    }
}

/// What one stage trains, and on which features.
pub(super) struct PhaseInput<'a> {
    pub trainable: &'a Trainable,
    pub head_vars: &'a [Var],
    /// Empty when only the head trains.
    pub layer_vars: &'a [Var],
    pub train: &'a Frozen,
    pub valid: &'a Frozen,
}

/// The classes training aims at.
pub(super) struct Targets {
    pub train_y: Vec<usize>,
    /// `None` for an out-of-scope held-out row.
    pub valid_y: Vec<Option<usize>>,
    pub oos_class: Option<usize>,
}

/// What carries over from stage to stage: the options, the seeded randomness
/// (drawn in a fixed order so a run is reproducible), the per-epoch history and the clock.
pub(super) struct Run<'o> {
    pub opts: &'o TrainOptions,
    pub rng: StdRng,
    pub history: Vec<serde_json::Value>,
    pub started: Instant,
}

/// The two optimisers of a stage and its learning-rate schedule.
struct Optimisers {
    head: AdamW,
    layers: Option<AdamW>,
    warmup: usize,
    total_steps: usize,
}

impl Optimisers {
    fn new(
        phase: &Phase,
        input: &PhaseInput,
        opts: &TrainOptions,
        total_steps: usize,
    ) -> Result<Self> {
        let adam = |lr: f64| ParamsAdamW {
            lr,
            weight_decay: opts.weight_decay,
            ..Default::default()
        };
        let layers = if input.layer_vars.is_empty() {
            None
        } else {
            Some(AdamW::new(
                input.layer_vars.to_vec(),
                adam(phase.lr_layers),
            )?)
        };
        Ok(Optimisers {
            head: AdamW::new(input.head_vars.to_vec(), adam(phase.lr_head))?,
            layers,
            warmup: (total_steps / 16).max(1),
            total_steps,
        })
    }

    /// Linear warm-up, then linear decay to zero.
    fn schedule(&mut self, phase: &Phase, step: usize) {
        let scale = if step < self.warmup {
            (step + 1) as f64 / self.warmup as f64
        } else {
            self.total_steps.saturating_sub(step) as f64
                / (self.total_steps - self.warmup).max(1) as f64
        };
        self.head.set_learning_rate(phase.lr_head * scale);
        if let Some(o) = self.layers.as_mut() {
            o.set_learning_rate(phase.lr_layers * scale);
        }
    }

    fn step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.head.step(&grads)?;
        if let Some(o) = self.layers.as_mut() {
            o.step(&grads)?;
        }
        Ok(())
    }
}

/// An inverted-dropout mask over pooled features, or `None` without dropout.
fn dropout_mask(rows: usize, hidden: usize, p: f32, rng: &mut StdRng) -> Result<Option<Tensor>> {
    if p <= 0.0 {
        return Ok(None);
    }
    use rand::Rng;
    let keep = 1.0 - p;
    let m: Vec<f32> = (0..rows * hidden)
        .map(|_| {
            if rng.r#gen::<f32>() < keep {
                1.0 / keep
            } else {
                0.0
            }
        })
        .collect();
    Ok(Some(Tensor::from_vec(m, (rows, hidden), &Device::Cpu)?))
}

/// The loss of one batch: cross-entropy, plus the contrastive term when it is on.
fn batch_loss(
    input: &PhaseInput,
    batch: &[usize],
    targets: &Targets,
    contrastive: bool,
    run: &mut Run,
) -> Result<Tensor> {
    let opts = run.opts;
    let hidden = input.trainable.head_w.dim(1)?;
    let dropout = dropout_mask(batch.len(), hidden, opts.dropout, &mut run.rng)?;
    let pooled = input.trainable.pooled(input.train, batch, true)?;
    let logits = input.trainable.head(&pooled, dropout.as_ref())?;
    let batch_y: Vec<usize> = batch.iter().map(|&i| targets.train_y[i]).collect();
    let ids: Vec<u32> = batch_y.iter().map(|&y| y as u32).collect();
    let y = Tensor::from_vec(ids, batch.len(), &Device::Cpu)?;
    let mut l = loss(&logits, &y, opts.label_smoothing)?;
    if contrastive
        && let Some(c) = supervised_contrastive(
            &pooled,
            &batch_y,
            targets.oos_class,
            opts.contrastive_temperature,
        )?
    {
        l = (l + (c * opts.contrastive)?)?;
    }
    Ok(l)
}

/// Runs one stage: AdamW with linear warm-up and decay, label smoothing and
/// dropout on the pooled features; held-out top-1 printed after each epoch.
pub(super) fn run_phase(
    phase: &Phase,
    input: PhaseInput,
    targets: &Targets,
    run: &mut Run,
) -> Result<()> {
    let opts = run.opts;
    let n = targets.train_y.len();
    let bs = opts.batch_size.max(1);
    // The contrastive term shapes the encoder's embeddings, so it only has a
    // point when layers are tuned.
    let contrastive = opts.contrastive > 0.0 && !input.layer_vars.is_empty();
    let steps_per_epoch = if contrastive {
        grouped_batch_count(&targets.train_y, bs, CONTRASTIVE_GROUP)
    } else {
        n.div_ceil(bs)
    };
    let mut optimisers =
        Optimisers::new(phase, &input, opts, (steps_per_epoch * phase.epochs).max(1))?;
    let lengths: Vec<usize> = match input.train {
        Frozen::Pooled(_) => vec![0; n],
        Frozen::Hidden(rows) => rows.iter().map(|r| r.dims()[0]).collect(),
    };
    let quiet = matches!(input.train, Frozen::Pooled(_));
    let mut step = 0usize;
    for epoch in 0..phase.epochs {
        let progress = bar(
            steps_per_epoch as u64,
            &format!("{} epoch {}/{}", phase.name, epoch + 1, phase.epochs),
            opts.progress && !quiet,
        );
        let batches = if contrastive {
            grouped_batches(&targets.train_y, bs, CONTRASTIVE_GROUP, &mut run.rng)
        } else {
            length_sorted_batches(&lengths, bs, &mut run.rng)
        };
        let mut loss_sum = 0f64;
        for batch in &batches {
            optimisers.schedule(phase, step);
            let l = batch_loss(&input, batch, targets, contrastive, run)?;
            optimisers.step(&l)?;
            loss_sum += l.to_scalar::<f32>()? as f64;
            step += 1;
            progress.inc(1);
            progress.set_suffix(format!(
                "loss {:.3}",
                loss_sum / progress.position().max(1) as f64
            ));
        }
        progress.finish();
        let last = epoch + 1 == phase.epochs;
        if quiet && !last && (epoch + 1) % 10 != 0 {
            continue;
        }
        let mean_loss = loss_sum / steps_per_epoch as f64;
        report_epoch(phase, epoch, mean_loss, &input, targets, run)?;
    }
    Ok(())
}

/// Prints an epoch's loss and held-out top-1, and records them in the history.
fn report_epoch(
    phase: &Phase,
    epoch: usize,
    mean_loss: f64,
    input: &PhaseInput,
    targets: &Targets,
    run: &mut Run,
) -> Result<()> {
    let valid_acc = if targets.valid_y.is_empty() {
        None
    } else {
        let logits = input
            .trainable
            .all_logits(input.valid, targets.valid_y.len())?;
        Some(top1_accuracy(&logits, &targets.valid_y))
    };
    if run.opts.progress {
        eprintln!(
            "{} epoch {}/{}: loss {mean_loss:.4}{}  ({:.0}s)",
            phase.name,
            epoch + 1,
            phase.epochs,
            valid_acc
                .map(|a| format!(", held-out in-scope top-1 {:.2}%", a * 100.0))
                .unwrap_or_default(),
            run.started.elapsed().as_secs_f64()
        );
    }
    run.history.push(json!({"phase": phase.name, "epoch": epoch + 1, "loss": mean_loss, "valid_top1": valid_acc}));
    Ok(())
}
