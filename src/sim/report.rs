//! The report of a run: the JSON shape (key names as issue #10 gives them)
//! and, in [`html`], the page a support lead reads.

pub mod html;

pub use super::stats::ScenarioFigures;

use serde::Serialize;

use super::core::Run;
use super::incident::clock;
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

/// The scenarios (the bot ones absent with `--no-bot`; `bot_notice` only with an incident).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenarios {
    pub no_bot: ScenarioFigures,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<ScenarioFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_load_aware: Option<ScenarioFigures>,
    /// The shipped bot (load-aware) with the incident's notice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_notice: Option<ScenarioFigures>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_notice: Option<Series>,
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

/// The notice scenario rerun with the notice accepted at one rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeRow {
    pub notice_acceptance: f64,
    pub notice_resolved: usize,
    pub tickets: usize,
    pub agent_minutes_asked: f64,
    /// 1 − agent-minutes asked / the same without the bot.
    pub asked_workload_reduction: f64,
    pub wait_p90_s: f64,
    pub peak_within_sla: Option<f64>,
    pub agents_needed: Option<u32>,
}

impl NoticeRow {
    pub fn new(level: f64, f: &ScenarioFigures, no_bot: &ScenarioFigures) -> NoticeRow {
        NoticeRow {
            notice_acceptance: level,
            notice_resolved: f.incident.as_ref().map_or(0, |i| i.notice_resolved),
            tickets: f.tickets,
            agent_minutes_asked: asked(f),
            asked_workload_reduction: reduction(asked(f), asked(no_bot)),
            wait_p90_s: f.wait_p90_s,
            peak_within_sla: f.peak_within_sla,
            agents_needed: f.agents_needed,
        }
    }
}

fn asked(f: &ScenarioFigures) -> f64 {
    f.incident
        .as_ref()
        .map_or(f.agent_minutes, |i| i.agent_minutes_asked)
}

/// A figure for the shipped bot without and with the incident's notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WithoutWith<T> {
    pub without_notice: T,
    pub with_notice: T,
}

/// The incident and what its notice changed (bot_load_aware vs bot_notice).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentReport {
    pub intent: String,
    pub coin: String,
    /// Share of the arrivals from `starts` to `ends` about the incident.
    pub share: f64,
    /// Times of day, HH:MM.
    pub starts: String,
    pub ends: String,
    pub notice_posted: String,
    pub notice_acceptance: f64,
    pub notice_read_minutes: f64,
    /// Conversations about the incident, and of those the ones the model
    /// reads as its intent (only they can match the notice).
    pub conversations: usize,
    pub read_as_intent: usize,
    pub notice_shown: usize,
    pub notice_resolved: usize,
    /// tickets(bot_load_aware) − tickets(bot_notice).
    pub tickets_avoided: i64,
    pub agents_needed_at_peak: WithoutWith<Option<u32>>,
    /// 1 − agent-minutes asked for / the same without the bot.
    pub asked_workload_reduction: WithoutWith<f64>,
    /// 1 − served agent-minutes / the same without the bot (the day's headline measure).
    pub agent_workload_reduction: WithoutWith<f64>,
    pub wait_p90_s: WithoutWith<f64>,
    pub peak_within_sla: WithoutWith<Option<f64>>,
    pub abandoned: WithoutWith<usize>,
    pub sensitivity: Vec<NoticeRow>,
}

impl IncidentReport {
    fn new(
        s: &Summary<'_>,
        no_bot: &ScenarioFigures,
        without: &ScenarioFigures,
        with: &ScenarioFigures,
        sensitivity: Vec<NoticeRow>,
    ) -> Option<IncidentReport> {
        let p = &s.config.params;
        let (from, to, notice) = p.incident_window_s()?;
        let counts = s.incident?;
        let both = |f: fn(&ScenarioFigures) -> f64| WithoutWith {
            without_notice: f(without),
            with_notice: f(with),
        };
        Some(IncidentReport {
            intent: p.incident.intent.clone(),
            coin: p.incident.coin.clone(),
            share: p.incident.share,
            starts: clock(from),
            ends: clock(to),
            notice_posted: clock(notice),
            notice_acceptance: p.incident.notice_acceptance,
            notice_read_minutes: p.incident.notice_read_minutes,
            conversations: counts.conversations,
            read_as_intent: counts.read_as_intent,
            notice_shown: with.incident.as_ref().map_or(0, |i| i.notice_shown),
            notice_resolved: with.incident.as_ref().map_or(0, |i| i.notice_resolved),
            tickets_avoided: without.tickets as i64 - with.tickets as i64,
            agents_needed_at_peak: WithoutWith {
                without_notice: without.agents_needed,
                with_notice: with.agents_needed,
            },
            asked_workload_reduction: WithoutWith {
                without_notice: reduction(asked(without), asked(no_bot)),
                with_notice: reduction(asked(with), asked(no_bot)),
            },
            agent_workload_reduction: WithoutWith {
                without_notice: reduction(without.agent_minutes, no_bot.agent_minutes),
                with_notice: reduction(with.agent_minutes, no_bot.agent_minutes),
            },
            wait_p90_s: both(|f| f.wait_p90_s),
            peak_within_sla: WithoutWith {
                without_notice: without.peak_within_sla,
                with_notice: with.peak_within_sla,
            },
            abandoned: WithoutWith {
                without_notice: without.abandoned,
                with_notice: with.abandoned,
            },
            sensitivity,
        })
    }
}

