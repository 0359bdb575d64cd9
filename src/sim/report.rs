//! The report of a run: the JSON shape (key names as issue #10 gives them)
//! and, in [`html`], the page a support lead reads.

pub mod html;

pub use super::stats::ScenarioFigures;

use serde::Serialize;

use super::core::Run;
use super::params::{Params, Sources};
use super::run::{Schedule, Summary};
use super::stats::wait_by_interval;

/// What the simulation assumes rather than measures; printed in every report.
pub const ASSUMPTIONS: [&str; 8] = [
    "First messages are drawn from a labelled pool; the real model classifies each distinct text once and the real policy::decide routes it with the simulated queue's estimated wait (bot: wait 0, load-aware routing off).",
    "A right FAQ answer resolves the conversation with the configured acceptance probability; otherwise the customer asks for a person feedback_minutes later (the policy's not-helped hand-over, at the answered intent's priority).",
    "A wrong-intent answer (or small talk / refusal for a message of another intent) always comes back as a recontact and becomes a ticket.",
    "Collect intents reach the queue after their remaining detail questions (question_minutes each); the follow-up turns are not re-classified.",
    "After \"did you mean...?\" the customer clicks their real intent when it is offered (the policy decides again on the click); otherwise the second miss hands over.",
    "Handling time depends on the customer's real intent only, the same with or without the bot (details collected by the bot are not assumed to shorten it); each of an agent's concurrent chats takes its full handling time.",
    "Agents work in slots (agents x concurrent chats); a free slot takes the first waiting ticket in the real queue order (priority, then waiting time); staffing changes every 15 minutes and never interrupts a chat.",
    "Waiting customers abandon after an exponential patience (Erlang A); agent-minutes are handling minutes divided by concurrent chats per agent.",
];

/// One scenario's queue over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub queue_mean: Vec<f64>,
    pub queue_max: Vec<u32>,
    /// Mean busy chat slots.
    pub busy_slots_mean: Vec<f64>,
    /// Mean time in queue of the tickets opened in the interval, seconds.
    pub wait_mean_s: Vec<f64>,
}

impl Series {
    pub fn of(run: &Run, intervals: usize) -> Series {
        let round = |v: &[f64]| v.iter().map(|x| (x * 1000.0).round() / 1000.0).collect();
        Series {
            queue_mean: round(&run.series.queue_mean),
            queue_max: run.series.queue_max.clone(),
            busy_slots_mean: round(&run.series.busy_mean),
            wait_mean_s: round(&wait_by_interval(run, intervals)),
        }
    }
}

/// The three scenarios (the bot ones absent with `--no-bot`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenarios {
    pub no_bot: ScenarioFigures,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<ScenarioFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_load_aware: Option<ScenarioFigures>,
}

/// Per-interval data for the plots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub interval_minutes: u32,
    pub arrivals: Vec<u32>,
    pub agents_scheduled: Vec<u32>,
    pub no_bot: Series,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<Series>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_load_aware: Option<Series>,
}

/// The shipped product rerun with every FAQ answer accepted at one rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitivityRow {
    pub faq_acceptance: f64,
    pub resolved_by_bot: usize,
    pub tickets: usize,
    pub agent_minutes: f64,
    pub agent_workload_reduction: f64,
    pub wait_p90_s: f64,
    pub within_sla: f64,
    pub agents_needed: Option<u32>,
}

impl SensitivityRow {
    pub fn new(level: f64, f: &ScenarioFigures, no_bot_minutes: f64) -> SensitivityRow {
        SensitivityRow {
            faq_acceptance: level,
            resolved_by_bot: f.resolved_by_bot,
            tickets: f.tickets,
            agent_minutes: f.agent_minutes,
            agent_workload_reduction: reduction(f.agent_minutes, no_bot_minutes),
            wait_p90_s: f.wait_p90_s,
            within_sla: f.within_sla,
            agents_needed: f.agents_needed,
        }
    }
}

