//! Agent actions on tickets, each one transaction ([`Action`], built on the same
//! [`Unit`] as a customer turn): claim, resolve, hand back, transfer and automatic
//! assignment change the agents' slots and the ticket row, and the caller announces what
//! the customer is told (agent joined, resolved, rating request, handed back, queue
//! place) in the same transaction, so a crash or an error never leaves a ticket changed
//! without its events, nor events without the change.
//!
//! Concurrency: every transition first updates the agent row (`active_tickets`) and then
//! the ticket row with the expected state in the WHERE clause. The conditional UPDATE is
//! the arbiter: of two agents claiming one ticket (on one replica or two) exactly one
//! sees a row changed; the other's action fails with `Conflict` and is rolled back.
//! Locking agents (in id order) before the ticket, and the ticket before the
//! conversation its announcement updates, keeps PostgreSQL free of deadlocks; SQLite
//! serializes writers with `BEGIN IMMEDIATE`. A refusal's reason is read inside the
//! transaction (an in-memory SQLite database has a single connection).

use sqlx::{Any, Executor, Transaction};

use super::tickets::{AGENT_COLS, TICKET_COLS, agent_from_row, select_agents, ticket_from_row};
use super::unit::Unit;
use super::{Agent, Announcement, Event, Result, Store, StoreError, Ticket, TicketState};

/// How often `auto_assign` retries after losing a race before it reports `Conflict`.
const AUTO_ASSIGN_ATTEMPTS: usize = 16;

/// One agent action in progress: an open write transaction. Dropped before
/// [`Action::commit`] it leaves nothing behind; after a failed step it can only be
/// dropped (commit refuses).
pub struct Action {
    unit: Unit,
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Action")
            .field("events", &self.unit.events().len())
            .finish_non_exhaustive()
    }
}

/// Outcome of one assignment attempt.
enum Assign {
    Done(Box<(Ticket, Agent)>),
    /// The agent does not exist (or, with capacity enforced, is offline or full).
    AgentUnavailable,
    /// The ticket does not exist or is no longer waiting.
    TicketUnavailable,
}

async fn select_ticket<'c, E>(exec: E, id: &str) -> Result<Option<Ticket>>
where
    E: Executor<'c, Database = Any>,
{
    let sql = format!("SELECT {TICKET_COLS} FROM tickets WHERE id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(exec)
        .await?
        .as_ref()
        .map(ticket_from_row)
        .transpose()
}

/// Takes a slot on the agent (only if online with free capacity when `auto`), then moves
/// the ticket from waiting to assigned. Anything but `Done` leaves `tx` to roll back.
async fn assign_in(
    tx: &mut Transaction<'static, Any>,
    ticket_id: &str,
    agent_id: &str,
    now_ms: i64,
    auto: bool,
) -> Result<Assign> {
    let agent_sql = format!(
        "UPDATE agents SET active_tickets = active_tickets + 1 WHERE id = $1{} RETURNING {AGENT_COLS}",
        if auto {
            " AND online = 1 AND active_tickets < capacity"
        } else {
            ""
        }
    );
    let Some(agent_row) = sqlx::query(&agent_sql)
        .bind(agent_id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(Assign::AgentUnavailable);
    };
    let agent = agent_from_row(&agent_row)?;
    let ticket_sql = format!(
        "UPDATE tickets SET state = 'assigned', agent_id = $2, assigned_at_ms = $3,
             updated_at_ms = $3, assigned_by = $4
         WHERE id = $1 AND state = 'waiting' RETURNING {TICKET_COLS}"
    );
    let Some(ticket_row) = sqlx::query(&ticket_sql)
        .bind(ticket_id)
        .bind(agent_id)
        .bind(now_ms)
        .bind(if auto { "auto" } else { "claim" })
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(Assign::TicketUnavailable);
    };
    Ok(Assign::Done(Box::new((
        ticket_from_row(&ticket_row)?,
        agent,
    ))))
}

