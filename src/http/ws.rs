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

use std::collections::HashMap;
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

/// What one agent's feed has told it so far.
struct Feed {
    agent_id: String,
    /// The agent's assigned tickets: ticket id → conversation id.
    mine: HashMap<String, String>,
    /// Per conversation of the agent's tickets, the last event sent as a
    /// `conversation_event` (events are read after it, so none is sent twice or skipped).
    cursors: HashMap<String, i64>,
}

type Sent = Result<(), ()>;

impl Feed {
    /// Re-reads the open tickets; with `announce`, tells the agent which tickets became
    /// theirs (`assigned`) and which left them while still open (`unassigned`). New
    /// tickets' conversations start their cursor at `from_seq`.
    async fn diff<T>(&mut self, state: &AppState, tx: &mut T, announce: bool, from_seq: i64) -> Sent
    where
        T: Sink<Message, Error = axum::Error> + Unpin,
    {
        let open = match state.chat().open_tickets(None).await {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(error = %e, "agent feed: reading open tickets failed");
                return Ok(());
            }
        };
        let now_mine: HashMap<String, String> = open
            .iter()
            .filter(|t| t.state == "assigned" && t.agent.as_deref() == Some(self.agent_id.as_str()))
            .map(|t| (t.ticket_id.clone(), t.conversation_id.clone()))
            .collect();
        if announce {
            for t in open.iter().filter(|t| now_mine.contains_key(&t.ticket_id)) {
                if !self.mine.contains_key(&t.ticket_id) {
                    let by = t.assigned_by.as_deref().unwrap_or("auto");
                    let frame = json!({ "type": "assigned", "ticket": t, "by": by });
                    tx.send(text_frame(&frame)).await.map_err(|_| ())?;
                }
            }
            for lost in self.mine.keys().filter(|id| !now_mine.contains_key(*id)) {
                // Closed tickets (resolved, handed back by this agent) are not "lost".
                if let Some(t) = open.iter().find(|t| &t.ticket_id == lost) {
                    let frame = json!({ "type": "unassigned", "ticket_id": lost, "to": t.agent });
                    tx.send(text_frame(&frame)).await.map_err(|_| ())?;
                }
            }
        }
        self.cursors
            .retain(|c, _| now_mine.values().any(|mine| mine == c));
        for conversation in now_mine.values() {
            self.cursors.entry(conversation.clone()).or_insert(from_seq);
        }
        self.mine = now_mine;
        Ok(())
    }

    /// Sends the events of `conversation` after its cursor, if it is one of the agent's.
    async fn flush<T>(&mut self, state: &AppState, tx: &mut T, conversation: &str) -> Sent
    where
        T: Sink<Message, Error = axum::Error> + Unpin,
    {
        let Some(ticket_id) = self
            .mine
            .iter()
            .find(|(_, c)| c.as_str() == conversation)
            .map(|(t, _)| t.clone())
        else {
            return Ok(());
        };
        let cursor = self.cursors.get(conversation).copied().unwrap_or(0);
        let events = match state.chat().events_after(conversation, cursor).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "agent feed: reading events failed");
                return Ok(());
            }
        };
        for event in events {
            let frame = json!({
                "type": "conversation_event",
                "ticket_id": ticket_id,
                "conversation_id": conversation,
                "seq": event.seq,
                "event": event,
            });
            tx.send(text_frame(&frame)).await.map_err(|_| ())?;
            if let EventBody::CustomerMessage { .. } = &event.body {
                let compat = customer_message_frame(&event, &ticket_id, conversation);
                tx.send(compat).await.map_err(|_| ())?;
            }
            self.cursors.insert(conversation.to_string(), event.seq);
        }
        Ok(())
    }

    async fn flush_all<T>(&mut self, state: &AppState, tx: &mut T) -> Sent
    where
        T: Sink<Message, Error = axum::Error> + Unpin,
    {
        let conversations: Vec<String> = self.mine.values().cloned().collect();
        for conversation in conversations {
            self.flush(state, tx, &conversation).await?;
        }
        Ok(())
    }
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
    let mut feed = Feed {
        agent_id,
        mine: HashMap::new(),
        cursors: HashMap::new(),
    };
    if feed
        .diff(&state, &mut tx, false, after_seq.unwrap_or(0))
        .await
        .is_err()
        || send_lists(&state, &mut tx).await.is_err()
    {
        return;
    }
    if after_seq.is_some() && feed.flush_all(&state, &mut tx).await.is_err() {
        return;
    }
    if after_seq.is_none() {
        // Without a catch-up, start after what is already stored.
        feed.cursors.clear();
        for conversation in feed.mine.values() {
            let last = match state.chat().events_after(conversation, 0).await {
                Ok(events) => events.last().map_or(0, |e| e.seq),
                Err(_) => 0,
            };
            feed.cursors.insert(conversation.clone(), last);
        }
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
    feed: &mut Feed,
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
                let changes_queue = match state
                    .chat()
                    .events_after(&n.conversation_id, n.seq - 1)
                    .await
                {
                    Ok(events) => events
                        .iter()
                        .find(|e| e.seq == n.seq)
                        .is_some_and(|e| EventBody::changes_queue(e.body.kind())),
                    Err(e) => {
                        tracing::warn!(error = %e, "agent feed: reading an event failed");
                        false
                    }
                };
                if changes_queue {
                    feed.diff(state, tx, true, n.seq - 1).await?;
                    lists_changed = true;
                }
                feed.flush(state, tx, &n.conversation_id).await?;
            }
            // A resync, or notices lost to lag: re-read everything this feed follows.
            Ok(_) | Err(RecvError::Lagged(_)) => {
                feed.diff(state, tx, true, 0).await?;
                feed.flush_all(state, tx).await?;
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
