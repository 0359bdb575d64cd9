//! What a customer is told, as stored events: one [`EventBody`] per chat bubble or status
//! change, persisted with a store-wide sequence number so a reconnecting widget asks for
//! "everything after N" and misses nothing.
//!
//! The JSON of an event is `{"seq": N, "at_ms": ..., "ticket_id": ..., "type": "...", ...}`;
//! `type` and the remaining fields come from [`EventBody`]. Every text in it is masked
//! (customer messages) or written by the bot or an agent.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::Choice;
use crate::store::{Announcement, Event};

/// One event of a conversation, as sent to the customer's widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingEvent {
    /// Store-wide, strictly increasing: resume with `after_seq` = the last one seen.
    pub seq: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// The ticket it concerns, if any (always set for ticket, queue, agent and rating events).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ticket_id: Option<String>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// The customer's message as stored: secrets masked.
    CustomerMessage { text: String },
    /// A bot bubble. `choices` are buttons whose `id` the widget sends back as the message;
    /// `did_this_help` marks the "did this answer help?" question (choices yes / no).
    BotMessage {
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        choices: Vec<Choice>,
        #[serde(default)]
        did_this_help: bool,
    },
    /// A ticket was opened for the conversation: its place in the queue and the wait.
    TicketOpened {
        position: u32,
        wait_minutes: u32,
        text: String,
    },
    /// The waiting ticket's place in the queue or its estimated wait changed.
    QueuePosition {
        position: u32,
        wait_minutes: u32,
        text: String,
    },
    /// An agent took the ticket: from now on the bot is silent.
    AgentJoined { agent: String, text: String },
    /// A message from the agent who owns the ticket.
    AgentMessage { agent: String, text: String },
    /// The agent resolved the ticket; the bot answers again.
    Resolved { text: String },
    /// Please rate the help received, 1 to 5, with an optional comment.
    RatingRequest { text: String },
    /// The agent handed the conversation back to the bot without resolving a ticket.
    HandedBack { text: String },
}

impl EventBody {
    /// The stored event kind (equal to the JSON `type`).
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::CustomerMessage { .. } => "customer_message",
            EventBody::BotMessage { .. } => "bot_message",
            EventBody::TicketOpened { .. } => "ticket_opened",
            EventBody::QueuePosition { .. } => "queue_position",
            EventBody::AgentJoined { .. } => "agent_joined",
            EventBody::AgentMessage { .. } => "agent_message",
            EventBody::Resolved { .. } => "resolved",
            EventBody::RatingRequest { .. } => "rating_request",
            EventBody::HandedBack { .. } => "handed_back",
        }
    }

    /// The text shown to the customer.
    pub fn text(&self) -> &str {
        match self {
            EventBody::CustomerMessage { text }
            | EventBody::BotMessage { text, .. }
            | EventBody::TicketOpened { text, .. }
            | EventBody::QueuePosition { text, .. }
            | EventBody::AgentJoined { text, .. }
            | EventBody::AgentMessage { text, .. }
            | EventBody::Resolved { text }
            | EventBody::RatingRequest { text }
            | EventBody::HandedBack { text } => text,
        }
    }

    /// The agent's name, on agent events.
    pub fn agent(&self) -> Option<&str> {
        match self {
            EventBody::AgentJoined { agent, .. } | EventBody::AgentMessage { agent, .. } => {
                Some(agent)
            }
            _ => None,
        }
    }

    /// The bot's line in the transcript and the event for it, as the store writes them
    /// together (customer and agent messages are not bot lines).
    pub fn announcement(&self) -> Result<Announcement> {
        if let EventBody::CustomerMessage { .. } | EventBody::AgentMessage { .. } = self {
            return Err(Error::Internal(format!(
                "a {} is not a bot announcement",
                self.kind()
            )));
        }
        Ok(Announcement {
            kind: self.kind().to_string(),
            payload_json: serde_json::to_string(self)
                .map_err(|e| Error::Internal(format!("event does not serialise: {e}")))?,
            text: self.text().to_string(),
        })
    }

    /// Whether the event changes the human queue (agents' feeds refresh on these).
    pub fn changes_queue(kind: &str) -> bool {
        matches!(
            kind,
            "ticket_opened" | "agent_joined" | "resolved" | "handed_back" | "queue_position"
        )
    }
}

impl OutgoingEvent {
    /// Decodes a stored event.
    pub fn from_stored(e: &Event) -> Result<OutgoingEvent> {
        let body: EventBody = serde_json::from_str(&e.payload_json).map_err(|err| {
            Error::Internal(format!(
                "stored event {} ({}) does not decode: {err}",
                e.seq, e.kind
            ))
        })?;
        Ok(OutgoingEvent {
            seq: e.seq,
            at_ms: e.created_at_ms,
            ticket_id: e.ticket_id.clone(),
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_flat_with_a_type_tag() {
        let e = OutgoingEvent {
            seq: 7,
            at_ms: 1,
            ticket_id: Some("T-000001".into()),
            body: EventBody::TicketOpened {
                position: 2,
                wait_minutes: 5,
                text: "opened".into(),
            },
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "ticket_opened");
        assert_eq!(json["seq"], 7);
        assert_eq!(json["position"], 2);
        assert_eq!(json["ticket_id"], "T-000001");
        let back: OutgoingEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
        let body = EventBody::BotMessage {
            text: "hi".into(),
            choices: vec![],
            did_this_help: false,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"type": "bot_message", "text": "hi", "did_this_help": false})
        );
        assert_eq!(body.kind(), "bot_message");
    }
}
