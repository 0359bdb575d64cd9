//! The simulation's parameters: the documented defaults (`docs/simulate.toml`,
//! compiled in), a lead's TOML file merged over them, validation that names
//! the key at fault, and where each value came from.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SimError;

/// The defaults, with where each comes from in its comments.
pub const DEFAULTS_TOML: &str = include_str!("../../docs/simulate.toml");

/// Every parameter of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub seed: u64,
    pub arrivals: Arrivals,
    pub pool: Pool,
    pub desk: Desk,
    pub customer: Customer,
    pub acceptance: Acceptance,
    pub handling: Handling,
    pub sensitivity: Sensitivity,
    pub incident: Incident,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    pub conversations_per_day: f64,
    /// 24 relative weights, 00:00 to 23:00.
    pub hourly_profile: Vec<f64>,
    pub peak_multiplier: f64,
    /// `HH:MM`.
    pub peak_start: String,
    pub peak_hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub path: String,
    #[serde(default)]
    pub intent_mix: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desk {
    pub agent_capacity: u32,
    pub staffing: Vec<u32>,
    pub sla_minutes: f64,
    pub sla_target: f64,
    pub patience_minutes: f64,
    pub peak_wait_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub feedback_minutes: f64,
    pub question_minutes: f64,
    pub clarify_minutes: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    pub answer: f64,
    pub self_help: f64,
    #[serde(default)]
    pub intents: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handling {
    pub cv: f64,
    pub answer: f64,
    pub collect: f64,
    pub escalate: f64,
    pub smalltalk: f64,
    pub reject: f64,
    /// Mean minutes per intent.
    #[serde(default)]
    pub intents: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensitivity {
    pub acceptance: Vec<f64>,
    /// Notice acceptance rates the incident's notice scenario is rerun with.
    #[serde(default)]
    pub notice_acceptance: Vec<f64>,
}

/// An incident at the peak (off while `share` is 0): a share of the peak's
/// arrivals about one intent and coin, and a notice posted after a delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// Share of the arrivals from the incident's start to the peak's end that are about it.
    pub share: f64,
    pub intent: String,
    /// The coin the notice names (the report's wording; messages are not read for it).
    pub coin: String,
    /// Minutes into the peak window at which the incident starts.
    pub starts_after_minutes: f64,
    /// Minutes after the incident starts at which the notice is posted.
    pub notice_delay_minutes: f64,
    /// Probability that the notice answers a matching customer's question.
    pub notice_acceptance: f64,
    /// Minutes a customer spends on the notice before saying it did not help.
    pub notice_read_minutes: f64,
}

impl Incident {
    /// Whether the run has an incident.
    pub fn on(&self) -> bool {
        self.share > 0.0
    }
}

/// Where a parameter's value came from.
pub type Sources = BTreeMap<String, &'static str>;

/// `v` must be a finite number above 0.
fn positive(key: &str, v: f64) -> Result<(), SimError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(config_error(
            key,
            format!("must be a positive number, got {v}"),
        ))
    }
}

/// `v` must be a finite number, 0 or more.
fn non_negative(key: &str, v: f64) -> Result<(), SimError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(config_error(key, format!("must be 0 or more, got {v}")))
    }
}

/// `v` must be a share between 0 and 1.
fn share(key: &str, v: f64) -> Result<(), SimError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(config_error(
            key,
            format!("must be between 0 and 1, got {v}"),
        ))
    }
}

fn config_error(key: &str, reason: impl Into<String>) -> SimError {
    SimError::Config {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Deep-merges `over` into `base` (tables merge key by key, values replace),
/// recording each replaced leaf's dotted key in `sources` as `source`.
fn merge(
    base: &mut toml::Table,
    over: toml::Table,
    prefix: &str,
    sources: &mut Sources,
    source: &'static str,
) {
    for (key, value) in over {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o))
                if !path.ends_with("intent_mix") && !path.ends_with("intents") =>
            {
                merge(b, o, &path, sources, source)
            }
            (_, value) => {
                sources.insert(path, source);
                base.insert(key, value);
            }
        }
    }
}

/// Every leaf key of the defaults, marked `default`.
fn default_sources(table: &toml::Table, prefix: &str, sources: &mut Sources) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(t) if !t.is_empty() => default_sources(t, &path, sources),
            _ => {
                sources.insert(path, "default");
            }
        }
    }
}

