//! [`EmbeddingModel`]: loads an encoder from any source and turns texts into
//! L2-normalised sentence embeddings, in length-sorted batches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::quantized::{GgmlDType, ggml_file::qtensor_from_ggml};
use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::e5s1::{self, E5s1Header, TensorDType};
use super::encoder::{Encoder, ParamSource, RawParam, l2_normalize, mask_bias, masked_mean};
use super::shape::{EncoderConfig, hf_name};
use super::source::{self, EncoderSource};
use super::tokenize::{TextTokenizer, TokenBatch};
use crate::error::{Error, Result};

/// How the E5S1 Q4_0 weights are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Kept in Q4_0 (about 72 MB), multiplied by candle's quantised kernels.
    Q4,
    /// Dequantised to f32 at load (about 470 MB): 2-3x faster in batches on
    /// CPU, the default (see the README's measurements).
    #[default]
    F32,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "q4" | "q4_0" => Ok(Precision::Q4),
            "f32" => Ok(Precision::F32),
            other => Err(format!("unknown precision {other:?}: use q4 or f32")),
        }
    }
}

/// Default token limit per message (prefix and special tokens included).
pub const DEFAULT_MAX_TOKENS: usize = 128;

/// Everything needed to load an encoder.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    pub source: EncoderSource,
    pub cache_dir: PathBuf,
    pub precision: Precision,
    pub max_tokens: usize,
    /// Text put before every input; `None` picks `"query: "` for E5 models.
    pub prefix: Option<String>,
}

impl EncoderOptions {
    /// The default encoder in f32 with the default token limit, from the cache directory
    /// that `INTENTDESK_MODEL_CACHE` names (else `models/cache`): what the commands'
    /// defaults amount to, for tests, benches and embedders.
    pub fn from_env() -> Self {
        EncoderOptions {
            source: EncoderSource::Default,
            cache_dir: source::default_cache_dir(),
            precision: Precision::F32,
            max_tokens: DEFAULT_MAX_TOKENS,
            prefix: None,
        }
    }
}

/// What a classifier records about the encoder it was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderIdentity {
    pub source: String,
    pub weights_file: String,
    pub weights_sha256: String,
    pub precision: Precision,
    pub prefix: String,
    pub max_tokens: usize,
    pub layers: usize,
    pub hidden: usize,
}

/// A loaded encoder with its tokenizer.
pub struct EmbeddingModel {
    pub encoder: Encoder,
    pub tokenizer: TextTokenizer,
    pub identity: EncoderIdentity,
}

/// Rows per forward pass when embedding many texts.
pub const BULK_BATCH: usize = 32;

impl EmbeddingModel {
    /// Loads the encoder described by `opts` on the CPU.
    pub fn load(opts: &EncoderOptions) -> Result<Self> {
        let device = Device::Cpu;
        let found = Resolved::find(opts)?;
        let (encoder, weights_path) = if let Some(e5s1_path) = &found.e5s1 {
            let src = E5s1Source::open(e5s1_path, opts.precision, &device)?;
            (
                Encoder::load(&src, &src.header.config, &device)?,
                e5s1_path.clone(),
            )
        } else {
            let config_path = found.dir.join("config.json");
            let text = std::fs::read_to_string(&config_path)
                .map_err(|_| missing_in_dir(&config_path, false))?;
            let config =
                EncoderConfig::from_hf_json(&text).map_err(|reason| Error::ModelFileCorrupt {
                    path: config_path.clone(),
                    reason,
                    hint: "use a BERT-family encoder directory".into(),
                })?;
            let weights = find_safetensors(&found.dir)?;
            let src = SafetensorsSource::open(&weights, &device)?;
            (Encoder::load(&src, &config, &device)?, weights)
        };
        let identity = found.identity(opts, &weights_path, encoder.config())?;
        Ok(EmbeddingModel {
            encoder,
            tokenizer: found.tokenizer,
            identity,
        })
    }

    pub fn hidden(&self) -> usize {
        self.encoder.config().hidden
    }

    /// Tokenises and pads one batch of texts.
    pub fn token_batch(&self, texts: &[&str]) -> Result<TokenBatch> {
        let rows = self.tokenizer.encode(texts)?;
        self.tokenizer.batch(&rows, self.encoder.device())
    }

    /// Embeddings of one batch: [n, hidden], unit rows.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Tensor> {
        if texts.is_empty() {
            return Ok(Tensor::zeros(
                (0, self.hidden()),
                DType::F32,
                self.encoder.device(),
            )?);
        }
        let batch = self.token_batch(texts)?;
        let hidden = self.encoder.forward(&batch.ids, &batch.mask)?;
        l2_normalize(&masked_mean(&hidden, &batch.mask)?)
    }

    /// Indices of `texts` sorted by token count.
    pub fn length_order(&self, texts: &[&str]) -> Result<Vec<usize>> {
        let lengths: Vec<usize> = self.tokenizer.encode(texts)?.iter().map(Vec::len).collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| lengths[i]);
        Ok(order)
    }

    /// Hidden states after the first `layers` layers, with the batch's mask
    /// (used to cache the frozen part of the encoder for fine-tuning).
    pub fn hidden_after(&self, texts: &[&str], layers: usize) -> Result<(Tensor, TokenBatch)> {
        let batch = self.token_batch(texts)?;
        let x = self.encoder.embed(&batch.ids)?;
        let h = self
            .encoder
            .run_layers(&x, &mask_bias(&batch.mask)?, 0, layers)?;
        Ok((h, batch))
    }
}

