//! The human hand-over: tickets (opening, reads, the queue), agents and their presence and load, internal notes, customer ratings and the handling-time statistics the wait estimate needs.
//!
//! The transitions themselves (claim, auto-assign, transfer, resolve, hand back) are
//! agent actions, one transaction each with the customer's events: see `actions.rs`.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Transaction};

use crate::catalog::Priority;

use super::{
    Agent, DayCounts, NewTicket, Note, Rating, Result, Store, StoreError, Ticket, TicketState,
    from_json_column, get, is_fk_violation, is_unique_violation, to_json_column,
};

pub(super) const TICKET_COLS: &str = "id, number, conversation_id, intent, confidence, language, priority, \
     state, agent_id, details_json, transcript_json, note_count, created_at_ms, assigned_at_ms, \
     assigned_by, closed_at_ms, updated_at_ms";
pub(super) const AGENT_COLS: &str =
    "id, name, capacity, online, active_tickets, presence_changed_at_ms";
const NOTE_COLS: &str = "ticket_id, seq, agent_id, text, created_at_ms";

/// Queue order: priority (highest first), then waiting time (oldest first), then
/// ticket number.
const QUEUE_ORDER: &str = "priority DESC, created_at_ms ASC, number ASC";

/// `T-000123`.
pub fn ticket_id_for(number: i64) -> String {
    format!("T-{number:06}")
}

pub(super) fn ticket_from_row(row: &AnyRow) -> Result<Ticket> {
    let state: String = get(row, "state")?;
    let priority: i64 = get(row, "priority")?;
    Ok(Ticket {
        id: get(row, "id")?,
        number: get(row, "number")?,
        conversation_id: get(row, "conversation_id")?,
        intent: get(row, "intent")?,
        confidence: get(row, "confidence")?,
        language: get(row, "language")?,
        priority: Priority::from_number(priority)
            .ok_or_else(|| StoreError::Database(format!("priority {priority} out of range")))?,
        state: state
            .parse()
            .map_err(|_| StoreError::Database(format!("unknown ticket state {state:?}")))?,
        agent_id: get(row, "agent_id")?,
        details: from_json_column("details_json", &get::<String>(row, "details_json")?)?,
        transcript: from_json_column("transcript_json", &get::<String>(row, "transcript_json")?)?,
        note_count: get(row, "note_count")?,
        created_at_ms: get(row, "created_at_ms")?,
        assigned_at_ms: get(row, "assigned_at_ms")?,
        assigned_by: get(row, "assigned_by")?,
        closed_at_ms: get(row, "closed_at_ms")?,
        updated_at_ms: get(row, "updated_at_ms")?,
    })
}

pub(super) fn agent_from_row(row: &AnyRow) -> Result<Agent> {
    let capacity: i64 = get(row, "capacity")?;
    let online: i64 = get(row, "online")?;
    let active: i64 = get(row, "active_tickets")?;
    let to_u32 = |v: i64, what: &str| {
        u32::try_from(v).map_err(|_| StoreError::Database(format!("agent {what} {v} out of range")))
    };
    Ok(Agent {
        id: get(row, "id")?,
        name: get(row, "name")?,
        capacity: to_u32(capacity, "capacity")?,
        online: online != 0,
        active_tickets: to_u32(active, "active_tickets")?,
        presence_changed_at_ms: get(row, "presence_changed_at_ms")?,
    })
}

fn note_from_row(row: &AnyRow) -> Result<Note> {
    Ok(Note {
        ticket_id: get(row, "ticket_id")?,
        seq: get(row, "seq")?,
        agent_id: get(row, "agent_id")?,
        text: get(row, "text")?,
        created_at_ms: get(row, "created_at_ms")?,
    })
}

/// Refuses a confidence out of range (the types hold the other fields' ranges).
pub(super) fn check_new_ticket(t: &NewTicket) -> Result<()> {
    if !(0.0..=1.0).contains(&t.confidence) {
        return Err(StoreError::Invalid(format!(
            "confidence {} outside 0..=1",
            t.confidence
        )));
    }
    Ok(())
}

