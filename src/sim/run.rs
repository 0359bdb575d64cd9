//! One `simulate` run put together: classes and mix from the parameters,
//! the arrival schedule, the staffing, the three scenarios (in parallel
//! threads, on the same arrivals and random streams), the staffing search
//! and the acceptance sensitivity.

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::policy::PolicyConfig;
use crate::progress::Progress;

use super::SimError;
use super::arrivals::{Mix, day_rates, poisson};
use super::core::{Arrival, INTERVAL_S, Router, Setup, simulate};
use super::erlang::servers_for_service_level;
use super::params::{Params, Sources};
use super::random::Spread;
use super::report::{self, Report, SensitivityRow};
use super::routing::{Classes, Classified, Delays, NoBot, PolicyRouter};
use super::stats::{ScenarioFigures, figures, within_sla};

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
    Constant { per_hour: f64, hours: f64, agents: u32 },
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

/// The three scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    NoBot,
    Bot,
    BotLoadAware,
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
}

/// Runs every scenario and the sensitivity, and builds the report.
pub fn run(config: &SimConfig, inputs: &Inputs<'_>) -> Result<Report, SimError> {
    let world = World::new(config, inputs)?;
    let mut scenarios = vec![Scenario::NoBot];
    if !config.no_bot_only {
        if world.classified.is_none() || world.catalog.is_none() {
            return Err(SimError::Pool {
                source_name: inputs.pool.source.clone(),
                reason: "the bot scenarios need the model's classification of the pool and the catalog".into(),
            });
        }
        scenarios.extend([Scenario::Bot, Scenario::BotLoadAware]);
    }
    let levels: Vec<f64> = if config.no_bot_only { Vec::new() } else { config.params.sensitivity.acceptance.clone() };
    // One unit per scenario run (its staffing search included): the search's length is not
    // known in advance, and a bar must not overshoot its total.
    let progress = Progress::new((scenarios.len() + levels.len()) as u64, "simulating scenarios", config.progress, false);
    let (results, sensitivity) = std::thread::scope(|s| {
        let world = &world;
        let progress = &progress;
        let jobs: Vec<_> = scenarios
            .iter()
            .map(|&sc| s.spawn(move || world.scenario(sc, None, progress)))
            .collect();
        let sens: Vec<_> = levels
            .iter()
            .map(|&level| s.spawn(move || world.scenario(Scenario::BotLoadAware, Some(level), progress)))
            .collect();
        let join = |h: std::thread::ScopedJoinHandle<'_, _>| h.join().expect("a simulation thread panicked");
        let results: Vec<_> = jobs.into_iter().map(join).collect();
        let sensitivity: Vec<_> = sens.into_iter().map(join).collect();
        (results, sensitivity)
    });
    progress.finish();
    let no_bot_minutes = results[0].0.agent_minutes;
    let rows = levels
        .iter()
        .zip(sensitivity)
        .map(|(&level, (f, _))| SensitivityRow::new(level, &f, no_bot_minutes))
        .collect();
    Ok(report::build(&world.summary(), results, rows))
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
}

