//! Training the intent classifier on top of the encoder, on CPU: the frozen
//! lower layers run once per text and are cached, the top `tune_layers`
//! layers and a linear head are fine-tuned with AdamW (cross-entropy, plus an
//! optional supervised contrastive term), then the temperature and the
//! out-of-scope thresholds are fitted on held-out data.
//!
//! [`train`] reads as its steps: [`Trainer::new`] (check, label, encode once),
//! `probe`, `fine_tune`, `embeddings` (centroids, exemplars), `calibrate`, `finish`.

mod objective;
mod phase;

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::json;

use self::phase::{
    Frozen, Phase, PhaseInput, Run, Targets, Trainable, clone_frozen, pool_through, run_frozen,
    run_phase,
};
use super::calibration::{ThresholdGoal, choose_thresholds, ece, fit_temperature};
use super::classifier::{
    Classifier, ClassifierMeta, ClassifierParts, FORMAT_VERSION, MapSource, softmax_rows,
};
use super::embed::EmbeddingModel;
use super::encoder::{EncoderLayer, l2_normalize, layer_tensor_names};
use super::labels::{LabelledTexts, held_out_classes};
use super::prediction::{Scores, Thresholds, is_oos_label};
use crate::error::{Error, Result};

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
    let mut trainer = Trainer::new(model, train_set, valid, opts)?;
    trainer.probe()?;
    trainer.fine_tune()?;
    let embeddings = trainer.embeddings()?;
    let calibration = trainer.calibrate(&embeddings)?;
    trainer.finish(
        embeddings,
        calibration,
        training_data_sha256,
        catalog_sha256,
    )
}

/// Checks the options against the data and the encoder.
fn check(model: &EmbeddingModel, train_set: &LabelledTexts, opts: &TrainOptions) -> Result<()> {
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
    Ok(())
}

/// The sorted class labels of the training rows (at least two).
fn class_labels(train_set: &LabelledTexts) -> Result<Vec<String>> {
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
    Ok(labels)
}

/// The class centroids and the exemplars of the trained embeddings.
struct Embeddings {
    centroids: Tensor,
    exemplars: Option<Tensor>,
}

/// What the held-out rows decided.
struct Calibration {
    temperature: f32,
    thresholds: Thresholds,
    ece_before: f32,
    ece_after: f32,
}

/// One training run, from encoded rows to the finished classifier.
struct Trainer<'a> {
    model: &'a EmbeddingModel,
    train_rows: usize,
    valid_rows: usize,
    labels: Vec<String>,
    oos_label: Option<String>,
    targets: Targets,
    frozen_train: Frozen,
    frozen_valid: Frozen,
    encode_secs: f64,
    /// The tuned layers' variables (empty when only the head trains).
    layer_vars: VarMap,
    trainable: Trainable,
    head_vars: Vec<Var>,
    run: Run<'a>,
}

impl<'a> Trainer<'a> {
    /// Checks the options, turns labels into classes, runs the frozen layers once over
    /// both sets and sets up the seeded trainable part.
    fn new(
        model: &'a EmbeddingModel,
        train_set: &LabelledTexts,
        valid: &LabelledTexts,
        opts: &'a TrainOptions,
    ) -> Result<Self> {
        let started = Instant::now();
        check(model, train_set, opts)?;
        let labels = class_labels(train_set)?;
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

        let mut rng = StdRng::seed_from_u64(opts.seed);
        let layer_vars = VarMap::new();
        let layer_count = model.encoder.layers().len();
        let tuned: Vec<EncoderLayer> = (layer_count - k..layer_count)
            .map(|l| model.encoder.layers()[l].trainable(&layer_vars, l))
            .collect::<Result<_>>()?;
        let (head_w, head_b) = initial_head(labels.len(), model.hidden(), &mut rng)?;
        let trainable = Trainable {
            layers: tuned,
            head_w: head_w.as_tensor().clone(),
            head_b: head_b.as_tensor().clone(),
        };
        Ok(Trainer {
            model,
            train_rows: train_set.len(),
            valid_rows: valid.len(),
            labels,
            oos_label,
            targets: Targets {
                train_y,
                valid_y,
                oos_class,
            },
            frozen_train,
            frozen_valid,
            encode_secs,
            layer_vars,
            trainable,
            head_vars: vec![head_w, head_b],
            run: Run {
                opts,
                rng,
                history: Vec::new(),
                started,
            },
        })
    }

