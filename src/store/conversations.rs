//! Conversations, their messages and their client-facing events: creation, bot state, append-only message log (ordered per conversation) and the store-wide event sequence behind "events after N".

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Transaction};

use super::notify::{EventNotice, encode_payload};
use super::unit::Unit;
use super::{
    Announcement, Backend, Conversation, Event, Message, Result, Sender, Store, StoreError,
    check_json, get, is_fk_violation, notify::EVENT_CHANNEL,
};

pub(super) const CONVERSATION_COLS: &str =
    "id, customer_ref, state_json, lang, message_count, created_at_ms, updated_at_ms";
const MESSAGE_COLS: &str = "id, conversation_id, seq, sender, text, meta_json, created_at_ms";
const EVENT_COLS: &str = "seq, conversation_id, ticket_id, kind, payload_json, created_at_ms";

pub(super) fn conversation_from_row(row: &AnyRow) -> Result<Conversation> {
    Ok(Conversation {
        id: get(row, "id")?,
        customer_ref: get(row, "customer_ref")?,
        state_json: get(row, "state_json")?,
        lang: get(row, "lang")?,
        message_count: get(row, "message_count")?,
        created_at_ms: get(row, "created_at_ms")?,
        updated_at_ms: get(row, "updated_at_ms")?,
    })
}

fn message_from_row(row: &AnyRow) -> Result<Message> {
    let sender: String = get(row, "sender")?;
    Ok(Message {
        id: get(row, "id")?,
        conversation_id: get(row, "conversation_id")?,
        seq: get(row, "seq")?,
        sender: sender
            .parse()
            .map_err(|_| StoreError::Database(format!("unknown sender {sender:?} in database")))?,
        text: get(row, "text")?,
        meta_json: get(row, "meta_json")?,
        created_at_ms: get(row, "created_at_ms")?,
    })
}

fn event_from_row(row: &AnyRow) -> Result<Event> {
    Ok(Event {
        seq: get(row, "seq")?,
        conversation_id: get(row, "conversation_id")?,
        ticket_id: get(row, "ticket_id")?,
        kind: get(row, "kind")?,
        payload_json: get(row, "payload_json")?,
        created_at_ms: get(row, "created_at_ms")?,
    })
}

/// Why [`Store::insert_event`] failed.
pub(super) enum InsertEventError {
    /// The conversation or ticket does not exist (the transaction is unusable).
    ForeignKey,
    Store(StoreError),
}

impl From<StoreError> for InsertEventError {
    fn from(e: StoreError) -> Self {
        InsertEventError::Store(e)
    }
}

/// Appends a message in `tx`: the conversation's next message number, gap-free.
pub(super) async fn insert_message(
    tx: &mut Transaction<'static, Any>,
    conversation_id: &str,
    sender: Sender,
    text: &str,
    meta_json: &str,
    now_ms: i64,
) -> Result<Message> {
    let seq: i64 = match sqlx::query(
        "UPDATE conversations SET message_count = message_count + 1, updated_at_ms = $2
             WHERE id = $1 RETURNING message_count",
    )
    .bind(conversation_id)
    .bind(now_ms)
    .fetch_optional(&mut **tx)
    .await?
    {
        Some(row) => get(&row, "message_count")?,
        None => return Err(StoreError::not_found("conversation", conversation_id)),
    };
    let m = Message {
        id: uuid::Uuid::new_v4().to_string(),
        conversation_id: conversation_id.to_string(),
        seq,
        sender,
        text: text.to_string(),
        meta_json: meta_json.to_string(),
        created_at_ms: now_ms,
    };
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, seq, sender, text, meta_json, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&m.id)
    .bind(&m.conversation_id)
    .bind(m.seq)
    .bind(m.sender.as_str())
    .bind(&m.text)
    .bind(&m.meta_json)
    .bind(m.created_at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(m)
}

/// Replaces the dialogue state and language (JSON checked by the caller).
pub(super) async fn update_state<'c, E>(
    exec: E,
    id: &str,
    state_json: &str,
    lang: &str,
    now_ms: i64,
) -> Result<()>
where
    E: Executor<'c, Database = Any>,
{
    let done = sqlx::query(
        "UPDATE conversations SET state_json = $2, lang = $3, updated_at_ms = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(state_json)
    .bind(lang)
    .bind(now_ms)
    .execute(exec)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::not_found("conversation", id));
    }
    Ok(())
}

