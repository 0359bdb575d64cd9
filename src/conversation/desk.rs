//! The agent workspace's view of the service: open tickets as the desk lists them
//! ([`TicketSummary`]), one ticket's live transcript, notes and suggested reply, an agent's
//! own status, the supervisor strip's figures, and the transfer rule (to another online
//! agent, or back to the queue).

use std::collections::BTreeMap;

use serde::Serialize;

use super::agents::ticket_lang;
use super::{ChatService, EventBody};
use crate::error::{Error, Result};
use crate::store::{Agent, Announcement, Note, Sender, Ticket, TicketState, TranscriptLine};

/// Longest `first_line` of a summary, in characters.
pub const FIRST_LINE_CHARS: usize = 140;

/// An open ticket as the agent workspace lists it (`GET /v1/agent/tickets`, the feed's
/// `tickets` and `assigned` frames).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketSummary {
    pub ticket_id: String,
    pub conversation_id: String,
    /// `waiting` or `assigned`.
    pub state: &'static str,
    /// The owner's id while assigned.
    pub agent: Option<String>,
    /// The catalog's priority name: `urgent`, `high`, `normal` or `low`.
    pub priority: &'static str,
    pub intent: String,
    pub confidence: f64,
    pub language: String,
    pub created_at_ms: i64,
    /// Since when the customer waits for a person (the ticket's opening).
    pub waiting_since_ms: i64,
    pub assigned_at_ms: Option<i64>,
    /// How the owner got it: `auto`, `claim` or `transfer` (assigned tickets only).
    pub assigned_by: Option<String>,
    /// 1-based place in the queue (waiting tickets only).
    pub position: Option<u32>,
    /// The wait told to the customer, minutes (waiting tickets only).
    pub wait_minutes: Option<u32>,
    /// The customer's first message (masked), at most [`FIRST_LINE_CHARS`] characters.
    pub first_line: String,
    /// The details the bot collected (coin, network, TXID...).
    pub details: BTreeMap<String, String>,
    /// Customer messages since the agent's last reply or the assignment.
    pub unread: i64,
}

/// One line of a ticket's live transcript: an event of its conversation, masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptEntry {
    pub seq: i64,
    pub at_ms: i64,
    /// The event type (`customer_message`, `bot_message`, `agent_message`...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// What the ticket pane shows beyond the ticket row.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketPane {
    pub ticket: Ticket,
    pub summary: Option<TicketSummary>,
    pub notes: Vec<Note>,
    pub transcript: Vec<TranscriptEntry>,
    /// The catalog's answer for the ticket's intent in the customer's language.
    pub suggested_reply: Option<String>,
}

/// An agent's presence and load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentStatus {
    pub agent: String,
    pub name: String,
    pub online: bool,
    pub capacity: u32,
    /// Tickets assigned now.
    pub load: u32,
}

impl From<&Agent> for AgentStatus {
    fn from(a: &Agent) -> Self {
        AgentStatus {
            agent: a.id.clone(),
            name: a.name.clone(),
            online: a.online,
            capacity: a.capacity,
            load: a.active_tickets,
        }
    }
}

/// The supervisor strip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeskStats {
    pub queue_length: usize,
    /// The wait a ticket opened now would be told.
    pub estimated_wait_minutes: u32,
    pub oldest_waiting_seconds: i64,
    pub agents: Vec<AgentStatus>,
    pub agents_online: usize,
    pub today: Today,
}

/// Since midnight UTC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Today {
    pub conversations: i64,
    pub tickets: i64,
    pub resolved: i64,
    /// `1 - tickets / conversations` (at least 0); `None` without conversations.
    pub deflection_rate: Option<f64>,
    pub ratings: i64,
    /// `None` without ratings.
    pub average_rating: Option<f64>,
}

const DAY_MS: i64 = 86_400_000;

