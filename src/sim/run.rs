//! One `simulate` run put together: classes and mix from the parameters,
//! the arrival schedule (with an incident's arrivals, if configured), the
//! staffing, the scenarios (in parallel threads, on the same arrivals and
//! random streams; a fourth, `bot_notice`, with an incident), the staffing
//! search and the acceptance sensitivity.

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::policy::PolicyConfig;
use crate::progress::Progress;

use super::SimError;
use super::arrivals::{Mix, day_rates, poisson};
use super::core::{Arrival, INTERVAL_S, Notice, Router, Setup, simulate};
use super::erlang::servers_for_service_level;
use super::incident;
use super::params::{Params, Sources};
use super::random::Spread;
use super::report::{self, NoticeRow, Report, SensitivityRow};
use super::routing::{Classes, Classified, Delays, NoBot, PolicyRouter};
use super::stats::{IncidentFigures, ScenarioFigures, figures, within_sla};

/// The labelled first messages conversations are drawn from.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Where it came from (for the report).
    pub source: String,
    /// Intent per message.
    pub labels: Vec<String>,
    /// The model's view of each message; None when only `no_bot` runs.
    pub classified: Option<Vec<Classified>>,
}

/// When conversations arrive.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// A day from the parameters' profile and peak.
    Day,
    /// A replayed trace: (seconds from midnight, pool message), sorted.
    Trace(Vec<Arrival>),
    /// A constant rate with flat staffing (the closed-form checks).
    Constant {
        per_hour: f64,
        hours: f64,
        agents: u32,
    },
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub params: Params,
    pub sources: Sources,
    pub schedule: Schedule,
    /// Only the `no_bot` scenario (no model needed).
    pub no_bot_only: bool,
    /// Replaces every intent's handling time (the closed-form checks).
    pub handling_override: Option<Spread>,
    pub progress: bool,
}

/// The inputs from outside the core: the catalog (None: one class) and the pool.
pub struct Inputs<'a> {
    pub catalog: Option<&'a Catalog>,
    pub pool: &'a Pool,
}

/// The scenarios: `BotNotice` is the shipped bot with the incident's notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    NoBot,
    Bot,
    BotLoadAware,
    BotNotice,
}

/// The incident as the scenarios see it.
struct IncidentWorld {
    /// Per arrival: whether the notice matches it (empty without the model).
    matches: Vec<bool>,
    /// When the notice is posted, seconds from midnight.
    notice_s: f64,
    counts: IncidentCounts,
}

/// How many of the day's conversations were about the incident.
#[derive(Debug, Clone, Copy)]
pub struct IncidentCounts {
    pub conversations: usize,
    /// Of those, the ones the model reads as the incident's intent.
    pub read_as_intent: usize,
}

/// What every scenario shares.
struct World<'a> {
    config: &'a SimConfig,
    catalog: Option<&'a Catalog>,
    classes: Classes,
    labels: Vec<u16>,
    classified: Option<&'a [Classified]>,
    pool_source: &'a str,
    arrivals: Vec<Arrival>,
    rates: Vec<f64>,
    horizon_s: f64,
    staffing: Vec<u32>,
    window: Option<(f64, f64)>,
    incident: Option<IncidentWorld>,
}

