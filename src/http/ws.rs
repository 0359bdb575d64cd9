//! The two WebSockets, written against `Sink` + `Stream` of frames so the session logic does
//! not depend on a real socket.
//!
//! Customer chat, `GET /v1/chat/ws[?conversation_id=ID&after_seq=N]`, JSON text frames:
//! - in: `{"type":"message","text":"..."}`, `{"type":"rating","score":1..5,"comment":"..."}`,
//!   `{"type":"ping"}`;
//! - out: first `{"type":"welcome","conversation_id":"...","resumed":bool}`, then every event
//!   of the conversation after `after_seq` (what a reconnecting customer missed), then each
//!   new event as it is stored: `{"seq":N,"at_ms":...,"ticket_id":...,"type":"customer_message"
//!   | "bot_message" | "ticket_opened" | "queue_position" | "agent_joined" | "agent_message" |
//!   "resolved" | "rating_request" | "handed_back", ...}` (see
//!   [`crate::conversation::EventBody`]); `{"type":"pong"}`; errors as
//!   `{"type":"error","code":"...","message":"...","retry_after_secs":N?}`.
//!
//! Agent feed, `GET /v1/agent/ws` with the bearer token: `{"type":"queue","tickets":[...],
//! "agents":[...]}` at once and whenever the queue changes, and `{"type":"customer_message",
//! ...}` for messages in conversations the agent owns.
//!
//! Events reach a session through the store's notices (every replica's, on PostgreSQL); the
//! session then reads `events_after(last seq sent)`, so nothing is sent twice or skipped.

use std::time::Instant;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::error::ApiError;
use super::extract::{AgentAuth, ClientKey, parse_json};
use crate::conversation::{EventBody, OutgoingEvent};
use crate::error::Error;
use crate::store::{EventNotice, TicketState};

/// Close code telling clients the server restarts: reconnect (with `after_seq`) shortly.
const CLOSE_RESTART: u16 = 1012;

#[derive(Debug, Deserialize)]
pub struct ChatWsQuery {
    conversation_id: Option<String>,
    #[serde(default)]
    after_seq: i64,
    customer_ref: Option<String>,
}

/// `GET /v1/chat/ws`: resumes a conversation (404 when unknown) or starts a new one.
pub async fn chat_ws(
    State(state): State<AppState>,
    key: ClientKey,
    query: Result<Query<ChatWsQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let conversation_id = match q.conversation_id {
        Some(id) => state.chat().conversation(&id).await?.id,
        None => {
            state
                .chat()
                .start_conversation(q.customer_ref.as_deref())
                .await?
                .id
        }
    };
    let after_seq = q.after_seq.max(0);
    Ok(ws
        .max_message_size(state.config().max_body_bytes)
        .on_upgrade(move |socket| async move {
            chat_session(state, socket, conversation_id, after_seq, key).await;
        }))
}

/// `GET /v1/agent/ws`: the agent's live feed.
pub async fn agent_ws(
    State(state): State<AppState>,
    agent: AgentAuth,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    Ok(ws
        .max_message_size(state.config().max_body_bytes)
        .on_upgrade(move |socket| async move {
            agent_session(state, socket, agent.agent_id).await;
        }))
}

/// Frames a customer sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ChatIn {
    Message { text: String },
    Rating { score: u8, comment: Option<String> },
    Ping,
}

fn text_frame(value: &impl serde::Serialize) -> Message {
    Message::Text(
        serde_json::to_string(value)
            .unwrap_or_else(|_| "{}".into())
            .into(),
    )
}

fn error_frame(error: &ApiError, text: Option<String>) -> Message {
    let (_, body) = error.parts();
    let mut v = json!({ "type": "error" });
    if let (Value::Object(frame), Ok(Value::Object(fields))) = (&mut v, serde_json::to_value(&body))
    {
        frame.extend(fields);
        if let Some(text) = text {
            frame.insert("text".into(), Value::String(text));
        }
    }
    text_frame(&v)
}

fn restart_frame() -> Message {
    Message::Close(Some(CloseFrame {
        code: CLOSE_RESTART,
        reason: "server restarting; reconnect with after_seq".into(),
    }))
}

