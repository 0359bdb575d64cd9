//! The trained intent classifier: its artifact on disk (safetensors plus JSON
//! metadata), loading with identity checks, and calibrated predictions with
//! the out-of-scope decision.
//!
//! Artifact layout (a directory):
//! - `classifier.json`: [`ClassifierMeta`] (labels, encoder identity and
//!   checksum, training-data hash, temperature, thresholds, metrics)
//! - `classifier.safetensors`: `head.w` [labels, hidden], `head.b` [labels],
//!   and the fine-tuned top encoder layers under their E5S1 names (`l11.q.w`...);
//!   optionally `centroids` [labels, hidden] and `exemplars` [rows, hidden]
//!   (f16, the unit-length embeddings of in-scope training rows, for the
//!   nearest-example similarity)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

use super::embed::{EmbeddingModel, EncoderIdentity};
use super::encoder::{
    EncoderLayer, ParamSource, RawParam, dense, l2_normalize, mask_bias, masked_mean,
};
use super::prediction::{Prediction, Scores, Thresholds, decide};
use super::shape::EncoderConfig;
use crate::error::{Error, Result};

pub const META_FILE: &str = "classifier.json";
pub const WEIGHTS_FILE: &str = "classifier.safetensors";
/// Bumped when the artifact layout changes.
pub const FORMAT_VERSION: u32 = 1;

/// Metadata stored beside the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierMeta {
    pub format_version: u32,
    /// Class names in head order.
    pub labels: Vec<String>,
    /// The label that means "out of scope", if the training data had one.
    pub oos_label: Option<String>,
    pub encoder: EncoderIdentity,
    /// Indices of the encoder layers replaced by fine-tuned copies.
    pub tuned_layers: Vec<usize>,
    /// Temperature dividing the logits (fitted on held-out data).
    pub temperature: f32,
    pub thresholds: Thresholds,
    /// sha256 of the training data (rows as read), for reproducibility.
    pub training_data_sha256: String,
    /// sha256 of the intent catalog the model was trained from, if any.
    pub catalog_sha256: Option<String>,
    /// Free-form training report (settings, timings, held-out metrics).
    pub training: serde_json::Value,
}

/// A loaded classifier head (and fine-tuned top layers).
pub struct Classifier {
    pub meta: ClassifierMeta,
    head_w: Tensor,
    head_b: Tensor,
    /// Unit-length mean embedding of each label's training rows [labels, hidden].
    centroids: Option<Tensor>,
    /// Unit-length embeddings of in-scope training rows [rows, hidden].
    exemplars: Option<Tensor>,
    tuned: Vec<EncoderLayer>,
    dir: PathBuf,
}

/// The trained parts of a classifier besides its metadata.
pub struct ClassifierParts {
    pub head_w: Tensor,
    pub head_b: Tensor,
    pub centroids: Option<Tensor>,
    pub exemplars: Option<Tensor>,
    pub tuned: Vec<EncoderLayer>,
}

/// Parameters held in a map by E5S1 name (a loaded artifact, or freshly trained layers);
/// `Path` names where they come from in errors.
pub(crate) struct MapSource<'a>(pub &'a HashMap<String, Tensor>, pub &'a Path);

impl ParamSource for MapSource<'_> {
    fn param(&self, name: &str, shape: &[usize]) -> Result<RawParam> {
        let t = self.0.get(name).ok_or_else(|| Error::ClassifierMismatch {
            path: self.1.to_path_buf(),
            reason: format!("tensor {name} is missing from {WEIGHTS_FILE}"),
        })?;
        if t.dims() != shape {
            return Err(Error::ClassifierMismatch {
                path: self.1.to_path_buf(),
                reason: format!("tensor {name} has shape {:?}, expected {shape:?}", t.dims()),
            });
        }
        Ok(RawParam::Dense(t.to_dtype(DType::F32)?))
    }
}

impl Classifier {
    /// Builds a classifier from trained parts.
    pub fn new(meta: ClassifierMeta, parts: ClassifierParts) -> Self {
        let ClassifierParts {
            head_w,
            head_b,
            centroids,
            exemplars,
            tuned,
        } = parts;
        Classifier {
            meta,
            head_w,
            head_b,
            centroids,
            exemplars,
            tuned,
            dir: PathBuf::new(),
        }
    }

