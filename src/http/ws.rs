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
//! Agent feed, `GET /v1/agent/ws[?after_seq=N]` with the bearer token (header, or the
//! `intentdesk.bearer.<base64url>` subprotocol from a browser): at once and whenever the open
//! tickets change, `{"type":"queue","tickets":[waiting...],"agents":[...]}` and
//! `{"type":"tickets","tickets":[TicketSummary of every open ticket]}`;
//! `{"type":"assigned","ticket":TicketSummary,"by":"auto"|"claim"|"transfer"}` when a
//! ticket becomes the agent's; `{"type":"unassigned","ticket_id":...,"to":null|agent}` when
//! it leaves them while still open; and for every event of the agent's tickets
//! `{"type":"conversation_event","ticket_id","conversation_id","seq","event":<the chat
//! frame the customer got>}` (customer messages also as the older
//! `{"type":"customer_message",...}` frame). With `after_seq` the feed first replays the
//! `conversation_event`s of the agent's assigned tickets after N: nothing is missed across
//! a reconnect.
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
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::AppState;
use super::error::ApiError;
use super::extract::{AgentAuth, ClientKey, FEED_SUBPROTOCOL, parse_json};
use crate::conversation::feed::{AgentFeed, FeedChanges, FeedEvent};
use crate::conversation::{EventBody, OutgoingEvent};
use crate::error::Error;
use crate::store::EventNotice;

/// Close code telling clients the server restarts: reconnect (with `after_seq`) shortly.
const CLOSE_RESTART: u16 = 1012;

/// Close code of a socket that sent nothing (not even a ping) for the idle timeout
/// (application range, after HTTP's 408): reconnect when there is something to say.
pub const CLOSE_IDLE: u16 = 4408;

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
    let slot = state.ws_slot(&key).ok_or(ApiError::TooManyConnections {
        limit: state.config().ws_max_per_client,
    })?;
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
    let max = state.config().max_body_bytes;
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            chat_session(state, socket, conversation_id, after_seq, key).await;
        }))
}

#[derive(Debug, Deserialize)]
pub struct AgentWsQuery {
    /// Replay the `conversation_event` frames of the agent's assigned tickets after this
    /// sequence number first (the last `seq` the page saw before a reconnect).
    after_seq: Option<i64>,
}

/// `GET /v1/agent/ws[?after_seq=N]`: the agent's live feed. The token comes in the
/// `Authorization` header or, from a browser, in the `intentdesk.bearer.<base64url>`
/// subprotocol; the server then answers with the `intentdesk.v1` subprotocol.
pub async fn agent_ws(
    State(state): State<AppState>,
    agent: AgentAuth,
    query: Result<Query<AgentWsQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let after_seq = q.after_seq.map(|s| s.max(0));
    let max = state.config().max_body_bytes;
    Ok(ws
        .protocols([FEED_SUBPROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            agent_session(state, socket, agent.agent_id, after_seq).await;
        }))
}

/// Frames a customer sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ChatIn {
    Message {
        text: String,
        /// As in the REST body: a retry with the same id is not a second message.
        client_message_id: Option<String>,
    },
    Rating {
        score: u8,
        comment: Option<String>,
    },
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

