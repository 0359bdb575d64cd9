//! The agent API (bearer token per agent): the queue, the open tickets, one ticket's pane,
//! ticket actions (claim, reply, note, resolve, hand back, transfer), presence, the caller's
//! status and the supervisor strip.
//! Tokens are compared in constant time and never logged.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{AgentAuth, ApiJson};
use crate::conversation::QueuedTicket;
use crate::store::{Ticket, TranscriptLine};

/// A ticket as agents read it (the API's shape: `priority` as its number).
#[derive(Debug, Serialize)]
pub struct TicketJson {
    pub id: String,
    pub conversation_id: String,
    pub intent: String,
    pub confidence: f64,
    pub language: String,
    /// 0 low, 1 normal, 2 high, 3 urgent.
    pub priority: i32,
    pub state: &'static str,
    pub agent_id: Option<String>,
    pub details: BTreeMap<String, String>,
    /// The masked transcript up to the hand-over.
    pub transcript: Vec<TranscriptLine>,
    pub note_count: i64,
    pub created_at_ms: i64,
    pub assigned_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_ms: Option<i64>,
}

impl From<&Ticket> for TicketJson {
    fn from(t: &Ticket) -> Self {
        TicketJson {
            id: t.id.clone(),
            conversation_id: t.conversation_id.clone(),
            intent: t.intent.clone(),
            confidence: t.confidence,
            language: t.language.clone(),
            priority: t.priority.number(),
            state: t.state.as_str(),
            agent_id: t.agent_id.clone(),
            details: t.details.clone(),
            transcript: t.transcript.clone(),
            note_count: t.note_count,
            created_at_ms: t.created_at_ms,
            assigned_at_ms: t.assigned_at_ms,
            closed_at_ms: t.closed_at_ms,
            position: None,
            wait_minutes: None,
            waiting_ms: None,
        }
    }
}

impl From<&QueuedTicket> for TicketJson {
    fn from(q: &QueuedTicket) -> Self {
        TicketJson {
            position: Some(q.position),
            wait_minutes: Some(q.wait_minutes),
            waiting_ms: Some(q.waiting_ms),
            ..TicketJson::from(&q.ticket)
        }
    }
}

/// The queue document (also the agent feed's `queue` frame).
pub async fn queue_json(state: &AppState) -> Result<Value, ApiError> {
    let queue = state.chat().queue_view().await?;
    let tickets: Vec<TicketJson> = queue.iter().map(TicketJson::from).collect();
    let agents = state.chat().agents().await?;
    Ok(json!({ "type": "queue", "tickets": tickets, "agents": agents }))
}

/// `GET /v1/agent/queue`: waiting tickets by priority then waiting time.
pub async fn queue(
    State(state): State<AppState>,
    _agent: AgentAuth,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(queue_json(&state).await?))
}

/// `GET /v1/agent/tickets/{id}`: the ticket with its details, notes, the masked events of
/// its conversation so far (`transcript`), the catalog's answer for its intent in the
/// customer's language (`suggested_reply`) and, while open, its summary fields.
pub async fn ticket(
    State(state): State<AppState>,
    _agent: AgentAuth,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let pane = state.chat().ticket_pane(&id).await?;
    let mut doc = serde_json::to_value(TicketJson::from(&pane.ticket))
        .map_err(|e| crate::error::Error::Internal(format!("ticket does not serialise: {e}")))?;
    if let Some(summary) = &pane.summary
        && let (Value::Object(doc), Ok(Value::Object(fields))) =
            (&mut doc, serde_json::to_value(summary))
    {
        // The ticket's own fields win (`priority` stays the number; the name is
        // `priority_name`).
        for (k, v) in fields {
            doc.entry(k).or_insert(v);
        }
    }
    doc["ticket_id"] = json!(pane.ticket.id);
    doc["priority_name"] = json!(pane.ticket.priority.as_str());
    doc["notes"] = json!(pane.notes);
    doc["transcript"] = json!(pane.transcript);
    doc["suggested_reply"] = json!(pane.suggested_reply);
    Ok(Json(doc))
}

#[derive(Debug, Deserialize)]
pub struct TicketsQuery {
    assigned_to: Option<String>,
}

