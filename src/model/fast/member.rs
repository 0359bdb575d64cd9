//! [`FastMember`]: a classifier on the fast forward — tokenizer, the
//! encoder with the classifier's fine-tuned top layers, and the head — loaded
//! without the candle encoder (whose f32 weights are what made inference
//! take 800 MB).

use std::path::Path;

use super::{FastEncoder, Forward, LinearFormat, MappedE5s1};
use crate::error::Result;
use crate::model::classifier::{Classifier, MapSource, WEIGHTS_FILE};
use crate::model::embed::{EncoderIdentity, EncoderOptions, Resolved};
use crate::model::prediction::Scores;
use crate::model::tokenize::TextTokenizer;

/// A classifier with the fast encoder it runs on.
pub struct FastMember {
    pub tokenizer: TextTokenizer,
    pub encoder: FastEncoder,
    pub classifier: Classifier,
    pub identity: EncoderIdentity,
}

impl FastMember {
    /// Loads the classifier in `dir` on the encoder `opts` describes, with
    /// linear weights in `format`; `None` when that encoder is not an E5S1
    /// file (only the candle encoder reads the others).
    pub fn load(dir: &Path, opts: &EncoderOptions, format: LinearFormat) -> Result<Option<Self>> {
        let found = Resolved::find(opts)?;
        let Some(path) = found.e5s1.clone() else {
            return Ok(None);
        };
        let file = MappedE5s1::open(&path)?;
        let identity = found.identity(opts, &path, &file.header.config)?;
        let classifier = Classifier::load_for(dir, &identity, &file.header.config, false)?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let tensors = candle_core::safetensors::load(&weights_path, &candle_core::Device::Cpu)?;
        let encoder = FastEncoder::load(
            file,
            &classifier.meta.tuned_layers,
            &MapSource(&tensors, &weights_path),
            format,
        )?;
        Ok(Some(FastMember {
            tokenizer: found.tokenizer,
            encoder,
            classifier,
            identity,
        }))
    }

    /// The format [`Forward`] asks for, or `None` for the candle encoder.
    pub fn format_for(forward: Forward) -> Option<LinearFormat> {
        match forward {
            Forward::Int8 => Some(LinearFormat::Int8),
            Forward::F32 => Some(LinearFormat::F32),
            Forward::Candle => None,
        }
    }

    /// Mean-pooled features of a batch of texts: [n, hidden].
    pub fn pooled(&self, texts: &[&str]) -> Result<candle_core::Tensor> {
        self.encoder.pooled(&self.tokenizer.encode(texts)?)
    }

    /// Calibrated scores of a batch of texts.
    pub fn score(&self, texts: &[&str]) -> Result<Vec<Scores>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.classifier.score_pooled(&self.pooled(texts)?)
    }
}
