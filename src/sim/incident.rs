//! An incident at the peak (issue #13): a share of the arrivals from the
//! incident's start to the peak's end redrawn about one intent, which of
//! them the notice matches (the model reads them as that intent), and the
//! agent work the desk is asked for with and without the notice.

use super::core::{Arrival, End, Run};
use super::random::{Spread, Stream};
use super::routing::Classified;

/// Redraws, in place, each arrival in `[from_s, to_s)` as a message of the
/// incident with probability `share` (stream `incident`, keyed by arrival,
/// so arrival times and every other arrival are untouched). Returns, per
/// arrival, whether it is about the incident.
pub fn redraw(
    arrivals: &mut [Arrival],
    items: &[u32],
    (from_s, to_s): (f64, f64),
    share: f64,
    seed: u64,
) -> Vec<bool> {
    let stream = Stream::new(seed, "incident");
    let mut about = vec![false; arrivals.len()];
    if items.is_empty() || share <= 0.0 {
        return about;
    }
    for (i, a) in arrivals.iter_mut().enumerate() {
        let k = i as u64;
        if a.t >= from_s && a.t < to_s && stream.uniform(2 * k) < share {
            let j = (stream.uniform(2 * k + 1) * items.len() as f64) as usize;
            a.item = items[j.min(items.len() - 1)];
            about[i] = true;
        }
    }
    about
}

/// Per arrival: whether the notice matches it — about the incident and read
/// by the model as the incident's intent (a message the model reads as
/// another intent never reaches the notice, as in the service).
pub fn matches(
    about: &[bool],
    arrivals: &[Arrival],
    classified: &[Classified],
    intent: &str,
) -> Vec<bool> {
    about
        .iter()
        .zip(arrivals)
        .map(|(&about, a)| {
            about
                && classified
                    .get(a.item as usize)
                    .is_some_and(|c| c.prediction.intent == intent)
        })
        .collect()
}

/// Agent-minutes the desk was asked for: the handling time of every ticket
/// opened, served or not (an abandoned ticket's is drawn as it would have
/// been served, from the same stream), over concurrent chats per agent.
/// Unlike served agent-minutes it does not fall when customers give up.
pub fn asked_minutes(run: &Run, handling: &[Spread], seed: u64, capacity: u32) -> f64 {
    let stream = Stream::new(seed, "handling");
    let seconds: f64 = run
        .tickets
        .iter()
        .map(|t| match t.end {
            End::Served { handling, .. } => handling,
            _ => handling_of(handling, t.spec.class).sample(&stream, u64::from(t.conversation)),
        })
        .sum();
    seconds / 60.0 / f64::from(capacity.max(1))
}