/// Runs every scenario and the sensitivity, and builds the report.
pub fn run(config: &SimConfig, inputs: &Inputs<'_>) -> Result<Report, SimError> {
    let world = World::new(config, inputs)?;
    let mut scenarios = vec![Scenario::NoBot];
    if !config.no_bot_only {
        if world.classified.is_none() || world.catalog.is_none() {
            return Err(SimError::Pool {
                source_name: inputs.pool.source.clone(),
                reason:
                    "the bot scenarios need the model's classification of the pool and the catalog"
                        .into(),
            });
        }
        scenarios.extend([Scenario::Bot, Scenario::BotLoadAware]);
        if world.incident.is_some() {
            scenarios.push(Scenario::BotNotice);
        }
    }
    let levels: Vec<f64> = if config.no_bot_only {
        Vec::new()
    } else {
        config.params.sensitivity.acceptance.clone()
    };
    let notice_levels: Vec<f64> = if scenarios.contains(&Scenario::BotNotice) {
        config.params.sensitivity.notice_acceptance.clone()
    } else {
        Vec::new()
    };
    // One unit per scenario run (its staffing search included): the search's length is not
    // known in advance, and a bar must not overshoot its total.
    let units = scenarios.len() + levels.len() + notice_levels.len();
    let progress = Progress::new(units as u64, "simulating scenarios", config.progress, false);
    let mut runs: Vec<(Scenario, Variant)> = scenarios
        .iter()
        .map(|&sc| (sc, Variant::default()))
        .collect();
    runs.extend(levels.iter().map(|&level| {
        let faq = Some(level);
        (Scenario::BotLoadAware, Variant { faq, notice: None })
    }));
    runs.extend(notice_levels.iter().map(|&level| {
        let notice = Some(level);
        (Scenario::BotNotice, Variant { faq: None, notice })
    }));
    let mut outcomes = world.run_all(&runs, &progress).into_iter();
    let results: Vec<_> = outcomes.by_ref().take(scenarios.len()).collect();
    let sensitivity: Vec<_> = outcomes.by_ref().take(levels.len()).collect();
    let notice_sensitivity: Vec<_> = outcomes.collect();
    progress.finish();
    let no_bot = &results[0].0;
    let rows = levels
        .iter()
        .zip(sensitivity)
        .map(|(&level, (f, _))| SensitivityRow::new(level, &f, no_bot.agent_minutes))
        .collect();
    let notice_rows = notice_levels
        .iter()
        .zip(notice_sensitivity)
        .map(|(&level, (f, _))| NoticeRow::new(level, &f, no_bot))
        .collect();
    Ok(report::build(&world.summary(), results, rows, notice_rows))
}

/// What a sensitivity run replaces: every FAQ answer's acceptance, or the notice's.
#[derive(Debug, Clone, Copy, Default)]
struct Variant {
    faq: Option<f64>,
    notice: Option<f64>,
}

/// What the report needs to know about the world.
pub struct Summary<'a> {
    pub config: &'a SimConfig,
    pub pool_source: &'a str,
    pub pool_messages: usize,
    /// Share of pool messages whose predicted intent is their label.
    pub pool_top1: Option<f64>,
    pub rates: &'a [f64],
    pub arrivals: Vec<u32>,
    pub staffing: &'a [u32],
    pub horizon_s: f64,
    pub window: Option<(f64, f64)>,
    pub incident: Option<IncidentCounts>,
}