/// The first customer line of a hand-over transcript.
fn first_customer_line(transcript: &[TranscriptLine]) -> String {
    let text = transcript
        .iter()
        .find(|m| m.sender == Sender::Customer)
        .map_or("", |m| m.text.as_str());
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= FIRST_LINE_CHARS {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(FIRST_LINE_CHARS - 1).collect();
    cut.push('…');
    cut
}

impl ChatService {
    /// Every open ticket (waiting ones first, in queue order, then assigned ones), or only
    /// those assigned to `agent`.
    pub async fn open_tickets(&self, agent: Option<&str>) -> Result<Vec<TicketSummary>> {
        let tickets: Vec<Ticket> = self
            .store
            .open_tickets()
            .await?
            .into_iter()
            .filter(|t| agent.is_none() || t.agent_id.as_deref() == agent)
            .collect();
        self.summarize(&tickets).await
    }

    /// Summaries of `tickets`, positions and waits from one queue snapshot.
    async fn summarize(&self, tickets: &[Ticket]) -> Result<Vec<TicketSummary>> {
        let snapshot = self.snapshot().await?;
        let mut out = Vec::with_capacity(tickets.len());
        for t in tickets {
            let position = match t.state {
                TicketState::Waiting => snapshot.position_of(&t.id),
                _ => None,
            };
            out.push(TicketSummary {
                ticket_id: t.id.clone(),
                conversation_id: t.conversation_id.clone(),
                state: t.state.as_str(),
                agent: t.agent_id.clone().filter(|_| t.state.is_open()),
                priority: t.priority.as_str(),
                intent: t.intent.clone(),
                confidence: t.confidence,
                language: t.language.clone(),
                created_at_ms: t.created_at_ms,
                waiting_since_ms: t.created_at_ms,
                assigned_at_ms: t.assigned_at_ms,
                assigned_by: t.assigned_by.clone(),
                position,
                wait_minutes: position.map(|p| snapshot.wait_at(p)),
                first_line: first_customer_line(&t.transcript),
                details: t.details.clone(),
                unread: self.store.unanswered_messages(&t.conversation_id).await?,
            });
        }
        Ok(out)
    }

    /// The ticket pane: the ticket, its notes, its conversation's masked events so far and
    /// the catalog's answer for its intent in the customer's language.
    pub async fn ticket_pane(&self, ticket_id: &str) -> Result<TicketPane> {
        let ticket = self.ticket(ticket_id).await?;
        let notes = self.store.notes(ticket_id).await?;
        let transcript = self
            .events_after(&ticket.conversation_id, 0)
            .await?
            .into_iter()
            .map(|e| TranscriptEntry {
                seq: e.seq,
                at_ms: e.at_ms,
                kind: e.body.kind(),
                text: e.body.text().to_string(),
                agent: e.body.agent().map(str::to_string),
            })
            .collect();
        let suggested_reply = self
            .catalog
            .intent(&ticket.intent)
            .and_then(|i| i.answer.as_ref())
            .map(|a| a.get(ticket_lang(&ticket)).to_string());
        let summary = if ticket.state.is_open() {
            self.summarize(std::slice::from_ref(&ticket)).await?.pop()
        } else {
            None
        };
        Ok(TicketPane {
            ticket,
            summary,
            notes,
            transcript,
            suggested_reply,
        })
    }

    /// The agent's presence and load (`NotFound` for an unknown agent).
    pub async fn agent_status(&self, agent_id: &str) -> Result<AgentStatus> {
        Ok(AgentStatus::from(&self.agent(agent_id).await?))
    }

    /// The owner hands the ticket to another online agent (`to`), or back to the queue
    /// (`None`: waiting, unassigned, the customer is told their place again). The ticket
    /// move and the customer's event commit in one transaction; automatic assignment then
    /// runs as after any queue change.
    ///
    /// Errors: `NotFound` (ticket, target agent), `Conflict` (not the caller's assigned
    /// ticket, the target is offline or is the caller).
    pub async fn transfer(
        &self,
        agent_id: &str,
        ticket_id: &str,
        to: Option<&str>,
    ) -> Result<TicketSummary> {
        let ticket = self.owned_ticket(agent_id, ticket_id).await?;
        if to == Some(agent_id) {
            return Err(Error::Conflict(format!(
                "ticket {ticket_id} is already with {agent_id}"
            )));
        }
        let lang = ticket_lang(&ticket);
        let mut told_position = None;
        let body = match to {
            Some(to) => {
                let target = self.agent(to).await?;
                if !target.online {
                    return Err(Error::Conflict(format!("agent {to} is offline")));
                }
                let text = self.catalog.messages.render(
                    "agent_joined",
                    lang,
                    &[("agent", target.name.clone())],
                );
                EventBody::AgentJoined {
                    agent: target.name,
                    text,
                }
            }
            None => {
                let snapshot = self.snapshot().await?;
                let position = snapshot.position_on_return(&ticket);
                let wait = snapshot.wait_at(position);
                told_position = Some((position, wait));
                self.position_body(lang, position, wait)
            }
        };
        let announce = Announcement {
            kind: body.kind().to_string(),
            payload_json: serde_json::to_string(&body)
                .map_err(|e| Error::Internal(format!("event does not serialise: {e}")))?,
            text: body.text().to_string(),
        };
        let (moved, _) = self
            .store
            .transfer_ticket(ticket_id, agent_id, to, &announce, self.now())
            .await?;
        if let Some(told) = told_position {
            self.pushed.lock().await.insert(moved.id.clone(), told);
        }
        metrics::counter!("intentdesk_ticket_transfers_total",
            "to" => if to.is_some() { "agent" } else { "queue" })
        .increment(1);
        tracing::info!(ticket = %moved.id, from = agent_id, to = ?to, "ticket transferred");
        self.after_action().await;
        // Re-read: automatic assignment may have given a returned ticket to someone.
        let now = self.ticket(ticket_id).await?;
        self.summarize(std::slice::from_ref(&now))
            .await?
            .pop()
            .ok_or_else(|| Error::Internal("a summary per ticket".into()))
    }

    /// The supervisor strip: queue, agents and today's figures (since midnight UTC).
    pub async fn desk_stats(&self) -> Result<DeskStats> {
        let snapshot = self.snapshot().await?;
        let now = self.now();
        let oldest_ms = snapshot.oldest_wait_ms(now);
        let agents: Vec<AgentStatus> = self
            .store
            .agents()
            .await?
            .iter()
            .map(AgentStatus::from)
            .collect();
        let counts = self
            .store
            .counts_since(now - now.rem_euclid(DAY_MS))
            .await?;
        let deflection_rate = (counts.conversations > 0)
            .then(|| (1.0 - counts.tickets as f64 / counts.conversations as f64).clamp(0.0, 1.0));
        let average_rating =
            (counts.ratings > 0).then(|| counts.rating_sum as f64 / counts.ratings as f64);
        Ok(DeskStats {
            queue_length: snapshot.waiting.len(),
            estimated_wait_minutes: snapshot.wait_for_new(),
            oldest_waiting_seconds: oldest_ms / 1000,
            agents_online: agents.iter().filter(|a| a.online).count(),
            agents,
            today: Today {
                conversations: counts.conversations,
                tickets: counts.tickets,
                resolved: counts.resolved,
                deflection_rate,
                ratings: counts.ratings,
                average_rating,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sender: Sender, text: &str) -> TranscriptLine {
        TranscriptLine {
            seq: 1,
            sender,
            text: text.into(),
            at_ms: 0,
        }
    }

    #[test]
    fn first_line_is_the_first_customer_message_on_one_line_and_short() {
        let t = [
            line(Sender::Bot, "hi"),
            line(Sender::Customer, "입금이\n안 돼요"),
            line(Sender::Customer, "second"),
        ];
        assert_eq!(first_customer_line(&t), "입금이 안 돼요");
        let long = [line(Sender::Customer, &"가".repeat(300))];
        let first = first_customer_line(&long);
        assert_eq!(first.chars().count(), FIRST_LINE_CHARS);
        assert!(first.ends_with('…'));
        assert_eq!(first_customer_line(&[line(Sender::Bot, "hi")]), "");
    }
}