impl Params {
    /// The defaults, optionally with a TOML file merged over them.
    pub fn load(config: Option<&Path>) -> Result<(Params, Sources), SimError> {
        let mut table: toml::Table = DEFAULTS_TOML
            .parse()
            .map_err(|e| config_error("docs/simulate.toml", format!("{e}")))?;
        let mut sources = Sources::new();
        default_sources(&table, "", &mut sources);
        if let Some(path) = config {
            let text = std::fs::read_to_string(path).map_err(|e| {
                config_error(&path.display().to_string(), format!("cannot read: {e}"))
            })?;
            let over: toml::Table = text
                .parse()
                .map_err(|e| config_error(&path.display().to_string(), format!("{e}")))?;
            merge(&mut table, over, "", &mut sources, "config");
        }
        let params: Params = toml::Value::Table(table).try_into().map_err(|e| {
            config_error(
                &config.map_or("defaults".into(), |p| p.display().to_string()),
                format!("{e}"),
            )
        })?;
        params.check()?;
        Ok((params, sources))
    }

    /// Refuses values the simulation cannot run on, naming the key.
    pub fn check(&self) -> Result<(), SimError> {
        self.check_arrivals()?;
        self.check_desk()?;
        self.check_rates()?;
        self.check_incident()
    }

    /// The arrival curve: a daily volume, 24 hourly weights, the peak window.
    fn check_arrivals(&self) -> Result<(), SimError> {
        let a = &self.arrivals;
        non_negative("arrivals.conversations_per_day", a.conversations_per_day)?;
        if a.hourly_profile.len() != 24 {
            return Err(config_error(
                "arrivals.hourly_profile",
                format!(
                    "needs 24 values (00:00 to 23:00), got {}",
                    a.hourly_profile.len()
                ),
            ));
        }
        for v in &a.hourly_profile {
            non_negative("arrivals.hourly_profile", *v)?;
        }
        if a.hourly_profile.iter().sum::<f64>() <= 0.0 {
            return Err(config_error("arrivals.hourly_profile", "is all zero"));
        }
        positive("arrivals.peak_multiplier", a.peak_multiplier)?;
        non_negative("arrivals.peak_hours", a.peak_hours)?;
        parse_clock(&a.peak_start).map_err(|r| config_error("arrivals.peak_start", r))?;
        for (intent, w) in &self.pool.intent_mix {
            non_negative(&format!("pool.intent_mix.{intent}"), *w)?;
        }
        Ok(())
    }

    /// The desk: capacity per agent, the staffing plan, the service level.
    fn check_desk(&self) -> Result<(), SimError> {
        let d = &self.desk;
        if d.agent_capacity == 0 {
            return Err(config_error("desk.agent_capacity", "must be at least 1"));
        }
        if !matches!(d.staffing.len(), 0 | 24 | 96) {
            return Err(config_error(
                "desk.staffing",
                format!(
                    "needs 96 values (15 minutes each), 24 (hourly) or none, got {}",
                    d.staffing.len()
                ),
            ));
        }
        positive("desk.sla_minutes", d.sla_minutes)?;
        share("desk.sla_target", d.sla_target)?;
        non_negative("desk.patience_minutes", d.patience_minutes)?;
        Ok(())
    }

    /// Customer timings, acceptance shares, handling times and the sensitivity's values.
    fn check_rates(&self) -> Result<(), SimError> {
        let c = &self.customer;
        non_negative("customer.feedback_minutes", c.feedback_minutes)?;
        non_negative("customer.question_minutes", c.question_minutes)?;
        non_negative("customer.clarify_minutes", c.clarify_minutes)?;
        share("acceptance.answer", self.acceptance.answer)?;
        share("acceptance.self_help", self.acceptance.self_help)?;
        for (intent, v) in &self.acceptance.intents {
            share(&format!("acceptance.intents.{intent}"), *v)?;
        }
        let h = &self.handling;
        non_negative("handling.cv", h.cv)?;
        for (key, v) in [
            ("handling.answer", h.answer),
            ("handling.collect", h.collect),
            ("handling.escalate", h.escalate),
            ("handling.smalltalk", h.smalltalk),
            ("handling.reject", h.reject),
        ] {
            positive(key, v)?;
        }
        for (intent, v) in &h.intents {
            positive(&format!("handling.intents.{intent}"), *v)?;
        }
        for v in &self.sensitivity.acceptance {
            share("sensitivity.acceptance", *v)?;
        }
        for v in &self.sensitivity.notice_acceptance {
            share("sensitivity.notice_acceptance", *v)?;
        }
        Ok(())
    }