/// `GET /v1/agent/tickets[?assigned_to=me]`: every open ticket, waiting ones first in
/// queue order, or only the caller's.
pub async fn tickets(
    State(state): State<AppState>,
    agent: AgentAuth,
    query: Result<Query<TicketsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let only = match q.assigned_to.as_deref() {
        None => None,
        Some("me") => Some(agent.agent_id.as_str()),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "assigned_to={other:?}: only \"me\" is supported"
            )));
        }
    };
    let tickets = state.chat().open_tickets(only).await?;
    Ok(Json(json!({ "tickets": tickets })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// The agent id, or null for back to the queue (required either way).
    to: Value,
}

/// `POST /v1/agent/tickets/{id}/transfer`: `{"to": "<agent id>"}` or `{"to": null}`.
pub async fn transfer(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<impl IntoResponse, ApiError> {
    let to = match &body.to {
        Value::Null => None,
        Value::String(to) => Some(to.as_str()),
        other => {
            return Err(ApiError::BadRequest(format!(
                "\"to\" must be an agent id or null, not {other}"
            )));
        }
    };
    let to = to.map(str::to_string);
    let summary = state
        .chat()
        .detached(
            move |chat| async move { chat.transfer(&agent.agent_id, &id, to.as_deref()).await },
        )
        .await?;
    Ok(Json(summary))
}

/// `GET /v1/agent/me`: the caller's presence and load.
pub async fn me(
    State(state): State<AppState>,
    agent: AgentAuth,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.chat().agent_status(&agent.agent_id).await?))
}

/// `GET /v1/agent/stats`: the supervisor strip.
pub async fn stats(
    State(state): State<AppState>,
    _agent: AgentAuth,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.chat().desk_stats().await?))
}

/// `POST /v1/agent/tickets/{id}/claim`: 409 when another agent was first.
pub async fn claim(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    // Detached: a client that goes away cannot cut the action half-way.
    let ticket = state
        .chat()
        .detached(move |chat| async move { chat.claim(&agent.agent_id, &id).await })
        .await?;
    Ok(Json(TicketJson::from(&ticket)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    text: String,
}

/// `POST /v1/agent/tickets/{id}/reply`: pushed to the customer.
pub async fn reply(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TextBody>,
) -> Result<impl IntoResponse, ApiError> {
    let event = state
        .chat()
        .agent_reply(&agent.agent_id, &id, &body.text)
        .await?;
    Ok(Json(event))
}

/// `POST /v1/agent/tickets/{id}/note`: internal, never shown to the customer.
pub async fn note(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TextBody>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .chat()
        .add_note(&agent.agent_id, &id, &body.text)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/agent/tickets/{id}/resolve`: the bot takes over and asks for a rating.
pub async fn resolve(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    // Detached: a client that goes away cannot cut the action half-way.
    let ticket = state
        .chat()
        .detached(move |chat| async move { chat.resolve(&agent.agent_id, &id).await })
        .await?;
    Ok(Json(TicketJson::from(&ticket)))
}

/// `POST /v1/agent/tickets/{id}/handback`: back to the bot without resolving.
pub async fn hand_back(
    State(state): State<AppState>,
    agent: AgentAuth,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    // Detached: a client that goes away cannot cut the action half-way.
    let ticket = state
        .chat()
        .detached(move |chat| async move { chat.hand_back(&agent.agent_id, &id).await })
        .await?;
    Ok(Json(TicketJson::from(&ticket)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceBody {
    online: bool,
    capacity: Option<u32>,
}

/// `POST /v1/agent/presence`: `{"online": true, "capacity": 3}`.
pub async fn presence(
    State(state): State<AppState>,
    agent: AgentAuth,
    ApiJson(body): ApiJson<PresenceBody>,
) -> Result<impl IntoResponse, ApiError> {
    if body.capacity.is_some_and(|c| c > 100) {
        return Err(crate::error::Error::InvalidInput("capacity above 100".into()).into());
    }
    let agent = state
        .chat()
        .set_presence(&agent.agent_id, body.online, body.capacity)
        .await?;
    Ok(Json(agent))
}