/// Inserts a waiting ticket in `tx` (fields already validated by the caller): the number
/// from the `ticket` counter, `Conflict` if the conversation already has an open ticket.
pub(super) async fn insert_ticket(
    tx: &mut Transaction<'static, Any>,
    t: NewTicket,
    now_ms: i64,
) -> Result<Ticket> {
    let number: i64 = get(
        &sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'ticket' RETURNING value")
            .fetch_one(&mut **tx)
            .await?,
        "value",
    )?;
    let ticket = Ticket {
        id: ticket_id_for(number),
        number,
        conversation_id: t.conversation_id,
        intent: t.intent,
        confidence: t.confidence,
        language: t.language,
        priority: t.priority,
        state: TicketState::Waiting,
        agent_id: None,
        details: t.details,
        transcript: t.transcript,
        note_count: 0,
        created_at_ms: now_ms,
        assigned_at_ms: None,
        assigned_by: None,
        closed_at_ms: None,
        updated_at_ms: now_ms,
    };
    let inserted = sqlx::query(
        "INSERT INTO tickets (id, number, conversation_id, intent, confidence, language,
             priority, state, agent_id, details_json, transcript_json, note_count,
             created_at_ms, assigned_at_ms, closed_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, 0, $11, NULL, NULL, $11)",
    )
    .bind(&ticket.id)
    .bind(ticket.number)
    .bind(&ticket.conversation_id)
    .bind(&ticket.intent)
    .bind(ticket.confidence)
    .bind(&ticket.language)
    .bind(i64::from(ticket.priority.number()))
    .bind(ticket.state.as_str())
    .bind(to_json_column("details", &ticket.details)?)
    .bind(to_json_column("transcript", &ticket.transcript)?)
    .bind(now_ms)
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => Ok(ticket),
        Err(e) if is_fk_violation(&e) => Err(StoreError::not_found(
            "conversation",
            &ticket.conversation_id,
        )),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "conversation {} already has an open ticket",
            ticket.conversation_id
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The conversation's waiting or assigned ticket, if any (through a pool or a transaction).
pub(super) async fn select_open_ticket<'c, E>(
    exec: E,
    conversation_id: &str,
) -> Result<Option<Ticket>>
where
    E: Executor<'c, Database = Any>,
{
    let sql = format!(
        "SELECT {TICKET_COLS} FROM tickets
         WHERE conversation_id = $1 AND state IN ('waiting', 'assigned')
         ORDER BY number DESC LIMIT 1"
    );
    sqlx::query(&sql)
        .bind(conversation_id)
        .fetch_optional(exec)
        .await?
        .as_ref()
        .map(ticket_from_row)
        .transpose()
}

/// Waiting tickets in queue order, at most `limit`.
pub(super) async fn select_waiting<'c, E>(exec: E, limit: Option<i64>) -> Result<Vec<Ticket>>
where
    E: Executor<'c, Database = Any>,
{
    let sql = format!(
        "SELECT {TICKET_COLS} FROM tickets WHERE state = 'waiting' ORDER BY {QUEUE_ORDER}{}",
        if limit.is_some() { " LIMIT $1" } else { "" }
    );
    let mut q = sqlx::query(&sql);
    if let Some(n) = limit {
        q = q.bind(n);
    }
    q.fetch_all(exec)
        .await?
        .iter()
        .map(ticket_from_row)
        .collect()
}

/// Every agent, by id.
pub(super) async fn select_agents<'c, E>(exec: E) -> Result<Vec<Agent>>
where
    E: Executor<'c, Database = Any>,
{
    let sql = format!("SELECT {AGENT_COLS} FROM agents ORDER BY id");
    sqlx::query(&sql)
        .fetch_all(exec)
        .await?
        .iter()
        .map(agent_from_row)
        .collect()
}

/// Handling times (ms) of the `limit` most recently resolved tickets, most recent first.
pub(super) async fn select_handling_times<'c, E>(exec: E, limit: u32) -> Result<Vec<i64>>
where
    E: Executor<'c, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT assigned_at_ms, closed_at_ms FROM tickets
         WHERE state = 'resolved' AND assigned_at_ms IS NOT NULL AND closed_at_ms IS NOT NULL
         ORDER BY closed_at_ms DESC, number DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|row| {
            let assigned: i64 = get(row, "assigned_at_ms")?;
            let closed: i64 = get(row, "closed_at_ms")?;
            Ok((closed - assigned).max(0))
        })
        .collect()
}

