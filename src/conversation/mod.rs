//! The support service, knowing no transport: a customer message goes through validation,
//! nlu (secrets masked first: only the masked text is stored, logged or sent), the batched
//! model, the pure policy and the store; tickets are opened with what was collected and the
//! customer is told their ticket number, queue position and estimated wait. Agent actions
//! (claim, reply, note, resolve, hand back, presence), automatic assignment and queue
//! updates live in [`agents`]; the agent workspace's views (open tickets, the ticket pane,
//! the supervisor strip) and transfers in [`desk`].
//!
//! Everything a customer is told is appended as an event ([`OutgoingEvent`]) to the store
//! before it is returned, so a transport only relays events and a reconnecting customer
//! reads what they missed with [`ChatService::events_after`].

mod agents;
mod desk;
pub mod events;
mod texts;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::catalog::{Catalog, Priority};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::Prediction;
use crate::nlu::{self, Lang};
use crate::policy::{self, ConversationState, Decision, PolicyConfig, QueueState, TicketView};
use crate::queue::{self, AgentLoad};
use crate::store::{Conversation, NewTicket, Sender, Store, StoreError, Ticket, TicketState};

pub use agents::QueuedTicket;
pub use desk::{
    AgentStatus, DeskStats, FIRST_LINE_CHARS, TicketPane, TicketSummary, Today, TranscriptEntry,
};
pub use events::{EventBody, OutgoingEvent};

/// The service's tunables (the policy's included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceConfig {
    /// Longest customer message, in characters (Unicode scalar values).
    pub max_message_chars: usize,
    /// The policy's tunables (peak-load limit...).
    pub policy: PolicyConfig,
    /// Handling time assumed until enough tickets were resolved to measure it.
    pub default_handling_minutes: f64,
    /// How many recently resolved tickets the wait estimate averages.
    pub handling_samples: u32,
    /// Tickets automatic assignment gives an agent at once (unless presence says otherwise).
    pub agent_capacity: u32,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            max_message_chars: 2000,
            policy: PolicyConfig::default(),
            default_handling_minutes: 10.0,
            handling_samples: 50,
            agent_capacity: 3,
        }
    }
}

/// Where the service reads the time (tests substitute a controlled clock).
pub trait Clock: Send + Sync + 'static {
    /// Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// Number of striped per-conversation locks.
const TURN_LOCKS: usize = 64;

/// The support service. One per process, shared by every connection.
pub struct ChatService {
    engine: Engine,
    store: Store,
    catalog: Arc<Catalog>,
    config: ServiceConfig,
    clock: Arc<dyn Clock>,
    /// Striped locks serialising the turns of one conversation within this process: two
    /// messages of one conversation must not both read the old dialogue state and overwrite
    /// each other's. Striping keeps memory bounded (unrelated conversations sharing a stripe
    /// merely wait for each other briefly).
    turn_locks: Vec<tokio::sync::Mutex<()>>,
    turn_hasher: RandomState,
    /// Serialises automatic assignment and queue-update pushes in this process. The map is
    /// the (position, wait minutes) last told to each waiting ticket's customer, so an
    /// update is pushed only when one of them changes.
    pushed: tokio::sync::Mutex<HashMap<String, (u32, u32)>>,
    /// Conversations that received a first message, and tickets opened, since start: the
    /// deflection rate is `1 - tickets / conversations`.
    conversations_started: AtomicU64,
    tickets_opened: AtomicU64,
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService")
            .field("config", &self.config)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// One line of a transcript (masked).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptLine {
    pub seq: i64,
    pub sender: Sender,
    pub text: String,
    pub at_ms: i64,
}

/// A conversation's messages, as stored (customer text masked).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    pub conversation_id: String,
    /// Language code of the conversation ("" before the first message).
    pub lang: String,
    pub created_at_ms: i64,
    pub messages: Vec<TranscriptLine>,
}