impl<'a> World<'a> {
    fn new(config: &'a SimConfig, inputs: &Inputs<'a>) -> Result<World<'a>, SimError> {
        let params = &config.params;
        let mut classes = match inputs.catalog {
            Some(catalog) => Classes::from_catalog(catalog, params),
            None => Classes::single(config.handling_override.unwrap_or(Spread { mean: params.handling.answer * 60.0, cv: params.handling.cv, exponential: false })),
        };
        if let Some(h) = config.handling_override {
            classes.handling.iter_mut().for_each(|c| *c = h);
        }
        let labels = label_indices(&classes, inputs.pool, inputs.catalog.is_none())?;
        let mix = mix_for(&classes, &labels, params)?;
        let (arrivals, rates, horizon_s) = match &config.schedule {
            Schedule::Day => {
                let rates = day_rates(params, true);
                (poisson(&rates, &mix, params.seed), rates, 86_400.0)
            }
            Schedule::Trace(arrivals) => (arrivals.clone(), trace_rates(arrivals), 86_400.0),
            Schedule::Constant { per_hour, hours, .. } => {
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
            (Schedule::Day, None) => size_staffing(&day_rates(params, false), &classes, &labels, &mix_weights(&classes, &labels, params), params),
            (Schedule::Trace(_), None) => size_staffing(&rates, &classes, &labels, &mix_weights(&classes, &labels, params), params),
        };
        let window = match config.schedule {
            Schedule::Constant { .. } => None,
            _ => Some(params.peak_window_s()).filter(|(a, b)| b > a),
        };
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
        })
    }

    fn setup(&self) -> Setup<'_> {
        let desk = &self.config.params.desk;
        Setup {
            arrivals: &self.arrivals,
            horizon_s: self.horizon_s,
            staffing: &self.staffing,
            capacity: desk.agent_capacity,
            handling: &self.classes.handling,
            patience_s: (desk.patience_minutes > 0.0).then_some(desk.patience_minutes * 60.0),
            default_handling_minutes: 10.0,
            seed: self.config.params.seed,
        }
    }

    fn router(&self, scenario: Scenario, faq: Option<f64>) -> Box<dyn Router + Send + '_> {
        match (scenario, self.catalog, self.classified) {
            (Scenario::NoBot, _, _) | (_, None, _) | (_, _, None) => Box::new(NoBot { labels: &self.labels, classes: &self.classes }),
            (_, Some(catalog), Some(classified)) => {
                let p = &self.config.params;
                Box::new(PolicyRouter {
                    catalog,
                    policy: PolicyConfig { peak_wait_minutes: p.desk.peak_wait_minutes, ..Default::default() },
                    classes: &self.classes,
                    labels: &self.labels,
                    classified,
                    delays: Delays {
                        feedback_s: p.customer.feedback_minutes * 60.0,
                        question_s: p.customer.question_minutes * 60.0,
                        clarify_s: p.customer.clarify_minutes * 60.0,
                    },
                    load_aware: scenario == Scenario::BotLoadAware,
                    faq_acceptance: faq,
                    cache: HashMap::new(),
                })
            }
        }
    }

    /// One scenario at the schedule's staffing, then the staffing search.
    fn scenario(&self, scenario: Scenario, faq: Option<f64>, progress: &Progress) -> (ScenarioFigures, Option<report::Series>) {
        let mut router = self.router(scenario, faq);
        let setup = self.setup();
        let desk = &self.config.params.desk;
        let sla_s = desk.sla_minutes * 60.0;
        let run = simulate(&setup, router.as_mut());
        let mut f = figures(&run, desk.agent_capacity, sla_s, self.window);
        if let Some(window) = self.window {
            f.agents_needed = self.agents_needed(window, router.as_mut());
        }
        progress.inc(1);
        let series = report::Series::of(&run, self.rates.len());
        (f, Some(series))
    }

    /// Bisection over flat staffing in the window, on the same arrivals.
    fn agents_needed(&self, window: (f64, f64), router: &mut dyn Router) -> Option<u32> {
        let desk = &self.config.params.desk;
        let k0 = (window.0 / INTERVAL_S) as usize;
        let k1 = ((window.1 / INTERVAL_S).ceil() as usize).min(self.staffing.len());
        if k0 >= k1 {
            return None;
        }
        let mut pass = |n: u32| {
            let mut staffing = self.staffing.clone();
            staffing[k0..k1].fill(n);
            let setup = Setup { staffing: &staffing, ..self.setup() };
            let run = simulate(&setup, router);
            within_sla(&run, desk.sla_minutes * 60.0, window.0, window.1).is_none_or(|s| s >= desk.sla_target)
        };
        let (mut lo, mut hi) = (0u32, self.staffing[k0..k1].iter().copied().max().unwrap_or(1).max(1));
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
            let right = c.iter().zip(&self.labels).filter(|(c, l)| self.classes.index(&c.prediction.intent) == Some(**l)).count();
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
        }
    }
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
    classes.names.iter().map(|n| mix.get(n).copied().unwrap_or(0.0)).collect()
}

fn mix_for(classes: &Classes, labels: &[u16], params: &Params) -> Result<Mix, SimError> {
    if let Some(unknown) = params.pool.intent_mix.keys().find(|k| classes.index(k).is_none()) {
        return Err(SimError::Config { key: format!("pool.intent_mix.{unknown}"), reason: "is not an intent of the catalog".into() });
    }
    if params.pool.intent_mix.is_empty() {
        return Mix::new(labels, None);
    }
    Mix::new(labels, Some(&mix_weights(classes, labels, params)))
}

/// Agents per interval that hold the target without the bot (Erlang C on
/// slots, the mix's mean handling time).
fn size_staffing(rates: &[f64], classes: &Classes, labels: &[u16], weights: &[f64], params: &Params) -> Vec<u32> {
    let present: Vec<bool> = (0..classes.names.len()).map(|c| labels.iter().any(|&l| usize::from(l) == c)).collect();
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
            let slots = servers_for_service_level(r / 3600.0, 1.0 / mean_s, desk.sla_minutes * 60.0, desk.sla_target);
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
