//! Agents' actions on tickets (claim, reply, internal note, resolve, hand back), each with
//! what the customer is told in the same transaction, and agents' presence and capacity.
//! What follows every change (automatic assignment, position updates) is in `live_queue`.

use super::{ChatService, EventBody, OutgoingEvent, texts};
use crate::error::{Error, Result};
use crate::nlu::Lang;
use crate::store::{Agent, Announcement, Sender, Ticket, TicketState};

pub(super) fn ticket_lang(ticket: &Ticket) -> Lang {
    Lang::from_code(&ticket.language).unwrap_or(Lang::En)
}

impl ChatService {
    /// Creates the agent (offline) or updates its display name; capacity is the configured
    /// default.
    pub async fn register_agent(&self, id: &str, name: &str) -> Result<Agent> {
        Ok(self
            .store
            .upsert_agent(id, name, self.config.agent_capacity)
            .await?)
    }

    /// Every agent with presence and load.
    pub async fn agents(&self) -> Result<Vec<Agent>> {
        Ok(self.store.agents().await?)
    }

    /// A ticket by id, or `NotFound`.
    pub async fn ticket(&self, ticket_id: &str) -> Result<Ticket> {
        self.store
            .ticket(ticket_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "ticket",
                id: ticket_id.to_string(),
            })
    }

    /// The agent takes a waiting ticket (`Conflict` if someone was first). The claim and
    /// the customer's "agent joined" commit together; from then on the bot is silent in
    /// that conversation.
    pub async fn claim(&self, agent_id: &str, ticket_id: &str) -> Result<Ticket> {
        let now = self.now();
        let mut action = self.store.begin_action().await?;
        let (ticket, agent) = action.claim(ticket_id, agent_id, now).await?;
        let joined = self.joined_announcement(&ticket, &agent)?;
        action
            .announce(&ticket.conversation_id, Some(&ticket.id), &joined, now)
            .await?;
        action.commit().await?;
        self.assigned(&ticket, &agent);
        self.after_action().await;
        Ok(ticket)
    }

    /// A message from the owning agent to the customer.
    pub async fn agent_reply(
        &self,
        agent_id: &str,
        ticket_id: &str,
        text: &str,
    ) -> Result<OutgoingEvent> {
        self.validate(text)?;
        let ticket = self.owned_ticket(agent_id, ticket_id).await?;
        let agent = self.agent(agent_id).await?;
        let now = self.now();
        let meta = serde_json::json!({ "agent": agent.id, "ticket": ticket.id }).to_string();
        self.store
            .append_message(&ticket.conversation_id, Sender::Agent, text, &meta, now)
            .await?;
        metrics::counter!("intentdesk_agent_messages_total").increment(1);
        self.emit(
            &ticket.conversation_id,
            Some(&ticket.id),
            EventBody::AgentMessage {
                agent: agent.name,
                text: text.to_string(),
            },
            now,
        )
        .await
    }

    /// An internal note (never shown to the customer); any agent may add one.
    pub async fn add_note(&self, agent_id: &str, ticket_id: &str, text: &str) -> Result<()> {
        self.validate(text)?;
        Ok(self
            .store
            .add_note(ticket_id, agent_id, text, self.now())
            .await?)
    }

    /// The owner resolves the ticket: the bot takes the conversation back and asks the
    /// customer to rate the help (1-5 and a comment), in the resolution's transaction.
    pub async fn resolve(&self, agent_id: &str, ticket_id: &str) -> Result<Ticket> {
        let now = self.now();
        let mut action = self.store.begin_action().await?;
        let ticket = action.resolve(ticket_id, agent_id, now).await?;
        let lang = ticket_lang(&ticket);
        let resolved = self.catalog.messages.render("ticket_resolved", lang, &[]);
        let rate = self.catalog.messages.render("rate_request", lang, &[]);
        for body in [
            EventBody::Resolved { text: resolved },
            EventBody::RatingRequest { text: rate },
        ] {
            action
                .announce(
                    &ticket.conversation_id,
                    Some(&ticket.id),
                    &body.announcement()?,
                    now,
                )
                .await?;
        }
        action.commit().await?;
        if let Some(assigned) = ticket.assigned_at_ms {
            let handling = (ticket.closed_at_ms.unwrap_or(assigned) - assigned).max(0);
            metrics::histogram!("intentdesk_ticket_handling_seconds")
                .record(handling as f64 / 1000.0);
        }
        tracing::info!(ticket = %ticket.id, agent = agent_id, "ticket resolved");
        self.after_action().await;
        Ok(ticket)
    }

    /// The owner gives the conversation back to the bot without resolving; the customer
    /// is told in the same transaction.
    pub async fn hand_back(&self, agent_id: &str, ticket_id: &str) -> Result<Ticket> {
        let now = self.now();
        let mut action = self.store.begin_action().await?;
        let ticket = action.hand_back(ticket_id, agent_id, now).await?;
        let body = EventBody::HandedBack {
            text: texts::handed_back(ticket_lang(&ticket)).to_string(),
        };
        action
            .announce(
                &ticket.conversation_id,
                Some(&ticket.id),
                &body.announcement()?,
                now,
            )
            .await?;
        action.commit().await?;
        tracing::info!(ticket = %ticket.id, agent = agent_id, "ticket handed back to the bot");
        self.after_action().await;
        Ok(ticket)
    }

    /// Presence (and optionally capacity); going online may assign waiting tickets at once.
    pub async fn set_presence(
        &self,
        agent_id: &str,
        online: bool,
        capacity: Option<u32>,
    ) -> Result<Agent> {
        if let Some(capacity) = capacity {
            let agent = self.agent(agent_id).await?;
            self.store
                .upsert_agent(agent_id, &agent.name, capacity)
                .await?;
        }
        let agent = self
            .store
            .set_agent_online(agent_id, online, self.now())
            .await?;
        tracing::info!(
            agent = agent_id,
            online,
            capacity = agent.capacity,
            "agent presence"
        );
        self.after_queue_change().await?;
        // Re-read: automatic assignment may have given the agent tickets.
        self.agent(agent_id).await
    }

    pub(super) async fn agent(&self, agent_id: &str) -> Result<Agent> {
        self.store
            .agents()
            .await?
            .into_iter()
            .find(|a| a.id == agent_id)
            .ok_or_else(|| Error::NotFound {
                kind: "agent",
                id: agent_id.to_string(),
            })
    }

    /// The ticket, if `agent_id` owns it (assigned to them); `Conflict` otherwise.
    pub(super) async fn owned_ticket(&self, agent_id: &str, ticket_id: &str) -> Result<Ticket> {
        let ticket = self.ticket(ticket_id).await?;
        if ticket.state != TicketState::Assigned || ticket.agent_id.as_deref() != Some(agent_id) {
            return Err(Error::Conflict(format!(
                "ticket {ticket_id} is {} and not assigned to {agent_id}",
                ticket.state.as_str()
            )));
        }
        Ok(ticket)
    }

    /// What the customer is told when `agent` takes `ticket`.
    pub(super) fn joined_announcement(
        &self,
        ticket: &Ticket,
        agent: &Agent,
    ) -> Result<Announcement> {
        let text = self.catalog.messages.render(
            "agent_joined",
            ticket_lang(ticket),
            &[("agent", agent.name.clone())],
        );
        EventBody::AgentJoined {
            agent: agent.name.clone(),
            text,
        }
        .announcement()
    }
}
