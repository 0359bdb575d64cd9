//! Figures of one run: counts, agent-minutes, wait percentiles, the share
//! within the wait target (over the day or a window), abandonment, and the
//! per-interval series the HTML page plots.

use serde::Serialize;

use super::core::{End, INTERVAL_S, Run};

/// One scenario's figures, as the report names them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioFigures {
    pub conversations: usize,
    pub resolved_by_bot: usize,
    pub tickets: usize,
    /// Agents' time on tickets: handling minutes / concurrent chats per agent.
    pub agent_minutes: f64,
    /// Time in queue over every ticket (served: until an agent took it;
    /// abandoned: until the customer left), seconds.
    pub wait_mean_s: f64,
    pub wait_p50_s: f64,
    pub wait_p90_s: f64,
    pub wait_p99_s: f64,
    /// Share of tickets that found no free agent and had to queue.
    pub waited_share: f64,
    /// Share of tickets an agent took within the target (abandoned ones missed it).
    pub within_sla: f64,
    /// The same over tickets opened in the peak window.
    pub peak_within_sla: Option<f64>,
    pub abandoned: usize,
    pub abandoned_share: f64,
    /// Wrong-intent answers that came back to a person.
    pub recontacts: usize,
    /// FAQ and self-help answers the bot gave.
    pub bot_answers: usize,
    pub peak_queue_length: u32,
    /// Fewest agents, flat over the peak window, that hold the target there.
    pub agents_needed: Option<u32>,
    /// With an incident configured: the work asked for and the notice's counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentFigures>,
}

/// A scenario's figures that only an incident run reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentFigures {
    /// Handling minutes of every ticket opened, served or abandoned, per
    /// agent ([`super::incident::asked_minutes`]): what staffing must cover.
    pub agent_minutes_asked: f64,
    /// Conversations shown the notice, and those it answered.
    pub notice_shown: usize,
    pub notice_resolved: usize,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Share of tickets opened in `[from, to)` that an agent took within `sla_s`
/// (None when there were none).
pub fn within_sla(run: &Run, sla_s: f64, from: f64, to: f64) -> Option<f64> {
    let (mut n, mut ok) = (0usize, 0usize);
    for t in run
        .tickets
        .iter()
        .filter(|t| t.created >= from && t.created < to)
    {
        n += 1;
        if matches!(t.end, End::Served { .. }) && t.wait() <= sla_s {
            ok += 1;
        }
    }
    (n > 0).then(|| ok as f64 / n as f64)
}

/// Figures of a run (`capacity`: concurrent chats per agent; `window`: the peak).
pub fn figures(
    run: &Run,
    capacity: u32,
    sla_s: f64,
    window: Option<(f64, f64)>,
) -> ScenarioFigures {
    let mut waits: Vec<f64> = run.tickets.iter().map(|t| t.wait()).collect();
    waits.sort_by(f64::total_cmp);
    let n = waits.len().max(1) as f64;
    let handling: f64 = run
        .tickets
        .iter()
        .map(|t| match t.end {
            End::Served { handling, .. } => handling,
            _ => 0.0,
        })
        .sum();
    let abandoned = run
        .tickets
        .iter()
        .filter(|t| matches!(t.end, End::Abandoned { .. }))
        .count();
    let waited = run.tickets.iter().filter(|t| t.wait() > 0.0).count();
    ScenarioFigures {
        conversations: run.conversations,
        resolved_by_bot: run.bot_resolved,
        tickets: run.tickets.len(),
        agent_minutes: handling / 60.0 / f64::from(capacity.max(1)),
        wait_mean_s: waits.iter().sum::<f64>() / n,
        wait_p50_s: percentile(&waits, 0.5),
        wait_p90_s: percentile(&waits, 0.9),
        wait_p99_s: percentile(&waits, 0.99),
        waited_share: waited as f64 / n,
        within_sla: within_sla(run, sla_s, f64::NEG_INFINITY, f64::INFINITY).unwrap_or(1.0),
        peak_within_sla: window.and_then(|(a, b)| within_sla(run, sla_s, a, b)),
        abandoned,
        abandoned_share: abandoned as f64 / n,
        recontacts: run.recontacts,
        bot_answers: run.answers,
        peak_queue_length: run.series.queue_max.iter().copied().max().unwrap_or(0),
        agents_needed: None,
        incident: None,
    }
}

/// Mean time in queue of the tickets opened in each interval, seconds.
pub fn wait_by_interval(run: &Run, intervals: usize) -> Vec<f64> {
    let mut sum = vec![0.0; intervals];
    let mut n = vec![0usize; intervals];
    for t in &run.tickets {
        let k = (t.created / INTERVAL_S) as usize;
        if k < intervals {
            sum[k] += t.wait();
            n[k] += 1;
        }
    }
    sum.iter()
        .zip(&n)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::core::{TicketRecord, TicketSpec};

    fn ticket(created: f64, end: End) -> TicketRecord {
        TicketRecord {
            conversation: 0,
            created,
            spec: TicketSpec {
                priority: 1,
                class: 0,
            },
            end,
        }
    }

    #[test]
    fn figures_count_waits_and_the_target() {
        let run = Run {
            conversations: 5,
            bot_resolved: 1,
            tickets: vec![
                ticket(
                    0.0,
                    End::Served {
                        start: 0.0,
                        handling: 600.0,
                    },
                ),
                ticket(
                    10.0,
                    End::Served {
                        start: 70.0,
                        handling: 300.0,
                    },
                ),
                ticket(
                    20.0,
                    End::Served {
                        start: 620.0,
                        handling: 300.0,
                    },
                ),
                ticket(30.0, End::Abandoned { at: 90.0 }),
            ],
            ..Default::default()
        };
        let f = figures(&run, 3, 300.0, Some((5.0, 25.0)));
        assert_eq!((f.tickets, f.abandoned, f.resolved_by_bot), (4, 1, 1));
        assert!((f.agent_minutes - 20.0 / 3.0).abs() < 1e-9);
        assert_eq!(f.within_sla, 0.5);
        assert_eq!(f.peak_within_sla, Some(0.5));
        assert_eq!(f.wait_p50_s, 60.0);
        assert_eq!(f.wait_p99_s, 600.0);
        assert_eq!(f.waited_share, 0.75);
        assert!((f.wait_mean_s - 180.0).abs() < 1e-9);
    }
}
