//! Training the intent classifier on top of the encoder, on CPU: the frozen
//! lower layers run once per text and are cached, the top `tune_layers`
//! layers and a linear head are fine-tuned with AdamW (cross-entropy, plus an
//! optional supervised contrastive term), then the temperature and the
//! out-of-scope thresholds are fitted on held-out data.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::json;

use super::calibration::{ThresholdGoal, choose_thresholds, ece, fit_temperature};
use super::classifier::{
    Classifier, ClassifierMeta, ClassifierParts, FORMAT_VERSION, MapSource, Scores, head_logits,
    is_oos_label, softmax_rows,
};
use super::embed::EmbeddingModel;
use super::encoder::{EncoderLayer, layer_tensor_names, mask_bias, masked_mean};
use crate::error::{Error, Result};
use crate::progress::Progress;

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

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Top encoder layers fine-tuned (0 = a head on frozen embeddings).
    pub tune_layers: usize,
    /// Epochs of the first stage (the head alone on frozen features).
    pub probe_epochs: usize,
    /// Learning rate of the first stage.
    pub probe_lr: f64,
    /// Epochs of the fine-tuning stage (layers and head), when tune_layers > 0.
    pub epochs: usize,
    pub batch_size: usize,
    pub lr_head: f64,
    pub lr_layers: f64,
    pub weight_decay: f64,
    pub label_smoothing: f64,
    pub dropout: f32,
    /// Weight of the supervised contrastive term in the fine-tuning stage
    /// (0 = cross-entropy alone). With it, batches hold a few rows of each of
    /// several intents, and each row is pulled towards the other rows of its
    /// intent and away from the rest, so that nearest-example similarity
    /// separates intents (and the unknown) more sharply.
    pub contrastive: f64,
    /// Temperature of the contrastive term's cosine similarities.
    pub contrastive_temperature: f64,
    pub seed: u64,
    pub progress: bool,
    pub goal: ThresholdGoal,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            tune_layers: 2,
            probe_epochs: 30,
            probe_lr: 1e-2,
            epochs: 3,
            batch_size: 32,
            lr_head: 1e-3,
            lr_layers: 1e-4,
            weight_decay: 0.01,
            label_smoothing: 0.1,
            dropout: 0.1,
            contrastive: 0.0,
            contrastive_temperature: 0.1,
            seed: 42,
            progress: true,
            goal: ThresholdGoal::default(),
        }
    }
}

/// A trained classifier and the tensors of its fine-tuned layers.
pub struct Trained {
    pub classifier: Classifier,
    pub tuned_tensors: HashMap<String, Tensor>,
}

/// What the frozen part of the encoder produced for each text.
enum Frozen {
    /// Pooled final embeddings [n, hidden] (no layer is tuned).
    Pooled(Tensor),
    /// Hidden states [len_i, hidden] after the frozen layers.
    Hidden(Vec<Tensor>),
}

fn bar(len: u64, label: &str, show: bool) -> Progress {
    Progress::new(len, label, show, false)
}

