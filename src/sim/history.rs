//! Parameters measured from a running desk's store (read only): the arrival
//! profile and intent mix from conversations' first messages, handling
//! times per intent from resolved tickets, FAQ acceptance per intent from
//! the answers to "did this help?". The store has no record of customers
//! leaving the queue, so patience stays the default and the report says so.

use std::collections::BTreeMap;

use sqlx::Row;

use super::SimError;
use super::params::{Params, Sources};

/// Fewest observations before a measured value replaces a default.
pub const MIN_SAMPLES: usize = 5;

/// What the store holds, reduced to what the simulation reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Creation time (unix ms) and first customer message's intent ("-" unknown).
    pub conversations: Vec<(i64, String)>,
    /// Resolved tickets: intent and handling ms (assigned → resolved).
    pub handled: Vec<(String, i64)>,
    /// Answered FAQ intent and whether the next customer message said it helped.
    pub feedback: Vec<(String, bool)>,
}

fn db(e: sqlx::Error) -> SimError {
    SimError::Store(e.to_string())
}

/// Reads the history from a database URL (the store's own migrations must have run).
pub async fn read(url: &str) -> Result<History, SimError> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .map_err(db)?;
    let mut h = History::default();
    let rows = sqlx::query(
        "SELECT m.conversation_id AS c, m.meta_json AS meta, m.created_at_ms AS t FROM messages m
         WHERE m.sender = 'customer' ORDER BY m.conversation_id, m.seq",
    )
    .fetch_all(&pool)
    .await
    .map_err(db)?;
    let mut last: Option<(String, Option<String>)> = None;
    for row in &rows {
        let (c, meta, t): (String, String, i64) = (
            row.try_get("c").map_err(db)?,
            row.try_get("meta").map_err(db)?,
            row.try_get("t").map_err(db)?,
        );
        let meta: serde_json::Value = serde_json::from_str(&meta).unwrap_or_default();
        let intent = meta["intent"].as_str().unwrap_or("-").to_string();
        let decision = meta["decision"].as_str().unwrap_or("").to_string();
        match &last {
            Some((prev, answered)) if *prev == c => {
                if let Some(a) = answered {
                    // The reply to "did this help?": a yes is acknowledged as
                    // small talk, a no hands over.
                    match decision.as_str() {
                        "smalltalk" => h.feedback.push((a.clone(), true)),
                        "escalate" | "open_ticket" => h.feedback.push((a.clone(), false)),
                        _ => {}
                    }
                }
                last = Some((c, None));
            }
            _ => {
                h.conversations.push((t, intent.clone()));
                last = Some((c, (decision == "answer").then_some(intent)));
            }
        }
    }
    let rows = sqlx::query("SELECT intent, assigned_at_ms, closed_at_ms FROM tickets WHERE state = 'resolved' AND assigned_at_ms IS NOT NULL AND closed_at_ms IS NOT NULL ORDER BY number")
        .fetch_all(&pool)
        .await
        .map_err(db)?;
    for row in &rows {
        let (i, a, c): (String, i64, i64) = (
            row.try_get("intent").map_err(db)?,
            row.try_get("assigned_at_ms").map_err(db)?,
            row.try_get("closed_at_ms").map_err(db)?,
        );
        h.handled.push((i, (c - a).max(0)));
    }
    pool.close().await;
    Ok(h)
}

impl History {
    /// Replaces the defaults the history measures well enough; marks them `data`.
    pub fn apply(&self, params: &mut Params, sources: &mut Sources) {
        if self.conversations.len() >= MIN_SAMPLES {
            let days = {
                let (lo, hi) = self
                    .conversations
                    .iter()
                    .fold((i64::MAX, i64::MIN), |(lo, hi), (t, _)| {
                        (lo.min(*t), hi.max(*t))
                    });
                (((hi - lo) as f64 / 86_400_000.0).ceil()).max(1.0)
            };
            let mut profile = vec![0.0; 24];
            let mut mix: BTreeMap<String, f64> = BTreeMap::new();
            for (t, intent) in &self.conversations {
                profile[((t / 3_600_000) % 24) as usize] += 1.0;
                if intent != "-" {
                    *mix.entry(intent.clone()).or_default() += 1.0;
                }
            }
            params.arrivals.conversations_per_day = self.conversations.len() as f64 / days;
            params.arrivals.hourly_profile = profile;
            sources.insert("arrivals.conversations_per_day".into(), "data");
            sources.insert("arrivals.hourly_profile".into(), "data");
            if !mix.is_empty() {
                params.pool.intent_mix = mix;
                sources.insert("pool.intent_mix".into(), "data");
            }
        }
        let mut handled: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for (intent, ms) in &self.handled {
            handled
                .entry(intent)
                .or_default()
                .push(*ms as f64 / 60_000.0);
        }
        for (intent, v) in handled.into_iter().filter(|(_, v)| v.len() >= MIN_SAMPLES) {
            params
                .handling
                .intents
                .insert(intent.to_string(), v.iter().sum::<f64>() / v.len() as f64);
            sources.insert("handling.intents".into(), "data");
        }
        let mut feedback: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (intent, yes) in &self.feedback {
            let e = feedback.entry(intent).or_default();
            e.0 += 1;
            e.1 += usize::from(*yes);
        }
        for (intent, (n, yes)) in feedback.into_iter().filter(|(_, (n, _))| *n >= MIN_SAMPLES) {
            params
                .acceptance
                .intents
                .insert(intent.to_string(), yes as f64 / n as f64);
            sources.insert("acceptance.intents".into(), "data");
        }
        if sources.get("desk.patience_minutes") == Some(&"default") {
            sources.insert(
                "desk.patience_minutes".into(),
                "default (the store records no abandoned waits)",
            );
        }
    }
}
