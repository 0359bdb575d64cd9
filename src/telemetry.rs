//! The process-wide Prometheus recorder behind the `metrics` macros, with histogram buckets
//! chosen for what is measured (model milliseconds, batch sizes, queue minutes).
//!
//! A `metrics` recorder can be installed once per process; [`prometheus`] installs it on
//! first use and hands out the same handle afterwards, so several servers in one test
//! binary share it.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Seconds: forward passes and queue waits of the model (1 ms .. 10 s).
const MODEL_SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Texts per forward pass.
const BATCH_SIZES: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
/// Seconds: how long tickets waited for an agent and how long agents took (10 s .. 4 h).
const TICKET_SECONDS: [f64; 10] = [
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 14400.0,
];

/// The handle that renders the Prometheus text format; installs the recorder once.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new();
            let buckets: [(&str, &[f64]); 5] = [
                ("intentdesk_model_latency_seconds", &MODEL_SECONDS),
                ("intentdesk_model_queue_wait_seconds", &MODEL_SECONDS),
                ("intentdesk_model_batch_size", &BATCH_SIZES),
                ("intentdesk_ticket_wait_seconds", &TICKET_SECONDS),
                ("intentdesk_ticket_handling_seconds", &TICKET_SECONDS),
            ];
            for (name, values) in buckets {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full(name.into()), values)
                    .expect("bucket lists are non-empty");
            }
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                // Someone else installed one: our handle then renders nothing useful.
                tracing::warn!(error = %e, "a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn histograms_render_with_buckets() {
        let handle = super::prometheus();
        metrics::histogram!("intentdesk_model_batch_size").record(3.0);
        metrics::histogram!("intentdesk_model_latency_seconds").record(0.004);
        let text = handle.render();
        assert!(
            text.contains("intentdesk_model_batch_size_bucket{le=\"4\"}"),
            "{text}"
        );
        assert!(
            text.contains("intentdesk_model_latency_seconds_bucket{le=\"0.005\"}"),
            "{text}"
        );
    }
}