impl Transcript {
    /// Plain text: one `[time] sender: text` line per message.
    pub fn to_text(&self) -> String {
        let mut out = format!("conversation {}\n", self.conversation_id);
        for m in &self.messages {
            let at = chrono::DateTime::from_timestamp_millis(m.at_ms)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            out.push_str(&format!("[{at}] {}: {}\n", m.sender.as_str(), m.text));
        }
        out
    }
}

/// The catalog's name of a stored priority number (out-of-range numbers clamp).
pub fn priority_name(number: i32) -> &'static str {
    match number {
        i32::MIN..=0 => "low",
        1 => "normal",
        2 => "high",
        _ => "urgent",
    }
}

/// The store's priority number for a catalog priority (0 low .. 3 urgent).
pub fn priority_number(p: Priority) -> i32 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => Error::NotFound { kind, id },
            StoreError::Conflict(m) => Error::Conflict(m),
            StoreError::Invalid(m) => Error::InvalidInput(m),
            StoreError::Database(m) => Error::Storage(m),
        }
    }
}

/// The live queue at one moment: what positions and waits are computed from.
struct QueueSnapshot {
    /// Waiting tickets in queue order.
    waiting: Vec<Ticket>,
    loads: Vec<AgentLoad>,
    handling_ms: Vec<i64>,
    default_handling_minutes: f64,
}

impl QueueSnapshot {
    fn wait_at(&self, position: u32) -> u32 {
        queue::estimate_wait(
            position,
            &self.loads,
            &self.handling_ms,
            self.default_handling_minutes,
        )
        .minutes
    }

    /// 1-based position of a waiting ticket.
    fn position_of(&self, ticket_id: &str) -> Option<u32> {
        self.waiting
            .iter()
            .position(|t| t.id == ticket_id)
            .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX))
    }

    /// The estimated wait of a ticket opened now (at the end of the queue).
    fn wait_for_new(&self) -> u32 {
        self.wait_at(u32::try_from(self.waiting.len() + 1).unwrap_or(u32::MAX))
    }
}

impl ChatService {
    pub fn new(engine: Engine, store: Store, config: ServiceConfig) -> ChatService {
        ChatService::with_clock(engine, store, config, Arc::new(SystemClock))
    }

    pub fn with_clock(
        engine: Engine,
        store: Store,
        config: ServiceConfig,
        clock: Arc<dyn Clock>,
    ) -> ChatService {
        ChatService {
            catalog: engine.catalog().clone(),
            engine,
            store,
            config,
            clock,
            turn_locks: (0..TURN_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            turn_hasher: RandomState::new(),
            pushed: tokio::sync::Mutex::new(HashMap::new()),
            conversations_started: AtomicU64::new(0),
            tickets_opened: AtomicU64::new(0),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A new conversation (no message yet).
    pub async fn start_conversation(&self, customer_ref: Option<&str>) -> Result<Conversation> {
        Ok(self
            .store
            .create_conversation(customer_ref, self.now())
            .await?)
    }

    /// The conversation, or `NotFound`.
    pub async fn conversation(&self, id: &str) -> Result<Conversation> {
        self.store
            .conversation(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "conversation",
                id: id.to_string(),
            })
    }

    /// Refuses empty messages and messages over the configured length.
    pub fn validate(&self, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::EmptyMessage);
        }
        let chars = text.chars().count();
        if chars > self.config.max_message_chars {
            return Err(Error::MessageTooLong {
                chars,
                max: self.config.max_message_chars,
            });
        }
        Ok(())
    }

    /// The catalog's "message too long" sentence in the conversation's language.
    pub fn too_long_text(&self, lang: Option<Lang>) -> String {
        self.catalog.messages.render(
            "message_too_long",
            lang.unwrap_or(Lang::En),
            &[("max_chars", self.config.max_message_chars.to_string())],
        )
    }

    async fn lock_turn(&self, conversation_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = self.turn_hasher.hash_one(conversation_id) as usize % self.turn_locks.len();
        self.turn_locks[stripe].lock().await
    }