    /// Reads an artifact's metadata alone (no weights).
    pub fn read_meta(dir: &Path) -> Result<ClassifierMeta> {
        let meta_path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&meta_path).map_err(|_| Error::ModelFileMissing {
            path: meta_path.clone(),
            hint: "train one with `intentdesk train --catalog intents/ --out DIR` \
                   (or --data FILE), or pass the --model directory that holds it"
                .into(),
        })?;
        serde_json::from_str(&text).map_err(|e| Error::ModelFileCorrupt {
            path: meta_path.clone(),
            reason: e.to_string(),
            hint: "retrain with `intentdesk train`".into(),
        })
    }

    /// Loads an artifact directory, checking it fits `model` (same encoder
    /// weights, same hidden size).
    pub fn load(dir: &Path, model: &EmbeddingModel) -> Result<Self> {
        Self::load_for(dir, &model.identity, model.encoder.config(), true)
    }

    /// Loads an artifact directory for the encoder `identity` of shape
    /// `config`; `with_tuned` builds its fine-tuned layers as candle layers
    /// (the fast forward reads them itself and leaves them out).
    pub fn load_for(
        dir: &Path,
        identity: &EncoderIdentity,
        config: &EncoderConfig,
        with_tuned: bool,
    ) -> Result<Self> {
        let meta = Self::read_meta(dir)?;
        let mismatch = |reason: String| Error::ClassifierMismatch {
            path: dir.to_path_buf(),
            reason,
        };
        if meta.format_version != FORMAT_VERSION {
            return Err(mismatch(format!(
                "artifact format {} but this build reads {FORMAT_VERSION}; retrain",
                meta.format_version
            )));
        }
        if meta.encoder.weights_sha256 != identity.weights_sha256 {
            return Err(mismatch(format!(
                "trained on encoder weights {} ({}), but the loaded encoder is {} ({})",
                short(&meta.encoder.weights_sha256),
                meta.encoder.source,
                short(&identity.weights_sha256),
                identity.source
            )));
        }
        let weights_path = dir.join(WEIGHTS_FILE);
        let tensors = candle_core::safetensors::load(&weights_path, &candle_core::Device::Cpu)
            .map_err(|e| Error::ModelFileCorrupt {
                path: weights_path.clone(),
                reason: e.to_string(),
                hint: "retrain with `intentdesk train`".into(),
            })?;
        let src = MapSource(&tensors, &weights_path);
        let n = meta.labels.len();
        let h = config.hidden;
        let head_w = dense(&src, "head.w", &[n, h])?;
        let head_b = dense(&src, "head.b", &[n])?;
        let centroids = match tensors.get("centroids") {
            Some(_) => Some(dense(&src, "centroids", &[n, h])?),
            None => None,
        };
        let exemplars = match tensors.get("exemplars") {
            Some(t) if t.rank() == 2 && t.dim(1)? == h && t.dim(0)? > 0 => {
                Some(t.to_dtype(DType::F32)?)
            }
            Some(t) => {
                return Err(mismatch(format!(
                    "tensor exemplars has shape {:?}, expected [rows, {h}]",
                    t.dims()
                )));
            }
            None => None,
        };
        let layers = config.layers;
        let mut tuned = Vec::new();
        for (i, &l) in meta.tuned_layers.iter().enumerate() {
            if meta.tuned_layers.len() > layers || l != layers - meta.tuned_layers.len() + i {
                return Err(mismatch(format!(
                    "tuned layers {:?} are not the top layers",
                    meta.tuned_layers
                )));
            }
            if with_tuned {
                tuned.push(EncoderLayer::load(&src, l, config)?);
            }
        }
        Ok(Classifier {
            meta,
            head_w,
            head_b,
            centroids,
            exemplars,
            tuned,
            dir: dir.to_path_buf(),
        })
    }

    /// Saves the artifact into `dir` (created if needed).
    pub fn save(&self, dir: &Path, tuned_tensors: &HashMap<String, Tensor>) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut tensors = tuned_tensors.clone();
        tensors.insert("head.w".into(), self.head_w.clone());
        tensors.insert("head.b".into(), self.head_b.clone());
        if let Some(c) = &self.centroids {
            tensors.insert("centroids".into(), c.clone());
        }
        if let Some(e) = &self.exemplars {
            tensors.insert("exemplars".into(), e.to_dtype(DType::F16)?);
        }
        let weights_path = dir.join(WEIGHTS_FILE);
        candle_core::safetensors::save(&tensors, &weights_path)?;
        let meta_path = dir.join(META_FILE);
        let json = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        std::fs::write(&meta_path, json).map_err(|e| Error::io(&meta_path, e))
    }

    /// Writes the metadata into `dir`, copying the weights from `from` when
    /// `dir` is another directory (thresholds changed, weights did not).
    pub fn save_meta(&self, dir: &Path, from: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        if dir != from {
            let (src, dst) = (from.join(WEIGHTS_FILE), dir.join(WEIGHTS_FILE));
            std::fs::copy(&src, &dst).map_err(|e| Error::io(&src, e))?;
        }
        let meta_path = dir.join(META_FILE);
        let json = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        std::fs::write(&meta_path, json).map_err(|e| Error::io(&meta_path, e))
    }

    /// Where the artifact was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn labels(&self) -> &[String] {
        &self.meta.labels
    }

    /// Pooled features of a batch of texts: [n, hidden].
    pub fn pooled(&self, model: &EmbeddingModel, texts: &[&str]) -> Result<Tensor> {
        let batch = model.token_batch(texts)?;
        let enc = &model.encoder;
        let frozen = enc.layers().len() - self.tuned.len();
        let bias = mask_bias(&batch.mask)?;
        let mut x = enc.run_layers(&enc.embed(&batch.ids)?, &bias, 0, frozen)?;
        for layer in &self.tuned {
            x = layer.forward(&x, &bias, false)?;
        }
        masked_mean(&x, &batch.mask)
    }

    /// How many training examples the nearest-example similarity looks at.
    pub fn exemplar_count(&self) -> usize {
        self.exemplars.as_ref().map_or(0, |e| e.dims()[0])
    }

    /// Calibrated probabilities, centroid and nearest-example similarities for a batch.
    pub fn score(&self, model: &EmbeddingModel, texts: &[&str]) -> Result<Vec<Scores>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.score_pooled(&self.pooled(model, texts)?)
    }

    /// [`Self::score`] from pooled features [n, hidden].
    pub fn score_pooled(&self, pooled: &Tensor) -> Result<Vec<Scores>> {
        let logits =
            (head_logits(pooled, &self.head_w, &self.head_b)? / self.meta.temperature as f64)?;
        let probs = candle_nn::ops::softmax_last_dim(&logits)?.to_vec2::<f32>()?;
        let unit = l2_normalize(pooled)?;
        let sims = match &self.centroids {
            Some(c) => Some(unit.matmul(&c.t()?)?.to_vec2::<f32>()?),
            None => None,
        };
        let nearest = match &self.exemplars {
            Some(e) => Some(nearest_similarity(&unit, e)?),
            None => None,
        };
        Ok(probs
            .into_iter()
            .enumerate()
            .map(|(i, p)| Scores {
                probs: p,
                similarities: sims.as_ref().map(|s| s[i].clone()),
                neighbor_similarity: nearest.as_ref().map(|n| n[i]),
            })
            .collect())
    }

    /// Predictions for a batch of texts.
    pub fn predict(&self, model: &EmbeddingModel, texts: &[&str]) -> Result<Vec<Prediction>> {
        Ok(self
            .score(model, texts)?
            .iter()
            .map(|s| self.decide(s))
            .collect())
    }

    /// Applies this classifier's labels and thresholds to scores.
    pub fn decide(&self, scores: &Scores) -> Prediction {
        decide(
            scores,
            &self.meta.labels,
            self.meta.oos_label.as_deref(),
            &self.meta.thresholds,
        )
    }
}