/// Bytes of a data frame (text or binary); `None` for control frames.
fn frame_bytes(message: &Message) -> Option<&[u8]> {
    match message {
        Message::Text(t) => Some(t.as_bytes()),
        Message::Binary(b) => Some(b),
        _ => None,
    }
}

/// A customer's session: relays frames to the service and the conversation's events back.
pub async fn chat_session<S>(
    state: AppState,
    socket: S,
    conversation_id: String,
    after_seq: i64,
    key: ClientKey,
) where
    S: Sink<Message, Error = axum::Error>
        + Stream<Item = Result<Message, axum::Error>>
        + Unpin
        + Send,
{
    let _session = state.session();
    let (mut tx, mut rx) = socket.split();
    // Subscribe before reading the backlog: an event stored in between is then both in
    // the backlog and notified, and `last_seq` drops the duplicate.
    let mut notices = state.chat().store().subscribe().await;
    let mut shutdown = state.shutdown_signal();
    let mut last_seq = after_seq;
    let welcome =
        json!({ "type": "welcome", "conversation_id": conversation_id, "resumed": after_seq > 0 });
    if tx.send(text_frame(&welcome)).await.is_err() {
        return;
    }
    if flush(&state, &conversation_id, &mut last_seq, &mut tx)
        .await
        .is_err()
    {
        return;
    }
    tracing::debug!(conversation = %conversation_id, after_seq, "chat session open");
    loop {
        if *shutdown.borrow_and_update() {
            let _ = tx.send(restart_frame()).await;
            break;
        }
        tokio::select! {
            frame = rx.next() => {
                let message = match frame {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(m)) => m,
                };
                let Some(bytes) = frame_bytes(&message) else { continue };
                let reply = on_chat_frame(&state, &conversation_id, &key, bytes).await;
                if let Some(frame) = reply
                    && tx.send(frame).await.is_err()
                {
                    break;
                }
                if flush(&state, &conversation_id, &mut last_seq, &mut tx).await.is_err() {
                    break;
                }
            }
            notice = notices.recv() => {
                let due = match &notice {
                    Ok(n) => n.is_resync() || (n.conversation_id == conversation_id && n.seq > last_seq),
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => break,
                };
                if due && flush(&state, &conversation_id, &mut last_seq, &mut tx).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => {}
        }
    }
    tracing::debug!(conversation = %conversation_id, "chat session closed");
}

/// Handles one customer frame; returns a direct answer (pong, error) if any. Events the
/// frame produced are stored and reach the customer through the flush that follows.
async fn on_chat_frame(
    state: &AppState,
    conversation_id: &str,
    key: &ClientKey,
    bytes: &[u8],
) -> Option<Message> {
    let frame: ChatIn = match parse_json(bytes) {
        Ok(f) => f,
        Err(e) => return Some(error_frame(&e, None)),
    };
    let result = match frame {
        ChatIn::Ping => return Some(text_frame(&json!({ "type": "pong" }))),
        ChatIn::Message { text } => {
            if let Err(retry_after) = state.limiter().check(key, Instant::now()) {
                return Some(error_frame(&ApiError::RateLimited { retry_after }, None));
            }
            state.chat().handle(conversation_id, &text).await
        }
        ChatIn::Rating { score, comment } => {
            state
                .chat()
                .rate(conversation_id, score, comment.as_deref())
                .await
        }
    };
    match result {
        Ok(_) => None,
        Err(e) => {
            let localized = match &e {
                Error::MessageTooLong { .. } => {
                    let lang = state
                        .chat()
                        .conversation(conversation_id)
                        .await
                        .ok()
                        .and_then(|c| crate::nlu::Lang::from_code(&c.lang));
                    Some(state.chat().too_long_text(lang))
                }
                _ => None,
            };
            Some(error_frame(&ApiError::from(e), localized))
        }
    }
}

/// Sends every event after `last_seq` and advances it.
async fn flush<T>(
    state: &AppState,
    conversation_id: &str,
    last_seq: &mut i64,
    tx: &mut T,
) -> Result<(), ()>
where
    T: Sink<Message, Error = axum::Error> + Unpin,
{
    let events = match state.chat().events_after(conversation_id, *last_seq).await {
        Ok(events) => events,
        Err(e) => {
            tracing::warn!(conversation = conversation_id, error = %e, "reading events failed");
            return Ok(());
        }
    };
    for event in events {
        tx.send(text_frame(&event)).await.map_err(|_| ())?;
        *last_seq = event.seq;
    }
    Ok(())
}