    /// One customer message: everything the customer is told in return, already stored.
    ///
    /// Errors: `EmptyMessage`, `MessageTooLong`, `NotFound` (conversation), `Overloaded`
    /// (the model's queue is full: nothing was stored, the client retries).
    pub async fn handle(&self, conversation_id: &str, text: &str) -> Result<Vec<OutgoingEvent>> {
        self.validate(text)?;
        let _turn = self.lock_turn(conversation_id).await;
        let conversation = self.conversation(conversation_id).await?;
        let analysis = nlu::analyse(text);
        let masked = analysis.masked.text.clone();
        let mut state: ConversationState = serde_json::from_str(&conversation.state_json).unwrap_or_else(|e| {
            tracing::warn!(conversation = conversation_id, error = %e, "stored dialogue state unreadable; starting afresh");
            ConversationState::default()
        });
        let open = self
            .store
            .open_ticket_for_conversation(conversation_id)
            .await?;
        state.agent_assigned = open
            .as_ref()
            .is_some_and(|t| t.state == TicketState::Assigned);
        let prediction = if state.agent_assigned {
            // The policy is silent while an agent owns the conversation: spare the model.
            silent_prediction()
        } else {
            self.engine.predict(&analysis).await?
        };
        let lang = nlu::detect_in_conversation(masked.trim(), state.lang);
        let snapshot = self.snapshot().await?;
        let queue_state = self
            .queue_state(conversation_id, open.as_ref(), &snapshot, lang)
            .await?;
        let outcome = policy::decide(
            &self.catalog,
            &self.config.policy,
            &state,
            &analysis,
            &prediction,
            &queue_state,
        );
        let decision = outcome.decision.name();
        let intent = if state.agent_assigned {
            "-"
        } else {
            prediction.intent.as_str()
        };
        tracing::info!(
            conversation = conversation_id,
            intent,
            confidence = prediction.confidence,
            decision,
            lang = outcome.lang.code(),
            secrets = analysis.masked.secrets.len(),
            "customer message"
        );
        metrics::counter!(
            "intentdesk_messages_total",
            "intent" => intent.to_string(),
            "decision" => decision,
            "language" => outcome.lang.code()
        )
        .increment(1);
        if conversation.message_count == 0 {
            self.conversations_started.fetch_add(1, Ordering::Relaxed);
            self.update_deflection();
        }

        let now = self.now();
        let meta = serde_json::json!({
            "intent": intent,
            "confidence": prediction.confidence,
            "decision": decision,
            "lang": outcome.lang.code(),
            "secrets": analysis.masked.secrets,
        });
        self.store
            .append_message(
                conversation_id,
                Sender::Customer,
                &masked,
                &meta.to_string(),
                now,
            )
            .await?;
        let mut out = vec![
            self.emit(
                conversation_id,
                None,
                EventBody::CustomerMessage { text: masked },
                now,
            )
            .await?,
        ];
        for reply in &outcome.replies {
            let did_this_help = reply.choices.iter().any(|c| c.id == policy::YES_CHOICE);
            out.push(
                self.bot_says(
                    conversation_id,
                    None,
                    EventBody::BotMessage {
                        text: reply.text.clone(),
                        choices: reply.choices.clone(),
                        did_this_help,
                    },
                )
                .await?,
            );
        }
        match &outcome.decision {
            Decision::OpenTicket {
                intent,
                priority,
                details,
            }
            | Decision::EscalateNow {
                intent,
                priority,
                details,
                ..
            } => {
                let request = TicketRequest {
                    intent,
                    priority: *priority,
                    details,
                    confidence: prediction.confidence,
                    lang: outcome.lang,
                };
                out.extend(self.open_ticket(conversation_id, request, open).await?);
            }
            _ => {}
        }
        let mut new_state = outcome.state;
        // Derived from the ticket at every turn, never trusted from storage.
        new_state.agent_assigned = false;
        let state_json = serde_json::to_string(&new_state)
            .map_err(|e| Error::Internal(format!("dialogue state does not serialise: {e}")))?;
        self.store
            .save_conversation_state(
                conversation_id,
                &state_json,
                outcome.lang.code(),
                self.now(),
            )
            .await?;
        Ok(out)
    }

