//! The batcher with a stand-in model whose forward pass the test holds and releases, so
//! batching, overload, skipping and health are checked deterministically.

use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::*;
use crate::testing::{StandIn, prediction};

/// A stand-in that predicts "the masked text" as the intent; each forward pass announces
/// itself on `entered` and then waits for a release token (when `release` is given). With
/// `fail` every pass is an error; a text `panic` makes the pass panic.
fn gated_model(
    entered: UnboundedSender<Vec<String>>,
    release: Option<std::sync::mpsc::Receiver<()>>,
    fail: bool,
) -> impl Predictor {
    StandIn(move |masked: &[&str]| {
        let _ = entered.send(masked.iter().map(|s| s.to_string()).collect());
        if let Some(release) = &release {
            let _ = release.recv();
        }
        if fail {
            return Err(Error::Tokenizer("boom".into()));
        }
        if masked.contains(&"panic") {
            panic!("stand-in model panics");
        }
        Ok(masked
            .iter()
            .map(|t| prediction(&[(t, 0.9)], None))
            .collect())
    })
}

struct Harness {
    engine: Engine,
    entered: UnboundedReceiver<Vec<String>>,
    release: std::sync::mpsc::Sender<()>,
}

fn gated(max_batch: usize, queue_capacity: usize) -> Harness {
    gated_with(max_batch, queue_capacity, None)
}

fn gated_with(
    max_batch: usize,
    queue_capacity: usize,
    max_queue_wait: Option<Duration>,
) -> Harness {
    let (entered_tx, entered) = unbounded_channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let backend = gated_model(entered_tx, Some(release_rx), false);
    let config = EngineConfig {
        max_batch,
        queue_capacity,
        health_timeout: Duration::from_millis(300),
        max_queue_wait,
    };
    let engine = Engine::start(backend, config).unwrap();
    Harness {
        engine,
        entered,
        release,
    }
}

fn predict_task(engine: &Engine, text: &str) -> tokio::task::JoinHandle<Result<Prediction>> {
    let engine = engine.clone();
    let masked = nlu::mask(text);
    tokio::spawn(async move { engine.predict_one(&masked).await })
}

