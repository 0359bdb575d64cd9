//! The human queue as the service runs it: the live snapshot positions and waits are
//! computed from, the queue as agents see it, automatic assignment of waiting tickets to
//! free agents after every change, and the position / wait updates pushed to waiting
//! customers when they change. The pure arithmetic lives in [`crate::queue`].

use std::collections::HashMap;

use serde::Serialize;

use super::agents::ticket_lang;
use super::{ChatService, OutgoingEvent};
use crate::error::Result;
use crate::nlu::Lang;
use crate::queue::{self, AgentLoad};
use crate::store::{Agent, StoreError, Ticket};

/// A waiting ticket as the agent queue shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuedTicket {
    #[serde(flatten)]
    pub ticket: Ticket,
    /// 1-based place in the queue (priority first, then waiting time).
    pub position: u32,
    /// The estimate told to the customer, in minutes.
    pub wait_minutes: u32,
    /// Milliseconds since the ticket was opened.
    pub waiting_ms: i64,
}

/// The live queue at one moment: what positions and waits are computed from.
pub(super) struct QueueSnapshot {
    /// Waiting tickets in queue order.
    pub(super) waiting: Vec<Ticket>,
    pub(super) loads: Vec<AgentLoad>,
    pub(super) handling_ms: Vec<i64>,
    pub(super) default_handling_minutes: f64,
}

impl QueueSnapshot {
    /// How long the oldest waiting ticket has waited at `now`, milliseconds (0 with none).
    pub(super) fn oldest_wait_ms(&self, now: i64) -> i64 {
        self.waiting
            .iter()
            .map(|t| (now - t.created_at_ms).max(0))
            .max()
            .unwrap_or(0)
    }

    pub(super) fn wait_at(&self, position: u32) -> u32 {
        queue::estimate_wait(
            position,
            &self.loads,
            &self.handling_ms,
            self.default_handling_minutes,
        )
        .minutes
    }

    /// 1-based position of a waiting ticket.
    pub(super) fn position_of(&self, ticket_id: &str) -> Option<u32> {
        self.waiting
            .iter()
            .position(|t| t.id == ticket_id)
            .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX))
    }

    /// The estimated wait of a ticket opened now (at the end of the queue).
    pub(super) fn wait_for_new(&self) -> u32 {
        self.wait_at(u32::try_from(self.waiting.len() + 1).unwrap_or(u32::MAX))
    }

    /// The place `ticket` takes when it (re)enters the queue: priority first, then age.
    pub(super) fn position_on_return(&self, ticket: &Ticket) -> u32 {
        let key = |t: &Ticket| (std::cmp::Reverse(t.priority), t.created_at_ms, t.number);
        let ahead = self
            .waiting
            .iter()
            .filter(|w| w.id != ticket.id && key(w) < key(ticket))
            .count();
        u32::try_from(ahead + 1).unwrap_or(u32::MAX)
    }
}

impl ChatService {
    /// Waiting tickets in queue order (priority, then waiting time) with position and wait.
    pub async fn queue_view(&self) -> Result<Vec<QueuedTicket>> {
        let snapshot = self.snapshot().await?;
        let now = self.now();
        Ok(snapshot
            .waiting
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
                QueuedTicket {
                    ticket: t.clone(),
                    position,
                    wait_minutes: snapshot.wait_at(position),
                    waiting_ms: (now - t.created_at_ms).max(0),
                }
            })
            .collect())
    }

    pub(super) async fn snapshot(&self) -> Result<QueueSnapshot> {
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

    /// Sends `ticket`'s customer its queue position and wait, in `lang`, and
    /// records what was told so unchanged figures are not sent again.
    pub(super) async fn push_position(
        &self,
        ticket: &Ticket,
        lang: Lang,
        position: u32,
        wait: u32,
        pushed: &mut HashMap<String, (u32, u32)>,
    ) -> Result<OutgoingEvent> {
        let body = self.position_body(lang, position, wait);
        let event = self
            .bot_says(&ticket.conversation_id, Some(&ticket.id), body)
            .await?;
        pushed.insert(ticket.id.clone(), (position, wait));
        Ok(event)
    }

    /// Counts and logs a committed assignment.
    pub(super) fn assigned(&self, ticket: &Ticket, agent: &Agent) {
        if let Some(assigned) = ticket.assigned_at_ms {
            let waited = (assigned - ticket.created_at_ms).max(0);
            metrics::histogram!("intentdesk_ticket_wait_seconds").record(waited as f64 / 1000.0);
        }
        tracing::info!(ticket = %ticket.id, agent = %agent.id, "ticket assigned");
    }

    /// After a committed action: the queue changed. The action is stored whatever happens
    /// here, so a failure is logged, not returned (a retry would only conflict).
    pub(super) async fn after_action(&self) {
        if let Err(e) = self.after_queue_change().await {
            tracing::warn!(error = %e, "queue update after an agent action failed");
        }
    }

    /// After any change to the queue or to agents: assigns waiting tickets to free agents,
    /// then tells each waiting customer whose position or wait changed. Returns the events
    /// appended, with their conversation.
    pub(super) async fn after_queue_change(&self) -> Result<Vec<(String, OutgoingEvent)>> {
        let mut pushed = self.pushed.lock().await;
        let mut out = Vec::new();
        loop {
            let announce = |t: &Ticket, a: &Agent| {
                self.joined_announcement(t, a)
                    .map(Some)
                    .map_err(|e| StoreError::Invalid(e.to_string()))
            };
            let assigned = match self.store.auto_assign_announced(self.now(), announce).await {
                Ok(a) => a,
                // Lost many races to other replicas: they are assigning; stop for now.
                Err(StoreError::Conflict(_)) => None,
                Err(e) => return Err(e.into()),
            };
            let Some((ticket, agent, event)) = assigned else {
                break;
            };
            pushed.remove(&ticket.id);
            self.assigned(&ticket, &agent);
            if let Some(event) = event {
                out.push((
                    ticket.conversation_id.clone(),
                    OutgoingEvent::from_stored(&event)?,
                ));
            }
        }
        let snapshot = self.snapshot().await?;
        pushed.retain(|id, _| snapshot.position_of(id).is_some());
        for (i, ticket) in snapshot.waiting.iter().enumerate() {
            let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let wait = snapshot.wait_at(position);
            if pushed.get(&ticket.id) == Some(&(position, wait)) {
                continue;
            }
            let event = self
                .push_position(ticket, ticket_lang(ticket), position, wait, &mut pushed)
                .await?;
            out.push((ticket.conversation_id.clone(), event));
        }
        metrics::gauge!("intentdesk_queue_length").set(snapshot.waiting.len() as f64);
        Ok(out)
    }
}
