//! The model thread: waits for a request, drains what else is queued up to the batch limit,
//! runs one forward pass over all of it and sends each caller its share of the answer.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::{Backend, Job, ReplyTo, Shared};
use crate::error::{Error, Result};
use crate::model::Prediction;

/// Runs until every [`super::Engine`] handle is dropped and the queue is empty.
pub(super) fn run(
    backend: impl Backend,
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
                Some(job) => job,
                None => return,
            },
        };
        let mut batch = Vec::new();
        let mut texts = 0;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            if job.reply.is_closed() {
                metrics::counter!("intentdesk_model_skipped_total").increment(1);
            } else if texts > 0 && texts + job.analyses.len() > max_batch {
                carried = Some(job);
                break;
            } else {
                texts += job.analyses.len();
                batch.push(job);
            }
            if texts >= max_batch {
                break;
            }
            next = rx.try_recv().ok();
        }
        metrics::gauge!("intentdesk_model_queue_depth").set(rx.len() as f64);
        if !batch.is_empty() {
            run_batch(&backend, batch, &shared, max_batch);
        }
    }
}

/// One or more forward passes (more only when a single request exceeds the batch limit).
fn run_batch(backend: &impl Backend, batch: Vec<Job>, shared: &Shared, max_batch: usize) {
    let now = Instant::now();
    for job in &batch {
        metrics::histogram!("intentdesk_model_queue_wait_seconds")
            .record(now.duration_since(job.queued_at).as_secs_f64());
    }
    let masked: Vec<&str> = batch
        .iter()
        .flat_map(|job| job.analyses.iter().map(|a| a.masked.text.as_str()))
        .collect();
    let mut predictions: Result<Vec<Prediction>> = Ok(Vec::with_capacity(masked.len()));
    for chunk in masked.chunks(max_batch) {
        let started = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| backend.predict_masked(chunk)))
            .unwrap_or_else(|_| {
                Err(Error::Internal(
                    "the model panicked during a forward pass".into(),
                ))
            });
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
            for job in batch {
                let mine: Vec<Prediction> = all.by_ref().take(job.analyses.len()).collect();
                match job.reply {
                    ReplyTo::Predictions(tx) => {
                        let _ = tx.send(Ok(mine));
                    }
                    ReplyTo::Classifications(tx) => {
                        let described = job
                            .analyses
                            .into_iter()
                            .zip(mine)
                            .map(|(a, p)| backend.describe(a, p))
                            .collect();
                        let _ = tx.send(Ok(described));
                    }
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, texts = masked_len(&batch), "forward pass failed");
            let message = e.to_string();
            for job in batch {
                let err = || Error::Internal(format!("the model failed: {message}"));
                match job.reply {
                    ReplyTo::Predictions(tx) => {
                        let _ = tx.send(Err(err()));
                    }
                    ReplyTo::Classifications(tx) => {
                        let _ = tx.send(Err(err()));
                    }
                }
            }
        }
    }
}

fn masked_len(batch: &[Job]) -> usize {
    batch.iter().map(|j| j.analyses.len()).sum()
}
