//! Operations endpoints: liveness, readiness (the model really answering and the store
//! reachable), Prometheus metrics, the OpenAPI document, and the JSON 404.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use crate::error::Error;

/// `GET /health`: the process is alive (no dependency checked).
pub async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready`: 200 when the model answers a probe and the store a query; 503 otherwise.
pub async fn ready(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let engine = state.chat().engine();
    engine.health().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready: model");
        ApiError::NotReady("the model is not answering".into())
    })?;
    state.chat().store().ticket_counts().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready: store");
        ApiError::NotReady("the database is not answering".into())
    })?;
    Ok(Json(json!({
        "status": "ready",
        "model_queue": engine.queued(),
        "max_batch": engine.config().max_batch,
    })))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
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