impl<'a> World<'a> {
    fn new(config: &'a SimConfig, inputs: &Inputs<'a>) -> Result<World<'a>, SimError> {
        let params = &config.params;
        let mut classes = match inputs.catalog {
            Some(catalog) => Classes::from_catalog(catalog, params),
            None => Classes::single(config.handling_override.unwrap_or(Spread {
                mean: params.handling.answer * 60.0,
                cv: params.handling.cv,
                exponential: false,
            })),
        };
        if let Some(h) = config.handling_override {
            classes.handling.iter_mut().for_each(|c| *c = h);
        }
        let labels = label_indices(&classes, inputs.pool, inputs.catalog.is_none())?;
        let mix = mix_for(&classes, &labels, params)?;
        let (mut arrivals, rates, horizon_s) = match &config.schedule {
            Schedule::Day => {
                let rates = day_rates(params, true);
                (poisson(&rates, &mix, params.seed), rates, 86_400.0)
            }
            Schedule::Trace(arrivals) => (arrivals.clone(), trace_rates(arrivals), 86_400.0),
            Schedule::Constant {
                per_hour, hours, ..
            } => {
                let rates = vec![*per_hour; (hours * 4.0).ceil() as usize];
                let horizon = hours * 3600.0;
                let mut a = poisson(&rates, &mix, params.seed);
                a.retain(|x| x.t < horizon);
                (a, rates, horizon)
            }
        };
        let staffing = match (&config.schedule, params.staffing_per_interval()) {
            (Schedule::Constant { agents, .. }, _) => vec![*agents; rates.len().max(1)],
            (_, Some(s)) => s,
            (Schedule::Day, None) => size_staffing(
                &day_rates(params, false),
                &classes,
                &labels,
                &mix_weights(&classes, &labels, params),
                params,
            ),
            (Schedule::Trace(_), None) => size_staffing(
                &rates,
                &classes,
                &labels,
                &mix_weights(&classes, &labels, params),
                params,
            ),
        };
        let window = match config.schedule {
            Schedule::Constant { .. } => None,
            _ => Some(params.peak_window_s()).filter(|(a, b)| b > a),
        };
        let incident = incident_world(
            config,
            &classes,
            &labels,
            inputs.pool.classified.as_deref(),
            &mut arrivals,
        )?;
        Ok(World {
            config,
            catalog: inputs.catalog,
            classes,
            labels,
            classified: inputs.pool.classified.as_deref(),
            pool_source: &inputs.pool.source,
            arrivals,
            rates,
            horizon_s,
            staffing,
            window,
            incident,
        })
    }

    /// The run's setup; with `notice`, the incident's notice at that acceptance.
    fn setup(&self, notice: Option<f64>) -> Setup<'_> {
        let desk = &self.config.params.desk;
        let read_s = self.config.params.incident.notice_read_minutes * 60.0;
        let notice = notice
            .zip(self.incident.as_ref())
            .map(|(accept, i)| Notice {
                matches: &i.matches,
                from_s: i.notice_s,
                accept,
                read_s,
            });
        Setup {
            arrivals: &self.arrivals,
            horizon_s: self.horizon_s,
            staffing: &self.staffing,
            capacity: desk.agent_capacity,
            handling: &self.classes.handling,
            patience_s: (desk.patience_minutes > 0.0).then_some(desk.patience_minutes * 60.0),
            default_handling_minutes: 10.0,
            seed: self.config.params.seed,
            notice,
        }
    }

    fn router(&self, scenario: Scenario, faq: Option<f64>) -> Box<dyn Router + Send + '_> {
        match (scenario, self.catalog, self.classified) {
            (Scenario::NoBot, _, _) | (_, None, _) | (_, _, None) => Box::new(NoBot {
                labels: &self.labels,
                classes: &self.classes,
            }),
            (_, Some(catalog), Some(classified)) => {
                let p = &self.config.params;
                Box::new(PolicyRouter {
                    catalog,
                    policy: PolicyConfig {
                        peak_wait_minutes: p.desk.peak_wait_minutes,
                        ..Default::default()
                    },
                    classes: &self.classes,
                    labels: &self.labels,
                    classified,
                    delays: Delays {
                        feedback_s: p.customer.feedback_minutes * 60.0,
                        question_s: p.customer.question_minutes * 60.0,
                        clarify_s: p.customer.clarify_minutes * 60.0,
                    },
                    load_aware: matches!(scenario, Scenario::BotLoadAware | Scenario::BotNotice),
                    faq_acceptance: faq,
                    cache: HashMap::new(),
                })
            }
        }
    }

    /// Every `(scenario, variant)` run on a thread of its own, results in the same order.
    fn run_all(
        &self,
        runs: &[(Scenario, Variant)],
        progress: &Progress,
    ) -> Vec<(ScenarioFigures, Option<report::Series>)> {
        std::thread::scope(|s| {
            let jobs: Vec<_> = runs
                .iter()
                .map(|&(sc, variant)| s.spawn(move || self.scenario(sc, variant, progress)))
                .collect();
            jobs.into_iter()
                .map(|h| h.join().expect("a simulation thread panicked"))
                .collect()
        })
    }

    /// One scenario at the schedule's staffing, then the staffing search.
    fn scenario(
        &self,
        scenario: Scenario,
        variant: Variant,
        progress: &Progress,
    ) -> (ScenarioFigures, Option<report::Series>) {
        let mut router = self.router(scenario, variant.faq);
        let params = &self.config.params;
        let notice = (scenario == Scenario::BotNotice)
            .then(|| variant.notice.unwrap_or(params.incident.notice_acceptance));
        let setup = self.setup(notice);
        let desk = &params.desk;
        let sla_s = desk.sla_minutes * 60.0;
        let run = simulate(&setup, router.as_mut());
        let mut f = figures(&run, desk.agent_capacity, sla_s, self.window);
        if self.incident.is_some() {
            f.incident = Some(IncidentFigures {
                agent_minutes_asked: incident::asked_minutes(
                    &run,
                    &self.classes.handling,
                    params.seed,
                    desk.agent_capacity,
                ),
                notice_shown: run.notice_shown,
                notice_resolved: run.notice_resolved,
            });
        }
        if let Some(window) = self.window {
            f.agents_needed = self.agents_needed(window, notice, router.as_mut());
        }
        progress.inc(1);
        let series = report::Series::of(&run, self.rates.len());
        (f, Some(series))
    }

    /// Bisection over flat staffing in the window, on the same arrivals.
    fn agents_needed(
        &self,
        window: (f64, f64),
        notice: Option<f64>,
        router: &mut dyn Router,
    ) -> Option<u32> {
        let desk = &self.config.params.desk;
        let k0 = (window.0 / INTERVAL_S) as usize;
        let k1 = ((window.1 / INTERVAL_S).ceil() as usize).min(self.staffing.len());
        if k0 >= k1 {
            return None;
        }
        let mut pass = |n: u32| {
            let mut staffing = self.staffing.clone();
            staffing[k0..k1].fill(n);
            let setup = Setup {
                staffing: &staffing,
                ..self.setup(notice)
            };
            let run = simulate(&setup, router);
            within_sla(&run, desk.sla_minutes * 60.0, window.0, window.1)
                .is_none_or(|s| s >= desk.sla_target)
        };
        let (mut lo, mut hi) = (
            0u32,
            self.staffing[k0..k1]
                .iter()
                .copied()
                .max()
                .unwrap_or(1)
                .max(1),
        );
        while !pass(hi) {
            lo = hi;
            hi = hi.checked_mul(2).filter(|&h| h <= 100_000)?;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if pass(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }

    fn summary(&self) -> Summary<'_> {
        let mut arrivals = vec![0u32; self.rates.len()];
        for a in &self.arrivals {
            if let Some(c) = arrivals.get_mut((a.t / INTERVAL_S) as usize) {
                *c += 1;
            }
        }
        let pool_top1 = self.classified.map(|c| {
            let right = c
                .iter()
                .zip(&self.labels)
                .filter(|(c, l)| self.classes.index(&c.prediction.intent) == Some(**l))
                .count();
            right as f64 / c.len().max(1) as f64
        });
        Summary {
            config: self.config,
            pool_source: self.pool_source,
            pool_messages: self.labels.len(),
            pool_top1,
            rates: &self.rates,
            arrivals,
            staffing: &self.staffing,
            horizon_s: self.horizon_s,
            window: self.window,
            incident: self.incident.as_ref().map(|i| i.counts),
        }
    }
}

