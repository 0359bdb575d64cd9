//! The conversation state the policy reads and returns: language, misses in a row, pending
//! feedback, the detail collection in progress, the peak-load self-help offer, the incident
//! notice offered and those already shown, known facts.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::nlu::Lang;

/// Everything the policy remembers between two messages of one conversation.
///
/// The service stores it (as JSON) and hands it back with the next message; the policy never
/// mutates it in place but returns the new state in its [`super::Outcome`].
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ConversationState {
    /// The customer's language so far (the prior for the next message's detection).
    pub lang: Option<Lang>,
    /// Messages in a row the bot did not understand (low confidence or small margin).
    pub misses_in_a_row: u32,
    /// The intent whose FAQ answer was just given: the next message may say whether it helped.
    pub awaiting_feedback: Option<String>,
    /// The detail collection in progress, if any.
    pub collecting: Option<Collecting>,
    /// At peak load: the collect intent whose self-help answer was offered before a ticket.
    pub peak_offer: Option<PeakOffer>,
    /// An incident notice shown and waiting for the customer's yes or no.
    pub notice_offer: Option<super::NoticeOffer>,
    /// Incident notices already shown in this conversation (never shown twice).
    pub notices_seen: BTreeSet<String>,
    /// A human agent owns the conversation: the bot stays silent. Set and cleared by the service.
    pub agent_assigned: bool,
    /// Structured facts found in the customer's messages so far (nlu field name to value:
    /// `coin`, `txid`, `email`, `time`, ...), used to fill a collection before asking.
    /// Cleared when a ticket opens or the conversation is handed over.
    pub facts: BTreeMap<String, String>,
}

/// A detail collection in progress for a `collect` intent.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Collecting {
    /// The intent whose details are collected.
    pub intent: String,
    /// Detail key (`coin`, `txid`, `account`, ...) to value, as collected so far.
    pub details: BTreeMap<String, String>,
    /// The detail key whose question was asked last (the next message answers it).
    pub asked: Option<String>,
}

/// The self-help answer offered at peak load instead of opening a ticket at once.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PeakOffer {
    /// The collect intent whose self-help answer was given.
    pub intent: String,
    /// Details already known for that intent, kept for the ticket path.
    pub details: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_json_and_defaults_missing_fields() {
        let mut state = ConversationState {
            lang: Some(Lang::Ko),
            misses_in_a_row: 1,
            collecting: Some(Collecting {
                intent: "deposit_missing".into(),
                details: BTreeMap::from([("coin".to_string(), "USDT".to_string())]),
                asked: Some("network".into()),
            }),
            ..Default::default()
        };
        state.facts.insert("coin".into(), "USDT".into());
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.contains("\"lang\":\"ko\""), "{json}");
        let back: ConversationState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
        let empty: ConversationState = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ConversationState::default());
    }
}
