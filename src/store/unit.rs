//! The one home of a write transaction that produces client events ([`Unit`]): it opens
//! with a write (`BEGIN IMMEDIATE` on SQLite), collects the events it appends, refuses to
//! commit once any of its writes failed, and publishes the events only after the commit.
//! A customer turn ([`super::Turn`]), an agent action ([`super::Action`]) and the one-off
//! appends are all built on it, so "the change and its events, or nothing" has one home.

use sqlx::{Any, Transaction};

use super::conversations::InsertEventError;
use super::{Announcement, Event, Result, Store, StoreError, check_json};

/// An open write transaction and the events appended in it so far.
pub(super) struct Unit {
    pub(super) store: Store,
    pub(super) tx: Transaction<'static, Any>,
    /// Appended so far, in order: published after commit.
    events: Vec<Event>,
    /// A write failed: the transaction may hold half a change (or be aborted on
    /// PostgreSQL), so it must be rolled back, never committed.
    failed: bool,
}

impl Unit {
    pub(super) async fn begin(store: &Store) -> Result<Unit> {
        Ok(Unit {
            store: store.clone(),
            tx: store.begin_write().await?,
            events: Vec::new(),
            failed: false,
        })
    }

    /// The events appended so far.
    pub(super) fn events(&self) -> &[Event] {
        &self.events
    }

    /// Marks the unit failed when `r` is an error (see [`Unit::commit`]).
    pub(super) fn track<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    /// Appends an event for clients (notified once the unit commits).
    pub(super) async fn append_event(
        &mut self,
        conversation_id: &str,
        ticket_id: Option<&str>,
        kind: &str,
        payload_json: &str,
        now_ms: i64,
    ) -> Result<Event> {
        check_json("payload_json", payload_json)?;
        if kind.is_empty() {
            return Err(StoreError::Invalid("event kind is empty".into()));
        }
        let inserted = self
            .store
            .insert_event(
                &mut self.tx,
                conversation_id,
                ticket_id,
                kind,
                payload_json,
                now_ms,
            )
            .await
            .map_err(|e| match e {
                InsertEventError::ForeignKey => StoreError::not_found(
                    if ticket_id.is_some() {
                        "ticket"
                    } else {
                        "conversation"
                    },
                    ticket_id.unwrap_or(conversation_id),
                ),
                InsertEventError::Store(e) => e,
            });
        let event = self.track(inserted)?;
        self.events.push(event.clone());
        Ok(event)
    }

    /// A bot line in the transcript and its event (see [`Announcement`]).
    pub(super) async fn announce(
        &mut self,
        conversation_id: &str,
        ticket_id: Option<&str>,
        announce: &Announcement,
        now_ms: i64,
    ) -> Result<Event> {
        check_json("payload_json", &announce.payload_json)?;
        let inserted = self
            .store
            .insert_announcement(&mut self.tx, conversation_id, ticket_id, announce, now_ms)
            .await;
        let event = self.track(inserted)?;
        self.events.push(event.clone());
        Ok(event)
    }

    /// Commits, then notifies subscribers of the events. Refused (and rolled back) when
    /// a write of the unit failed.
    pub(super) async fn commit(self) -> Result<Vec<Event>> {
        if self.failed {
            return Err(StoreError::Database(
                "a write of this transaction failed; it was rolled back".into(),
            ));
        }
        self.tx.commit().await?;
        for event in &self.events {
            self.store.published(event);
        }
        Ok(self.events)
    }
}