/// The incident, if configured: its arrivals redrawn in place, and which of
/// them the notice matches. Errors name the key when it does not fit the
/// catalog, the pool or the schedule.
fn incident_world(
    config: &SimConfig,
    classes: &Classes,
    labels: &[u16],
    classified: Option<&[Classified]>,
    arrivals: &mut [Arrival],
) -> Result<Option<IncidentWorld>, SimError> {
    let params = &config.params;
    let i = &params.incident;
    let Some((from_s, to_s, notice_s)) = params.incident_window_s() else {
        return Ok(None);
    };
    let error = |key: &str, reason: String| SimError::Config {
        key: key.into(),
        reason,
    };
    if matches!(config.schedule, Schedule::Constant { .. }) {
        return Err(error(
            "incident.share",
            "an incident is a share of a peak: it needs a day or a trace, not --arrivals-per-hour"
                .into(),
        ));
    }
    let Some(class) = classes.index(&i.intent) else {
        return Err(error(
            "incident.intent",
            format!("{:?} is not an intent of the catalog", i.intent),
        ));
    };
    let items: Vec<u32> = (0..labels.len() as u32)
        .filter(|&k| labels[k as usize] == class)
        .collect();
    if items.is_empty() {
        return Err(error(
            "incident.intent",
            format!(
                "the pool has no message of {:?} to draw the incident's arrivals from",
                i.intent
            ),
        ));
    }
    let about = incident::redraw(arrivals, &items, (from_s, to_s), i.share, params.seed);
    let matches = classified.map_or_else(Vec::new, |c| {
        incident::matches(&about, arrivals, c, &i.intent)
    });
    let counts = IncidentCounts {
        conversations: about.iter().filter(|&&a| a).count(),
        read_as_intent: matches.iter().filter(|&&m| m).count(),
    };
    Ok(Some(IncidentWorld {
        matches,
        notice_s,
        counts,
    }))
}