/// An encoder's files located and its tokenizer loaded, before any weights.
pub(crate) struct Resolved {
    pub dir: PathBuf,
    pub is_default: bool,
    pub tokenizer: TextTokenizer,
    /// The E5S1 weights file, when the encoder is stored in that format.
    pub e5s1: Option<PathBuf>,
}

impl Resolved {
    /// Finds the files `opts` describes (checking the default encoder's
    /// checksums) and loads the tokenizer.
    pub fn find(opts: &EncoderOptions) -> Result<Self> {
        let (dir, is_default) = match &opts.source {
            EncoderSource::Default => {
                let (weights, tokenizer) = source::default_encoder_files(&opts.cache_dir);
                for (path, member) in [
                    (&weights, source::E5_WEIGHTS),
                    (&tokenizer, source::E5_TOKENIZER),
                ] {
                    source::verify_member(path, &member)?;
                }
                (
                    weights.parent().map(Path::to_path_buf).unwrap_or_default(),
                    true,
                )
            }
            EncoderSource::Hub(repo) => (source::fetch_from_hub(repo)?, false),
            EncoderSource::Dir(dir) => (dir.clone(), false),
        };
        let e5s1_path = dir.join(source::E5_WEIGHTS.file_name);
        let prefix = prefix_for(opts, is_default || e5s1_path.exists());
        let tokenizer_path = dir.join("tokenizer.json");
        if !tokenizer_path.exists() {
            return Err(missing_in_dir(&tokenizer_path, is_default));
        }
        let tokenizer = TextTokenizer::from_file(&tokenizer_path, &prefix, opts.max_tokens)?;
        Ok(Resolved {
            e5s1: e5s1_path.exists().then_some(e5s1_path),
            dir,
            is_default,
            tokenizer,
        })
    }

    /// What a classifier records about this encoder.
    pub fn identity(
        &self,
        opts: &EncoderOptions,
        weights_path: &Path,
        config: &EncoderConfig,
    ) -> Result<EncoderIdentity> {
        let weights_sha256 = if self.is_default {
            source::E5_WEIGHTS.sha256.to_string()
        } else {
            source::sha256_file(weights_path)?
        };
        Ok(EncoderIdentity {
            source: opts.source.describe(),
            weights_file: weights_path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
            weights_sha256,
            precision: opts.precision,
            prefix: self.tokenizer.prefix().to_string(),
            max_tokens: opts.max_tokens,
            layers: config.layers,
            hidden: config.hidden,
        })
    }
}

/// The text put before every input: the configured one, else `"query: "` for E5 models.
fn prefix_for(opts: &EncoderOptions, is_e5_file: bool) -> String {
    let is_e5 = is_e5_file || opts.source.describe().contains("e5");
    opts.prefix.clone().unwrap_or_else(|| {
        if is_e5 {
            "query: ".into()
        } else {
            String::new()
        }
    })
}

fn missing_in_dir(path: &Path, is_default: bool) -> Error {
    if is_default {
        source::missing(path)
    } else {
        Error::ModelFileMissing {
            path: path.to_path_buf(),
            hint: "an encoder directory needs config.json, tokenizer.json and *.safetensors \
                   (or e5-small-q4.bin and tokenizer.json)"
                .into(),
        }
    }
}

fn find_safetensors(dir: &Path) -> Result<PathBuf> {
    let preferred = dir.join("model.safetensors");
    if preferred.exists() {
        return Ok(preferred);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    entries
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .ok_or_else(|| missing_in_dir(&preferred, false))
}

/// Weights from an E5S1 file, read into memory and checked.
struct E5s1Source {
    path: PathBuf,
    bytes: Vec<u8>,
    header: E5s1Header,
    precision: Precision,
    device: Device,
}

impl E5s1Source {
    fn open(path: &Path, precision: Precision, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let header = e5s1::parse(&bytes).map_err(|e| source::corrupt(path, e.0))?;
        Ok(E5s1Source {
            path: path.to_path_buf(),
            bytes,
            header,
            precision,
            device: device.clone(),
        })
    }
}

impl ParamSource for E5s1Source {
    fn param(&self, name: &str, shape: &[usize]) -> Result<RawParam> {
        let (entry, data) = self
            .header
            .data(&self.bytes, name)
            .map_err(|e| source::corrupt(&self.path, e.0))?;
        let expected: usize = shape.iter().product();
        if entry.elements != expected {
            return Err(source::corrupt(
                &self.path,
                format!(
                    "tensor {name} has {} elements, expected {shape:?}",
                    entry.elements
                ),
            ));
        }
        Ok(match entry.dtype {
            TensorDType::F32 => RawParam::Dense(Tensor::from_raw_buffer(
                data,
                DType::F32,
                shape,
                &self.device,
            )?),
            TensorDType::Q4_0 => {
                // candle reinterprets the bytes as blocks holding an f16, so
                // they must be 2-byte aligned: a fresh heap allocation is,
                // while a tensor inside the file may start at any offset.
                let aligned = data.to_vec();
                let q = qtensor_from_ggml(GgmlDType::Q4_0, &aligned, shape.to_vec(), &self.device)?;
                match self.precision {
                    Precision::Q4 => RawParam::Quantized(q),
                    Precision::F32 => RawParam::Dense(q.dequantize(&self.device)?),
                }
            }
        })
    }
}

/// Weights from a Hugging Face safetensors file.
struct SafetensorsSource {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
    prefix: &'static str,
}

impl SafetensorsSource {
    fn open(path: &Path, device: &Device) -> Result<Self> {
        let tensors =
            candle_core::safetensors::load(path, device).map_err(|e| Error::ModelFileCorrupt {
                path: path.to_path_buf(),
                reason: format!("not a readable safetensors file: {e}"),
                hint: "fetch the model directory again".into(),
            })?;
        let prefix = if tensors.contains_key("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        Ok(SafetensorsSource {
            path: path.to_path_buf(),
            tensors,
            prefix,
        })
    }
}

