//! From a pool message to a [`Path`]: the ticket classes (one per intent:
//! priority, handling time, acceptance), the no-bot router (everything to a
//! person) and the policy router, which asks the real [`policy::decide`] with
//! the simulated queue's estimated wait and caches each (message, wait) answer.

use std::collections::HashMap;

use crate::catalog::{Catalog, Priority, Route};
use crate::model::prediction::Prediction;
use crate::nlu::{self, Analysis};
use crate::policy::{self, ConversationState, Decision, Outcome, PolicyConfig, QueueState};

use super::core::{Path, Router, TicketSpec};
use super::params::Params;
use super::random::Spread;

/// Per intent (class index): what the queue and the customers need to know.
#[derive(Debug, Clone)]
pub struct Classes {
    pub names: Vec<String>,
    pub priority: Vec<u8>,
    pub route: Vec<Option<Route>>,
    /// Handling time, seconds.
    pub handling: Vec<Spread>,
    pub accept_answer: Vec<f64>,
    pub accept_self_help: Vec<f64>,
}

/// The store's priority number (0 low .. 3 urgent).
pub fn priority_number(p: Option<Priority>) -> u8 {
    p.unwrap_or(Priority::Normal).number() as u8
}

impl Classes {
    /// One class per catalog intent, with the parameters' handling times and acceptance.
    pub fn from_catalog(catalog: &Catalog, params: &Params) -> Classes {
        let mut c = Classes::empty();
        for intent in catalog.intents.values() {
            let h = &params.handling;
            let by_route = match intent.route {
                Route::Answer => h.answer,
                Route::Collect => h.collect,
                Route::Escalate => h.escalate,
                Route::Smalltalk => h.smalltalk,
                Route::Reject => h.reject,
            };
            let mean = h.intents.get(&intent.id).copied().unwrap_or(by_route);
            let a = &params.acceptance;
            let own = a.intents.get(&intent.id).copied();
            c.push(
                &intent.id,
                priority_number(intent.priority),
                Some(intent.route),
                Spread {
                    mean: mean * 60.0,
                    cv: h.cv,
                    exponential: false,
                },
                own.unwrap_or(a.answer),
                own.unwrap_or(a.self_help),
            );
        }
        c
    }

    /// A single class (the closed-form checks): normal priority, one handling time.
    pub fn single(handling: Spread) -> Classes {
        let mut c = Classes::empty();
        c.push("all", 1, None, handling, 0.0, 0.0);
        c
    }

    fn empty() -> Classes {
        Classes {
            names: Vec::new(),
            priority: Vec::new(),
            route: Vec::new(),
            handling: Vec::new(),
            accept_answer: Vec::new(),
            accept_self_help: Vec::new(),
        }
    }

    fn push(
        &mut self,
        name: &str,
        priority: u8,
        route: Option<Route>,
        handling: Spread,
        answer: f64,
        self_help: f64,
    ) {
        self.names.push(name.to_string());
        self.priority.push(priority);
        self.route.push(route);
        self.handling.push(handling);
        self.accept_answer.push(answer);
        self.accept_self_help.push(self_help);
    }

    pub fn index(&self, name: &str) -> Option<u16> {
        self.names.iter().position(|n| n == name).map(|i| i as u16)
    }
}

/// Every conversation to a person, at once, with its intent's priority.
pub struct NoBot<'a> {
    pub labels: &'a [u16],
    pub classes: &'a Classes,
}

impl Router for NoBot<'_> {
    fn needs_wait(&self) -> bool {
        false
    }
    fn route(&mut self, item: u32, _wait: u32) -> Path {
        let class = self.labels[item as usize];
        Path::Ticket {
            after_s: 0.0,
            ticket: TicketSpec {
                priority: self.classes.priority[usize::from(class)],
                class,
            },
        }
    }
}

/// A pool message as the model saw it.
#[derive(Debug, Clone)]
pub struct Classified {
    pub analysis: Analysis,
    pub prediction: Prediction,
}

/// Customer delays, seconds.
#[derive(Debug, Clone, Copy)]
pub struct Delays {
    pub feedback_s: f64,
    pub question_s: f64,
    pub clarify_s: f64,
}

/// The real policy on the classified pool.
pub struct PolicyRouter<'a> {
    pub catalog: &'a Catalog,
    pub policy: PolicyConfig,
    pub classes: &'a Classes,
    pub labels: &'a [u16],
    pub classified: &'a [Classified],
    pub delays: Delays,
    /// False: the policy always sees an empty queue (load-aware routing off).
    pub load_aware: bool,
    /// Replaces every FAQ answer's acceptance (the sensitivity runs).
    pub faq_acceptance: Option<f64>,
    /// (message, wait) → path: the policy is pure, so each pair is decided once.
    pub cache: HashMap<(u32, u32), Path>,
}