    /// Appends an event and returns it as sent.
    async fn emit(
        &self,
        conversation_id: &str,
        ticket_id: Option<&str>,
        body: EventBody,
        now: i64,
    ) -> Result<OutgoingEvent> {
        let payload = serde_json::to_string(&body)
            .map_err(|e| Error::Internal(format!("event does not serialise: {e}")))?;
        let stored = self
            .store
            .append_event(conversation_id, ticket_id, body.kind(), &payload, now)
            .await?;
        Ok(OutgoingEvent {
            seq: stored.seq,
            at_ms: stored.created_at_ms,
            ticket_id: stored.ticket_id,
            body,
        })
    }

    /// Stores a bot message (its text in the transcript) and emits its event.
    async fn bot_says(
        &self,
        conversation_id: &str,
        ticket_id: Option<&str>,
        body: EventBody,
    ) -> Result<OutgoingEvent> {
        let now = self.now();
        if let EventBody::CustomerMessage { .. } | EventBody::AgentMessage { .. } = &body {
            return Err(Error::Internal(
                "bot_says with a customer or agent event".into(),
            ));
        }
        let text = body.text().to_string();
        let meta = serde_json::json!({ "event": body.kind() }).to_string();
        self.store
            .append_message(conversation_id, Sender::Bot, &text, &meta, now)
            .await?;
        self.emit(conversation_id, ticket_id, body, now).await
    }

    /// The queue as the policy sees it for this conversation.
    async fn queue_state(
        &self,
        conversation_id: &str,
        open: Option<&Ticket>,
        snapshot: &QueueSnapshot,
        lang: Lang,
    ) -> Result<QueueState> {
        let open_ticket = match open {
            None => None,
            Some(t) => {
                let position = match t.state {
                    TicketState::Waiting => Some(snapshot.position_of(&t.id).unwrap_or(1)),
                    _ => None,
                };
                let last_agent_reply = self
                    .store
                    .messages(conversation_id)
                    .await?
                    .into_iter()
                    .rev()
                    .find(|m| m.sender == Sender::Agent)
                    .map(|m| m.text);
                Some(TicketView {
                    id: t.id.clone(),
                    state: texts::ticket_state(t.state, lang).to_string(),
                    position,
                    wait_minutes: position.map(|p| snapshot.wait_at(p)),
                    last_agent_reply,
                })
            }
        };
        Ok(QueueState {
            estimated_wait_minutes: snapshot.wait_for_new(),
            open_ticket,
        })
    }

    async fn snapshot(&self) -> Result<QueueSnapshot> {
        let waiting = self.store.queue().await?;
        let loads = self
            .store
            .agents()
            .await?
            .iter()
            .map(AgentLoad::from)
            .collect();
        let handling_ms = self
            .store
            .recent_handling_times(self.config.handling_samples)
            .await?;
        Ok(QueueSnapshot {
            waiting,
            loads,
            handling_ms,
            default_handling_minutes: self.config.default_handling_minutes,
        })
    }