/// Seconds from midnight as `HH:MM` (hours past 24 go on counting: `25:10`).
pub fn clock(seconds: f64) -> String {
    let minutes = (seconds / 60.0).round() as u64;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn handling_of(handling: &[Spread], class: u16) -> Spread {
    handling[usize::from(class)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::core::{Notice, Path, Router, Setup, TicketSpec, simulate};

    /// Every conversation waits `after_s`, then opens a ticket of its item's class.
    struct Fixed {
        after_s: f64,
    }
    impl Router for Fixed {
        fn needs_wait(&self) -> bool {
            false
        }
        fn route(&mut self, item: u32, _wait: u32) -> Path {
            Path::Ticket {
                after_s: self.after_s,
                ticket: TicketSpec {
                    priority: 1,
                    class: (item % 2) as u16,
                },
            }
        }
    }

    fn arrivals(n: usize, gap_s: f64) -> Vec<Arrival> {
        (0..n)
            .map(|i| Arrival {
                t: i as f64 * gap_s,
                item: (i % 7) as u32,
            })
            .collect()
    }

    fn setup<'a>(
        arrivals: &'a [Arrival],
        handling: &'a [Spread],
        notice: Option<Notice<'a>>,
    ) -> Setup<'a> {
        Setup {
            arrivals,
            horizon_s: 7200.0,
            staffing: &[2],
            capacity: 2,
            handling,
            patience_s: Some(300.0),
            default_handling_minutes: 10.0,
            seed: 5,
            notice,
        }
    }

    #[test]
    fn redraw_touches_only_the_window_and_about_its_share() {
        let mut a = arrivals(20_000, 0.36);
        let before = a.clone();
        let about = redraw(&mut a, &[1000, 1001], (1800.0, 5400.0), 0.4, 3);
        assert!(a.iter().zip(&before).all(|(x, y)| x.t == y.t));
        for (i, (x, y)) in a.iter().zip(&before).enumerate() {
            if about[i] {
                assert!((1800.0..5400.0).contains(&x.t) && x.item >= 1000, "{i}");
            } else {
                assert_eq!(x.item, y.item, "{i}");
            }
        }
        let in_window = before
            .iter()
            .filter(|x| (1800.0..5400.0).contains(&x.t))
            .count() as f64;
        let share = about.iter().filter(|&&b| b).count() as f64 / in_window;
        assert!((share - 0.4).abs() < 0.02, "{share}");
        assert_eq!(
            redraw(&mut before.clone(), &[1000], (1800.0, 5400.0), 0.0, 3),
            vec![false; before.len()]
        );
    }

    /// With a router that does not read the wait, the notice can only remove
    /// tickets or delay them: tickets and the work asked for never grow, and
    /// every conversation it resolved is one that had a ticket without it.
    #[test]
    fn the_notice_never_adds_tickets_or_work() {
        let handling = [
            Spread {
                mean: 600.0,
                cv: 0.8,
                exponential: false,
            },
            Spread {
                mean: 300.0,
                cv: 0.5,
                exponential: false,
            },
        ];
        let a = arrivals(600, 10.0);
        let matches: Vec<bool> = (0..a.len()).map(|i| i % 3 != 0).collect();
        let without = simulate(&setup(&a, &handling, None), &mut Fixed { after_s: 0.0 });
        let mut last = (
            without.tickets.len(),
            asked_minutes(&without, &handling, 5, 2),
        );
        for accept in [0.0, 0.2, 0.5, 0.9, 1.0] {
            let notice = Notice {
                matches: &matches,
                from_s: 1200.0,
                accept,
                read_s: 60.0,
            };
            let with = simulate(
                &setup(&a, &handling, Some(notice)),
                &mut Fixed { after_s: 0.0 },
            );
            let asked = asked_minutes(&with, &handling, 5, 2);
            assert!(
                with.tickets.len() <= last.0 && asked <= last.1 + 1e-9,
                "acceptance {accept}"
            );
            assert_eq!(
                with.tickets.len() + with.notice_resolved,
                without.tickets.len(),
                "acceptance {accept}"
            );
            let shown = matches
                .iter()
                .zip(&a)
                .filter(|(m, x)| **m && x.t >= 1200.0)
                .count();
            assert_eq!(with.notice_shown, shown);
            last = (with.tickets.len(), asked);
        }
        assert_eq!(
            last.0,
            without.tickets.len()
                - matches
                    .iter()
                    .zip(&a)
                    .filter(|(m, x)| **m && x.t >= 1200.0)
                    .count()
        );
    }

    #[test]
    fn a_notice_nobody_takes_and_nobody_reads_changes_nothing() {
        let handling = [Spread {
            mean: 600.0,
            cv: 0.8,
            exponential: false,
        }; 2];
        let a = arrivals(400, 12.0);
        let matches = vec![true; a.len()];
        let without = simulate(&setup(&a, &handling, None), &mut Fixed { after_s: 30.0 });
        let silent = Notice {
            matches: &matches,
            from_s: 0.0,
            accept: 0.0,
            read_s: 0.0,
        };
        let with = simulate(
            &setup(&a, &handling, Some(silent)),
            &mut Fixed { after_s: 30.0 },
        );
        assert_eq!(with.tickets, without.tickets);
        assert_eq!(with.notice_shown, a.len());
        // Posted after the last arrival: never shown.
        let late = Notice {
            matches: &matches,
            from_s: 1e9,
            accept: 1.0,
            read_s: 60.0,
        };
        let with = simulate(
            &setup(&a, &handling, Some(late)),
            &mut Fixed { after_s: 30.0 },
        );
        assert_eq!(
            (with.tickets, with.notice_shown),
            (without.tickets.clone(), 0)
        );
        // Read but refused: the same tickets and work, each opened a minute later.
        let read = Notice {
            matches: &matches,
            from_s: 0.0,
            accept: 0.0,
            read_s: 60.0,
        };
        let with = simulate(
            &setup(&a, &handling, Some(read)),
            &mut Fixed { after_s: 30.0 },
        );
        assert_eq!(with.tickets.len(), without.tickets.len());
        assert!(
            with.tickets
                .iter()
                .zip(&without.tickets)
                .all(|(w, o)| (w.created - o.created - 60.0).abs() < 1e-6)
        );
        let (x, y) = (
            asked_minutes(&with, &handling, 5, 2),
            asked_minutes(&without, &handling, 5, 2),
        );
        assert!((x - y).abs() < 1e-6, "{x} {y}");
    }
}