impl Router for PolicyRouter<'_> {
    fn needs_wait(&self) -> bool {
        self.load_aware
    }

    fn route(&mut self, item: u32, wait: u32) -> Path {
        let wait = if self.load_aware { wait } else { 0 };
        if let Some(path) = self.cache.get(&(item, wait)) {
            return *path;
        }
        let c = &self.classified[item as usize];
        let queue = QueueState {
            estimated_wait_minutes: wait,
            open_ticket: None,
        };
        let state = ConversationState::default();
        let outcome = policy::decide(
            self.catalog,
            &self.policy,
            &state,
            &c.analysis,
            &c.prediction,
            &queue,
        );
        let path = self.path_of(item, &outcome, &queue, true);
        self.cache.insert((item, wait), path);
        path
    }
}

impl PolicyRouter<'_> {
    fn class_of(&self, intent: &str) -> Option<usize> {
        self.classes.index(intent).map(usize::from)
    }

    fn ticket(&self, item: u32, priority: u8) -> TicketSpec {
        TicketSpec {
            priority,
            class: self.labels[item as usize],
        }
    }

    /// The path after the policy's decision on the first message (and, after
    /// a "did you mean...?", on the choice the customer clicks).
    fn path_of(&self, item: u32, outcome: &Outcome, queue: &QueueState, first: bool) -> Path {
        let label = usize::from(self.labels[item as usize]);
        let feedback_s = self.delays.feedback_s;
        match &outcome.decision {
            Decision::Answer { intent } => {
                let Some(answered) = self.class_of(intent) else {
                    return Path::Ticket {
                        after_s: feedback_s,
                        ticket: self.ticket(item, 1),
                    };
                };
                let self_help = self.classes.route[answered] == Some(Route::Collect);
                let (accept, then_s) = if self_help {
                    // A "no" to the self-help offer starts the detail questions.
                    let questions = self.catalog.intent(intent).map_or(0, |i| i.details.len());
                    (
                        self.classes.accept_self_help[answered],
                        feedback_s + questions as f64 * self.delays.question_s,
                    )
                } else {
                    let own = self.classes.accept_answer[answered];
                    (self.faq_acceptance.unwrap_or(own), feedback_s)
                };
                Path::Answer {
                    accept,
                    wrong: answered != label,
                    then_s,
                    ticket: self.ticket(item, self.classes.priority[answered]),
                }
            }
            Decision::SmallTalk { intent } | Decision::Reject { intent } => {
                if self.class_of(intent) == Some(label) {
                    Path::BotCloses
                } else {
                    // The wrong reply: the customer comes back and asks for a person.
                    Path::Answer {
                        accept: 0.0,
                        wrong: true,
                        then_s: feedback_s,
                        ticket: self.ticket(item, 1),
                    }
                }
            }
            Decision::CollectDetail { intent, .. } => {
                let asked = self.catalog.intent(intent).map_or(0, |i| i.details.len());
                let known = outcome
                    .state
                    .collecting
                    .as_ref()
                    .map_or(0, |c| c.details.len());
                let priority = self
                    .class_of(intent)
                    .map_or(1, |c| self.classes.priority[c]);
                Path::Ticket {
                    after_s: asked.saturating_sub(known) as f64 * self.delays.question_s,
                    ticket: self.ticket(item, priority),
                }
            }
            Decision::OpenTicket { priority, .. } | Decision::EscalateNow { priority, .. } => {
                Path::Ticket {
                    after_s: 0.0,
                    ticket: self.ticket(item, priority_number(Some(*priority))),
                }
            }
            Decision::Clarify { choices } => {
                self.after_clarify(item, choices, outcome, queue, first)
            }
            Decision::Silent => Path::Ticket {
                after_s: 0.0,
                ticket: self.ticket(item, 1),
            },
        }
    }

    /// The customer clicks their real intent when it is offered (the policy
    /// decides again on the click); otherwise the second miss hands over.
    fn after_clarify(
        &self,
        item: u32,
        choices: &[String],
        outcome: &Outcome,
        queue: &QueueState,
        first: bool,
    ) -> Path {
        let label = &self.classes.names[usize::from(self.labels[item as usize])];
        let clarify_s = self.delays.clarify_s;
        if !first || !choices.contains(label) {
            return Path::Ticket {
                after_s: clarify_s,
                ticket: self.ticket(item, 1),
            };
        }
        let c = &self.classified[item as usize];
        let click = nlu::analyse(label);
        let second = policy::decide(
            self.catalog,
            &self.policy,
            &outcome.state,
            &click,
            &c.prediction,
            queue,
        );
        match self.path_of(item, &second, queue, false) {
            Path::Answer {
                accept,
                wrong,
                then_s,
                ticket,
            } => Path::Answer {
                accept,
                wrong,
                then_s: then_s + clarify_s,
                ticket,
            },
            Path::Ticket { after_s, ticket } => Path::Ticket {
                after_s: after_s + clarify_s,
                ticket,
            },
            Path::BotCloses => Path::BotCloses,
        }
    }
}