    /// Opens the ticket the policy asked for (or, when one is already waiting, tells its
    /// place in the queue again) and runs automatic assignment.
    async fn open_ticket(
        &self,
        conversation_id: &str,
        request: TicketRequest<'_>,
        existing: Option<Ticket>,
    ) -> Result<Vec<OutgoingEvent>> {
        if let Some(ticket) = existing {
            return self
                .tell_position(&ticket, request.lang)
                .await
                .map(|e| e.into_iter().collect());
        }
        let transcript = self.transcript(conversation_id).await?;
        let details_json = serde_json::to_string(request.details)
            .map_err(|e| Error::Internal(format!("details do not serialise: {e}")))?;
        let transcript_json = serde_json::to_string(&transcript.messages)
            .map_err(|e| Error::Internal(format!("transcript does not serialise: {e}")))?;
        let new = NewTicket {
            conversation_id: conversation_id.to_string(),
            intent: request.intent.to_string(),
            confidence: f64::from(request.confidence.clamp(0.0, 1.0)),
            language: request.lang.code().to_string(),
            priority: priority_number(request.priority),
            details_json,
            transcript_json,
        };
        let ticket = match self.store.open_ticket(new, self.now()).await {
            Ok(t) => t,
            Err(StoreError::Conflict(_)) => {
                // Another replica opened one a moment ago.
                return match self
                    .store
                    .open_ticket_for_conversation(conversation_id)
                    .await?
                {
                    Some(t) => self
                        .tell_position(&t, request.lang)
                        .await
                        .map(|e| e.into_iter().collect()),
                    None => Ok(Vec::new()),
                };
            }
            Err(e) => return Err(e.into()),
        };
        self.tickets_opened.fetch_add(1, Ordering::Relaxed);
        self.update_deflection();
        metrics::counter!(
            "intentdesk_tickets_opened_total",
            "intent" => ticket.intent.clone(),
            "priority" => ticket.priority.to_string()
        )
        .increment(1);
        tracing::info!(
            conversation = conversation_id,
            ticket = %ticket.id,
            intent = %ticket.intent,
            priority = ticket.priority,
            "ticket opened"
        );
        let mut out = Vec::new();
        {
            let mut pushed = self.pushed.lock().await;
            let snapshot = self.snapshot().await?;
            let position = snapshot.position_of(&ticket.id).unwrap_or(1);
            let wait = snapshot.wait_at(position);
            let text =
                policy::ticket_opened_text(&self.catalog, request.lang, &ticket.id, position, wait);
            out.push(
                self.bot_says(
                    conversation_id,
                    Some(&ticket.id),
                    EventBody::TicketOpened {
                        position,
                        wait_minutes: wait,
                        text,
                    },
                )
                .await?,
            );
            pushed.insert(ticket.id.clone(), (position, wait));
        }
        let changes = self.after_queue_change().await?;
        out.extend(
            changes
                .into_iter()
                .filter(|(c, _)| c == conversation_id)
                .map(|(_, e)| e),
        );
        Ok(out)
    }

    /// Tells a waiting ticket's customer its place and wait (when asked again).
    async fn tell_position(&self, ticket: &Ticket, lang: Lang) -> Result<Option<OutgoingEvent>> {
        if ticket.state != TicketState::Waiting {
            return Ok(None);
        }
        let mut pushed = self.pushed.lock().await;
        let snapshot = self.snapshot().await?;
        let position = snapshot.position_of(&ticket.id).unwrap_or(1);
        let wait = snapshot.wait_at(position);
        Ok(Some(
            self.push_position(ticket, lang, position, wait, &mut pushed)
                .await?,
        ))
    }

    /// Sends `ticket`'s customer its queue position and wait, in `lang`, and
    /// records what was told so unchanged figures are not sent again.
    async fn push_position(
        &self,
        ticket: &Ticket,
        lang: Lang,
        position: u32,
        wait: u32,
        pushed: &mut HashMap<String, (u32, u32)>,
    ) -> Result<OutgoingEvent> {
        let text = self.catalog.messages.render(
            "queue_update",
            lang,
            &[
                ("position", position.to_string()),
                ("wait_minutes", wait.to_string()),
            ],
        );
        let event = self
            .bot_says(
                &ticket.conversation_id,
                Some(&ticket.id),
                EventBody::QueuePosition {
                    position,
                    wait_minutes: wait,
                    text,
                },
            )
            .await?;
        pushed.insert(ticket.id.clone(), (position, wait));
        Ok(event)
    }

    /// The conversation's events after `after_seq` (0: all), in order.
    pub async fn events_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> Result<Vec<OutgoingEvent>> {
        let events = self.store.events_after(conversation_id, after_seq).await?;
        if events.is_empty() {
            // Distinguish "nothing new" from "no such conversation".
            self.conversation(conversation_id).await?;
        }
        events.iter().map(OutgoingEvent::from_stored).collect()
    }

