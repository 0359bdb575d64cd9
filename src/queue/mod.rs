//! The human queue's pure logic (no I/O): how long a waiting customer will probably wait, and each waiting ticket's position.

use std::collections::HashMap;

use serde::Serialize;

use crate::store::{Agent, Ticket};

/// Estimate when no agent is online: a large number the bot shows as "no agent is
/// available right now" (the `method` says so; don't present it as a real estimate).
pub const NO_AGENTS_WAIT_MINUTES: u32 = 120;

/// Fewer recent handling times than this: use the configured default.
pub const MIN_HANDLING_SAMPLES: usize = 5;

/// Used when the configured default handling time is not a positive number.
const FALLBACK_HANDLING_MINUTES: f64 = 10.0;

/// `WaitEstimate::method` values.
pub const METHOD_NO_AGENTS: &str = "no_agents_online";
pub const METHOD_FREE_SLOT: &str = "free_slot";
pub const METHOD_RECENT: &str = "throughput_recent";
pub const METHOD_DEFAULT: &str = "throughput_default";

/// An agent as the estimate sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentLoad {
    pub online: bool,
    pub capacity: u32,
    pub active: u32,
}

impl From<&Agent> for AgentLoad {
    fn from(a: &Agent) -> Self {
        AgentLoad {
            online: a.online,
            capacity: a.capacity,
            active: a.active_tickets,
        }
    }
}

/// A wait estimate in whole minutes (at least 1) and how it was obtained: one of
/// [`METHOD_NO_AGENTS`], [`METHOD_FREE_SLOT`], [`METHOD_RECENT`], [`METHOD_DEFAULT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitEstimate {
    pub minutes: u32,
    pub method: &'static str,
}

impl WaitEstimate {
    /// False when nobody is online: `minutes` is then the configured placeholder.
    pub fn agents_available(&self) -> bool {
        self.method != METHOD_NO_AGENTS
    }
}

/// Expected wait of the ticket at `position` (1-based; 0 is taken as 1).
///
/// Method:
/// - H, the mean handling time: the trimmed mean of `recent_handling_ms` (non-positive
///   samples dropped; sorted; the lowest and highest `max(1, n/10)` samples cut) when
///   at least [`MIN_HANDLING_SAMPLES`] remain, else `default_handling_minutes`.
/// - Only online agents count. S = sum of their capacities (service slots);
///   F = sum of their free slots `max(0, capacity - active)`; E = their tickets beyond
///   capacity (a manual claim can exceed it), which must finish before those slots
///   take new work.
/// - S = 0: nobody can serve, the answer is [`NO_AGENTS_WAIT_MINUTES`] with method
///   [`METHOD_NO_AGENTS`].
/// - position <= F - E: a slot is free now; auto-assign hands the ticket over at once,
///   the agent still needs a moment: 1 minute, [`METHOD_FREE_SLOT`].
/// - Otherwise the ticket needs k = position - F + E slots to free up. With S busy
///   slots each finishing a ticket every H on average, slots free at rate S / H (for
///   memoryless service the first one frees after H / S, not after a full H), so the
///   k-th frees after about k * H / S. Minutes are rounded up, at least 1.
pub fn estimate_wait(
    position: u32,
    agents: &[AgentLoad],
    recent_handling_ms: &[i64],
    default_handling_minutes: f64,
) -> WaitEstimate {
    estimate_wait_with(
        position,
        agents,
        recent_handling_ms,
        default_handling_minutes,
        NO_AGENTS_WAIT_MINUTES,
    )
}

