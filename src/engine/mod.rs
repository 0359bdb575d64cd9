//! The async facade over the synchronous model: one dedicated thread owns the model, requests
//! reach it through a bounded queue with oneshot replies, and the thread drains what is queued
//! into one forward pass (dynamic batching across connections).
//!
//! Why this shape (after text-embeddings-inference):
//! - the model never runs on a runtime worker thread, so a forward pass cannot stall the
//!   sockets of every other customer;
//! - the queue is bounded and enqueueing never waits: a full queue is [`Error::Overloaded`]
//!   at once (HTTP 429 with Retry-After) instead of an ever-growing backlog;
//! - a request whose caller has gone (socket closed, timeout) is dropped before the forward
//!   pass, so a burst of abandoned requests does not delay the live ones;
//! - [`Engine::health`] sends a real request through the same queue: the worker answering is
//!   what "ready" means.
//!
//! Metrics: `intentdesk_model_latency_seconds` (one forward pass), `intentdesk_model_batch_size`
//! (texts per forward pass), `intentdesk_model_queue_wait_seconds`, `intentdesk_model_queue_depth`,
//! `intentdesk_model_skipped_total` (callers gone), `intentdesk_model_overloaded_total`.

mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::inference::{Classification, IntentEngine};
use crate::model::Prediction;
use crate::nlu::{self, Analysis};
use crate::policy::PolicyConfig;

/// Tunables of the engine's queue and batcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Most texts in one forward pass. Larger batches raise throughput under load but every
    /// request of the batch waits for the slowest (longest) text.
    pub max_batch: usize,
    /// Requests that may wait for the model; one more is refused as overloaded.
    pub queue_capacity: usize,
    /// How long [`Engine::health`] waits for the worker's answer.
    pub health_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_batch: 32,
            queue_capacity: 256,
            health_timeout: Duration::from_secs(10),
        }
    }
}

/// What the worker thread runs: the real [`IntentEngine`], or a stand-in in tests.
pub trait Backend: Send + 'static {
    /// Predictions for already-masked texts, one forward pass.
    fn predict_masked(&self, masked: &[&str]) -> Result<Vec<Prediction>>;
    /// Turns an analysis and its prediction into the `classify` answer.
    fn describe(&self, analysis: Analysis, prediction: Prediction) -> Classification;
}

impl Backend for IntentEngine {
    fn predict_masked(&self, masked: &[&str]) -> Result<Vec<Prediction>> {
        IntentEngine::predict_masked(self, masked)
    }

    fn describe(&self, analysis: Analysis, prediction: Prediction) -> Classification {
        IntentEngine::describe(self, analysis, prediction)
    }
}

/// Where a job's answer goes.
enum ReplyTo {
    Predictions(oneshot::Sender<Result<Vec<Prediction>>>),
    Classifications(oneshot::Sender<Result<Vec<Classification>>>),
}

impl ReplyTo {
    /// The caller dropped its receiver (gave up): the job need not run.
    fn is_closed(&self) -> bool {
        match self {
            ReplyTo::Predictions(tx) => tx.is_closed(),
            ReplyTo::Classifications(tx) => tx.is_closed(),
        }
    }
}

/// One request waiting for the model.
struct Job {
    /// The analysed messages; the model sees only their masked text.
    analyses: Vec<Analysis>,
    reply: ReplyTo,
    /// When it was queued, for the queue-wait histogram.
    queued_at: Instant,
}

/// State shared between the handles and the worker thread.
struct Shared {
    /// Milliseconds since `epoch` at the end of the last successful forward pass, or -1.
    /// Written by the worker only; read by `health` to answer without queueing a probe
    /// while the worker is visibly busy and answering.
    last_ok_ms: AtomicI64,
    /// Reference point of `last_ok_ms`.
    epoch: Instant,
}

impl Shared {
    fn mark_ok(&self) {
        let ms = self.epoch.elapsed().as_millis() as i64;
        self.last_ok_ms.store(ms, Ordering::Relaxed);
    }

    /// Time since the last successful forward pass.
    fn since_last_ok(&self) -> Option<Duration> {
        let ms = self.last_ok_ms.load(Ordering::Relaxed);
        (ms >= 0).then(|| {
            self.epoch
                .elapsed()
                .saturating_sub(Duration::from_millis(ms as u64))
        })
    }
}