fn idle_frame(timeout: std::time::Duration) -> Message {
    Message::Close(Some(CloseFrame {
        code: CLOSE_IDLE,
        reason: format!("idle for {} s; reconnect when needed", timeout.as_secs()).into(),
    }))
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
    tracing::debug!(after_seq, "chat session open");
    let idle_timeout = state.config().ws_idle_timeout;
    let idle = tokio::time::sleep(idle_timeout);
    tokio::pin!(idle);
    loop {
        if *shutdown.borrow_and_update() {
            let _ = tx.send(restart_frame()).await;
            break;
        }
        tokio::select! {
            () = &mut idle => {
                let _ = tx.send(idle_frame(idle_timeout)).await;
                break;
            }
            frame = rx.next() => {
                idle.as_mut().reset(tokio::time::Instant::now() + idle_timeout);
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
    tracing::debug!("chat session closed");
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
    if !matches!(frame, ChatIn::Ping)
        && let Err(retry_after) = state.limiter().check(key, Instant::now())
    {
        metrics::counter!("intentdesk_rate_limited_total").increment(1);
        return Some(error_frame(&ApiError::RateLimited { retry_after }, None));
    }
    let result = match frame {
        ChatIn::Ping => return Some(text_frame(&json!({ "type": "pong" }))),
        ChatIn::Message {
            text,
            client_message_id,
        } => {
            state.ticket_caps().wrote(conversation_id, key);
            state
                .chat()
                .handle_detached(conversation_id, &text, client_message_id.as_deref())
                .await
        }
        ChatIn::Rating { score, comment } => {
            state
                .chat()
                .rate(conversation_id, score, comment.as_deref())
                .await
        }
    };
    match result {
        // The turn's events reach the customer through the flush that follows, not from
        // here: sequence numbers are store-wide, so an agent's or a notice's event can fall
        // between them, and only reading the store after `last_seq` keeps the order whole.
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
            tracing::warn!(error = %e, "reading events failed");
            return Ok(());
        }
    };
    for event in events {
        tx.send(text_frame(&event)).await.map_err(|_| ())?;
        *last_seq = event.seq;
    }
    Ok(())
}

type Sent = Result<(), ()>;

/// Sends how the agent's tickets changed: `assigned` and `unassigned` frames.
async fn send_changes<T>(tx: &mut T, changes: FeedChanges) -> Sent
where
    T: Sink<Message, Error = axum::Error> + Unpin,
{
    for (ticket, by) in changes.assigned {
        let frame = json!({ "type": "assigned", "ticket": ticket, "by": by });
        tx.send(text_frame(&frame)).await.map_err(|_| ())?;
    }
    for (ticket_id, to) in changes.unassigned {
        let frame = json!({ "type": "unassigned", "ticket_id": ticket_id, "to": to });
        tx.send(text_frame(&frame)).await.map_err(|_| ())?;
    }
    Ok(())
}

/// Re-reads the agent's tickets; with `announce`, tells the agent how they changed.
async fn refresh<T>(
    state: &AppState,
    feed: &mut AgentFeed,
    tx: &mut T,
    announce: bool,
    from_seq: i64,
) -> Sent
where
    T: Sink<Message, Error = axum::Error> + Unpin,
{
    match feed.refresh(state.chat(), from_seq).await {
        Ok(changes) if announce => send_changes(tx, changes).await,
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "agent feed: reading open tickets failed");
            Ok(())
        }
    }
}

/// Sends the feed's pending events of `conversation` (all of the agent's with `None`):
/// a `conversation_event` frame each, and the older `customer_message` frame for
/// customer messages.
async fn send_events<T>(
    state: &AppState,
    feed: &mut AgentFeed,
    tx: &mut T,
    conversation: Option<&str>,
) -> Sent
where
    T: Sink<Message, Error = axum::Error> + Unpin,
{
    let pending = match conversation {
        Some(c) => feed.pending(state.chat(), c).await,
        None => feed.pending_all(state.chat()).await,
    };
    let events = match pending {
        Ok(events) => events,
        Err(e) => {
            tracing::warn!(error = %e, "agent feed: reading events failed");
            return Ok(());
        }
    };
    for FeedEvent {
        ticket_id,
        conversation_id,
        event,
    } in events
    {
        let frame = json!({
            "type": "conversation_event",
            "ticket_id": ticket_id,
            "conversation_id": conversation_id,
            "seq": event.seq,
            "event": event,
        });
        tx.send(text_frame(&frame)).await.map_err(|_| ())?;
        if let EventBody::CustomerMessage { .. } = &event.body {
            let compat = customer_message_frame(&event, &ticket_id, &conversation_id);
            tx.send(compat).await.map_err(|_| ())?;
        }
    }
    Ok(())
}