/// An agent's feed: the queue whenever it changes, and customer messages of owned tickets.
pub async fn agent_session<S>(state: AppState, socket: S, agent_id: String)
where
    S: Sink<Message, Error = axum::Error>
        + Stream<Item = Result<Message, axum::Error>>
        + Unpin
        + Send,
{
    let _session = state.session();
    let (mut tx, mut rx) = socket.split();
    let mut notices = state.chat().store().subscribe().await;
    let mut shutdown = state.shutdown_signal();
    if send_queue(&state, &mut tx).await.is_err() {
        return;
    }
    loop {
        if *shutdown.borrow_and_update() {
            let _ = tx.send(restart_frame()).await;
            break;
        }
        tokio::select! {
            frame = rx.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(m)) => {
                    let pong = frame_bytes(&m)
                        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
                        .is_some_and(|v| v["type"] == "ping");
                    if pong && tx.send(text_frame(&json!({ "type": "pong" }))).await.is_err() {
                        break;
                    }
                }
            },
            notice = notices.recv() => {
                let mut queue_changed = false;
                let mut pending = Some(notice);
                // Drain what arrived meanwhile: one queue frame for a burst of changes.
                while let Some(notice) = pending.take() {
                    match notice {
                        Ok(n) if n.is_resync() => queue_changed = true,
                        Ok(n) => match agent_frames(&state, &agent_id, &n).await {
                            Ok((changed, frames)) => {
                                queue_changed |= changed;
                                for frame in frames {
                                    if tx.send(frame).await.is_err() {
                                        return;
                                    }
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "agent feed: reading an event failed"),
                        },
                        Err(RecvError::Lagged(_)) => queue_changed = true,
                        Err(RecvError::Closed) => return,
                    }
                    pending = match notices.try_recv() {
                        Ok(n) => Some(Ok(n)),
                        Err(tokio::sync::broadcast::error::TryRecvError::Lagged(k)) => Some(Err(RecvError::Lagged(k))),
                        Err(_) => None,
                    };
                }
                if queue_changed && send_queue(&state, &mut tx).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => {}
        }
    }
}

/// What one stored event means for an agent's feed: whether the queue changed, and frames
/// to forward (customer messages in conversations this agent owns).
async fn agent_frames(
    state: &AppState,
    agent_id: &str,
    notice: &EventNotice,
) -> crate::Result<(bool, Vec<Message>)> {
    let events = state
        .chat()
        .events_after(&notice.conversation_id, notice.seq - 1)
        .await?;
    let Some(event) = events.into_iter().find(|e| e.seq == notice.seq) else {
        return Ok((false, Vec::new()));
    };
    let changed = EventBody::changes_queue(event.body.kind());
    let mut frames = Vec::new();
    if let EventBody::CustomerMessage { .. } = &event.body
        && let Some(ticket) = state
            .chat()
            .store()
            .open_ticket_for_conversation(&notice.conversation_id)
            .await?
        && ticket.state == TicketState::Assigned
        && ticket.agent_id.as_deref() == Some(agent_id)
    {
        frames.push(customer_message_frame(
            &event,
            &ticket.id,
            &notice.conversation_id,
        ));
    }
    Ok((changed, frames))
}

fn customer_message_frame(
    event: &OutgoingEvent,
    ticket_id: &str,
    conversation_id: &str,
) -> Message {
    let text = match &event.body {
        EventBody::CustomerMessage { text } => text.as_str(),
        _ => "",
    };
    text_frame(&json!({
        "type": "customer_message",
        "seq": event.seq,
        "at_ms": event.at_ms,
        "ticket_id": ticket_id,
        "conversation_id": conversation_id,
        "text": text,
    }))
}

async fn send_queue<T>(state: &AppState, tx: &mut T) -> Result<(), ()>
where
    T: Sink<Message, Error = axum::Error> + Unpin,
{
    match super::agent::queue_json(state).await {
        Ok(v) => tx.send(text_frame(&v)).await.map_err(|_| ()),
        Err(e) => {
            tracing::warn!(error = ?e, "agent feed: reading the queue failed");
            Ok(())
        }
    }
}
