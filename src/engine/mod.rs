//! The async facade over the synchronous model, masked texts in, predictions out: one
//! dedicated thread owns the model, requests reach it through a bounded queue with oneshot
//! replies, and the thread drains what is queued into one forward pass (dynamic batching
//! across connections). It knows no catalog and no policy: what a prediction means for a
//! customer is decided on the async side ([`crate::conversation::ChatService`]).
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
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::model::IntentModel;
use crate::model::prediction::Prediction;
use crate::nlu::{self, Masked};

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
    /// Refuse (overloaded) a request whose estimated wait for the model exceeds this: the
    /// texts queued ahead times the measured forward-pass time per text. Under overload the
    /// admitted requests then keep their latency instead of queueing for seconds. `None`:
    /// only the queue's capacity bounds the wait.
    pub max_queue_wait: Option<Duration>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_batch: 32,
            queue_capacity: 256,
            health_timeout: Duration::from_secs(10),
            max_queue_wait: None,
        }
    }
}

/// What the worker thread runs: the real [`IntentModel`], or a stand-in in tests.
pub trait Predictor: Send + 'static {
    /// Predictions for already-masked texts, one forward pass, in the order of the texts.
    fn predict_masked(&self, masked: &[&str]) -> Result<Vec<Prediction>>;
}

impl Predictor for IntentModel {
    fn predict_masked(&self, masked: &[&str]) -> Result<Vec<Prediction>> {
        self.predict(masked)
    }
}

/// One request waiting for the model.
struct Job {
    /// Masked texts: the model never sees a message before [`nlu::mask`].
    texts: Vec<String>,
    reply: oneshot::Sender<Result<Vec<Prediction>>>,
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
    /// Texts queued for the model (added on enqueue, removed when the worker takes them).
    queued_texts: AtomicUsize,
    /// Moving average of one forward pass's time per text, nanoseconds; 0 until measured.
    /// Written by the worker; read by enqueue for the wait estimate.
    per_text_ns: AtomicU64,
}

impl Shared {
    /// The worker took `job` off the queue.
    fn dequeued(&self, job: Job) -> Job {
        self.queued_texts
            .fetch_sub(job.texts.len(), Ordering::Relaxed);
        job
    }

    /// A forward pass over `texts` took `elapsed`: updates the per-text average (1/4 weight
    /// to the newest pass).
    fn record_pass(&self, elapsed: Duration, texts: usize) {
        let now = (elapsed.as_nanos() / texts.max(1) as u128).min(u128::from(u64::MAX)) as u64;
        let old = self.per_text_ns.load(Ordering::Relaxed);
        let new = if old == 0 { now } else { (3 * old + now) / 4 };
        self.per_text_ns.store(new, Ordering::Relaxed);
    }

    /// How long texts queued now would wait for the model.
    fn estimated_wait(&self) -> Duration {
        let texts = self.queued_texts.load(Ordering::Relaxed) as u64;
        Duration::from_nanos(texts.saturating_mul(self.per_text_ns.load(Ordering::Relaxed)))
    }

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
    /// Moves `predictor` (the loaded model, or a stand-in in tests) onto its own thread.
    pub fn start(predictor: impl Predictor, config: EngineConfig) -> Result<Engine> {
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
            queued_texts: AtomicUsize::new(0),
            per_text_ns: AtomicU64::new(0),
        });
        let worker_shared = shared.clone();
        let max_batch = config.max_batch;
        std::thread::Builder::new()
            .name("intentdesk-model".into())
            .spawn(move || worker::run(predictor, rx, worker_shared, max_batch))
            .map_err(|e| Error::ModelUnavailable(format!("cannot start the model thread: {e}")))?;
        Ok(Engine { tx, shared, config })
    }

    pub fn config(&self) -> EngineConfig {
        self.config
    }

    /// Requests waiting for the model right now.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The model's predictions for masked messages, batched with whatever else is queued.
    pub async fn predict(&self, masked: &[&Masked]) -> Result<Vec<Prediction>> {
        if masked.is_empty() {
            return Ok(Vec::new());
        }
        let (tx, rx) = oneshot::channel();
        self.enqueue(masked.iter().map(|m| m.text.clone()).collect(), tx)?;
        receive(rx).await
    }

    /// The model's prediction for one masked message.
    pub async fn predict_one(&self, masked: &Masked) -> Result<Prediction> {
        self.predict(&[masked])
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
        self.enqueue(vec![nlu::mask("health check").text], tx)?;
        match tokio::time::timeout(self.config.health_timeout, receive(rx)).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(Error::ModelUnavailable(format!(
                "the model did not answer a health probe within {:?}",
                self.config.health_timeout
            ))),
        }
    }

    fn enqueue(
        &self,
        texts: Vec<String>,
        reply: oneshot::Sender<Result<Vec<Prediction>>>,
    ) -> Result<()> {
        if let Some(budget) = self.config.max_queue_wait
            && self.shared.estimated_wait() > budget
        {
            metrics::counter!("intentdesk_model_overloaded_total").increment(1);
            return Err(Error::Overloaded {
                queued: self.queued(),
            });
        }
        let count = texts.len();
        // Counted before the send: the worker may take the job (and subtract) at once.
        self.shared.queued_texts.fetch_add(count, Ordering::Relaxed);
        let job = Job {
            texts,
            reply,
            queued_at: Instant::now(),
        };
        let result = self.tx.try_send(job);
        metrics::gauge!("intentdesk_model_queue_depth").set(self.queued() as f64);
        match result {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.queued_texts.fetch_sub(count, Ordering::Relaxed);
                metrics::counter!("intentdesk_model_overloaded_total").increment(1);
                Err(Error::Overloaded {
                    queued: self.queued(),
                })
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.shared.queued_texts.fetch_sub(count, Ordering::Relaxed);
                Err(Error::ModelUnavailable(
                    "the model thread has stopped".into(),
                ))
            }
        }
    }
}

async fn receive<T>(rx: oneshot::Receiver<Result<T>>) -> Result<T> {
    rx.await
        .map_err(|_| Error::ModelUnavailable("the model thread stopped before answering".into()))?
}

#[cfg(test)]
mod tests;