/// `assigned -> to` by the owner, releasing its slot.
async fn close_in(
    tx: &mut Transaction<'static, Any>,
    ticket_id: &str,
    agent_id: &str,
    to: TicketState,
    now_ms: i64,
) -> Result<Ticket> {
    let released = sqlx::query(
        "UPDATE agents SET active_tickets = active_tickets - 1
         WHERE id = $1 AND active_tickets > 0",
    )
    .bind(agent_id)
    .execute(&mut **tx)
    .await?;
    if released.rows_affected() == 1 {
        let sql = format!(
            "UPDATE tickets SET state = $3, closed_at_ms = $4, updated_at_ms = $4
             WHERE id = $1 AND state = 'assigned' AND agent_id = $2 RETURNING {TICKET_COLS}"
        );
        if let Some(row) = sqlx::query(&sql)
            .bind(ticket_id)
            .bind(agent_id)
            .bind(to.as_str())
            .bind(now_ms)
            .fetch_optional(&mut **tx)
            .await?
        {
            return ticket_from_row(&row);
        }
    }
    Err(match select_ticket(&mut **tx, ticket_id).await? {
        None => StoreError::not_found("ticket", ticket_id),
        Some(t) if t.state != TicketState::Assigned => StoreError::Conflict(format!(
            "ticket {ticket_id} is {}, not assigned",
            t.state.as_str()
        )),
        Some(t) if t.agent_id.as_deref() != Some(agent_id) => {
            StoreError::Conflict(format!("ticket {ticket_id} is assigned to another agent"))
        }
        Some(_) => StoreError::Conflict(format!(
            "ticket {ticket_id} changed concurrently, try again"
        )),
    })
}

/// Moves the slots (agents in id order) and the ticket of a transfer.
async fn transfer_in(
    tx: &mut Transaction<'static, Any>,
    ticket_id: &str,
    from: &str,
    to: Option<&str>,
    now_ms: i64,
) -> Result<Ticket> {
    if to == Some(from) {
        return Err(StoreError::Conflict(format!(
            "ticket {ticket_id} is already with {from}"
        )));
    }
    let mut slots: Vec<(&str, bool)> = vec![(from, false)];
    slots.extend(to.map(|t| (t, true)));
    slots.sort();
    for (agent, take) in slots {
        let sql = if take {
            "UPDATE agents SET active_tickets = active_tickets + 1 WHERE id = $1 AND online = 1"
        } else {
            "UPDATE agents SET active_tickets = active_tickets - 1
             WHERE id = $1 AND active_tickets > 0"
        };
        let changed = sqlx::query(sql).bind(agent).execute(&mut **tx).await?;
        if changed.rows_affected() == 0 {
            return Err(transfer_refusal(tx, ticket_id, from, to).await);
        }
    }
    let sql = format!(
        "UPDATE tickets SET state = $2, agent_id = $3, assigned_at_ms = $4,
             assigned_by = $5, updated_at_ms = $6
         WHERE id = $1 AND state = 'assigned' AND agent_id = $7 RETURNING {TICKET_COLS}"
    );
    let moved = sqlx::query(&sql)
        .bind(ticket_id)
        .bind(if to.is_some() { "assigned" } else { "waiting" })
        .bind(to)
        .bind(to.map(|_| now_ms))
        .bind(to.map(|_| "transfer"))
        .bind(now_ms)
        .bind(from)
        .fetch_optional(&mut **tx)
        .await?;
    match moved {
        Some(row) => ticket_from_row(&row),
        None => Err(transfer_refusal(tx, ticket_id, from, to).await),
    }
}

/// Why a transfer changed nothing, read in its transaction.
async fn transfer_refusal(
    tx: &mut Transaction<'static, Any>,
    ticket_id: &str,
    from: &str,
    to: Option<&str>,
) -> StoreError {
    let ticket = match select_ticket(&mut **tx, ticket_id).await {
        Ok(Some(t)) => t,
        Ok(None) => return StoreError::not_found("ticket", ticket_id),
        Err(e) => return e,
    };
    if ticket.state != TicketState::Assigned || ticket.agent_id.as_deref() != Some(from) {
        return StoreError::Conflict(format!(
            "ticket {ticket_id} is {} and not assigned to {from}",
            ticket.state.as_str()
        ));
    }
    let concurrent = || {
        StoreError::Conflict(format!(
            "ticket {ticket_id} changed concurrently, try again"
        ))
    };
    let Some(to) = to else {
        return concurrent();
    };
    match select_agents(&mut **tx).await {
        Ok(agents) => match agents.iter().find(|a| a.id == to) {
            None => StoreError::not_found("agent", to),
            Some(a) if !a.online => StoreError::Conflict(format!("agent {to} is offline")),
            Some(_) => concurrent(),
        },
        Err(e) => e,
    }
}