    /// The conversation's masked transcript.
    pub async fn transcript(&self, conversation_id: &str) -> Result<Transcript> {
        let conversation = self.conversation(conversation_id).await?;
        let messages = self
            .store
            .messages(conversation_id)
            .await?
            .into_iter()
            .map(|m| TranscriptLine {
                seq: m.seq,
                sender: m.sender,
                text: m.text,
                at_ms: m.created_at_ms,
            })
            .collect();
        Ok(Transcript {
            conversation_id: conversation.id,
            lang: conversation.lang,
            created_at_ms: conversation.created_at_ms,
            messages,
        })
    }

    /// The customer's rating (1..=5, optional comment, masked) of the last ticket the
    /// conversation was asked to rate (or of the conversation when there is none).
    pub async fn rate(
        &self,
        conversation_id: &str,
        score: u8,
        comment: Option<&str>,
    ) -> Result<Vec<OutgoingEvent>> {
        let conversation = self.conversation(conversation_id).await?;
        if !(1..=5).contains(&score) {
            return Err(Error::InvalidInput(format!(
                "rating score {score} is outside 1..=5"
            )));
        }
        let comment = match comment.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => {
                self.validate(c)?;
                Some(nlu::mask(c).text)
            }
            None => None,
        };
        let ticket_id = self
            .store
            .events_after(conversation_id, 0)
            .await?
            .into_iter()
            .rev()
            .find(|e| e.kind == "rating_request")
            .and_then(|e| e.ticket_id);
        self.store
            .add_rating(
                conversation_id,
                ticket_id.as_deref(),
                score,
                comment.as_deref(),
                self.now(),
            )
            .await?;
        metrics::counter!("intentdesk_ratings_total", "score" => score.to_string()).increment(1);
        let lang = Lang::from_code(&conversation.lang).unwrap_or(Lang::En);
        let text = self.catalog.messages.render("thanks_for_rating", lang, &[]);
        let event = self
            .bot_says(
                conversation_id,
                ticket_id.as_deref(),
                EventBody::BotMessage {
                    text,
                    choices: Vec::new(),
                    did_this_help: false,
                },
            )
            .await?;
        Ok(vec![event])
    }

    fn update_deflection(&self) {
        let conversations = self.conversations_started.load(Ordering::Relaxed);
        let tickets = self.tickets_opened.load(Ordering::Relaxed);
        if conversations > 0 {
            let rate = 1.0 - (tickets as f64 / conversations as f64).min(1.0);
            metrics::gauge!("intentdesk_deflection_rate").set(rate);
        }
    }

    /// Refreshes the gauges read from the store (tickets by state, queue length, estimated
    /// wait, agents online); called when metrics are scraped.
    pub async fn refresh_metrics(&self) -> Result<()> {
        for (state, n) in self.store.ticket_counts().await? {
            metrics::gauge!("intentdesk_tickets", "state" => state).set(n as f64);
        }
        let snapshot = self.snapshot().await?;
        metrics::gauge!("intentdesk_queue_length").set(snapshot.waiting.len() as f64);
        metrics::gauge!("intentdesk_estimated_wait_minutes")
            .set(f64::from(snapshot.wait_for_new()));
        let online = snapshot.loads.iter().filter(|a| a.online).count();
        metrics::gauge!("intentdesk_agents_online").set(online as f64);
        let now = self.now();
        let oldest = snapshot
            .waiting
            .iter()
            .map(|t| (now - t.created_at_ms).max(0))
            .max()
            .unwrap_or(0);
        metrics::gauge!("intentdesk_oldest_waiting_seconds").set(oldest as f64 / 1000.0);
        self.update_deflection();
        Ok(())
    }
}

/// What the policy asked a ticket to carry.
struct TicketRequest<'a> {
    intent: &'a str,
    priority: Priority,
    details: &'a BTreeMap<String, String>,
    confidence: f32,
    lang: Lang,
}

/// Stands in for the model while an agent owns the conversation (the policy is silent then
/// and does not read it).
fn silent_prediction() -> Prediction {
    Prediction {
        intent: policy::OUT_OF_SCOPE.to_string(),
        confidence: 0.0,
        top: Vec::new(),
        out_of_scope: true,
        rejection: None,
        margin: 0.0,
    }
}
