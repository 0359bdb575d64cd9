//! One agent's live feed, knowing no transport: which open tickets are the agent's, which
//! became theirs or left them since the last look, and the events of their conversations
//! not yet seen (a cursor per conversation, so none is sent twice or skipped).

use std::collections::HashMap;

use super::desk::TicketSummary;
use super::{ChatService, EventBody, OutgoingEvent};
use crate::error::Result;

/// What one agent's feed has seen so far.
#[derive(Debug)]
pub struct AgentFeed {
    agent_id: String,
    /// The agent's assigned tickets: ticket id → conversation id.
    mine: HashMap<String, String>,
    /// Per conversation of the agent's tickets, the last event handed out.
    cursors: HashMap<String, i64>,
}

/// How the agent's tickets changed since the last [`AgentFeed::refresh`].
#[derive(Debug, Default)]
pub struct FeedChanges {
    /// Tickets that became the agent's, with how (`auto`, `claim`, `transfer`).
    pub assigned: Vec<(TicketSummary, String)>,
    /// Tickets that left the agent while still open: (ticket id, the new owner if any).
    /// Closed tickets (resolved, handed back) are not "lost" and are not listed.
    pub unassigned: Vec<(String, Option<String>)>,
}

/// An event of one of the agent's conversations.
#[derive(Debug)]
pub struct FeedEvent {
    pub ticket_id: String,
    pub conversation_id: String,
    pub event: OutgoingEvent,
}

impl AgentFeed {
    pub fn new(agent_id: String) -> AgentFeed {
        AgentFeed {
            agent_id,
            mine: HashMap::new(),
            cursors: HashMap::new(),
        }
    }

    /// Re-reads the open tickets and returns how the agent's set changed. Conversations
    /// of tickets new to the feed start their cursor at `from_seq`.
    pub async fn refresh(&mut self, service: &ChatService, from_seq: i64) -> Result<FeedChanges> {
        let open = service.open_tickets(None).await?;
        let now_mine: HashMap<String, String> = open
            .iter()
            .filter(|t| t.state == "assigned" && t.agent.as_deref() == Some(self.agent_id.as_str()))
            .map(|t| (t.ticket_id.clone(), t.conversation_id.clone()))
            .collect();
        let mut changes = FeedChanges::default();
        for t in open.iter().filter(|t| now_mine.contains_key(&t.ticket_id)) {
            if !self.mine.contains_key(&t.ticket_id) {
                let by = t.assigned_by.clone().unwrap_or_else(|| "auto".into());
                changes.assigned.push((t.clone(), by));
            }
        }
        for lost in self.mine.keys().filter(|id| !now_mine.contains_key(*id)) {
            if let Some(t) = open.iter().find(|t| &t.ticket_id == lost) {
                changes.unassigned.push((lost.clone(), t.agent.clone()));
            }
        }
        self.cursors
            .retain(|c, _| now_mine.values().any(|mine| mine == c));
        for conversation in now_mine.values() {
            self.cursors.entry(conversation.clone()).or_insert(from_seq);
        }
        self.mine = now_mine;
        Ok(changes)
    }

    /// Starts every conversation's cursor after what is already stored (a feed opened
    /// without a catch-up).
    pub async fn skip_to_end(&mut self, service: &ChatService) {
        self.cursors.clear();
        for conversation in self.mine.values() {
            let last = match service.events_after(conversation, 0).await {
                Ok(events) => events.last().map_or(0, |e| e.seq),
                Err(_) => 0,
            };
            self.cursors.insert(conversation.clone(), last);
        }
    }

    /// The events of `conversation` after its cursor, if it is one of the agent's; the
    /// cursor moves past them.
    pub async fn pending(
        &mut self,
        service: &ChatService,
        conversation: &str,
    ) -> Result<Vec<FeedEvent>> {
        let Some(ticket_id) = self
            .mine
            .iter()
            .find(|(_, c)| c.as_str() == conversation)
            .map(|(t, _)| t.clone())
        else {
            return Ok(Vec::new());
        };
        let cursor = self.cursors.get(conversation).copied().unwrap_or(0);
        let events = service.events_after(conversation, cursor).await?;
        if let Some(last) = events.last() {
            self.cursors.insert(conversation.to_string(), last.seq);
        }
        Ok(events
            .into_iter()
            .map(|event| FeedEvent {
                ticket_id: ticket_id.clone(),
                conversation_id: conversation.to_string(),
                event,
            })
            .collect())
    }

    /// [`AgentFeed::pending`] over every conversation of the agent's tickets.
    pub async fn pending_all(&mut self, service: &ChatService) -> Result<Vec<FeedEvent>> {
        let conversations: Vec<String> = self.mine.values().cloned().collect();
        let mut all = Vec::new();
        for conversation in conversations {
            all.extend(self.pending(service, &conversation).await?);
        }
        Ok(all)
    }
}

impl ChatService {
    /// Whether event `seq` of a conversation changes the human queue (agents' feeds
    /// refresh their ticket lists on these).
    pub async fn event_changes_queue(&self, conversation_id: &str, seq: i64) -> Result<bool> {
        let events = self.events_after(conversation_id, seq - 1).await?;
        Ok(events
            .iter()
            .find(|e| e.seq == seq)
            .is_some_and(|e| EventBody::changes_queue(e.body.kind())))
    }
}