/// [`estimate_wait`] with the "no agents online" answer configured.
pub fn estimate_wait_with(
    position: u32,
    agents: &[AgentLoad],
    recent_handling_ms: &[i64],
    default_handling_minutes: f64,
    no_agents_minutes: u32,
) -> WaitEstimate {
    let position = u64::from(position.max(1));
    let online = agents.iter().filter(|a| a.online);
    let (mut slots, mut free, mut excess) = (0u64, 0u64, 0u64);
    for a in online {
        slots += u64::from(a.capacity);
        free += u64::from(a.capacity.saturating_sub(a.active));
        excess += u64::from(a.active.saturating_sub(a.capacity));
    }
    if slots == 0 {
        return WaitEstimate {
            minutes: no_agents_minutes,
            method: METHOD_NO_AGENTS,
        };
    }
    let (handling_minutes, method) = match trimmed_mean_ms(recent_handling_ms) {
        Some(ms) => (ms / 60_000.0, METHOD_RECENT),
        None if default_handling_minutes.is_finite() && default_handling_minutes > 0.0 => {
            (default_handling_minutes, METHOD_DEFAULT)
        }
        None => (FALLBACK_HANDLING_MINUTES, METHOD_DEFAULT),
    };
    let ahead_of_free = (position + excess).saturating_sub(free);
    if ahead_of_free == 0 {
        return WaitEstimate {
            minutes: 1,
            method: METHOD_FREE_SLOT,
        };
    }
    let minutes = (ahead_of_free as f64 * handling_minutes / slots as f64).ceil();
    WaitEstimate {
        minutes: if minutes >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            (minutes as u32).max(1)
        },
        method,
    }
}

/// Trimmed mean of the positive samples, or `None` with fewer than
/// [`MIN_HANDLING_SAMPLES`] of them.
fn trimmed_mean_ms(samples: &[i64]) -> Option<f64> {
    let mut v: Vec<i64> = samples.iter().copied().filter(|&s| s > 0).collect();
    if v.len() < MIN_HANDLING_SAMPLES {
        return None;
    }
    v.sort_unstable();
    let cut = (v.len() / 10).max(1);
    let kept = &v[cut..v.len() - cut];
    Some(kept.iter().map(|&s| s as f64).sum::<f64>() / kept.len() as f64)
}