impl Store {
    /// Puts a conversation in the human queue (state `waiting`). Its id `T-000123`
    /// comes from the database-wide `ticket` counter, so replicas never collide.
    /// A conversation has at most one open (waiting or assigned) ticket: a second one
    /// is refused with `Conflict` (enforced by a unique index, so also across replicas).
    pub async fn open_ticket(&self, t: NewTicket, now_ms: i64) -> Result<Ticket> {
        check_new_ticket(&t)?;
        let mut tx = self.begin_write().await?;
        let ticket = insert_ticket(&mut tx, t, now_ms).await?;
        tx.commit().await?;
        Ok(ticket)
    }

    pub async fn ticket(&self, id: &str) -> Result<Option<Ticket>> {
        let sql = format!("SELECT {TICKET_COLS} FROM tickets WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(ticket_from_row)
            .transpose()
    }

    /// The conversation's waiting or assigned ticket, if any.
    pub async fn open_ticket_for_conversation(
        &self,
        conversation_id: &str,
    ) -> Result<Option<Ticket>> {
        select_open_ticket(self.pool(), conversation_id).await
    }

    /// Waiting tickets ordered by priority (highest first) then waiting time (oldest
    /// first).
    pub async fn queue(&self) -> Result<Vec<Ticket>> {
        self.waiting(None).await
    }

    async fn waiting(&self, limit: Option<i64>) -> Result<Vec<Ticket>> {
        select_waiting(self.pool(), limit).await
    }

    /// Every open ticket: the waiting ones in queue order, then the assigned ones by
    /// assignment time (oldest first).
    pub async fn open_tickets(&self) -> Result<Vec<Ticket>> {
        let mut tickets = self.waiting(None).await?;
        let sql = format!(
            "SELECT {TICKET_COLS} FROM tickets WHERE state = 'assigned'
             ORDER BY assigned_at_ms ASC, number ASC"
        );
        for row in sqlx::query(&sql).fetch_all(self.pool()).await? {
            tickets.push(ticket_from_row(&row)?);
        }
        Ok(tickets)
    }

    /// Customer messages in the conversation since the last agent message, agent joining
    /// or ticket opening: what its agent has not answered yet.
    pub async fn unanswered_messages(&self, conversation_id: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM events
             WHERE conversation_id = $1 AND kind = 'customer_message' AND seq > (
                 SELECT COALESCE(MAX(seq), 0) FROM events WHERE conversation_id = $1
                 AND kind IN ('agent_message', 'agent_joined', 'ticket_opened'))",
        )
        .bind(conversation_id)
        .fetch_one(self.pool())
        .await?;
        get(&row, "n")
    }