impl Action {
    /// Atomically `waiting -> assigned` to `agent_id` (`assigned_by = claim`); returns the
    /// ticket and the agent with its new load. `Conflict` if the ticket is not waiting
    /// (another agent was first), `NotFound` for an unknown ticket or agent. A manual
    /// claim does not check the agent's capacity or presence (auto-assign does).
    pub async fn claim(
        &mut self,
        ticket_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<(Ticket, Agent)> {
        let r = match assign_in(&mut self.unit.tx, ticket_id, agent_id, now_ms, false).await {
            Ok(Assign::Done(done)) => Ok(*done),
            Ok(Assign::AgentUnavailable) => Err(StoreError::not_found("agent", agent_id)),
            Ok(Assign::TicketUnavailable) => {
                match select_ticket(&mut *self.unit.tx, ticket_id).await {
                    Ok(None) => Err(StoreError::not_found("ticket", ticket_id)),
                    Ok(Some(t)) => Err(StoreError::Conflict(format!(
                        "ticket {ticket_id} is {}, not waiting",
                        t.state.as_str()
                    ))),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        self.unit.track(r)
    }

    /// `assigned -> resolved`, only by the owner (`Conflict` otherwise, and for a ticket
    /// that is not assigned).
    pub async fn resolve(
        &mut self,
        ticket_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Ticket> {
        let r = close_in(
            &mut self.unit.tx,
            ticket_id,
            agent_id,
            TicketState::Resolved,
            now_ms,
        )
        .await;
        self.unit.track(r)
    }

    /// `assigned -> back_to_bot`, only by the owner: the bot takes the conversation back.
    pub async fn hand_back(
        &mut self,
        ticket_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Ticket> {
        let r = close_in(
            &mut self.unit.tx,
            ticket_id,
            agent_id,
            TicketState::BackToBot,
            now_ms,
        )
        .await;
        self.unit.track(r)
    }

    /// Moves a ticket assigned to `from` to the online agent `to` (`assigned_by =
    /// transfer`), or with `to = None` back to the queue (waiting, unassigned, placed by
    /// priority and age as before). `NotFound` for an unknown ticket or target agent;
    /// `Conflict` when the ticket is not assigned to `from`, or `to` is offline or is
    /// `from` already.
    pub async fn transfer(
        &mut self,
        ticket_id: &str,
        from: &str,
        to: Option<&str>,
        now_ms: i64,
    ) -> Result<Ticket> {
        let r = transfer_in(&mut self.unit.tx, ticket_id, from, to, now_ms).await;
        self.unit.track(r)
    }

    /// A bot line in the conversation's transcript and its event, committed with the
    /// action (see [`Announcement`]).
    pub async fn announce(
        &mut self,
        conversation_id: &str,
        ticket_id: Option<&str>,
        announce: &Announcement,
        now_ms: i64,
    ) -> Result<Event> {
        self.unit
            .announce(conversation_id, ticket_id, announce, now_ms)
            .await
    }

    /// Commits the ticket change and its announcements, then notifies subscribers.
    pub async fn commit(self) -> Result<Vec<Event>> {
        self.unit.commit().await
    }
}

impl Store {
    /// Starts an agent action (one write transaction).
    pub async fn begin_action(&self) -> Result<Action> {
        Ok(Action {
            unit: Unit::begin(self).await?,
        })
    }

    /// [`Action::claim`] alone, committed.
    pub async fn claim_ticket(
        &self,
        ticket_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Ticket> {
        let mut action = self.begin_action().await?;
        let (ticket, _) = action.claim(ticket_id, agent_id, now_ms).await?;
        action.commit().await?;
        Ok(ticket)
    }

    /// [`Action::resolve`] alone, committed.
    pub async fn resolve_ticket(
        &self,
        ticket_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Ticket> {
        let mut action = self.begin_action().await?;
        let ticket = action.resolve(ticket_id, agent_id, now_ms).await?;
        action.commit().await?;
        Ok(ticket)
    }

    /// [`Action::hand_back`] alone, committed.
    pub async fn hand_back_to_bot(
        &self,
        ticket_id: &str,
        agent_id: &str,
        now_ms: i64,
    ) -> Result<Ticket> {
        let mut action = self.begin_action().await?;
        let ticket = action.hand_back(ticket_id, agent_id, now_ms).await?;
        action.commit().await?;
        Ok(ticket)
    }

    /// [`Action::transfer`] and what the customer is told (`announce`), in one
    /// transaction: the agents' slots, the ticket and the customer's event change
    /// together or not at all.
    pub async fn transfer_ticket(
        &self,
        ticket_id: &str,
        from: &str,
        to: Option<&str>,
        announce: &Announcement,
        now_ms: i64,
    ) -> Result<(Ticket, Event)> {
        let mut action = self.begin_action().await?;
        let ticket = action.transfer(ticket_id, from, to, now_ms).await?;
        let event = action
            .announce(&ticket.conversation_id, Some(ticket_id), announce, now_ms)
            .await?;
        action.commit().await?;
        Ok((ticket, event))
    }

    /// [`Store::auto_assign_announced`] without announcements.
    pub async fn auto_assign(&self, now_ms: i64) -> Result<Option<(Ticket, Agent)>> {
        Ok(self
            .auto_assign_announced(now_ms, |_, _| Ok(None))
            .await?
            .map(|(t, a, _)| (t, a)))
    }

    /// Gives the oldest highest-priority waiting ticket to an online agent with free
    /// capacity, least loaded first (lowest active/capacity, then fewest active, then
    /// id), and stores what `announce` says the customer is told in the same
    /// transaction. `None` if the queue is empty or no agent has a free slot.
    ///
    /// Concurrency-safe: the agent's slot is taken with `active_tickets < capacity` in
    /// the UPDATE and the ticket with `state = 'waiting'`, in one transaction, so
    /// concurrent callers (on any replica) never exceed a capacity nor assign a ticket
    /// twice; a caller that loses a race moves on to the next agent or re-reads the
    /// queue head. After too many lost races it returns `Conflict` (call again).
    pub async fn auto_assign_announced<F>(
        &self,
        now_ms: i64,
        announce: F,
    ) -> Result<Option<(Ticket, Agent, Option<Event>)>>
    where
        F: Fn(&Ticket, &Agent) -> Result<Option<Announcement>>,
    {
        for _ in 0..AUTO_ASSIGN_ATTEMPTS {
            let Some(head) = self.queue_head().await? else {
                return Ok(None);
            };
            let candidates = self.free_agents().await?;
            if candidates.is_empty() {
                return Ok(None);
            }
            for agent in &candidates {
                let mut action = self.begin_action().await?;
                match assign_in(&mut action.unit.tx, &head.id, &agent.id, now_ms, true).await? {
                    Assign::Done(done) => {
                        let (ticket, agent) = *done;
                        let event = match announce(&ticket, &agent)? {
                            Some(a) => Some(
                                action
                                    .announce(&ticket.conversation_id, Some(&ticket.id), &a, now_ms)
                                    .await?,
                            ),
                            None => None,
                        };
                        action.commit().await?;
                        return Ok(Some((ticket, agent, event)));
                    }
                    Assign::AgentUnavailable => continue,
                    Assign::TicketUnavailable => break,
                }
            }
        }
        Err(StoreError::Conflict(
            "auto-assign lost too many races, try again".into(),
        ))
    }

    /// Online agents with a free slot, least loaded first.
    async fn free_agents(&self) -> Result<Vec<Agent>> {
        let mut candidates: Vec<Agent> = self
            .agents()
            .await?
            .into_iter()
            .filter(|a| a.online && a.active_tickets < a.capacity)
            .collect();
        candidates.sort_by(|a, b| {
            // a.active/a.capacity < b.active/b.capacity, without floats.
            let la = u64::from(a.active_tickets) * u64::from(b.capacity);
            let lb = u64::from(b.active_tickets) * u64::from(a.capacity);
            la.cmp(&lb)
                .then(a.active_tickets.cmp(&b.active_tickets))
                .then(a.id.cmp(&b.id))
        });
        Ok(candidates)
    }
}
