//! The model thread: waits for a request, drains what else is queued up to the batch limit,
//! runs one forward pass over all of it and sends each caller its share of the predictions.
//! A panic in a batch is caught: the callers not yet answered get an internal error and the
//! thread goes on serving.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::{Job, Predictor, Shared};
use crate::error::{Error, Result};
use crate::model::prediction::Prediction;

/// Runs until every [`super::Engine`] handle is dropped and the queue is empty.
pub(super) fn run(
    predictor: impl Predictor,
    mut rx: mpsc::Receiver<Job>,
    shared: Arc<Shared>,
    max_batch: usize,
) {
    // A job taken from the queue that did not fit in the previous batch.
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match rx.blocking_recv() {
                Some(job) => shared.dequeued(job),
                None => return,
            },
        };
        let mut batch = VecDeque::new();
        let mut texts = 0;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            if job.reply.is_closed() {
                metrics::counter!("intentdesk_model_skipped_total").increment(1);
            } else if texts > 0 && texts + job.texts.len() > max_batch {
                carried = Some(job);
                break;
            } else {
                texts += job.texts.len();
                batch.push_back(job);
            }
            if texts >= max_batch {
                break;
            }
            next = rx.try_recv().ok().map(|job| shared.dequeued(job));
        }
        metrics::gauge!("intentdesk_model_queue_depth").set(rx.len() as f64);
        if !batch.is_empty() {
            guarded_batch(&predictor, batch, &shared, max_batch);
        }
    }
}

/// Runs a batch; if anything in it panics, every caller still waiting gets an internal
/// error (500 through the error table) and the thread survives for the next batch.
fn guarded_batch(
    predictor: &impl Predictor,
    mut batch: VecDeque<Job>,
    shared: &Shared,
    max_batch: usize,
) {
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
        run_batch(predictor, &mut batch, shared, max_batch)
    }));
    if ran.is_err() {
        metrics::counter!("intentdesk_model_panics_total").increment(1);
        tracing::error!(
            unanswered = batch.len(),
            "the model thread panicked in a batch; it keeps serving"
        );
        for job in batch {
            let _ = job.reply.send(Err(Error::Internal(
                "the model panicked on this batch".into(),
            )));
        }
    }
}

/// One or more forward passes (more only when a single request exceeds the batch limit).
/// Jobs leave `batch` as they are answered, so after a panic it holds the unanswered ones.
fn run_batch(
    predictor: &impl Predictor,
    batch: &mut VecDeque<Job>,
    shared: &Shared,
    max_batch: usize,
) {
    let now = Instant::now();
    for job in batch.iter() {
        metrics::histogram!("intentdesk_model_queue_wait_seconds")
            .record(now.duration_since(job.queued_at).as_secs_f64());
    }
    let masked: Vec<&str> = batch
        .iter()
        .flat_map(|job| job.texts.iter().map(String::as_str))
        .collect();
    let mut predictions: Result<Vec<Prediction>> = Ok(Vec::with_capacity(masked.len()));
    for chunk in masked.chunks(max_batch) {
        let started = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| predictor.predict_masked(chunk)))
            .unwrap_or_else(|_| {
                metrics::counter!("intentdesk_model_panics_total").increment(1);
                Err(Error::Internal(
                    "the model panicked during a forward pass".into(),
                ))
            });
        shared.record_pass(started.elapsed(), chunk.len());
        metrics::histogram!("intentdesk_model_latency_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("intentdesk_model_batch_size").record(chunk.len() as f64);
        match (result, &mut predictions) {
            (Ok(p), Ok(all)) if p.len() == chunk.len() => all.extend(p),
            (Ok(p), Ok(_)) => {
                predictions = Err(Error::Internal(format!(
                    "the model returned {} predictions for {} texts",
                    p.len(),
                    chunk.len()
                )))
            }
            (Err(e), Ok(_)) => predictions = Err(e),
            (_, Err(_)) => {}
        }
    }
    match predictions {
        Ok(all) => {
            shared.mark_ok();
            let mut all = all.into_iter();
            while let Some(job) = batch.pop_front() {
                let mine: Vec<Prediction> = all.by_ref().take(job.texts.len()).collect();
                let _ = job.reply.send(Ok(mine));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, texts = masked_len(batch), "forward pass failed");
            let message = e.to_string();
            while let Some(job) = batch.pop_front() {
                let _ = job
                    .reply
                    .send(Err(Error::Internal(format!("the model failed: {message}"))));
            }
        }
    }
}

fn masked_len(batch: &VecDeque<Job>) -> usize {
    batch.iter().map(|j| j.texts.len()).sum()
}
