//! The process-wide Prometheus recorder behind the `metrics` macros, with histogram buckets
//! chosen for what is measured (model milliseconds, batch sizes, queue minutes).
//!
//! Also [`redact_uri`], the form in which request paths reach the logs.
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

/// Path segments after which the next segment is an id (a conversation id is as good as a
/// password for its transcript; ticket ids name customers' cases).
const ID_PARENTS: [&str; 4] = ["conversations", "tickets", "notices", "incidents"];

/// Query parameters whose values may be logged (everything else is `***`: ids, tokens).
const PLAIN_QUERY: [&str; 1] = ["after_seq"];

/// A request path and query as the logs may show them: a segment following one of
/// [`ID_PARENTS`], or holding a digit (other than the `v1` version), becomes `:id`; query
/// values other than [`PLAIN_QUERY`] become `***`.
pub fn redact_uri(path: &str, query: Option<&str>) -> String {
    let mut out = String::with_capacity(path.len());
    let mut previous = "";
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let version = segment.len() > 1
            && segment.starts_with('v')
            && segment[1..].bytes().all(|b| b.is_ascii_digit());
        let id = !segment.is_empty()
            && (ID_PARENTS.contains(&previous)
                || (!version && segment.bytes().any(|b| b.is_ascii_digit())));
        out.push_str(if id { ":id" } else { segment });
        previous = segment;
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) if PLAIN_QUERY.contains(&name) => format!("{name}={value}"),
                Some((name, _)) => format!("{name}=***"),
                None => pair.to_string(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_uri;

    #[test]
    fn ids_and_query_values_never_reach_the_logs() {
        let id = "3f2b8c1e-7d4a-4b7e-9f10-2a6c5d8e9b01";
        assert_eq!(
            redact_uri(&format!("/v1/conversations/{id}/messages"), None),
            "/v1/conversations/:id/messages"
        );
        assert_eq!(
            redact_uri("/v1/conversations/abcdef/transcript", None),
            "/v1/conversations/:id/transcript",
            "an id without digits too"
        );
        assert_eq!(
            redact_uri("/v1/agent/tickets/T-000123/claim", None),
            "/v1/agent/tickets/:id/claim"
        );
        assert_eq!(
            redact_uri(
                "/v1/chat/ws",
                Some(&format!("conversation_id={id}&after_seq=4&token=s3cret"))
            ),
            "/v1/chat/ws?conversation_id=***&after_seq=4&token=***"
        );
        assert_eq!(redact_uri("/v1/conversations", None), "/v1/conversations");
        assert_eq!(redact_uri("/health", Some("")), "/health");
        assert_eq!(
            redact_uri("/v1/x/9a8b7c", None),
            "/v1/x/:id",
            "digits elsewhere"
        );
    }
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