/// Handle on the model thread. Cheap to clone; the thread stops when the last clone is
/// dropped (its queue closes) after finishing what was queued.
#[derive(Clone)]
pub struct Engine {
    /// Bounded: `try_send` failing is the overload signal. Never awaited on.
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
    catalog: Arc<Catalog>,
    policy: PolicyConfig,
    config: EngineConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Moves the loaded model onto its own thread.
    pub fn start(engine: IntentEngine, config: EngineConfig) -> Result<Engine> {
        let catalog = Arc::new(engine.catalog.clone());
        let policy = engine.policy;
        Engine::spawn(engine, catalog, policy, config)
    }

    /// Starts a worker thread running `backend` (the real engine, or a stand-in in tests).
    pub fn spawn(
        backend: impl Backend,
        catalog: Arc<Catalog>,
        policy: PolicyConfig,
        config: EngineConfig,
    ) -> Result<Engine> {
        if config.max_batch == 0 || config.queue_capacity == 0 {
            return Err(Error::InvalidInput(format!(
                "engine max batch ({}) and queue capacity ({}) must be at least 1",
                config.max_batch, config.queue_capacity
            )));
        }
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let shared = Arc::new(Shared {
            last_ok_ms: AtomicI64::new(-1),
            epoch: Instant::now(),
        });
        let worker_shared = shared.clone();
        let max_batch = config.max_batch;
        std::thread::Builder::new()
            .name("intentdesk-model".into())
            .spawn(move || worker::run(backend, rx, worker_shared, max_batch))
            .map_err(|e| Error::ModelUnavailable(format!("cannot start the model thread: {e}")))?;
        Ok(Engine {
            tx,
            shared,
            catalog,
            policy,
            config,
        })
    }

    /// The catalog the model was trained on.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The policy tunables the engine was built with.
    pub fn policy(&self) -> PolicyConfig {
        self.policy
    }

    pub fn config(&self) -> EngineConfig {
        self.config
    }

    /// Requests waiting for the model right now.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Classifies raw messages (masked, language, details, intent, route), batched with
    /// whatever else is queued.
    pub async fn classify(&self, texts: &[&str]) -> Result<Vec<Classification>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let analyses = texts.iter().map(|t| nlu::analyse(t)).collect();
        let (tx, rx) = oneshot::channel();
        self.enqueue(analyses, ReplyTo::Classifications(tx))?;
        receive(rx).await
    }

    /// The model's prediction for one analysed message (its masked text).
    pub async fn predict(&self, analysis: &Analysis) -> Result<Prediction> {
        let (tx, rx) = oneshot::channel();
        self.enqueue(vec![analysis.clone()], ReplyTo::Predictions(tx))?;
        receive(rx)
            .await?
            .pop()
            .ok_or_else(|| Error::Internal("the model returned no prediction".into()))
    }

    /// Ok when the worker answers: a forward pass finished within the last second (it is
    /// busy and answering), or a probe sent through the queue comes back in time.
    pub async fn health(&self) -> Result<()> {
        if self
            .shared
            .since_last_ok()
            .is_some_and(|d| d < Duration::from_secs(1))
        {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        self.enqueue(vec![nlu::analyse("health check")], ReplyTo::Predictions(tx))?;
        match tokio::time::timeout(self.config.health_timeout, receive(rx)).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(Error::ModelUnavailable(format!(
                "the model did not answer a health probe within {:?}",
                self.config.health_timeout
            ))),
        }
    }

    fn enqueue(&self, analyses: Vec<Analysis>, reply: ReplyTo) -> Result<()> {
        let job = Job {
            analyses,
            reply,
            queued_at: Instant::now(),
        };
        let result = self.tx.try_send(job);
        metrics::gauge!("intentdesk_model_queue_depth").set(self.queued() as f64);
        match result {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("intentdesk_model_overloaded_total").increment(1);
                Err(Error::Overloaded {
                    queued: self.queued(),
                })
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Error::ModelUnavailable(
                "the model thread has stopped".into(),
            )),
        }
    }
}

async fn receive<T>(rx: oneshot::Receiver<Result<T>>) -> Result<T> {
    rx.await
        .map_err(|_| Error::ModelUnavailable("the model thread stopped before answering".into()))?
}

#[cfg(test)]
mod tests;