    /// Conversations (with at least one message), tickets, resolutions and ratings since
    /// `since_ms`.
    pub async fn counts_since(&self, since_ms: i64) -> Result<DayCounts> {
        let row = sqlx::query(
            "SELECT
                (SELECT COUNT(*) FROM conversations
                    WHERE created_at_ms >= $1 AND message_count > 0) AS conversations,
                (SELECT COUNT(*) FROM tickets WHERE created_at_ms >= $1) AS tickets,
                (SELECT COUNT(*) FROM tickets
                    WHERE state = 'resolved' AND closed_at_ms >= $1) AS resolved,
                (SELECT COUNT(*) FROM ratings WHERE created_at_ms >= $1) AS ratings,
                (SELECT CAST(COALESCE(SUM(score), 0) AS BIGINT) FROM ratings
                    WHERE created_at_ms >= $1) AS rating_sum",
        )
        .bind(since_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(DayCounts {
            conversations: get(&row, "conversations")?,
            tickets: get(&row, "tickets")?,
            resolved: get(&row, "resolved")?,
            ratings: get(&row, "ratings")?,
            rating_sum: get(&row, "rating_sum")?,
        })
    }

    /// An internal note by an agent (any known agent, not only the owner).
    pub async fn add_note(
        &self,
        ticket_id: &str,
        agent_id: &str,
        text: &str,
        now_ms: i64,
    ) -> Result<()> {
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("note text is empty".into()));
        }
        let mut tx = self.begin_write().await?;
        let seq: i64 = match sqlx::query(
            "UPDATE tickets SET note_count = note_count + 1 WHERE id = $1 RETURNING note_count",
        )
        .bind(ticket_id)
        .fetch_optional(&mut *tx)
        .await?
        {
            Some(row) => get(&row, "note_count")?,
            None => return Err(StoreError::not_found("ticket", ticket_id)),
        };
        let inserted = sqlx::query(
            "INSERT INTO notes (ticket_id, seq, agent_id, text, created_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ticket_id)
        .bind(seq)
        .bind(agent_id)
        .bind(text)
        .bind(now_ms)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => Ok(tx.commit().await?),
            Err(e) if is_fk_violation(&e) => Err(StoreError::not_found("agent", agent_id)),
            Err(e) => Err(e.into()),
        }
    }

    /// The ticket's notes, oldest first.
    pub async fn notes(&self, ticket_id: &str) -> Result<Vec<Note>> {
        let sql = format!("SELECT {NOTE_COLS} FROM notes WHERE ticket_id = $1 ORDER BY seq");
        sqlx::query(&sql)
            .bind(ticket_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(note_from_row)
            .collect()
    }

    /// Creates the agent (offline, no tickets) or updates its name and capacity.
    pub async fn upsert_agent(&self, id: &str, name: &str, capacity: u32) -> Result<Agent> {
        if id.is_empty() {
            return Err(StoreError::Invalid("agent id is empty".into()));
        }
        let sql = format!(
            "INSERT INTO agents (id, name, capacity, online, active_tickets, presence_changed_at_ms)
             VALUES ($1, $2, $3, 0, 0, NULL)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, capacity = excluded.capacity
             RETURNING {AGENT_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(name)
            .bind(i64::from(capacity))
            .fetch_one(self.pool())
            .await?;
        agent_from_row(&row)
    }

    /// Presence. Going offline keeps the agent's assigned tickets; it only stops
    /// auto-assign from giving it new ones.
    pub async fn set_agent_online(&self, id: &str, online: bool, now_ms: i64) -> Result<Agent> {
        let sql = format!(
            "UPDATE agents SET online = $2, presence_changed_at_ms = $3 WHERE id = $1
             RETURNING {AGENT_COLS}"
        );
        match sqlx::query(&sql)
            .bind(id)
            .bind(i64::from(online))
            .bind(now_ms)
            .fetch_optional(self.pool())
            .await?
        {
            Some(row) => agent_from_row(&row),
            None => Err(StoreError::not_found("agent", id)),
        }
    }

    /// Every agent with its `active_tickets` (assigned count), by id.
    pub async fn agents(&self) -> Result<Vec<Agent>> {
        select_agents(self.pool()).await
    }

    /// The waiting ticket at the head of the queue.
    pub(super) async fn queue_head(&self) -> Result<Option<Ticket>> {
        Ok(self.waiting(Some(1)).await?.into_iter().next())
    }

    /// A customer rating, `score` 1..=5 (`Invalid` otherwise). A given ticket must
    /// belong to the conversation.
    pub async fn add_rating(
        &self,
        conversation_id: &str,
        ticket_id: Option<&str>,
        score: u8,
        comment: Option<&str>,
        now_ms: i64,
    ) -> Result<Rating> {
        if !(1..=5).contains(&score) {
            return Err(StoreError::Invalid(format!(
                "rating score {score} outside 1..=5"
            )));
        }
        if let Some(tid) = ticket_id {
            match self.ticket(tid).await? {
                None => return Err(StoreError::not_found("ticket", tid)),
                Some(t) if t.conversation_id != conversation_id => {
                    return Err(StoreError::Invalid(format!(
                        "ticket {tid} belongs to another conversation"
                    )));
                }
                Some(_) => {}
            }
        }
        let r = Rating {
            id: uuid::Uuid::new_v4().to_string(),
            conversation_id: conversation_id.to_string(),
            ticket_id: ticket_id.map(str::to_string),
            score,
            comment: comment.map(str::to_string),
            created_at_ms: now_ms,
        };
        let inserted = sqlx::query(
            "INSERT INTO ratings (id, conversation_id, ticket_id, score, comment, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&r.id)
        .bind(&r.conversation_id)
        .bind(r.ticket_id.as_deref())
        .bind(i64::from(r.score))
        .bind(r.comment.as_deref())
        .bind(r.created_at_ms)
        .execute(self.pool())
        .await;
        match inserted {
            Ok(_) => Ok(r),
            Err(e) if is_fk_violation(&e) => {
                Err(self.missing_parent(conversation_id, ticket_id).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Handling times (assigned -> resolved, ms) of the `limit` most recently resolved
    /// tickets, most recent first.
    pub async fn recent_handling_times(&self, limit: u32) -> Result<Vec<i64>> {
        select_handling_times(self.pool(), limit).await
    }
}