/// Runs the frozen layers over `texts` once.
fn run_frozen(
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
    for chunk in order.chunks(super::embed::BULK_BATCH) {
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
struct Trainable {
    layers: Vec<EncoderLayer>,
    head_w: Tensor,
    head_b: Tensor,
}

impl Trainable {
    /// Logits of pooled features; `dropout` (a mask) is applied to them first.
    fn head(&self, pooled: &Tensor, dropout: Option<&Tensor>) -> Result<Tensor> {
        let pooled = match dropout {
            Some(m) => pooled.broadcast_mul(m)?,
            None => pooled.clone(),
        };
        head_logits(&pooled, &self.head_w, &self.head_b)
    }

    /// Pooled features of rows `idx`: taken as they are, or run through the layers.
    fn pooled(&self, frozen: &Frozen, idx: &[usize], train: bool) -> Result<Tensor> {
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
    fn all_pooled(&self, frozen: &Frozen, n: usize) -> Result<Tensor> {
        let idx: Vec<usize> = (0..n).collect();
        let mut parts = Vec::new();
        for chunk in idx.chunks(64) {
            parts.push(self.pooled(frozen, chunk, false)?.detach());
        }
        Ok(Tensor::cat(&parts, 0)?)
    }

    /// Logits of every row, in batches, without gradients.
    fn all_logits(&self, frozen: &Frozen, n: usize) -> Result<Vec<Vec<f32>>> {
        self.logits_of(&self.all_pooled(frozen, n)?)
    }

    /// Logits of already pooled features.
    fn logits_of(&self, pooled: &Tensor) -> Result<Vec<Vec<f32>>> {
        Ok(head_logits(pooled, &self.head_w, &self.head_b)?
            .detach()
            .to_vec2::<f32>()?)
    }
}

/// Cross-entropy with label smoothing.
fn loss(logits: &Tensor, targets: &Tensor, smoothing: f64) -> Result<Tensor> {
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
const CONTRASTIVE_GROUP: usize = 4;

/// Supervised contrastive loss (Khosla et al., 2020) of a batch: for each row
/// with at least one other row of its intent, minus the mean log-probability
/// of picking those rows among all others by cosine similarity / temperature.
/// Out-of-scope rows are negatives only: unrelated messages are not pulled
/// together. `None` when no row has a positive.
fn supervised_contrastive(
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
    let unit = super::encoder::l2_normalize(pooled)?;
    let sims = (unit.matmul(&unit.t()?)? / temperature)?;
    let sims = sims.broadcast_add(&Tensor::from_vec(self_mask, (n, n), device)?)?;
    let log_prob = candle_nn::ops::log_softmax(&sims, D::Minus1)?;
    let per_anchor = (log_prob * Tensor::from_vec(positives, (n, n), device)?)?.sum(1)?;
    let total = (per_anchor * Tensor::from_vec(anchors, n, device)?)?.sum_all()?;
    Ok(Some((total.neg()? / anchor_count as f64)?))
}

/// Batches for plain cross-entropy: shuffled, then sorted by length within
/// windows of 8 batches, so batches stay random with little padding.
fn length_sorted_batches(lengths: &[usize], bs: usize, rng: &mut StdRng) -> Vec<Vec<usize>> {
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
fn grouped_batch_count(labels: &[usize], bs: usize, group: usize) -> usize {
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
fn grouped_batches(labels: &[usize], bs: usize, group: usize, rng: &mut StdRng) -> Vec<Vec<usize>> {
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

/// One training stage.
struct Phase {
    name: &'static str,
    epochs: usize,
    lr_head: f64,
    lr_layers: f64,
}

/// Pooled features of cached hidden states run through `layers` (no gradients).
fn pool_through(layers: &[EncoderLayer], rows: &[Tensor], show: bool) -> Result<Frozen> {
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

fn clone_frozen(f: &Frozen) -> Frozen {
    match f {
        Frozen::Pooled(t) => Frozen::Pooled(t.clone()),
        Frozen::Hidden(rows) => Frozen::Hidden(rows.clone()),
    }
}

/// Runs one stage: AdamW with linear warm-up and decay, label smoothing and
/// dropout on the pooled features; held-out top-1 printed after each epoch.
#[allow(clippy::too_many_arguments)]
fn run_phase(
    trainable: &Trainable,
    phase: &Phase,
    head_vars: &[Var],
    layer_vars: &[Var],
    frozen_train: &Frozen,
    frozen_valid: &Frozen,
    train_y: &[usize],
    valid_y: &[Option<usize>],
    oos_class: Option<usize>,
    opts: &TrainOptions,
    rng: &mut StdRng,
    history: &mut Vec<serde_json::Value>,
    started: Instant,
) -> Result<()> {
    let device = Device::Cpu;
    let adam = |lr: f64| ParamsAdamW {
        lr,
        weight_decay: opts.weight_decay,
        ..Default::default()
    };
    let mut head_opt = AdamW::new(head_vars.to_vec(), adam(phase.lr_head))?;
    let mut layer_opt = if layer_vars.is_empty() {
        None
    } else {
        Some(AdamW::new(layer_vars.to_vec(), adam(phase.lr_layers))?)
    };
    let n = train_y.len();
    let hidden = trainable.head_w.dim(1)?;
    let bs = opts.batch_size.max(1);
    // The contrastive term shapes the encoder's embeddings, so it only has a
    // point when layers are tuned.
    let contrastive = opts.contrastive > 0.0 && !layer_vars.is_empty();
    let steps_per_epoch = if contrastive {
        grouped_batch_count(train_y, bs, CONTRASTIVE_GROUP)
    } else {
        n.div_ceil(bs)
    };
    let total_steps = (steps_per_epoch * phase.epochs).max(1);
    let warmup = (total_steps / 16).max(1);
    let lengths: Vec<usize> = match frozen_train {
        Frozen::Pooled(_) => vec![0; n],
        Frozen::Hidden(rows) => rows.iter().map(|r| r.dims()[0]).collect(),
    };
    let quiet = matches!(frozen_train, Frozen::Pooled(_));
    let mut step = 0usize;
    for epoch in 0..phase.epochs {
        let progress = bar(
            steps_per_epoch as u64,
            &format!("{} epoch {}/{}", phase.name, epoch + 1, phase.epochs),
            opts.progress && !quiet,
        );
        let batches = if contrastive {
            grouped_batches(train_y, bs, CONTRASTIVE_GROUP, rng)
        } else {
            length_sorted_batches(&lengths, bs, rng)
        };
        let mut loss_sum = 0f64;
        for batch in &batches {
            let batch = batch.as_slice();
            let scale = if step < warmup {
                (step + 1) as f64 / warmup as f64
            } else {
                total_steps.saturating_sub(step) as f64 / (total_steps - warmup).max(1) as f64
            };
            head_opt.set_learning_rate(phase.lr_head * scale);
            if let Some(o) = layer_opt.as_mut() {
                o.set_learning_rate(phase.lr_layers * scale);
            }
            let dropout = if opts.dropout > 0.0 {
                use rand::Rng;
                let keep = 1.0 - opts.dropout;
                let m: Vec<f32> = (0..batch.len() * hidden)
                    .map(|_| {
                        if rng.r#gen::<f32>() < keep {
                            1.0 / keep
                        } else {
                            0.0
                        }
                    })
                    .collect();
                Some(Tensor::from_vec(m, (batch.len(), hidden), &device)?)
            } else {
                None
            };
            let pooled = trainable.pooled(frozen_train, batch, true)?;
            let logits = trainable.head(&pooled, dropout.as_ref())?;
            let batch_y: Vec<usize> = batch.iter().map(|&i| train_y[i]).collect();
            let targets = Tensor::from_vec(
                batch_y.iter().map(|&y| y as u32).collect::<Vec<_>>(),
                batch.len(),
                &device,
            )?;
            let mut l = loss(&logits, &targets, opts.label_smoothing)?;
            if contrastive
                && let Some(c) = supervised_contrastive(
                    &pooled,
                    &batch_y,
                    oos_class,
                    opts.contrastive_temperature,
                )?
            {
                l = (l + (c * opts.contrastive)?)?;
            }
            let grads = l.backward()?;
            head_opt.step(&grads)?;
            if let Some(o) = layer_opt.as_mut() {
                o.step(&grads)?;
            }
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
        let valid_acc = if valid_y.is_empty() {
            None
        } else {
            let logits = trainable.all_logits(frozen_valid, valid_y.len())?;
            Some(top1_accuracy(&logits, valid_y))
        };
        let mean_loss = loss_sum / steps_per_epoch as f64;
        if opts.progress {
            eprintln!(
                "{} epoch {}/{}: loss {mean_loss:.4}{}  ({:.0}s)",
                phase.name,
                epoch + 1,
                phase.epochs,
                valid_acc
                    .map(|a| format!(", held-out in-scope top-1 {:.2}%", a * 100.0))
                    .unwrap_or_default(),
                started.elapsed().as_secs_f64()
            );
        }
        history.push(json!({"phase": phase.name, "epoch": epoch + 1, "loss": mean_loss, "valid_top1": valid_acc}));
    }
    Ok(())
}

/// Trains a classifier. `valid` tunes the temperature and thresholds; its
/// labels may include an out-of-scope label the training data lacks.
pub fn train(
    model: &EmbeddingModel,
    train_set: &LabelledTexts,
    valid: &LabelledTexts,
    opts: &TrainOptions,
    training_data_sha256: String,
    catalog_sha256: Option<String>,
) -> Result<Trained> {
    let started = Instant::now();
    let device = Device::Cpu;
    if train_set.is_empty() {
        return Err(Error::InvalidInput("the training data has no rows".into()));
    }
    let contrastive_ok = opts.contrastive.is_finite() && opts.contrastive >= 0.0;
    let temperature_ok =
        opts.contrastive_temperature.is_finite() && opts.contrastive_temperature > 0.0;
    if !(contrastive_ok && temperature_ok) {
        return Err(Error::InvalidInput(format!(
            "the contrastive weight must be 0 or more and its temperature above 0 (got {} and {})",
            opts.contrastive, opts.contrastive_temperature
        )));
    }
    let layer_count = model.encoder.layers().len();
    if opts.tune_layers > layer_count {
        return Err(Error::InvalidInput(format!(
            "cannot tune {} layers of a {layer_count}-layer encoder",
            opts.tune_layers
        )));
    }
    let labels: Vec<String> = train_set
        .labels
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if labels.len() < 2 {
        return Err(Error::InvalidInput(
            "training needs at least two labels".into(),
        ));
    }
    let index: HashMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let oos_label = labels.iter().find(|l| is_oos_label(l)).cloned();
    let oos_class = oos_label.as_ref().map(|l| index[l.as_str()]);
    let train_y: Vec<usize> = train_set.labels.iter().map(|l| index[l.as_str()]).collect();
    let valid_y = held_out_classes(&valid.labels, &labels, oos_class)?;

    let k = opts.tune_layers;
    let train_texts: Vec<&str> = train_set.texts.iter().map(String::as_str).collect();
    let valid_texts: Vec<&str> = valid.texts.iter().map(String::as_str).collect();
    let frozen_train = run_frozen(
        model,
        &train_texts,
        k,
        "encoding training set",
        opts.progress,
    )?;
    let frozen_valid = run_frozen(
        model,
        &valid_texts,
        k,
        "encoding held-out set",
        opts.progress,
    )?;
    let encode_secs = started.elapsed().as_secs_f64();

    // Trainable parts, seeded.
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let layer_vars = VarMap::new();
    let tuned: Vec<EncoderLayer> = (layer_count - k..layer_count)
        .map(|l| model.encoder.layers()[l].trainable(&layer_vars, l))
        .collect::<Result<_>>()?;
    let hidden = model.hidden();
    let n_labels = labels.len();
    let init: Vec<f32> = {
        use rand::Rng;
        (0..n_labels * hidden)
            .map(|_| rng.gen_range(-0.02f32..0.02))
            .collect()
    };
    let head_w = Var::from_tensor(&Tensor::from_vec(init, (n_labels, hidden), &device)?)?;
    let head_b = Var::from_tensor(&Tensor::zeros(n_labels, DType::F32, &device)?)?;
    let trainable = Trainable {
        layers: tuned,
        head_w: head_w.as_tensor().clone(),
        head_b: head_b.as_tensor().clone(),
    };
    let head_vars = vec![head_w.clone(), head_b.clone()];
    let mut history = Vec::new();

    // Stage 1, linear probe: the head alone on pooled features of the frozen
    // encoder. With no layer to tune this is the whole training; otherwise it
    // gives the fine-tuning stage a head that already points the right way
    // (random heads send noisy gradients into the pretrained layers).
    let (probe_train, probe_valid) = match (&frozen_train, &frozen_valid) {
        (Frozen::Hidden(t), Frozen::Hidden(v)) => (
            pool_through(&model.encoder.layers()[layer_count - k..], t, opts.progress)?,
            pool_through(&model.encoder.layers()[layer_count - k..], v, opts.progress)?,
        ),
        _ => (clone_frozen(&frozen_train), clone_frozen(&frozen_valid)),
    };
    let head_only = Trainable {
        layers: Vec::new(),
        head_w: trainable.head_w.clone(),
        head_b: trainable.head_b.clone(),
    };
    let probe = Phase {
        name: "probe",
        epochs: opts.probe_epochs,
        lr_head: opts.probe_lr,
        lr_layers: 0.0,
    };
    run_phase(
        &head_only,
        &probe,
        &head_vars,
        &[],
        &probe_train,
        &probe_valid,
        &train_y,
        &valid_y,
        oos_class,
        opts,
        &mut rng,
        &mut history,
        started,
    )?;

    // Stage 2, fine-tuning: the top layers and the head together.
    if k > 0 {
        let tune = Phase {
            name: "fine-tune",
            epochs: opts.epochs,
            lr_head: opts.lr_head,
            lr_layers: opts.lr_layers,
        };
        run_phase(
            &trainable,
            &tune,
            &head_vars,
            &layer_vars.all_vars(),
            &frozen_train,
            &frozen_valid,
            &train_y,
            &valid_y,
            oos_class,
            opts,
            &mut rng,
            &mut history,
            started,
        )?;
    }

    // Centroids: the unit-length mean of each class's training embeddings.
    // Exemplars: the in-scope training embeddings themselves, for the
    // nearest-example similarity.
    let (centroids, exemplars) = {
        let pooled =
            super::encoder::l2_normalize(&trainable.all_pooled(&frozen_train, train_set.len())?)?;
        let mut rows = Vec::with_capacity(labels.len());
        for class in 0..labels.len() {
            let idx: Vec<u32> = (0..train_y.len())
                .filter(|&i| train_y[i] == class)
                .map(|i| i as u32)
                .collect();
            let ids = Tensor::from_vec(idx.clone(), idx.len(), &device)?;
            rows.push(pooled.index_select(&ids, 0)?.mean(0)?);
        }
        let centroids = super::encoder::l2_normalize(&Tensor::stack(&rows, 0)?)?;
        let in_scope: Vec<usize> = (0..train_y.len())
            .filter(|&i| Some(train_y[i]) != oos_class)
            .collect();
        (centroids, exemplar_rows(&pooled, in_scope, &mut rng)?)
    };

    // Calibration and thresholds on the held-out rows.
    // The tuned layers run once over the held-out rows: logits and
    // similarities both come from these pooled features.
    let (valid_logits, valid_sims, valid_nearest) = if valid.is_empty() {
        (Vec::new(), Vec::new(), Vec::new())
    } else {
        let pooled = trainable.all_pooled(&frozen_valid, valid.len())?;
        let unit = super::encoder::l2_normalize(&pooled)?;
        let sims = unit.matmul(&centroids.t()?)?.to_vec2::<f32>()?;
        let nearest = match &exemplars {
            Some(e) => super::classifier::nearest_similarity(&unit, e)?,
            None => Vec::new(),
        };
        (trainable.logits_of(&pooled)?, sims, nearest)
    };
    let in_scope: Vec<(Vec<f32>, usize)> = valid_logits
        .iter()
        .zip(&valid_y)
        .filter_map(|(l, y)| y.map(|y| (l.clone(), y)))
        .collect();
    let (cal_logits, cal_y): (Vec<Vec<f32>>, Vec<usize>) = in_scope.into_iter().unzip();
    let temperature = fit_temperature(&cal_logits, &cal_y);
    let ece_before = ece(&softmax_rows(&cal_logits, 1.0), &cal_y);
    let ece_after = ece(&softmax_rows(&cal_logits, temperature), &cal_y);
    let valid_scores: Vec<Scores> = softmax_rows(&valid_logits, temperature)
        .into_iter()
        .zip(valid_sims)
        .enumerate()
        .map(|(i, (probs, sims))| Scores {
            probs,
            similarities: Some(sims),
            neighbor_similarity: valid_nearest.get(i).copied(),
        })
        .collect();
    let thresholds = if valid.is_empty() {
        Default::default()
    } else {
        choose_thresholds(&valid_scores, &valid_y, oos_class, opts.goal)
    };
    let train_secs = started.elapsed().as_secs_f64();

    let mut tuned_tensors = HashMap::new();
    let vars = layer_vars
        .data()
        .lock()
        .map_err(|_| Error::InvalidInput("poisoned".into()))?;
    for l in layer_count - k..layer_count {
        for name in layer_tensor_names(l) {
            if let Some(v) = vars.get(&name) {
                tuned_tensors.insert(name, v.as_tensor().detach().to_dtype(DType::F16)?);
            }
        }
    }
    drop(vars);
    let meta = ClassifierMeta {
        format_version: FORMAT_VERSION,
        labels: labels.clone(),
        oos_label,
        encoder: model.identity.clone(),
        tuned_layers: (layer_count - k..layer_count).collect(),
        temperature,
        thresholds,
        training_data_sha256,
        catalog_sha256,
        training: json!({
            "rows": train_set.len(),
            "held_out_rows": valid.len(),
            "tune_layers": k,
            "probe_epochs": opts.probe_epochs,
            "probe_lr": opts.probe_lr,
            "epochs": opts.epochs,
            "batch_size": opts.batch_size,
            "lr_head": opts.lr_head,
            "lr_layers": opts.lr_layers,
            "label_smoothing": opts.label_smoothing,
            "dropout": opts.dropout,
            "contrastive": opts.contrastive,
            "contrastive_temperature": opts.contrastive_temperature,
            "seed": opts.seed,
            "encode_seconds": encode_secs,
            "total_seconds": train_secs,
            "history": history,
            "held_out_ece_before_calibration": ece_before,
            "held_out_ece_after_calibration": ece_after,
            "exemplars": exemplars.as_ref().map_or(0, |e| e.dims()[0]),
        }),
    };
    // The stored tuned layers are f16: rebuild the in-memory classifier from
    // the same f16 values so what is evaluated now is what is saved.
    let head_w = trainable.head_w.detach();
    let head_b = trainable.head_b.detach();
    let rounded: HashMap<String, Tensor> = tuned_tensors
        .iter()
        .map(|(k, v)| Ok((k.clone(), v.to_dtype(DType::F32)?)))
        .collect::<Result<_>>()?;
    let layers = rebuild_layers(&rounded, model, layer_count - k)?;
    Ok(Trained {
        classifier: Classifier::new(
            meta,
            ClassifierParts {
                head_w,
                head_b,
                centroids: Some(centroids),
                exemplars,
                tuned: layers,
            },
        ),
        tuned_tensors,
    })
}

fn rebuild_layers(
    tensors: &HashMap<String, Tensor>,
    model: &EmbeddingModel,
    from: usize,
) -> Result<Vec<EncoderLayer>> {
    let src = MapSource(tensors, std::path::Path::new("(fine-tuned layers)"));
    (from..model.encoder.layers().len())
        .map(|l| EncoderLayer::load(&src, l, model.encoder.config()))
        .collect()
}

/// At most this many training rows are kept as exemplars (a seeded sample
/// beyond it): 50,000 × 384 dimensions is 38 MB of f16 and well under a
/// millisecond of matrix product per message.
pub const MAX_EXEMPLARS: usize = 50_000;

/// The rows of unit-length `pooled` [n, hidden] named by `rows` (a seeded
/// sample of [`MAX_EXEMPLARS`] when there are more); `None` when there are none.
fn exemplar_rows(
    pooled: &Tensor,
    mut rows: Vec<usize>,
    rng: &mut StdRng,
) -> Result<Option<Tensor>> {
    if rows.is_empty() {
        return Ok(None);
    }
    if rows.len() > MAX_EXEMPLARS {
        rows.shuffle(rng);
        rows.truncate(MAX_EXEMPLARS);
        rows.sort_unstable();
    }
    let ids: Vec<u32> = rows.iter().map(|&i| i as u32).collect();
    let ids = Tensor::from_vec(ids, rows.len(), pooled.device())?;
    // Stored as f16: keep in memory exactly what is saved.
    let rows = pooled
        .index_select(&ids, 0)?
        .to_dtype(DType::F16)?
        .to_dtype(DType::F32)?;
    Ok(Some(rows))
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
pub(crate) fn top1_accuracy(logits: &[Vec<f32>], labels: &[Option<usize>]) -> f64 {
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

    #[test]
    fn top1_accuracy_ignores_out_of_scope_rows() {
        let logits = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]];
        assert_eq!(top1_accuracy(&logits, &[Some(0), Some(0), None]), 0.5);
    }
}
