//! The discrete-event core: arrivals and routing paths in, every ticket's
//! fate and the queue over time out. No I/O, no clock; randomness only from
//! the named streams of [`super::random`]. Agents work in slots (agents ×
//! concurrent chats); the queue is ordered as the real one (priority, then
//! waiting time); waiting customers abandon after an exponential patience.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use crate::queue::{AgentLoad, NO_AGENTS_WAIT_MINUTES, estimate_wait_with};

use super::random::{Spread, Stream};

/// Length of one staffing and reporting interval, seconds.
pub const INTERVAL_S: f64 = 900.0;

/// Resolved tickets the live wait estimate averages over (the service's
/// `handling_samples` default).
pub const HANDLING_SAMPLES: usize = 50;

/// A ticket as the queue sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketSpec {
    /// 0 low .. 3 urgent, as the store numbers them.
    pub priority: u8,
    /// Index of the handling-time distribution (the customer's real intent).
    pub class: u16,
}

/// What happens to one conversation after its first message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Path {
    /// The bot ends it: a smalltalk reply or a correct refusal.
    BotCloses,
    /// An FAQ or self-help answer. A `wrong` one (another intent's answer)
    /// always comes back as a recontact; a right one is accepted with
    /// probability `accept`. Otherwise a ticket opens `then_s` later.
    Answer {
        accept: f64,
        wrong: bool,
        then_s: f64,
        ticket: TicketSpec,
    },
    /// A ticket opens `after_s` after the first message (0: at once).
    Ticket { after_s: f64, ticket: TicketSpec },
}

/// Decides the path of a pool message given the estimated wait for a new ticket.
pub trait Router {
    /// Whether [`Router::route`] reads the wait (load-aware routing).
    fn needs_wait(&self) -> bool;
    fn route(&mut self, item: u32, wait_minutes: u32) -> Path;
}

/// One conversation's first message: when, and which pool message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    pub t: f64,
    pub item: u32,
}

/// Everything a run needs besides the router.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    /// Sorted by time.
    pub arrivals: &'a [Arrival],
    /// End of the arrival period, seconds; the series cover `[0, horizon)`.
    pub horizon_s: f64,
    /// Agents per [`INTERVAL_S`] interval; after the last, the last value.
    pub staffing: &'a [u32],
    /// Concurrent chats per agent.
    pub capacity: u32,
    /// Handling time per ticket class, seconds.
    pub handling: &'a [Spread],
    /// Mean patience in queue, seconds (None: nobody abandons).
    pub patience_s: Option<f64>,
    /// Handling time the wait estimate assumes before enough tickets were resolved.
    pub default_handling_minutes: f64,
    pub seed: u64,
    /// An incident's notice, shown before routing (None: no notice).
    pub notice: Option<Notice<'a>>,
}

/// A posted notice: which conversations it matches, from when, and how they take it.
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    /// Per arrival (index into `Setup::arrivals`): whether the notice matches its message.
    pub matches: &'a [bool],
    /// When it is posted, seconds; conversations arriving earlier never see it.
    pub from_s: f64,
    /// Probability that it answers the question (stream `notice`).
    pub accept: f64,
    /// Time a customer spends on it before saying no, seconds.
    pub read_s: f64,
}

/// How a ticket left the queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    Served {
        start: f64,
        handling: f64,
    },
    Abandoned {
        at: f64,
    },
    /// Still waiting when the run ended (no agent came).
    Unserved {
        at: f64,
    },
}

/// One ticket of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TicketRecord {
    pub conversation: u32,
    pub created: f64,
    pub spec: TicketSpec,
    pub end: End,
}

impl TicketRecord {
    /// Time spent in the queue, seconds (until served, abandoned or the end).
    pub fn wait(&self) -> f64 {
        match self.end {
            End::Served { start, .. } => start - self.created,
            End::Abandoned { at } | End::Unserved { at } => at - self.created,
        }
    }
}

/// The queue over time, per interval of the arrival period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Time-weighted mean queue length.
    pub queue_mean: Vec<f64>,
    pub queue_max: Vec<u32>,
    /// Time-weighted mean busy slots.
    pub busy_mean: Vec<f64>,
}

/// The outcome of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    pub conversations: usize,
    pub bot_resolved: usize,
    /// Wrong-intent answers that came back to a person.
    pub recontacts: usize,
    /// Peak self-help or FAQ answers given (right or wrong).
    pub answers: usize,
    /// Conversations shown the notice, and those it resolved (counted in `bot_resolved` too).
    pub notice_shown: usize,
    pub notice_resolved: usize,
    pub tickets: Vec<TicketRecord>,
    pub series: Series,
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    Request(u32, TicketSpec),
    /// A chat ends; its handling time (seconds) joins the recent samples.
    Finish(f64),
    Abandon(u32),
    Staff(usize),
}