    fn layer_count(&self) -> usize {
        self.model.encoder.layers().len()
    }

    fn tuned_from(&self) -> usize {
        self.layer_count() - self.run.opts.tune_layers
    }

    /// Stage 1, linear probe: the head alone on pooled features of the frozen
    /// encoder. With no layer to tune this is the whole training; otherwise it
    /// gives the fine-tuning stage a head that already points the right way
    /// (random heads send noisy gradients into the pretrained layers).
    fn probe(&mut self) -> Result<()> {
        let opts = self.run.opts;
        let (probe_train, probe_valid) = match (&self.frozen_train, &self.frozen_valid) {
            (Frozen::Hidden(t), Frozen::Hidden(v)) => {
                let layers = &self.model.encoder.layers()[self.tuned_from()..];
                (
                    pool_through(layers, t, opts.progress)?,
                    pool_through(layers, v, opts.progress)?,
                )
            }
            _ => (
                clone_frozen(&self.frozen_train),
                clone_frozen(&self.frozen_valid),
            ),
        };
        let head_only = Trainable {
            layers: Vec::new(),
            head_w: self.trainable.head_w.clone(),
            head_b: self.trainable.head_b.clone(),
        };
        let phase = Phase {
            name: "probe",
            epochs: opts.probe_epochs,
            lr_head: opts.probe_lr,
            lr_layers: 0.0,
        };
        let input = PhaseInput {
            trainable: &head_only,
            head_vars: &self.head_vars,
            layer_vars: &[],
            train: &probe_train,
            valid: &probe_valid,
        };
        run_phase(&phase, input, &self.targets, &mut self.run)
    }

    /// Stage 2, fine-tuning: the top layers and the head together (nothing to do when
    /// no layer is tuned).
    fn fine_tune(&mut self) -> Result<()> {
        let opts = self.run.opts;
        if opts.tune_layers == 0 {
            return Ok(());
        }
        let phase = Phase {
            name: "fine-tune",
            epochs: opts.epochs,
            lr_head: opts.lr_head,
            lr_layers: opts.lr_layers,
        };
        let layer_vars = self.layer_vars.all_vars();
        let input = PhaseInput {
            trainable: &self.trainable,
            head_vars: &self.head_vars,
            layer_vars: &layer_vars,
            train: &self.frozen_train,
            valid: &self.frozen_valid,
        };
        run_phase(&phase, input, &self.targets, &mut self.run)
    }

    /// Centroids: the unit-length mean of each class's training embeddings.
    /// Exemplars: the in-scope training embeddings themselves, for the
    /// nearest-example similarity.
    fn embeddings(&mut self) -> Result<Embeddings> {
        let pooled = l2_normalize(
            &self
                .trainable
                .all_pooled(&self.frozen_train, self.train_rows)?,
        )?;
        let train_y = &self.targets.train_y;
        let mut rows = Vec::with_capacity(self.labels.len());
        for class in 0..self.labels.len() {
            let idx: Vec<u32> = (0..train_y.len())
                .filter(|&i| train_y[i] == class)
                .map(|i| i as u32)
                .collect();
            let ids = Tensor::from_vec(idx.clone(), idx.len(), &Device::Cpu)?;
            rows.push(pooled.index_select(&ids, 0)?.mean(0)?);
        }
        let centroids = l2_normalize(&Tensor::stack(&rows, 0)?)?;
        let in_scope: Vec<usize> = (0..train_y.len())
            .filter(|&i| Some(train_y[i]) != self.targets.oos_class)
            .collect();
        let exemplars = exemplar_rows(&pooled, in_scope, &mut self.run.rng)?;
        Ok(Embeddings {
            centroids,
            exemplars,
        })
    }