/// Class index of every pool message (an unknown intent is an error naming it).
fn label_indices(classes: &Classes, pool: &Pool, single: bool) -> Result<Vec<u16>, SimError> {
    if single {
        return Ok(vec![0; pool.labels.len()]);
    }
    pool.labels
        .iter()
        .map(|l| {
            classes.index(l).ok_or_else(|| SimError::Pool {
                source_name: pool.source.clone(),
                reason: format!("intent {l:?} is not in the catalog"),
            })
        })
        .collect()
}

/// Weight per class: the configured mix, or the pool's own.
fn mix_weights(classes: &Classes, labels: &[u16], params: &Params) -> Vec<f64> {
    let mix = &params.pool.intent_mix;
    if mix.is_empty() {
        let mut w = vec![0.0; classes.names.len()];
        for &l in labels {
            w[usize::from(l)] += 1.0;
        }
        return w;
    }
    classes
        .names
        .iter()
        .map(|n| mix.get(n).copied().unwrap_or(0.0))
        .collect()
}

fn mix_for(classes: &Classes, labels: &[u16], params: &Params) -> Result<Mix, SimError> {
    if let Some(unknown) = params
        .pool
        .intent_mix
        .keys()
        .find(|k| classes.index(k).is_none())
    {
        return Err(SimError::Config {
            key: format!("pool.intent_mix.{unknown}"),
            reason: "is not an intent of the catalog".into(),
        });
    }
    if params.pool.intent_mix.is_empty() {
        return Mix::new(labels, None);
    }
    Mix::new(labels, Some(&mix_weights(classes, labels, params)))
}

/// Agents per interval that hold the target without the bot (Erlang C on
/// slots, the mix's mean handling time).
fn size_staffing(
    rates: &[f64],
    classes: &Classes,
    labels: &[u16],
    weights: &[f64],
    params: &Params,
) -> Vec<u32> {
    let present: Vec<bool> = (0..classes.names.len())
        .map(|c| labels.iter().any(|&l| usize::from(l) == c))
        .collect();
    let (mut sum, mut total) = (0.0, 0.0);
    for (c, w) in weights.iter().enumerate() {
        if present[c] {
            sum += w * classes.handling[c].mean;
            total += w;
        }
    }
    let mean_s = if total > 0.0 { sum / total } else { 600.0 };
    let desk = &params.desk;
    rates
        .iter()
        .map(|&r| {
            let slots = servers_for_service_level(
                r / 3600.0,
                1.0 / mean_s,
                desk.sla_minutes * 60.0,
                desk.sla_target,
            );
            slots.div_ceil(desk.agent_capacity)
        })
        .collect()
}

/// Conversations per hour in each interval of a trace.
fn trace_rates(arrivals: &[Arrival]) -> Vec<f64> {
    let mut rates = vec![0.0; 96];
    for a in arrivals {
        if let Some(r) = rates.get_mut((a.t / INTERVAL_S) as usize) {
            *r += 4.0;
        }
    }
    rates
}