/// An event in the calendar: time, then insertion order (ties stay FIFO).
struct Timed(f64, u64, Ev);

impl PartialEq for Timed {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timed {
    /// Reversed: the binary heap pops the earliest event first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

/// A waiting ticket in queue order: higher priority, then older, then lower id.
#[derive(PartialEq)]
struct Waiting {
    priority: u8,
    created: f64,
    id: u32,
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Waiting {
    fn cmp(&self, o: &Self) -> Ordering {
        self.priority
            .cmp(&o.priority)
            .then(o.created.total_cmp(&self.created))
            .then(o.id.cmp(&self.id))
    }
}

/// The state of a run in progress.
struct Sim<'a> {
    setup: &'a Setup<'a>,
    now: f64,
    seq: u64,
    calendar: BinaryHeap<Timed>,
    queue: BinaryHeap<Waiting>,
    /// Tickets really waiting (the heap keeps abandoned ones until popped).
    waiting: u32,
    busy: u32,
    interval: usize,
    recent_ms: VecDeque<i64>,
    accept: Stream,
    handling: Stream,
    patience: Stream,
    notice: Stream,
    run: Run,
    /// Where the series have been accumulated up to.
    traced_to: f64,
}

/// Simulates one scenario to the end (every ticket served, abandoned or stuck).
pub fn simulate(setup: &Setup<'_>, router: &mut dyn Router) -> Run {
    let n_intervals = (setup.horizon_s / INTERVAL_S).ceil() as usize;
    let mut sim = Sim {
        setup,
        now: 0.0,
        seq: 0,
        calendar: BinaryHeap::new(),
        queue: BinaryHeap::new(),
        waiting: 0,
        busy: 0,
        interval: 0,
        recent_ms: VecDeque::with_capacity(HANDLING_SAMPLES),
        accept: Stream::new(setup.seed, "acceptance"),
        handling: Stream::new(setup.seed, "handling"),
        patience: Stream::new(setup.seed, "patience"),
        notice: Stream::new(setup.seed, "notice"),
        run: Run {
            series: Series {
                queue_mean: vec![0.0; n_intervals],
                queue_max: vec![0; n_intervals],
                busy_mean: vec![0.0; n_intervals],
            },
            ..Default::default()
        },
        traced_to: 0.0,
    };
    if setup.staffing.len() > 1 {
        sim.schedule(INTERVAL_S, Ev::Staff(1));
    }
    let mut next = 0;
    loop {
        let arrival = setup.arrivals.get(next);
        let event_t = sim.calendar.peek().map(|e| e.0);
        match (arrival, event_t) {
            (Some(a), t) if t.is_none_or(|t| a.t <= t) => {
                sim.advance(a.t);
                sim.arrive(next as u32, a.item, router);
                next += 1;
            }
            (_, Some(_)) => {
                let Some(Timed(t, _, ev)) = sim.calendar.pop() else {
                    break;
                };
                sim.advance(t);
                sim.handle(ev);
            }
            _ => break,
        }
    }
    sim.finish()
}

impl Sim<'_> {
    fn schedule(&mut self, t: f64, ev: Ev) {
        self.seq += 1;
        self.calendar.push(Timed(t, self.seq, ev));
    }

    fn slots(&self) -> u32 {
        let staffing = self.setup.staffing;
        let agents = staffing
            .get(self.interval)
            .or(staffing.last())
            .copied()
            .unwrap_or(0);
        agents * self.setup.capacity
    }

    /// Moves the clock to `t`, adding queue length and busy slots to the series.
    fn advance(&mut self, t: f64) {
        let series = &mut self.run.series;
        while self.traced_to < t {
            let k = (self.traced_to / INTERVAL_S) as usize;
            if k >= series.queue_mean.len() {
                break;
            }
            let end = t.min((k + 1) as f64 * INTERVAL_S);
            let share = (end - self.traced_to) / INTERVAL_S;
            series.queue_mean[k] += f64::from(self.waiting) * share;
            series.busy_mean[k] += f64::from(self.busy) * share;
            series.queue_max[k] = series.queue_max[k].max(self.waiting);
            self.traced_to = end;
        }
        self.now = t;
    }