/// Waits until `n` more requests sit in the queue.
async fn until_queued(engine: &Engine, n: usize) {
    for _ in 0..200 {
        if engine.queued() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{n} requests never got queued ({} are)", engine.queued());
}

#[tokio::test]
async fn queued_requests_from_many_callers_share_one_forward_pass() {
    let mut h = gated(32, 64);
    let first = predict_task(&h.engine, "first");
    assert_eq!(h.entered.recv().await.unwrap(), vec!["first"]);
    // While the worker is busy, four callers queue up.
    let others: Vec<_> = ["b", "c", "d", "e"]
        .iter()
        .map(|t| predict_task(&h.engine, t))
        .collect();
    until_queued(&h.engine, 4).await;
    h.release.send(()).unwrap();
    h.release.send(()).unwrap();
    assert_eq!(h.entered.recv().await.unwrap(), vec!["b", "c", "d", "e"]);
    assert_eq!(first.await.unwrap().unwrap().intent, "first");
    for (task, text) in others.into_iter().zip(["b", "c", "d", "e"]) {
        assert_eq!(
            task.await.unwrap().unwrap().intent,
            text,
            "each caller gets its own answer"
        );
    }
}

#[tokio::test]
async fn batches_stop_at_the_limit_and_the_rest_waits_for_the_next_pass() {
    let mut h = gated(2, 64);
    let first = predict_task(&h.engine, "first");
    h.entered.recv().await.unwrap();
    let queued: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|t| predict_task(&h.engine, t))
        .collect();
    until_queued(&h.engine, 3).await;
    for _ in 0..3 {
        h.release.send(()).unwrap();
    }
    assert_eq!(h.entered.recv().await.unwrap(), vec!["a", "b"]);
    assert_eq!(h.entered.recv().await.unwrap(), vec!["c"]);
    first.await.unwrap().unwrap();
    for task in queued {
        task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_request_larger_than_the_batch_limit_is_split_and_keeps_its_order() {
    let mut h = gated(4, 8);
    for _ in 0..3 {
        h.release.send(()).unwrap();
    }
    let texts: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let masked: Vec<Masked> = refs.iter().map(|t| nlu::mask(t)).collect();
    let out = h
        .engine
        .predict(&masked.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    let intents: Vec<&str> = out.iter().map(|p| p.intent.as_str()).collect();
    assert_eq!(intents, refs);
    let sizes: Vec<usize> = [
        h.entered.recv().await.unwrap(),
        h.entered.recv().await.unwrap(),
        h.entered.recv().await.unwrap(),
    ]
    .iter()
    .map(Vec::len)
    .collect();
    assert_eq!(sizes, vec![4, 4, 2]);
}

#[tokio::test]
async fn a_full_queue_is_refused_at_once_as_overloaded() {
    let mut h = gated(1, 2);
    let first = predict_task(&h.engine, "first");
    h.entered.recv().await.unwrap();
    let a = predict_task(&h.engine, "a");
    let b = predict_task(&h.engine, "b");
    until_queued(&h.engine, 2).await;
    let refused = h.engine.predict_one(&nlu::mask("c")).await;
    assert!(
        matches!(refused, Err(Error::Overloaded { queued: 2 })),
        "{refused:?}"
    );
    for _ in 0..3 {
        h.release.send(()).unwrap();
    }
    for task in [first, a, b] {
        task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn requests_whose_caller_has_gone_are_skipped() {
    let mut h = gated(32, 8);
    let first = predict_task(&h.engine, "first");
    h.entered.recv().await.unwrap();
    let gone = predict_task(&h.engine, "gone");
    let live = predict_task(&h.engine, "live");
    until_queued(&h.engine, 2).await;
    gone.abort();
    let _ = gone.await;
    h.release.send(()).unwrap();
    h.release.send(()).unwrap();
    assert_eq!(h.entered.recv().await.unwrap(), vec!["live"]);
    first.await.unwrap().unwrap();
    assert_eq!(live.await.unwrap().unwrap().intent, "live");
}

#[tokio::test]
async fn health_reflects_the_worker_really_answering() {
    let mut h = gated(8, 8);
    h.release.send(()).unwrap();
    h.engine
        .health()
        .await
        .expect("a free worker answers the probe");
    assert_eq!(h.entered.recv().await.unwrap(), vec!["health check"]);
    // Wait out the "answered within the last second" shortcut, then hold the worker.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stuck = predict_task(&h.engine, "stuck");
    h.entered.recv().await.unwrap();
    let err = h.engine.health().await.unwrap_err();
    assert!(matches!(err, Error::ModelUnavailable(_)), "{err:?}");
    h.release.send(()).unwrap();
    h.release.send(()).unwrap();
    stuck.await.unwrap().unwrap();
}

#[tokio::test]
async fn model_errors_and_panics_reach_every_caller_and_the_worker_survives() {
    for (fail, text) in [(true, "x"), (false, "panic")] {
        let (entered_tx, mut entered) = unbounded_channel();
        let (release, release_rx) = std::sync::mpsc::channel();
        let config = EngineConfig {
            max_batch: 2,
            ..Default::default()
        };
        let engine =
            Engine::start(gated_model(entered_tx, Some(release_rx), fail), config).unwrap();
        // One caller in a forward pass, two more queued behind it for the next one.
        let first = predict_task(&engine, text);
        entered.recv().await.unwrap();
        let queued = [predict_task(&engine, text), predict_task(&engine, text)];
        until_queued(&engine, 2).await;
        release.send(()).unwrap();
        release.send(()).unwrap();
        for task in std::iter::once(first).chain(queued) {
            let err = task.await.unwrap().unwrap_err();
            assert!(
                matches!(err, Error::Internal(_)),
                "fail={fail} {text:?}: {err:?}"
            );
        }
        // The worker is still there: the next pass runs and answers.
        release.send(()).unwrap();
        let next = engine.predict_one(&nlu::mask("fine")).await;
        if fail {
            assert!(matches!(next, Err(Error::Internal(_))), "{next:?}");
        } else {
            assert_eq!(next.unwrap().intent, "fine");
        }
    }
}

#[tokio::test]
async fn a_panic_answers_every_caller_of_the_batch_and_the_thread_keeps_serving() {
    let (entered_tx, _entered) = unbounded_channel();
    let backend = gated_model(entered_tx, None, false);
    let engine = Engine::start(backend, EngineConfig::default()).unwrap();
    let batch = [nlu::mask("fine"), nlu::mask("panic")];
    for _ in 0..3 {
        let err = engine
            .predict(&batch.iter().collect::<Vec<_>>())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Internal(m) if m.contains("panicked")),
            "{err:?}"
        );
        let status = crate::http::error::ApiError::from(err).parts().0;
        assert_eq!(status.as_u16(), 500, "the one error table makes it a 500");
    }
    let out = engine
        .predict_one(&nlu::mask("still serving"))
        .await
        .unwrap();
    assert_eq!(out.intent, "still serving");
    engine.health().await.expect("healthy after panics");
}

#[test]
fn the_wait_estimate_is_queued_texts_times_the_measured_time_per_text() {
    let shared = Shared {
        last_ok_ms: AtomicI64::new(-1),
        epoch: Instant::now(),
        queued_texts: AtomicUsize::new(0),
        per_text_ns: AtomicU64::new(0),
    };
    shared.record_pass(Duration::from_millis(40), 8);
    shared.queued_texts.store(100, Ordering::Relaxed);
    assert_eq!(shared.estimated_wait(), Duration::from_millis(500));
    shared.record_pass(Duration::from_millis(80), 8);
    assert_eq!(
        shared.estimated_wait(),
        Duration::from_millis(625),
        "moving average"
    );
}

#[tokio::test]
async fn a_request_that_would_wait_past_the_budget_is_refused_at_once() {
    let mut h = gated_with(1, 64, Some(Duration::from_millis(50)));
    // A measured pass of 100 ms per text: anything queued behind one text waits too long.
    h.engine.shared.record_pass(Duration::from_millis(100), 1);
    let first = predict_task(&h.engine, "first");
    h.entered.recv().await.unwrap();
    let queued = predict_task(&h.engine, "queued");
    until_queued(&h.engine, 1).await;
    let refused = h.engine.predict_one(&nlu::mask("late")).await;
    assert!(
        matches!(refused, Err(Error::Overloaded { .. })),
        "{refused:?}"
    );
    h.release.send(()).unwrap();
    h.release.send(()).unwrap();
    first.await.unwrap().unwrap();
    queued.await.unwrap().unwrap();
    assert_eq!(
        h.engine.shared.queued_texts.load(Ordering::Relaxed),
        0,
        "all taken"
    );
}

#[test]
fn a_zero_batch_or_queue_is_refused() {
    let (entered_tx, _entered) = unbounded_channel();
    let backend = gated_model(entered_tx, None, false);
    let config = EngineConfig {
        max_batch: 0,
        ..Default::default()
    };
    assert!(Engine::start(backend, config).is_err());
}
