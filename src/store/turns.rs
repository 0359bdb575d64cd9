//! A customer turn as one transaction ([`Turn`]): the conversation row locked first
//! (`SELECT ... FOR UPDATE` on PostgreSQL; `BEGIN IMMEDIATE`'s database write lock on
//! SQLite), so turns of one conversation serialize across replicas; the turn's reads and
//! writes (message, events, ticket, dialogue state) inside it; and its outcome recorded
//! under the client's message id, so a retry gets the first outcome instead of a second
//! message. A turn dropped before [`Turn::commit`] leaves nothing behind.

use sqlx::{Any, Executor};

use super::conversations::{
    CONVERSATION_COLS, conversation_from_row, insert_message, select_messages, update_state,
};
use super::tickets::{
    TICKET_COLS, check_new_ticket, insert_ticket, select_agents, select_handling_times,
    select_open_ticket, select_waiting, ticket_from_row,
};
use super::unit::Unit;
use super::{
    Agent, Backend, Conversation, Event, Message, NewTicket, Result, Sender, Store, StoreError,
    Ticket, check_json, get, is_unique_violation,
};

/// Longest client message id, in characters.
pub const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 64;

/// Refuses a client message id that is empty, longer than
/// [`MAX_CLIENT_MESSAGE_ID_CHARS`] or holds a control or whitespace character.
pub fn check_client_message_id(id: &str) -> Result<()> {
    let chars = id.chars().count();
    if chars == 0 || chars > MAX_CLIENT_MESSAGE_ID_CHARS {
        return Err(StoreError::Invalid(format!(
            "client_message_id has {chars} characters; it must have 1 to {MAX_CLIENT_MESSAGE_ID_CHARS}"
        )));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(StoreError::Invalid(
            "client_message_id must be printable, without spaces".into(),
        ));
    }
    Ok(())
}

/// One customer turn in progress: an open write transaction holding the conversation's
/// lock. Every write goes through it; nothing is visible to others before `commit`.
pub struct Turn {
    /// The transaction; its events are published after commit, and their range is
    /// recorded under the client message id.
    unit: Unit,
    conversation: Conversation,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("conversation", &self.conversation.id)
            .field("events", &self.unit.events().len())
            .finish_non_exhaustive()
    }
}

/// The events of the turn recorded under `(conversation_id, client_message_id)` (empty
/// when there is none: every recorded turn has at least its customer message event).
async fn recorded_events<'c, E>(
    exec: E,
    conversation_id: &str,
    client_message_id: &str,
) -> Result<Vec<Event>>
where
    E: Executor<'c, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT e.seq, e.conversation_id, e.ticket_id, e.kind, e.payload_json, e.created_at_ms
         FROM turns t JOIN events e ON e.conversation_id = t.conversation_id
             AND e.seq >= t.first_event_seq AND e.seq <= t.last_event_seq
         WHERE t.conversation_id = $1 AND t.client_message_id = $2 ORDER BY e.seq",
    )
    .bind(conversation_id)
    .bind(client_message_id)
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Event {
                seq: get(row, "seq")?,
                conversation_id: get(row, "conversation_id")?,
                ticket_id: get(row, "ticket_id")?,
                kind: get(row, "kind")?,
                payload_json: get(row, "payload_json")?,
                created_at_ms: get(row, "created_at_ms")?,
            })
        })
        .collect()
}

impl Store {
    /// Starts a turn of `conversation_id`: waits for the conversation's lock (another
    /// turn of it, on any replica, commits or rolls back first) and reads the
    /// conversation as of then. `NotFound` for an unknown conversation.
    pub async fn begin_turn(&self, conversation_id: &str) -> Result<Turn> {
        let mut unit = Unit::begin(self).await?;
        let lock = match self.backend() {
            // BEGIN IMMEDIATE already holds the database's write lock.
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        };
        let sql = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1{lock}");
        let row = sqlx::query(&sql)
            .bind(conversation_id)
            .fetch_optional(&mut *unit.tx)
            .await?
            .ok_or_else(|| StoreError::not_found("conversation", conversation_id))?;
        Ok(Turn {
            conversation: conversation_from_row(&row)?,
            unit,
        })
    }

    /// The events of an earlier committed turn sent with `client_message_id`, if any.
    pub async fn recorded_turn(
        &self,
        conversation_id: &str,
        client_message_id: &str,
    ) -> Result<Option<Vec<Event>>> {
        let events = recorded_events(self.pool(), conversation_id, client_message_id).await?;
        Ok((!events.is_empty()).then_some(events))
    }
}

impl Turn {
    /// The conversation as it was when the turn took its lock.
    pub fn conversation(&self) -> &Conversation {
        &self.conversation
    }

    /// The events of a committed turn sent with `client_message_id`, read under the lock
    /// (a retry that waited for the first attempt finds its outcome here).
    pub async fn recorded(&mut self, client_message_id: &str) -> Result<Option<Vec<Event>>> {
        let id = self.conversation.id.clone();
        let events = recorded_events(&mut *self.unit.tx, &id, client_message_id).await?;
        Ok((!events.is_empty()).then_some(events))
    }

