//! Operations endpoints: liveness, readiness (the model really answering and the store
//! reachable), Prometheus metrics, the OpenAPI document, and the JSON 404.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{ClientKey, constant_time_eq};
use crate::error::Error;

/// How long a successful readiness probe is reused: `/ready` polled by every load balancer
/// of a fleet then costs one model probe per this period, not one per call.
pub const READY_REUSE: Duration = Duration::from_secs(2);

/// The outcome of one readiness probe.
#[derive(Debug, Clone)]
pub enum Readiness {
    Ready(Value),
    NotReady(String),
}

/// `GET /health`: the process is alive (no dependency checked).
pub async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready`: 200 when the model answers a probe and the store a query; 503 otherwise.
/// A success less than [`READY_REUSE`] old is reused; calls arriving while a probe runs
/// wait for it and share its answer (one probe in flight at a time).
pub async fn ready(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let arrived = Instant::now();
    let mut last = state.inner.ready.lock().await;
    let reusable = last.as_ref().filter(|(at, r)| {
        *at >= arrived || (matches!(r, Readiness::Ready(_)) && at.elapsed() < READY_REUSE)
    });
    let readiness = match reusable {
        Some((_, r)) => r.clone(),
        None => {
            let r = probe(&state).await;
            *last = Some((Instant::now(), r.clone()));
            r
        }
    };
    drop(last);
    match readiness {
        Readiness::Ready(body) => Ok(Json(body)),
        Readiness::NotReady(why) => Err(ApiError::NotReady(why)),
    }
}

async fn probe(state: &AppState) -> Readiness {
    metrics::counter!("intentdesk_ready_probes_total").increment(1);
    let engine = state.chat().engine();
    if let Err(e) = engine.health().await {
        tracing::warn!(error = %e, "not ready: model");
        return Readiness::NotReady("the model is not answering".into());
    }
    if let Err(e) = state.chat().store().ticket_counts().await {
        tracing::warn!(error = %e, "not ready: store");
        return Readiness::NotReady("the database is not answering".into());
    }
    Readiness::Ready(json!({
        "status": "ready",
        "model_queue": engine.queued(),
        "max_batch": engine.config().max_batch,
    }))
}

/// `GET /metrics` on the main address: Prometheus text format, behind the metrics token
/// when one is configured; 404 when `/metrics` is served on its own address instead.
pub async fn metrics(
    State(state): State<AppState>,
    client: ClientKey,
    headers: HeaderMap,
) -> Response {
    if state.config().metrics_addr.is_some() {
        return not_found().await.into_response();
    }
    render_metrics(&state, &client, &headers).await
}

/// `GET /metrics` on the separate metrics address.
pub async fn metrics_only(
    State(state): State<AppState>,
    client: ClientKey,
    headers: HeaderMap,
) -> Response {
    render_metrics(&state, &client, &headers).await
}

async fn render_metrics(state: &AppState, client: &ClientKey, headers: &HeaderMap) -> Response {
    if let Some(expected) = &state.config().metrics_token {
        let now = Instant::now();
        if let Err(retry_after) = state.auth_failures().peek(client, now) {
            return ApiError::RateLimited { retry_after }.into_response();
        }
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.expose().as_bytes())) {
            let _ = state.auth_failures().check(client, now);
            return ApiError::MetricsUnauthorized.into_response();
        }
    }
    if let Err(e) = state.chat().refresh_metrics().await {
        tracing::warn!(error = %e, "metrics: store gauges not refreshed");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response()
}

/// `GET /openapi.json`
pub async fn openapi() -> impl IntoResponse {
    Json(super::openapi::document())
}

/// Any other path.
pub async fn not_found() -> ApiError {
    ApiError::Service(Error::NotFound {
        kind: "route",
        id: "for this method and path".into(),
    })
}