    /// The live estimate for a new ticket, by the service's own formula.
    fn estimated_wait(&mut self) -> u32 {
        // The estimate only sums capacities, free and busy slots: one
        // aggregate agent gives the same answer as the agents one by one.
        let load = AgentLoad {
            online: true,
            capacity: self.slots(),
            active: self.busy,
        };
        estimate_wait_with(
            self.waiting + 1,
            &[load],
            self.recent_ms.make_contiguous(),
            self.setup.default_handling_minutes,
            NO_AGENTS_WAIT_MINUTES,
        )
        .minutes
    }

    fn arrive(&mut self, conversation: u32, item: u32, router: &mut dyn Router) {
        self.run.conversations += 1;
        let wait = if router.needs_wait() {
            self.estimated_wait()
        } else {
            0
        };
        let Some(delay) = self.read_notice(conversation) else {
            return;
        };
        match router.route(item, wait) {
            Path::BotCloses => self.run.bot_resolved += 1,
            Path::Answer {
                accept,
                wrong,
                then_s,
                ticket,
            } => {
                self.run.answers += 1;
                if wrong {
                    self.run.recontacts += 1;
                } else if self.accept.uniform(u64::from(conversation)) < accept {
                    self.run.bot_resolved += 1;
                    return;
                }
                self.schedule(self.now + delay + then_s, Ev::Request(conversation, ticket));
            }
            Path::Ticket { after_s, ticket } if after_s + delay > 0.0 => {
                self.schedule(
                    self.now + delay + after_s,
                    Ev::Request(conversation, ticket),
                );
            }
            Path::Ticket { ticket, .. } => self.open(conversation, ticket),
        }
    }

    /// The notice step before routing: None when the notice resolved the
    /// conversation, else the delay it added (0 when it was not shown).
    fn read_notice(&mut self, conversation: u32) -> Option<f64> {
        let Some(notice) = self.setup.notice else {
            return Some(0.0);
        };
        let shown = self.now >= notice.from_s
            && notice
                .matches
                .get(conversation as usize)
                .copied()
                .unwrap_or(false);
        if !shown {
            return Some(0.0);
        }
        self.run.notice_shown += 1;
        if self.notice.uniform(u64::from(conversation)) < notice.accept {
            self.run.notice_resolved += 1;
            self.run.bot_resolved += 1;
            return None;
        }
        Some(notice.read_s)
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Request(conversation, spec) => self.open(conversation, spec),
            Ev::Finish(handling) => {
                self.busy -= 1;
                if self.recent_ms.len() == HANDLING_SAMPLES {
                    self.recent_ms.pop_front();
                }
                self.recent_ms.push_back((handling * 1000.0) as i64);
                self.dispatch();
            }
            Ev::Abandon(id) => {
                let record = &mut self.run.tickets[id as usize];
                if matches!(record.end, End::Unserved { .. }) {
                    record.end = End::Abandoned { at: self.now };
                    self.waiting -= 1;
                }
            }
            Ev::Staff(k) => {
                self.interval = k;
                if k + 1 < self.setup.staffing.len() {
                    self.schedule((k + 1) as f64 * INTERVAL_S, Ev::Staff(k + 1));
                }
                self.dispatch();
            }
        }
    }

    /// A ticket enters the queue (and is taken at once if a slot is free).
    fn open(&mut self, conversation: u32, spec: TicketSpec) {
        let id = self.run.tickets.len() as u32;
        self.run.tickets.push(TicketRecord {
            conversation,
            created: self.now,
            spec,
            end: End::Unserved { at: self.now },
        });
        self.queue.push(Waiting {
            priority: spec.priority,
            created: self.now,
            id,
        });
        self.waiting += 1;
        if let Some(mean) = self.setup.patience_s {
            let patience = self.patience.exponential(u64::from(conversation), mean);
            self.schedule(self.now + patience, Ev::Abandon(id));
        }
        self.dispatch();
    }

    /// Free slots take the first waiting tickets in queue order.
    fn dispatch(&mut self) {
        while self.busy < self.slots() {
            let Some(next) = self.queue.pop() else {
                return;
            };
            let record = self.run.tickets[next.id as usize];
            if !matches!(record.end, End::Unserved { .. }) {
                continue; // abandoned while waiting
            }
            let class = &self.setup.handling[usize::from(record.spec.class)];
            let handling = class.sample(&self.handling, u64::from(record.conversation));
            self.run.tickets[next.id as usize].end = End::Served {
                start: self.now,
                handling,
            };
            self.waiting -= 1;
            self.busy += 1;
            self.schedule(self.now + handling, Ev::Finish(handling));
        }
    }

    fn finish(mut self) -> Run {
        for record in &mut self.run.tickets {
            if let End::Unserved { at } = &mut record.end {
                *at = self.now;
            }
        }
        self.run
    }
}