impl ParamSource for SafetensorsSource {
    fn param(&self, name: &str, shape: &[usize]) -> Result<RawParam> {
        let full = format!("{}{}", self.prefix, hf_name(name));
        let t = self
            .tensors
            .get(&full)
            .ok_or_else(|| Error::ModelFileCorrupt {
                path: self.path.clone(),
                reason: format!("tensor {full} is missing"),
                hint: "use a BERT-family encoder".into(),
            })?;
        if t.dims() != shape {
            return Err(Error::ModelFileCorrupt {
                path: self.path.clone(),
                reason: format!("tensor {full} has shape {:?}, expected {shape:?}", t.dims()),
                hint: "config.json and the weights disagree".into(),
            });
        }
        Ok(RawParam::Dense(t.to_dtype(DType::F32)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::e5s1::testing::{tiny_config, write};

    #[test]
    fn a_synthetic_e5s1_file_runs_in_both_precisions() {
        let bytes = write(&tiny_config(), 7);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e5-small-q4.bin");
        std::fs::write(&path, &bytes).unwrap();
        let mut outputs = Vec::new();
        for precision in [Precision::Q4, Precision::F32] {
            let src = E5s1Source::open(&path, precision, &Device::Cpu).unwrap();
            let enc = Encoder::load(&src, &tiny_config(), &Device::Cpu).unwrap();
            let ids = Tensor::new(&[[0u32, 5, 6, 2], [0, 7, 2, 1]], &Device::Cpu).unwrap();
            let mask = Tensor::new(&[[1f32, 1., 1., 1.], [1., 1., 1., 0.]], &Device::Cpu).unwrap();
            let h = enc.forward(&ids, &mask).unwrap();
            assert_eq!(h.dims(), &[2, 4, 32]);
            let pooled = l2_normalize(&masked_mean(&h, &mask).unwrap()).unwrap();
            let v = pooled.to_vec2::<f32>().unwrap();
            assert!(v.iter().flatten().all(|x| x.is_finite()));
            outputs.push(v);
        }
        // Q4 and f32 agree closely (only activation quantisation differs).
        let cos: f32 = outputs[0][0]
            .iter()
            .zip(&outputs[1][0])
            .map(|(a, b)| a * b)
            .sum();
        assert!(cos > 0.95, "cosine {cos}");
    }

    #[test]
    fn padding_does_not_change_an_embedding() {
        let bytes = write(&tiny_config(), 8);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.bin");
        std::fs::write(&path, &bytes).unwrap();
        let src = E5s1Source::open(&path, Precision::F32, &Device::Cpu).unwrap();
        let enc = Encoder::load(&src, &tiny_config(), &Device::Cpu).unwrap();
        let embed = |ids: Vec<u32>, mask: Vec<f32>| {
            let n = ids.len();
            let ids = Tensor::from_vec(ids, (1, n), &Device::Cpu).unwrap();
            let mask = Tensor::from_vec(mask, (1, n), &Device::Cpu).unwrap();
            let h = enc.forward(&ids, &mask).unwrap();
            masked_mean(&h, &mask).unwrap().to_vec2::<f32>().unwrap()[0].clone()
        };
        let alone = embed(vec![0, 5, 6, 2], vec![1.; 4]);
        let padded = embed(vec![0, 5, 6, 2, 1, 1, 1], vec![1., 1., 1., 1., 0., 0., 0.]);
        for (a, b) in alone.iter().zip(&padded) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn a_truncated_weights_file_is_reported_by_name() {
        let bytes = write(&tiny_config(), 9);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e5-small-q4.bin");
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        let err = E5s1Source::open(&path, Precision::Q4, &Device::Cpu)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("e5-small-q4.bin") && err.contains("truncated"),
            "{err}"
        );
    }
}