/// Ticket id -> 1-based position, in the order given (the order of
/// `Store::queue()`).
pub fn queue_positions(queue: &[Ticket]) -> HashMap<String, u32> {
    queue
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), u32::try_from(i + 1).unwrap_or(u32::MAX)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TicketState;

    fn agent(online: bool, capacity: u32, active: u32) -> AgentLoad {
        AgentLoad {
            online,
            capacity,
            active,
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn no_agent_online_is_flagged() {
        for agents in [vec![], vec![agent(false, 3, 0)], vec![agent(true, 0, 0)]] {
            let e = estimate_wait(1, &agents, &[], 5.0);
            assert_eq!(e.method, METHOD_NO_AGENTS);
            assert_eq!(e.minutes, NO_AGENTS_WAIT_MINUTES);
            assert!(!e.agents_available());
        }
        let e = estimate_wait_with(3, &[], &[], 5.0, 999);
        assert_eq!((e.minutes, e.method), (999, METHOD_NO_AGENTS));
    }

    #[test]
    fn free_capacity_is_about_a_minute() {
        let agents = [agent(true, 3, 1), agent(false, 5, 0)];
        for p in [0, 1, 2] {
            let e = estimate_wait(p, &agents, &[], 8.0);
            assert_eq!((e.minutes, e.method), (1, METHOD_FREE_SLOT), "position {p}");
            assert!(e.agents_available());
        }
        // The third waiting ticket finds no free slot.
        assert_eq!(estimate_wait(3, &agents, &[], 8.0).method, METHOD_DEFAULT);
    }

    #[test]
    fn busy_slots_free_at_rate_s_over_h() {
        // 2 agents x 2 slots, all busy, H = 10 min: one slot frees every 2.5 min.
        let agents = [agent(true, 2, 2), agent(true, 2, 2)];
        assert_eq!(estimate_wait(1, &agents, &[], 10.0).minutes, 3); // 2.5 -> 3
        assert_eq!(estimate_wait(2, &agents, &[], 10.0).minutes, 5);
        assert_eq!(estimate_wait(4, &agents, &[], 10.0).minutes, 10);
        // One free slot serves position 1; position 3 waits for 2 slots to free.
        let agents = [agent(true, 2, 1), agent(true, 2, 2)];
        assert_eq!(estimate_wait(1, &agents, &[], 10.0).minutes, 1);
        assert_eq!(estimate_wait(3, &agents, &[], 10.0).minutes, 5);
    }

    #[test]
    fn long_queue_grows_linearly_and_monotonically() {
        let agents = [agent(true, 1, 1)];
        let mut last = 0;
        for p in 1..=500 {
            let m = estimate_wait(p, &agents, &[], 6.0).minutes;
            assert!(m >= last, "position {p}");
            last = m;
        }
        assert_eq!(last, 3000);
        // No overflow at the extremes.
        let e = estimate_wait(u32::MAX, &agents, &[i64::MAX; 10], 6.0);
        assert_eq!(e.minutes, u32::MAX);
    }

    #[test]
    fn over_capacity_tickets_delay_the_queue() {
        // Capacity 2 but 3 active (manual claim): one extra ticket must finish first.
        let agents = [agent(true, 2, 3)];
        assert_eq!(estimate_wait(1, &agents, &[], 10.0).minutes, 10);
    }

    #[test]
    fn recent_handling_times_use_a_trimmed_mean() {
        let agents = [agent(true, 1, 1)];
        // Fewer than 5 usable samples: the default.
        let e = estimate_wait(
            1,
            &agents,
            &[4 * MIN, 4 * MIN, 4 * MIN, 4 * MIN, 0, -5],
            10.0,
        );
        assert_eq!((e.minutes, e.method), (10, METHOD_DEFAULT));
        // Outliers are cut: 1 min and 500 min drop out, mean of the rest = 4 min.
        let samples = [MIN, 4 * MIN, 4 * MIN, 4 * MIN, 500 * MIN];
        let e = estimate_wait(1, &agents, &samples, 10.0);
        assert_eq!((e.minutes, e.method), (4, METHOD_RECENT));
        assert_eq!(trimmed_mean_ms(&samples), Some(4.0 * MIN as f64));
        // 20 samples: 2 cut from each end.
        let mut many = vec![3 * MIN; 16];
        many.extend([1, 2, 10_000 * MIN, 20_000 * MIN]);
        assert_eq!(trimmed_mean_ms(&many), Some(3.0 * MIN as f64));
    }

    #[test]
    fn bad_default_falls_back() {
        let agents = [agent(true, 1, 1)];
        for d in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            let e = estimate_wait(1, &agents, &[], d);
            assert_eq!(e.minutes, FALLBACK_HANDLING_MINUTES as u32, "default {d}");
        }
    }

    #[test]
    fn agent_load_from_agent() {
        let a = Agent {
            id: "a".into(),
            name: "A".into(),
            capacity: 3,
            online: true,
            active_tickets: 2,
            presence_changed_at_ms: None,
        };
        assert_eq!(AgentLoad::from(&a), agent(true, 3, 2));
    }

    fn ticket(id: &str) -> Ticket {
        Ticket {
            id: id.into(),
            number: 1,
            conversation_id: "c".into(),
            intent: "i".into(),
            confidence: 0.5,
            language: "ko".into(),
            priority: crate::catalog::Priority::Normal,
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
    fn positions_are_one_based_in_order() {
        let q = [ticket("T-000003"), ticket("T-000001"), ticket("T-000002")];
        let p = queue_positions(&q);
        assert_eq!(p.len(), 3);
        assert_eq!(p["T-000003"], 1);
        assert_eq!(p["T-000001"], 2);
        assert_eq!(p["T-000002"], 3);
        assert!(queue_positions(&[]).is_empty());
    }
}