/// Cosine similarity of each unit-length row of `unit` [n, hidden] to its
/// nearest row of `exemplars` [rows, hidden].
pub fn nearest_similarity(unit: &Tensor, exemplars: &Tensor) -> Result<Vec<f32>> {
    Ok(unit.matmul(&exemplars.t()?)?.max(1)?.to_vec1::<f32>()?)
}

/// The head: pooled features [n, hidden] to logits [n, labels].
pub fn head_logits(pooled: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(pooled.matmul(&w.t()?)?.broadcast_add(b)?)
}

/// Softmax of rows of logits divided by a temperature.
pub fn softmax_rows(logits: &[Vec<f32>], temperature: f32) -> Vec<Vec<f32>> {
    logits
        .iter()
        .map(|row| {
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = row
                .iter()
                .map(|v| ((v - max) / temperature).exp())
                .collect();
            let sum: f32 = exps.iter().sum();
            exps.iter().map(|e| e / sum).collect()
        })
        .collect()
}

/// The first 12 hex digits of a sha256, for messages.
fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one_and_sharpen_with_low_temperature() {
        let p = softmax_rows(&[vec![1.0, 2.0, 3.0]], 1.0);
        assert!((p[0].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let sharp = softmax_rows(&[vec![1.0, 2.0, 3.0]], 0.5);
        assert!(sharp[0][2] > p[0][2]);
    }
}