/// An agent's feed (see the module documentation for its frames).
pub async fn agent_session<S>(state: AppState, socket: S, agent_id: String, after_seq: Option<i64>)
where
    S: Sink<Message, Error = axum::Error>
        + Stream<Item = Result<Message, axum::Error>>
        + Unpin
        + Send,
{
    let _session = state.session();
    let (mut tx, mut rx) = socket.split();
    // Subscribe before the first read: nothing committed after it is missed.
    let mut notices = state.chat().store().subscribe().await;
    let mut shutdown = state.shutdown_signal();
    let mut feed = AgentFeed::new(agent_id);
    if refresh(&state, &mut feed, &mut tx, false, after_seq.unwrap_or(0))
        .await
        .is_err()
        || send_lists(&state, &mut tx).await.is_err()
    {
        return;
    }
    if after_seq.is_some() && send_events(&state, &mut feed, &mut tx, None).await.is_err() {
        return;
    }
    if after_seq.is_none() {
        // Without a catch-up, start after what is already stored.
        feed.skip_to_end(state.chat()).await;
    }
    let idle_timeout = state.config().ws_idle_timeout;
    let idle = tokio::time::sleep(idle_timeout);
    tokio::pin!(idle);
    loop {
        if *shutdown.borrow_and_update() {
            let _ = tx.send(restart_frame()).await;
            break;
        }
        tokio::select! {
            () = &mut idle => {
                let _ = tx.send(idle_frame(idle_timeout)).await;
                break;
            }
            frame = rx.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(m)) => {
                    idle.as_mut().reset(tokio::time::Instant::now() + idle_timeout);
                    let pong = frame_bytes(&m)
                        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
                        .is_some_and(|v| v["type"] == "ping");
                    if pong && tx.send(text_frame(&json!({ "type": "pong" }))).await.is_err() {
                        break;
                    }
                }
            },
            notice = notices.recv() => {
                if on_notices(&state, &mut feed, &mut tx, notice, &mut notices).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => {}
        }
    }
}

/// Handles a notice and every other one already waiting: one `queue` and one `tickets`
/// frame for a burst of changes.
async fn on_notices<T>(
    state: &AppState,
    feed: &mut AgentFeed,
    tx: &mut T,
    first: Result<EventNotice, RecvError>,
    notices: &mut tokio::sync::broadcast::Receiver<EventNotice>,
) -> Sent
where
    T: Sink<Message, Error = axum::Error> + Unpin,
{
    let mut lists_changed = false;
    let mut pending = Some(first);
    while let Some(notice) = pending.take() {
        match notice {
            Ok(n) if !n.is_resync() => {
                let changes_queue = state
                    .chat()
                    .event_changes_queue(&n.conversation_id, n.seq)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "agent feed: reading an event failed");
                        false
                    });
                if changes_queue {
                    refresh(state, feed, tx, true, n.seq - 1).await?;
                    lists_changed = true;
                }
                send_events(state, feed, tx, Some(&n.conversation_id)).await?;
            }
            // A resync, or notices lost to lag: re-read everything this feed follows.
            Ok(_) | Err(RecvError::Lagged(_)) => {
                refresh(state, feed, tx, true, 0).await?;
                send_events(state, feed, tx, None).await?;
                lists_changed = true;
            }
            Err(RecvError::Closed) => return Err(()),
        }
        pending = match notices.try_recv() {
            Ok(n) => Some(Ok(n)),
            Err(TryRecvError::Lagged(k)) => Some(Err(RecvError::Lagged(k))),
            Err(_) => None,
        };
    }
    if lists_changed {
        send_lists(state, tx).await?;
    }
    Ok(())
}

fn customer_message_frame(
    event: &OutgoingEvent,
    ticket_id: &str,
    conversation_id: &str,
) -> Message {
    text_frame(&json!({
        "type": "customer_message",
        "seq": event.seq,
        "at_ms": event.at_ms,
        "ticket_id": ticket_id,
        "conversation_id": conversation_id,
        "text": event.body.text(),
    }))
}

/// The `queue` frame (waiting tickets, agents) and the `tickets` frame (every open
/// ticket).
async fn send_lists<T>(state: &AppState, tx: &mut T) -> Sent
where
    T: Sink<Message, Error = axum::Error> + Unpin,
{
    match super::agent::queue_json(state).await {
        Ok(v) => tx.send(text_frame(&v)).await.map_err(|_| ())?,
        Err(e) => tracing::warn!(error = ?e, "agent feed: reading the queue failed"),
    }
    match state.chat().open_tickets(None).await {
        Ok(tickets) => {
            let frame = json!({ "type": "tickets", "tickets": tickets });
            tx.send(text_frame(&frame)).await.map_err(|_| ())
        }
        Err(e) => {
            tracing::warn!(error = %e, "agent feed: reading open tickets failed");
            Ok(())
        }
    }
}