fn reduction(minutes: f64, no_bot_minutes: f64) -> f64 {
    if no_bot_minutes > 0.0 {
        1.0 - minutes / no_bot_minutes
    } else {
        0.0
    }
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
    /// With an incident configured and the bot run: what the notice changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentReport>,
    pub pool: PoolSummary,
    /// Absent for runs longer than two days.
    pub timeline: Option<Timeline>,
    pub parameters: Params,
    /// Dotted parameter key → default, config, data or flag.
    pub parameter_sources: Sources,
    pub assumptions: Vec<&'static str>,
}

/// What the incident scenario assumes besides [`ASSUMPTIONS`]; printed with it.
pub const INCIDENT_ASSUMPTIONS: [&str; 4] = [
    "Incident: from its start to the end of the peak, each arrival is about the incident with probability incident.share (its first message redrawn from the pool's messages of incident.intent); the peak's volume is unchanged.",
    "The notice matches an incident conversation when the model reads its first message as incident.intent; the intent's usual arrivals are about other coins and never see it (the notice is narrowed to incident.coin). Conversations arriving before the notice is posted route as without it.",
    "A matched customer accepts the notice (\"did this answer your question?\" yes) with probability incident.notice_acceptance, an assumption the sensitivity rows vary; otherwise the conversation continues as the policy routes it without a notice (details, self-help at peak, ticket), notice_read_minutes later.",
    "Workload \"asked for\" counts the handling time of every ticket opened, served or abandoned: it does not fall when customers give up, so it compares with and without the notice fairly at any staffing.",
];

/// Assembles the report; `results` are no_bot, then bot, bot_load_aware and bot_notice if run.
pub fn build(
    s: &Summary<'_>,
    results: Vec<(ScenarioFigures, Option<Series>)>,
    sensitivity: Vec<SensitivityRow>,
    notice_rows: Vec<NoticeRow>,
) -> Report {
    let p = &s.config.params;
    let mut it = results.into_iter();
    let (no_bot, no_bot_series) = it
        .next()
        .unwrap_or_else(|| unreachable!("no_bot always runs"));
    let (bot, bot_series) = it.next().map_or((None, None), |(f, s)| (Some(f), s));
    let (aware, aware_series) = it.next().map_or((None, None), |(f, s)| (Some(f), s));
    let (notice, notice_series) = it.next().map_or((None, None), |(f, s)| (Some(f), s));
    let incident = match (&aware, &notice) {
        (Some(without), Some(with)) => IncidentReport::new(s, &no_bot, without, with, notice_rows),
        _ => None,
    };
    let mut assumptions = ASSUMPTIONS.to_vec();
    if incident.is_some() {
        assumptions.extend(INCIDENT_ASSUMPTIONS);
    }
    let agent_workload_reduction = aware
        .as_ref()
        .map(|a| reduction(a.agent_minutes, no_bot.agent_minutes));
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
        bot_notice: notice_series,
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
        scenarios: Scenarios {
            no_bot,
            bot,
            bot_load_aware: aware,
            bot_notice: notice,
        },
        agent_workload_reduction,
        agents_needed_at_peak,
        sensitivity,
        incident,
        pool: PoolSummary {
            source: s.pool_source.to_string(),
            messages: s.pool_messages,
            model_top1: s.pool_top1,
        },
        timeline,
        parameters: p.clone(),
        parameter_sources: s.config.sources.clone(),
        assumptions,
    }
}