    /// The conversation's waiting or assigned ticket.
    pub async fn open_ticket_now(&mut self) -> Result<Option<Ticket>> {
        select_open_ticket(&mut *self.unit.tx, &self.conversation.id).await
    }

    /// The conversation's messages so far, this turn's included.
    pub async fn messages(&mut self) -> Result<Vec<Message>> {
        select_messages(&mut *self.unit.tx, &self.conversation.id).await
    }

    /// Waiting tickets in queue order, this turn's included.
    pub async fn queue(&mut self) -> Result<Vec<Ticket>> {
        select_waiting(&mut *self.unit.tx, None).await
    }

    /// Every open ticket: waiting in queue order, then assigned (what the per-client
    /// ticket cap counts).
    pub async fn open_tickets(&mut self) -> Result<Vec<Ticket>> {
        let mut tickets = select_waiting(&mut *self.unit.tx, None).await?;
        let sql = format!(
            "SELECT {TICKET_COLS} FROM tickets WHERE state = 'assigned'
             ORDER BY assigned_at_ms ASC, number ASC"
        );
        for row in sqlx::query(&sql).fetch_all(&mut *self.unit.tx).await? {
            tickets.push(ticket_from_row(&row)?);
        }
        Ok(tickets)
    }

    pub async fn agents(&mut self) -> Result<Vec<Agent>> {
        select_agents(&mut *self.unit.tx).await
    }

    pub async fn recent_handling_times(&mut self, limit: u32) -> Result<Vec<i64>> {
        select_handling_times(&mut *self.unit.tx, limit).await
    }

    /// Appends a message (text already masked) to the conversation.
    pub async fn append_message(
        &mut self,
        sender: Sender,
        text: &str,
        meta_json: &str,
        now_ms: i64,
    ) -> Result<Message> {
        check_json("meta_json", meta_json)?;
        let inserted = insert_message(
            &mut self.unit.tx,
            &self.conversation.id,
            sender,
            text,
            meta_json,
            now_ms,
        )
        .await;
        self.unit.track(inserted)
    }

    /// Appends an event for clients (notified once the turn commits).
    pub async fn append_event(
        &mut self,
        ticket_id: Option<&str>,
        kind: &str,
        payload_json: &str,
        now_ms: i64,
    ) -> Result<Event> {
        let id = self.conversation.id.clone();
        self.unit
            .append_event(&id, ticket_id, kind, payload_json, now_ms)
            .await
    }

    /// A bot line and its event (see [`super::Announcement`]).
    pub async fn announce(
        &mut self,
        ticket_id: Option<&str>,
        announce: &super::Announcement,
        now_ms: i64,
    ) -> Result<Event> {
        let id = self.conversation.id.clone();
        self.unit.announce(&id, ticket_id, announce, now_ms).await
    }

    /// Opens a waiting ticket for the conversation (`Conflict` if one is open).
    pub async fn open_ticket(&mut self, t: NewTicket, now_ms: i64) -> Result<Ticket> {
        check_new_ticket(&t)?;
        if t.conversation_id != self.conversation.id {
            return Err(StoreError::Invalid(format!(
                "a turn of conversation {} cannot open a ticket for {}",
                self.conversation.id, t.conversation_id
            )));
        }
        let inserted = insert_ticket(&mut self.unit.tx, t, now_ms).await;
        self.unit.track(inserted)
    }

    /// Replaces the dialogue state (JSON) and the conversation language.
    pub async fn save_state(&mut self, state_json: &str, lang: &str, now_ms: i64) -> Result<()> {
        check_json("state_json", state_json)?;
        let updated = update_state(
            &mut *self.unit.tx,
            &self.conversation.id,
            state_json,
            lang,
            now_ms,
        )
        .await;
        self.unit.track(updated)
    }

    /// Commits everything the turn wrote, with its outcome recorded under
    /// `client_message_id` when given, then notifies subscribers. Returns the turn's
    /// events.
    pub async fn commit(
        mut self,
        client_message_id: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<Event>> {
        if let Some(id) = client_message_id {
            check_client_message_id(id)?;
            let events = self.unit.events();
            let (Some(first), Some(last)) =
                (events.first().map(|e| e.seq), events.last().map(|e| e.seq))
            else {
                return Err(StoreError::Invalid(
                    "a turn with a client message id must append an event".into(),
                ));
            };
            let recorded = sqlx::query(
                "INSERT INTO turns (conversation_id, client_message_id, first_event_seq,
                     last_event_seq, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&self.conversation.id)
            .bind(id)
            .bind(first)
            .bind(last)
            .bind(now_ms)
            .execute(&mut *self.unit.tx)
            .await;
            match recorded {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(format!(
                        "client_message_id {id} was already used in conversation {}",
                        self.conversation.id
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.unit.commit().await
    }
}