/// The conversation's messages in order (through a pool or a transaction).
pub(super) async fn select_messages<'c, E>(exec: E, conversation_id: &str) -> Result<Vec<Message>>
where
    E: Executor<'c, Database = Any>,
{
    let sql =
        format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 ORDER BY seq");
    sqlx::query(&sql)
        .bind(conversation_id)
        .fetch_all(exec)
        .await?
        .iter()
        .map(message_from_row)
        .collect()
}

impl Store {
    /// A new conversation: UUID v4 id, state `{}`, language not yet known (empty).
    pub async fn create_conversation(
        &self,
        customer_ref: Option<&str>,
        now_ms: i64,
    ) -> Result<Conversation> {
        let c = Conversation {
            id: uuid::Uuid::new_v4().to_string(),
            customer_ref: customer_ref.map(str::to_string),
            state_json: "{}".into(),
            lang: String::new(),
            message_count: 0,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        };
        sqlx::query(
            "INSERT INTO conversations
                 (id, customer_ref, state_json, lang, message_count, created_at_ms, updated_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.id)
        .bind(c.customer_ref.as_deref())
        .bind(&c.state_json)
        .bind(&c.lang)
        .bind(c.message_count)
        .bind(c.created_at_ms)
        .bind(c.updated_at_ms)
        .execute(self.pool())
        .await?;
        Ok(c)
    }

    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>> {
        let sql = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(conversation_from_row)
            .transpose()
    }

    /// Replaces the bot's dialogue state (JSON) and the conversation language.
    pub async fn save_conversation_state(
        &self,
        id: &str,
        state_json: &str,
        lang: &str,
        now_ms: i64,
    ) -> Result<()> {
        check_json("state_json", state_json)?;
        update_state(self.pool(), id, state_json, lang, now_ms).await
    }

    /// Appends a message (text already masked by the caller). Its `seq` is the
    /// conversation's next message number, taken by incrementing the conversation's
    /// `message_count` in the same transaction: concurrent appends to one
    /// conversation queue on that row and get distinct, gap-free numbers.
    pub async fn append_message(
        &self,
        conversation_id: &str,
        sender: Sender,
        text: &str,
        meta_json: &str,
        now_ms: i64,
    ) -> Result<Message> {
        check_json("meta_json", meta_json)?;
        let mut tx = self.begin_write().await?;
        let m = insert_message(&mut tx, conversation_id, sender, text, meta_json, now_ms).await?;
        tx.commit().await?;
        Ok(m)
    }

    /// The conversation's messages in order (empty for an unknown conversation).
    pub async fn messages(&self, conversation_id: &str) -> Result<Vec<Message>> {
        select_messages(self.pool(), conversation_id).await
    }

    /// Records an event for clients and notifies subscribers (of every replica on
    /// PostgreSQL) once it is committed.
    ///
    /// The sequence number comes from the `event` counter row, incremented in the same
    /// transaction: appends are serialized on that row until commit, so events become
    /// visible in `seq` order and a client that saw event N never later finds a new
    /// event below N.
    pub async fn append_event(
        &self,
        conversation_id: &str,
        ticket_id: Option<&str>,
        kind: &str,
        payload_json: &str,
        now_ms: i64,
    ) -> Result<Event> {
        let mut unit = Unit::begin(self).await?;
        match unit
            .append_event(conversation_id, ticket_id, kind, payload_json, now_ms)
            .await
        {
            Ok(e) => {
                unit.commit().await?;
                Ok(e)
            }
            Err(StoreError::NotFound { .. }) => {
                drop(unit);
                Err(self.missing_parent(conversation_id, ticket_id).await)
            }
            Err(e) => Err(e),
        }
    }

    /// Inserts an event in `tx` (the caller commits, then calls [`Store::published`]).
    /// On PostgreSQL the NOTIFY is queued in the same transaction, so it is delivered only
    /// if and when the transaction commits.
    pub(super) async fn insert_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        conversation_id: &str,
        ticket_id: Option<&str>,
        kind: &str,
        payload_json: &str,
        now_ms: i64,
    ) -> Result<Event, InsertEventError> {
        let seq: i64 = get(
            &sqlx::query(
                "UPDATE counters SET value = value + 1 WHERE name = 'event' RETURNING value",
            )
            .fetch_one(&mut **tx)
            .await
            .map_err(StoreError::from)?,
            "value",
        )?;
        let e = Event {
            seq,
            conversation_id: conversation_id.to_string(),
            ticket_id: ticket_id.map(str::to_string),
            kind: kind.to_string(),
            payload_json: payload_json.to_string(),
            created_at_ms: now_ms,
        };
        let inserted = sqlx::query(
            "INSERT INTO events (seq, conversation_id, ticket_id, kind, payload_json, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.seq)
        .bind(&e.conversation_id)
        .bind(e.ticket_id.as_deref())
        .bind(&e.kind)
        .bind(&e.payload_json)
        .bind(e.created_at_ms)
        .execute(&mut **tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(err) if is_fk_violation(&err) => return Err(InsertEventError::ForeignKey),
            Err(err) => return Err(InsertEventError::Store(err.into())),
        }
        if self.backend() == Backend::Postgres {
            // pg_notify returns void, which the Any driver cannot decode: wrap it.
            sqlx::query("SELECT 1 AS sent FROM (SELECT pg_notify($1, $2)) AS n")
                .bind(EVENT_CHANNEL)
                .bind(encode_payload(e.seq, &e.conversation_id))
                .fetch_one(&mut **tx)
                .await
                .map_err(StoreError::from)?;
        }
        Ok(e)
    }

    /// After the transaction holding `e` committed: tells this process's subscribers
    /// (SQLite; on PostgreSQL the NOTIFY does it for every replica).
    pub(super) fn published(&self, e: &Event) {
        if self.backend() == Backend::Sqlite {
            self.inner.notifier.publish_local(EventNotice {
                conversation_id: e.conversation_id.clone(),
                seq: e.seq,
            });
        }
    }

    /// The conversation's events with `seq > after_seq`, in order (`after_seq = 0`
    /// for all of them).
    pub async fn events_after(&self, conversation_id: &str, after_seq: i64) -> Result<Vec<Event>> {
        let sql = format!(
            "SELECT {EVENT_COLS} FROM events WHERE conversation_id = $1 AND seq > $2 ORDER BY seq"
        );
        sqlx::query(&sql)
            .bind(conversation_id)
            .bind(after_seq)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }

    /// A bot line and its event, in one transaction (see [`Announcement`]).
    pub async fn announce(
        &self,
        conversation_id: &str,
        ticket_id: Option<&str>,
        announce: &Announcement,
        now_ms: i64,
    ) -> Result<Event> {
        let mut unit = Unit::begin(self).await?;
        let event = unit
            .announce(conversation_id, ticket_id, announce, now_ms)
            .await?;
        unit.commit().await?;
        Ok(event)
    }

    /// Inserts an announcement's bot message and event in `tx` (the caller commits, then
    /// calls [`Store::published`]).
    pub(super) async fn insert_announcement(
        &self,
        tx: &mut Transaction<'static, Any>,
        conversation_id: &str,
        ticket_id: Option<&str>,
        announce: &Announcement,
        now_ms: i64,
    ) -> Result<Event> {
        let meta = serde_json::json!({ "event": announce.kind }).to_string();
        insert_message(
            tx,
            conversation_id,
            Sender::Bot,
            &announce.text,
            &meta,
            now_ms,
        )
        .await?;
        self.insert_event(
            tx,
            conversation_id,
            ticket_id,
            &announce.kind,
            &announce.payload_json,
            now_ms,
        )
        .await
        .map_err(|e| match e {
            InsertEventError::ForeignKey => {
                StoreError::not_found("ticket", ticket_id.unwrap_or("-"))
            }
            InsertEventError::Store(e) => e,
        })
    }

    /// After a foreign-key failure: which of the referenced rows is missing.
    pub(super) async fn missing_parent(
        &self,
        conversation_id: &str,
        ticket_id: Option<&str>,
    ) -> StoreError {
        match self.conversation(conversation_id).await {
            Err(e) => e,
            Ok(None) => StoreError::not_found("conversation", conversation_id),
            Ok(Some(_)) => match ticket_id {
                Some(t) => StoreError::not_found("ticket", t),
                None => StoreError::Database("foreign key violation".into()),
            },
        }
    }
}
