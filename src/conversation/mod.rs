//! The support service, knowing no transport: a customer message goes through validation,
//! nlu (secrets masked first: only the masked text is stored, logged or sent), the batched
//! model, the pure policy and the store; tickets are opened with what was collected and the
//! customer is told their ticket number, queue position and estimated wait. One turn is
//! [`turn`]; agent actions (claim, reply, note, resolve, hand back, presence) live in
//! [`agents`]; the live queue (snapshot, the agents' queue view, automatic assignment and
//! position updates after every change) in [`live_queue`]; the agent workspace's views (open
//! tickets, the ticket pane, the supervisor strip) and transfers in [`desk`]; what one
//! agent's live feed has seen in [`feed`]; incident notices (post, edit, resolve, the cache
//! every turn reads, pushes to open tickets) in [`notices`].
//!
//! Everything a customer is told is appended as an event ([`OutgoingEvent`]) to the store
//! before it is returned, so a transport only relays events and a reconnecting customer
//! reads what they missed with [`ChatService::events_after`].

mod agents;
mod caps;
mod desk;
pub mod events;
pub mod feed;
mod live_queue;
pub mod notices;
mod texts;
mod turn;

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
use crate::inference::Classification;
use crate::model::prediction::Prediction;
use crate::nlu::{self, Lang};
use crate::policy::{self, PolicyConfig};
use crate::store::{Conversation, Store, StoreError};

pub use caps::{TicketGate, capped_text};
pub use desk::{
    AgentStatus, DeskStats, FIRST_LINE_CHARS, TicketPane, TicketSummary, Today, TranscriptEntry,
};
pub use events::{EventBody, OutgoingEvent};
use live_queue::QueueSnapshot;
pub use live_queue::QueuedTicket;
pub use notices::{NoticeDraft, NoticeEdit, NoticeView};

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
    /// Consulted before a new ticket opens (per-client caps); set once by the transport.
    ticket_gate: std::sync::OnceLock<Arc<dyn TicketGate>>,
    /// The active incident notices this replica read last (see [`notices`]).
    notice_cache: notices::NoticeCache,
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService")
            .field("config", &self.config)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

pub use crate::store::TranscriptLine;

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

impl ChatService {
    /// The service on `engine`, whose model must fit `catalog` ([`crate::inference::check_model`]).
    pub fn new(
        engine: Engine,
        catalog: Arc<Catalog>,
        store: Store,
        config: ServiceConfig,
    ) -> ChatService {
        ChatService::with_clock(engine, catalog, store, config, Arc::new(SystemClock))
    }

    pub fn with_clock(
        engine: Engine,
        catalog: Arc<Catalog>,
        store: Store,
        config: ServiceConfig,
        clock: Arc<dyn Clock>,
    ) -> ChatService {
        ChatService {
            catalog,
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
            ticket_gate: std::sync::OnceLock::new(),
            notice_cache: notices::NoticeCache::default(),
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

    /// Classifies raw messages as first messages of a fresh conversation (`/v1/classify`):
    /// analysed here, predicted by the engine (batched with every other caller), routed by
    /// the policy with this service's configuration. Nothing is stored.
    pub async fn classify(&self, texts: &[&str]) -> Result<Vec<Classification>> {
        let analyses: Vec<nlu::Analysis> = texts.iter().map(|t| nlu::analyse(t)).collect();
        let masked: Vec<&nlu::Masked> = analyses.iter().map(|a| &a.masked).collect();
        let predictions = self.engine.predict(&masked).await?;
        Ok(analyses
            .into_iter()
            .zip(predictions)
            .map(|(analysis, prediction)| {
                Classification::compose(&self.catalog, &self.config.policy, analysis, prediction)
            })
            .collect())
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

    /// Stores a bot message (its text in the transcript) and its event, together.
    async fn bot_says(
        &self,
        conversation_id: &str,
        ticket_id: Option<&str>,
        body: EventBody,
    ) -> Result<OutgoingEvent> {
        let stored = self
            .store
            .announce(
                conversation_id,
                ticket_id,
                &body.announcement()?,
                self.now(),
            )
            .await?;
        Ok(OutgoingEvent {
            seq: stored.seq,
            at_ms: stored.created_at_ms,
            ticket_id: stored.ticket_id,
            body,
        })
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

    /// Reads the figures behind the store-backed gauges (tickets by state, queue
    /// length, estimated wait, agents online, oldest waiting ticket).
    pub async fn gauges(&self) -> Result<Gauges> {
        let tickets = self.store.ticket_counts().await?;
        let snapshot = self.snapshot().await?;
        let now = self.now();
        let oldest_ms = snapshot.oldest_wait_ms(now);
        Ok(Gauges {
            tickets,
            queue_length: snapshot.waiting.len(),
            estimated_wait_minutes: snapshot.wait_for_new(),
            agents_online: snapshot.loads.iter().filter(|a| a.online).count(),
            oldest_waiting_seconds: oldest_ms as f64 / 1000.0,
        })
    }

    /// Refreshes the gauges read from the store; called when metrics are scraped.
    pub async fn refresh_metrics(&self) -> Result<()> {
        let g = self.gauges().await?;
        for (state, n) in g.tickets {
            metrics::gauge!("intentdesk_tickets", "state" => state).set(n as f64);
        }
        metrics::gauge!("intentdesk_queue_length").set(g.queue_length as f64);
        metrics::gauge!("intentdesk_estimated_wait_minutes")
            .set(f64::from(g.estimated_wait_minutes));
        metrics::gauge!("intentdesk_agents_online").set(g.agents_online as f64);
        metrics::gauge!("intentdesk_oldest_waiting_seconds").set(g.oldest_waiting_seconds);
        self.update_deflection();
        Ok(())
    }
}

/// The store-backed figures `/metrics` publishes as gauges.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauges {
    /// Tickets by state (`waiting`, `assigned`, `resolved`, ...).
    pub tickets: BTreeMap<String, i64>,
    pub queue_length: usize,
    pub estimated_wait_minutes: u32,
    pub agents_online: usize,
    pub oldest_waiting_seconds: f64,
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
