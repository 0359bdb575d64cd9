//! The per-client cap on open tickets: which client wrote in which conversation (in memory,
//! per replica), and the [`TicketGate`] that refuses a new ticket to a client already
//! holding `max_open_tickets_per_client` open ones, so one client's flood cannot bury the
//! urgent tickets of everyone else.

use std::collections::HashMap;
use std::sync::Mutex;

use super::extract::ClientKey;
use crate::conversation::TicketGate;
use crate::store::Ticket;

/// Conversations remembered before the oldest half is forgotten (a forgotten conversation's
/// tickets no longer count against its client: the cap errs on the customer's side).
const MAX_REMEMBERED: usize = 200_000;

/// conversation id → (client, order of the last write), and the next order.
type Writers = (HashMap<String, (ClientKey, u64)>, u64);

/// Who wrote last in each conversation, and the cap.
pub struct TicketCaps {
    /// Open tickets one client may hold; 0 disables the cap.
    per_client: usize,
    /// Short critical sections only.
    writers: Mutex<Writers>,
}

impl TicketCaps {
    pub fn new(per_client: usize) -> TicketCaps {
        TicketCaps {
            per_client,
            writers: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// Records that `client` wrote in `conversation_id` (before its turn runs).
    pub fn wrote(&self, conversation_id: &str, client: &ClientKey) {
        if self.per_client == 0 {
            return;
        }
        let mut guard = self.writers.lock().unwrap_or_else(|p| p.into_inner());
        let (map, clock) = &mut *guard;
        *clock += 1;
        if map.len() >= MAX_REMEMBERED && !map.contains_key(conversation_id) {
            let cutoff = *clock - (MAX_REMEMBERED as u64) / 2;
            map.retain(|_, (_, at)| *at >= cutoff);
        }
        map.insert(conversation_id.to_string(), (client.clone(), *clock));
    }
}

impl TicketGate for TicketCaps {
    fn refuse(&self, conversation_id: &str, open: &[Ticket]) -> Option<String> {
        if self.per_client == 0 {
            return None;
        }
        let guard = self.writers.lock().unwrap_or_else(|p| p.into_inner());
        let client = &guard.0.get(conversation_id)?.0;
        let mut theirs: Vec<&Ticket> = open
            .iter()
            .filter(|t| {
                guard
                    .0
                    .get(&t.conversation_id)
                    .is_some_and(|(c, _)| c == client)
            })
            .collect();
        if theirs.len() < self.per_client {
            return None;
        }
        theirs.sort_by_key(|t| t.number);
        theirs.first().map(|t| t.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TicketState;

    fn ticket(number: i64, conversation: &str) -> Ticket {
        Ticket {
            id: format!("T-{number:06}"),
            number,
            conversation_id: conversation.into(),
            intent: "deposit_missing".into(),
            confidence: 0.9,
            language: "en".into(),
            priority: crate::catalog::Priority::High,
            state: TicketState::Waiting,
            agent_id: None,
            details: Default::default(),
            transcript: Vec::new(),
            note_count: 0,
            created_at_ms: 0,
            assigned_at_ms: None,
            assigned_by: None,
            closed_at_ms: None,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn a_client_at_its_cap_is_pointed_to_its_oldest_open_ticket() {
        let caps = TicketCaps::new(2);
        let flood = ClientKey("ip:203.0.113.9".into());
        let other = ClientKey("ip:198.51.100.4".into());
        for c in ["c1", "c2", "c3"] {
            caps.wrote(c, &flood);
        }
        caps.wrote("o1", &other);
        let open = vec![ticket(7, "c2"), ticket(5, "c1"), ticket(6, "o1")];
        assert_eq!(caps.refuse("c3", &open).as_deref(), Some("T-000005"));
        assert_eq!(
            caps.refuse("o2", &open),
            None,
            "unknown writer: never refused"
        );
        caps.wrote("o2", &other);
        assert_eq!(caps.refuse("o2", &open), None, "the other client holds one");
        assert_eq!(caps.refuse("c3", &open[..1]), None, "below the cap");
        assert_eq!(TicketCaps::new(0).refuse("c3", &open), None, "0 disables");
    }
}
