//! Customer-facing REST endpoints: classify, conversations, messages, events, transcript,
//! rating. The WebSocket twin of these lives in [`super::ws`].

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiJson, RawBody};
use crate::error::Error;

/// Most texts one classify request may carry.
pub const MAX_CLASSIFY_TEXTS: usize = 64;

/// `{"text": "..."}` or `{"texts": ["...", ...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyRequest {
    text: Option<String>,
    texts: Option<Vec<String>>,
}

/// `POST /v1/classify`: one object for `text`, `{"results": [...]}` for `texts`.
pub async fn classify(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ClassifyRequest>,
) -> Result<Response, ApiError> {
    let (texts, single) = match (req.text, req.texts) {
        (Some(text), None) => (vec![text], true),
        (None, Some(texts)) => (texts, false),
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of \"text\" or \"texts\"".into(),
            ));
        }
    };
    if texts.is_empty() {
        return Err(Error::EmptyMessage.into());
    }
    if texts.len() > MAX_CLASSIFY_TEXTS {
        return Err(Error::InvalidInput(format!(
            "{} texts in one request; the limit is {MAX_CLASSIFY_TEXTS}",
            texts.len()
        ))
        .into());
    }
    for text in &texts {
        state.chat().validate(text)?;
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut results = Vec::with_capacity(refs.len());
    for c in state.chat().classify(&refs).await? {
        results.push(super::notices::classification_json(&state, c).await?);
    }
    Ok(if single {
        Json(results.remove(0)).into_response()
    } else {
        Json(json!({ "results": results })).into_response()
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConversation {
    /// The exchange's own reference for the customer, if the widget knows it.
    customer_ref: Option<String>,
}

/// `POST /v1/conversations` (body optional).
pub async fn create_conversation(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    let req: NewConversation = if body.iter().all(u8::is_ascii_whitespace) {
        NewConversation::default()
    } else {
        super::extract::parse_json(&body)?
    };
    let c = state
        .chat()
        .start_conversation(req.customer_ref.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "conversation_id": c.id, "created_at_ms": c.created_at_ms })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRequest {
    text: String,
    /// The client's id for this message (1 to 64 printable characters): a retry with the
    /// same id returns the first outcome instead of sending the message twice.
    client_message_id: Option<String>,
}

/// `POST /v1/conversations/{id}/messages`: the events the message produced. The turn
/// runs to completion even if the client goes away or the request times out.
pub async fn post_message(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MessageRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let events = state
        .chat()
        .handle_detached(&id, &req.text, req.client_message_id.as_deref())
        .await?;
    Ok(Json(json!({ "conversation_id": id, "events": events })))
}

#[derive(Debug, Deserialize)]
pub struct AfterSeq {
    #[serde(default)]
    after_seq: i64,
}

/// `GET /v1/conversations/{id}/events?after_seq=N`
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<AfterSeq>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let events = state.chat().events_after(&id, q.after_seq.max(0)).await?;
    Ok(Json(json!({ "conversation_id": id, "events": events })))
}

#[derive(Debug, Deserialize)]
pub struct TranscriptQuery {
    format: Option<String>,
    /// `1`: ask the browser to save it (`Content-Disposition: attachment`).
    download: Option<String>,
}

/// `GET /v1/conversations/{id}/transcript?format=json|text[&download=1]` (masked).
pub async fn transcript(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<TranscriptQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "text") {
        return Err(ApiError::BadRequest(format!(
            "format {format:?} is not json or text"
        )));
    }
    let download = match q.download.as_deref() {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "download {other:?} is not 1 or 0"
            )));
        }
    };
    let transcript = state.chat().transcript(&id).await?;
    let mut response = match format {
        "text" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            transcript.to_text(),
        )
            .into_response(),
        _ => Json(&transcript).into_response(),
    };
    if download {
        // The id is a UUID from the store, so it is safe inside the quoted file name.
        let extension = if format == "text" { "txt" } else { "json" };
        let disposition = format!(
            "attachment; filename=\"intentdesk-{}.{extension}\"",
            transcript.conversation_id
        );
        if let Ok(value) = header::HeaderValue::from_str(&disposition) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    score: u8,
    comment: Option<String>,
}

/// `POST /v1/conversations/{id}/rating`: `{"score": 1..5, "comment": "..."}`.
pub async fn rate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RatingRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let events = state
        .chat()
        .rate(&id, req.score, req.comment.as_deref())
        .await?;
    Ok(Json(json!({ "conversation_id": id, "events": events })))
}