    /// The incident's keys (only checked against the peak when it is on).
    fn check_incident(&self) -> Result<(), SimError> {
        let i = &self.incident;
        for (key, v) in [
            ("incident.share", i.share),
            ("incident.notice_acceptance", i.notice_acceptance),
        ] {
            share(key, v)?;
        }
        for (key, v) in [
            ("incident.starts_after_minutes", i.starts_after_minutes),
            ("incident.notice_delay_minutes", i.notice_delay_minutes),
            ("incident.notice_read_minutes", i.notice_read_minutes),
        ] {
            non_negative(key, v)?;
        }
        if !i.on() {
            return Ok(());
        }
        if i.intent.trim().is_empty() {
            return Err(config_error(
                "incident.intent",
                "is empty: name the intent the incident is about",
            ));
        }
        if crate::policy::SECURITY_INTENTS.contains(&i.intent.as_str()) {
            return Err(config_error(
                "incident.intent",
                format!(
                    "{:?} is a security intent: a notice never holds it back, so there is nothing to simulate",
                    i.intent
                ),
            ));
        }
        let peak_minutes = self.arrivals.peak_hours * 60.0;
        if i.starts_after_minutes >= peak_minutes {
            return Err(config_error(
                "incident.starts_after_minutes",
                format!(
                    "{} is not inside the peak window ({} from {}, {peak_minutes} minutes): the incident is a share of the peak's arrivals",
                    i.starts_after_minutes, self.arrivals.peak_hours, self.arrivals.peak_start
                ),
            ));
        }
        Ok(())
    }

    /// Agents per 15-minute interval as configured (24 hourly values spread
    /// over their quarters), or None when it is to be sized.
    pub fn staffing_per_interval(&self) -> Option<Vec<u32>> {
        match self.desk.staffing.len() {
            96 => Some(self.desk.staffing.clone()),
            24 => Some(self.desk.staffing.iter().flat_map(|&a| [a; 4]).collect()),
            _ => None,
        }
    }

    /// The incident's window (its start to the peak's end) and when the
    /// notice is posted, seconds from midnight; None while it is off.
    pub fn incident_window_s(&self) -> Option<(f64, f64, f64)> {
        let i = &self.incident;
        let (peak_start, peak_end) = self.peak_window_s();
        let start = peak_start + i.starts_after_minutes * 60.0;
        (i.on() && start < peak_end).then_some((
            start,
            peak_end,
            start + i.notice_delay_minutes * 60.0,
        ))
    }

    /// The peak window in seconds from midnight.
    pub fn peak_window_s(&self) -> (f64, f64) {
        let start = parse_clock(&self.arrivals.peak_start).unwrap_or(0.0);
        (start, start + self.arrivals.peak_hours * 3600.0)
    }
}

/// `HH:MM` → seconds from midnight.
pub fn parse_clock(text: &str) -> Result<f64, String> {
    let bad = || format!("{text:?} is not a time of day HH:MM");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (
        h.trim().parse().map_err(|_| bad())?,
        m.trim().parse().map_err(|_| bad())?,
    );
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(f64::from(h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_validate_and_are_all_marked_default() {
        let (p, sources) = Params::load(None).unwrap();
        assert_eq!(p.desk.agent_capacity, 3);
        assert_eq!(p.arrivals.hourly_profile.len(), 24);
        assert_eq!(sources["desk.sla_minutes"], "default");
        assert!(sources.values().all(|s| *s == "default"));
    }

    #[test]
    fn a_config_file_overrides_keys_and_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.toml");
        std::fs::write(
            &path,
            "seed = 7\n[desk]\nsla_minutes = 2.0\n[acceptance.intents]\ntrading_fees = 0.9\n",
        )
        .unwrap();
        let (p, sources) = Params::load(Some(&path)).unwrap();
        assert_eq!(
            (p.seed, p.desk.sla_minutes, p.desk.agent_capacity),
            (7, 2.0, 3)
        );
        assert_eq!(p.acceptance.intents["trading_fees"], 0.9);
        assert_eq!(sources["desk.sla_minutes"], "config");
        assert_eq!(sources["acceptance.intents"], "config");
        assert_eq!(sources["desk.agent_capacity"], "default");
    }

    #[test]
    fn bad_values_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        for (text, key) in [
            ("[desk]\nsla_target = 1.5\n", "desk.sla_target"),
            (
                "[arrivals]\nhourly_profile = [1.0]\n",
                "arrivals.hourly_profile",
            ),
            (
                "[arrivals]\npeak_start = \"25:00\"\n",
                "arrivals.peak_start",
            ),
            ("[desk]\nagents = 3\n", "unknown field"),
        ] {
            let path = dir.path().join("bad.toml");
            std::fs::write(&path, text).unwrap();
            let err = Params::load(Some(&path)).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        assert_eq!(parse_clock("09:30"), Ok(34_200.0));
    }
}