    /// The temperature and thresholds, fitted on the held-out rows. The tuned layers run
    /// once over them: logits and similarities both come from these pooled features.
    fn calibrate(&self, embeddings: &Embeddings) -> Result<Calibration> {
        let (valid_logits, valid_sims, valid_nearest) = if self.valid_rows == 0 {
            (Vec::new(), Vec::new(), Vec::new())
        } else {
            let pooled = self
                .trainable
                .all_pooled(&self.frozen_valid, self.valid_rows)?;
            let unit = l2_normalize(&pooled)?;
            let sims = unit.matmul(&embeddings.centroids.t()?)?.to_vec2::<f32>()?;
            let nearest = match &embeddings.exemplars {
                Some(e) => super::classifier::nearest_similarity(&unit, e)?,
                None => Vec::new(),
            };
            (self.trainable.logits_of(&pooled)?, sims, nearest)
        };
        let valid_y = &self.targets.valid_y;
        let (cal_logits, cal_y): (Vec<Vec<f32>>, Vec<usize>) = valid_logits
            .iter()
            .zip(valid_y)
            .filter_map(|(l, y)| y.map(|y| (l.clone(), y)))
            .unzip();
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
        let thresholds = if self.valid_rows == 0 {
            Default::default()
        } else {
            let goal = self.run.opts.goal;
            choose_thresholds(&valid_scores, valid_y, self.targets.oos_class, goal)
        };
        Ok(Calibration {
            temperature,
            thresholds,
            ece_before,
            ece_after,
        })
    }

    /// The tuned layers' tensors as they are saved (f16).
    fn tuned_tensors(&self) -> Result<HashMap<String, Tensor>> {
        let mut tuned = HashMap::new();
        let vars = self
            .layer_vars
            .data()
            .lock()
            .map_err(|_| Error::Internal("the tuned layers' variables are poisoned".into()))?;
        for l in self.tuned_from()..self.layer_count() {
            for name in layer_tensor_names(l) {
                if let Some(v) = vars.get(&name) {
                    tuned.insert(name, v.as_tensor().detach().to_dtype(DType::F16)?);
                }
            }
        }
        Ok(tuned)
    }

    /// The training report kept in the artifact's metadata.
    fn report(&self, calibration: &Calibration, embeddings: &Embeddings) -> serde_json::Value {
        let opts = self.run.opts;
        json!({
            "rows": self.train_rows,
            "held_out_rows": self.valid_rows,
            "tune_layers": opts.tune_layers,
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
            "encode_seconds": self.encode_secs,
            "total_seconds": self.run.started.elapsed().as_secs_f64(),
            "history": self.run.history,
            "held_out_ece_before_calibration": calibration.ece_before,
            "held_out_ece_after_calibration": calibration.ece_after,
            "exemplars": embeddings.exemplars.as_ref().map_or(0, |e| e.dims()[0]),
        })
    }

    /// The finished classifier. The stored tuned layers are f16: the in-memory
    /// classifier is rebuilt from the same f16 values so what is evaluated now is what
    /// is saved.
    fn finish(
        self,
        embeddings: Embeddings,
        calibration: Calibration,
        training_data_sha256: String,
        catalog_sha256: Option<String>,
    ) -> Result<Trained> {
        let tuned_tensors = self.tuned_tensors()?;
        let meta = ClassifierMeta {
            format_version: FORMAT_VERSION,
            labels: self.labels.clone(),
            oos_label: self.oos_label.clone(),
            encoder: self.model.identity.clone(),
            tuned_layers: (self.tuned_from()..self.layer_count()).collect(),
            temperature: calibration.temperature,
            thresholds: calibration.thresholds,
            training_data_sha256,
            catalog_sha256,
            training: self.report(&calibration, &embeddings),
        };
        let rounded: HashMap<String, Tensor> = tuned_tensors
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.to_dtype(DType::F32)?)))
            .collect::<Result<_>>()?;
        let layers = rebuild_layers(&rounded, self.model, self.tuned_from())?;
        let parts = ClassifierParts {
            head_w: self.trainable.head_w.detach(),
            head_b: self.trainable.head_b.detach(),
            centroids: Some(embeddings.centroids),
            exemplars: embeddings.exemplars,
            tuned: layers,
        };
        Ok(Trained {
            classifier: Classifier::new(meta, parts),
            tuned_tensors,
        })
    }
}

/// A seeded head: small uniform weights, zero bias.
fn initial_head(classes: usize, hidden: usize, rng: &mut StdRng) -> Result<(Var, Var)> {
    use rand::Rng;
    let init: Vec<f32> = (0..classes * hidden)
        .map(|_| rng.gen_range(-0.02f32..0.02))
        .collect();
    let w = Var::from_tensor(&Tensor::from_vec(init, (classes, hidden), &Device::Cpu)?)?;
    let b = Var::from_tensor(&Tensor::zeros(classes, DType::F32, &Device::Cpu)?)?;
    Ok((w, b))
}

/// The tuned layers rebuilt from their stored tensors.
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