fn reduction(minutes: f64, no_bot_minutes: f64) -> f64 {
    if no_bot_minutes > 0.0 { 1.0 - minutes / no_bot_minutes } else { 0.0 }
}

/// The peak as configured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peak {
    pub multiplier: f64,
    pub start: String,
    pub hours: f64,
}

/// Agents needed over the peak window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentsNeeded {
    pub no_bot: Option<u32>,
    pub bot: Option<u32>,
    pub bot_load_aware: Option<u32>,
}

/// The pool and how well the model reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolSummary {
    pub source: String,
    pub messages: usize,
    /// Share of pool messages the model gives their labelled intent.
    pub model_top1: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `day`, `trace` or `constant`.
    pub mode: &'static str,
    pub seed: u64,
    pub hours: f64,
    pub sla_minutes: f64,
    pub sla_target: f64,
    pub peak: Option<Peak>,
    pub scenarios: Scenarios,
    /// 1 − agent-minutes(bot_load_aware) / agent-minutes(no_bot).
    pub agent_workload_reduction: Option<f64>,
    pub agents_needed_at_peak: Option<AgentsNeeded>,
    pub sensitivity: Vec<SensitivityRow>,
    pub pool: PoolSummary,
    /// Absent for runs longer than two days.
    pub timeline: Option<Timeline>,
    pub parameters: Params,
    /// Dotted parameter key → default, config, data or flag.
    pub parameter_sources: Sources,
    pub assumptions: Vec<&'static str>,
}

/// Assembles the report; `results` are no_bot, then bot and bot_load_aware if run.
pub fn build(s: &Summary<'_>, results: Vec<(ScenarioFigures, Option<Series>)>, sensitivity: Vec<SensitivityRow>) -> Report {
    let p = &s.config.params;
    let mut it = results.into_iter();
    let (no_bot, no_bot_series) = it.next().unwrap_or_else(|| unreachable!("no_bot always runs"));
    let (bot, bot_series) = it.next().map_or((None, None), |(f, s)| (Some(f), s));
    let (aware, aware_series) = it.next().map_or((None, None), |(f, s)| (Some(f), s));
    let agent_workload_reduction = aware.as_ref().map(|a| reduction(a.agent_minutes, no_bot.agent_minutes));
    let agents_needed_at_peak = s.window.map(|_| AgentsNeeded {
        no_bot: no_bot.agents_needed,
        bot: bot.as_ref().and_then(|b| b.agents_needed),
        bot_load_aware: aware.as_ref().and_then(|b| b.agents_needed),
    });
    let timeline = (s.horizon_s <= 48.0 * 3600.0).then(|| Timeline {
        interval_minutes: 15,
        arrivals: s.arrivals.clone(),
        agents_scheduled: s.staffing.to_vec(),
        no_bot: no_bot_series.unwrap_or_else(|| unreachable!("series are always built")),
        bot: bot_series,
        bot_load_aware: aware_series,
    });
    Report {
        mode: match s.config.schedule {
            Schedule::Day => "day",
            Schedule::Trace(_) => "trace",
            Schedule::Constant { .. } => "constant",
        },
        seed: p.seed,
        hours: s.horizon_s / 3600.0,
        sla_minutes: p.desk.sla_minutes,
        sla_target: p.desk.sla_target,
        peak: s.window.map(|_| Peak {
            multiplier: p.arrivals.peak_multiplier,
            start: p.arrivals.peak_start.clone(),
            hours: p.arrivals.peak_hours,
        }),
        scenarios: Scenarios { no_bot, bot, bot_load_aware: aware },
        agent_workload_reduction,
        agents_needed_at_peak,
        sensitivity,
        pool: PoolSummary {
            source: s.pool_source.to_string(),
            messages: s.pool_messages,
            model_top1: s.pool_top1,
        },
        timeline,
        parameters: p.clone(),
        parameter_sources: s.config.sources.clone(),
        assumptions: ASSUMPTIONS.to_vec(),
    }
}
