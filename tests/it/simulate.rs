//! `intentdesk simulate`: the binary in its constant-rate, no-bot mode agrees
//! with Erlang C and Erlang A over long runs; the same seed gives the same
//! report byte for byte; parameters are read from a desk's store; an
//! incident's notice (issue #13), on a pool the real model classified, only
//! ever takes work off and changes nothing when it comes too late or is
//! never taken.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use intentdesk::data::Dataset;
use intentdesk::model::{EncoderOptions, IntentModel};
use intentdesk::sim::erlang::{erlang_a, erlang_c, erlang_c_mean_wait};
use intentdesk::sim::routing::Classified;
use intentdesk::sim::{Inputs, Params, Pool, Report, Schedule, SimConfig, history};
use intentdesk::store::{Sender, Store};
use serde_json::Value;

use super::harness::{catalog, root};

/// Runs the binary in the closed-form setting and returns the report.
fn run(dir: &Path, seed: u64, patience: &str, hours: u32) -> (Value, String) {
    let report = dir.join(format!("r-{seed}-{patience}.json"));
    let out = Command::new(env!("CARGO_BIN_EXE_intentdesk"))
        .args([
            "simulate",
            "--no-bot",
            "--arrivals-per-hour",
            "40",
            "--agents",
            "5",
            "--agent-capacity",
            "1",
        ])
        .args([
            "--handling-minutes",
            "6",
            "--handling-cv",
            "1",
            "--patience-minutes",
            patience,
        ])
        .args([
            "--hours",
            &hours.to_string(),
            "--seed",
            &seed.to_string(),
            "--report",
        ])
        .arg(&report)
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&report).unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

fn mean_of(reports: &[Value], key: &str) -> f64 {
    reports
        .iter()
        .map(|r| r["scenarios"]["no_bot"][key].as_f64().unwrap())
        .sum::<f64>()
        / reports.len() as f64
}

/// λ = 40/h, 5 agents, 6 min each: 80 % utilisation. Four seeds of 2000 hours
/// (about 320,000 tickets): the seed-to-seed spread of the mean wait is about
/// 5 % per run, 2.5 % for the average, so 8 % is over three standard deviations.
#[test]
fn no_bot_agrees_with_erlang_c_and_erlang_a() {
    let dir = tempfile::tempdir().unwrap();
    let (lambda, mu) = (40.0 / 60.0, 1.0 / 6.0); // per minute
    let c: Vec<Value> = (1..=4)
        .map(|s| run(dir.path(), s, "none", 2000).0)
        .collect();
    let want_wait = erlang_c_mean_wait(5, lambda, mu).unwrap() * 60.0;
    let want_p = erlang_c(5, 4.0).unwrap();
    let (wait, p) = (mean_of(&c, "wait_mean_s"), mean_of(&c, "waited_share"));
    assert!(
        (wait / want_wait - 1.0).abs() < 0.08,
        "Erlang C mean wait {want_wait:.1}s, simulated {wait:.1}s"
    );
    assert!(
        (p - want_p).abs() < 0.02,
        "Erlang C P(wait) {want_p:.4}, simulated {p:.4}"
    );
    assert_eq!(mean_of(&c, "abandoned_share"), 0.0);

    // Mean patience 10 minutes.
    let a: Vec<Value> = (1..=4).map(|s| run(dir.path(), s, "10", 2000).0).collect();
    let want = erlang_a(5, lambda, mu, 0.1);
    let (wait, ab) = (mean_of(&a, "wait_mean_s"), mean_of(&a, "abandoned_share"));
    assert!(
        (wait / (want.mean_wait * 60.0) - 1.0).abs() < 0.08,
        "Erlang A mean wait {:.1}s, simulated {wait:.1}s",
        want.mean_wait * 60.0
    );
    assert!(
        (ab / want.abandoned_share - 1.0).abs() < 0.08,
        "Erlang A abandoned {:.4}, simulated {ab:.4}",
        want.abandoned_share
    );
    assert!(ab > 0.02, "abandonment should matter at this load: {ab}");
}

#[test]
fn the_same_seed_gives_the_same_report_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (_, first) = run(dir.path(), 9, "10", 48);
    let html_first = std::fs::read_to_string(dir.path().join("r-9-10.html")).unwrap();
    let (_, second) = run(dir.path(), 9, "10", 48);
    let html_second = std::fs::read_to_string(dir.path().join("r-9-10.html")).unwrap();
    assert_eq!(first, second);
    assert_eq!(html_first, html_second);
    assert!(html_first.contains("<svg"), "the page has its plots");
    let (_, other) = run(dir.path(), 10, "10", 48);
    assert_ne!(first, other, "another seed, another day");
}

/// A small desk built through the store API: the simulation reads its
/// arrival profile, intent mix, handling times and "did this help?" answers.
#[tokio::test]
async fn parameters_are_read_from_a_desks_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(dir.path()).await.unwrap();
    store.upsert_agent("a1", "Mina", 3).await.unwrap();
    let hour = 3_600_000i64;
    let day = 1_796_256_000_000i64 - 1_796_256_000_000 % (24 * hour); // a midnight UTC
    for i in 0..12i64 {
        // Fees questions at 10:00 with "did this help?" answers (9 yes, 3 no).
        let c = store
            .create_conversation(None, day + 10 * hour + i)
            .await
            .unwrap();
        let meta = r#"{"intent":"trading_fees","decision":"answer"}"#;
        store
            .append_message(&c.id, Sender::Customer, "fees?", meta, day + 10 * hour + i)
            .await
            .unwrap();
        let reply = if i < 9 {
            r#"{"intent":"thanks_goodbye","decision":"smalltalk"}"#
        } else {
            r#"{"intent":"trading_fees","decision":"escalate"}"#
        };
        store
            .append_message(&c.id, Sender::Customer, "x", reply, day + 10 * hour + i + 1)
            .await
            .unwrap();
    }
    for i in 0..6i64 {
        // Deposit cases at 14:00, each resolved after 20 minutes of handling.
        let t = day + 14 * hour + i;
        let c = store.create_conversation(None, t).await.unwrap();
        let meta = r#"{"intent":"deposit_missing","decision":"collect"}"#;
        store
            .append_message(&c.id, Sender::Customer, "deposit missing", meta, t)
            .await
            .unwrap();
        let ticket = store
            .open_ticket(
                intentdesk::store::NewTicket {
                    conversation_id: c.id.clone(),
                    intent: "deposit_missing".into(),
                    confidence: 0.9,
                    language: "en".into(),
                    priority: intentdesk::catalog::Priority::High,
                    details: Default::default(),
                    transcript: Vec::new(),
                },
                t,
            )
            .await
            .unwrap();
        store
            .claim_ticket(&ticket.id, "a1", t + 1000)
            .await
            .unwrap();
        store
            .resolve_ticket(&ticket.id, "a1", t + 1000 + 20 * 60_000)
            .await
            .unwrap();
    }
    store.close().await;
    let url = format!("sqlite://{}", dir.path().join("intentdesk.db").display());
    let h = history::read(&url).await.unwrap();
    assert_eq!(h.conversations.len(), 18);
    let (mut params, mut sources) = intentdesk::sim::Params::load(None).unwrap();
    h.apply(&mut params, &mut sources);
    assert_eq!(params.arrivals.conversations_per_day, 18.0);
    assert_eq!(params.arrivals.hourly_profile[10], 12.0);
    assert_eq!(params.arrivals.hourly_profile[14], 6.0);
    assert_eq!(params.pool.intent_mix["trading_fees"], 12.0);
    assert!((params.handling.intents["deposit_missing"] - 20.0).abs() < 1e-9);
    assert_eq!(params.acceptance.intents["trading_fees"], 0.75);
    for key in [
        "arrivals.hourly_profile",
        "pool.intent_mix",
        "handling.intents",
        "acceptance.intents",
    ] {
        assert_eq!(sources[key], "data", "{key}");
    }
    assert_eq!(sources["desk.sla_minutes"], "default");
    assert!(sources["desk.patience_minutes"].starts_with("default"));
}

/// Every fifth message of the default pool (about 280, every intent, four
/// languages), classified once by the shipped model as `simulate` does.
fn classified_pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let data =
            Dataset::load(&root().join("tests/data/catalog-dev"), None).expect("the dev pool");
        let rows: Vec<_> = data.examples.iter().step_by(5).collect();
        let model = IntentModel::load(&root().join("models/default"), &EncoderOptions::from_env())
            .unwrap_or_else(|e| {
                panic!("{e}\n(the README's test command runs `intentdesk fetch-model` first)")
            });
        let analyses: Vec<_> = rows
            .iter()
            .map(|r| intentdesk::nlu::analyse(&r.text))
            .collect();
        let masked: Vec<&str> = analyses.iter().map(|a| a.masked.text.as_str()).collect();
        let predictions = model
            .predict(&masked)
            .expect("the model classifies the pool");
        let classified = analyses
            .into_iter()
            .zip(predictions)
            .map(|(analysis, prediction)| Classified {
                analysis,
                prediction,
            })
            .collect();
        Pool {
            source: "every fifth of tests/data/catalog-dev".into(),
            labels: rows.iter().map(|r| r.label.clone()).collect(),
            classified: Some(classified),
        }
    })
}

/// A 5x peak from 09:00 for 2 hours on a 3,000-conversation day, with
/// `incident` (TOML lines of the `[incident]` table) merged over the defaults.
fn incident_params(incident: &str) -> Params {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("incident.toml");
    let text = format!(
        "[arrivals]\nconversations_per_day = 3000\npeak_multiplier = 5.0\n[sensitivity]\nacceptance = []\nnotice_acceptance = [0.3, 0.9]\n[incident]\n{incident}\n"
    );
    std::fs::write(&path, text).unwrap();
    Params::load(Some(&path)).unwrap().0
}

fn simulate_with(params: Params) -> Report {
    let config = SimConfig {
        params,
        sources: Default::default(),
        schedule: Schedule::Day,
        no_bot_only: false,
        handling_override: None,
        progress: false,
    };
    intentdesk::sim::run(
        &config,
        &Inputs {
            catalog: Some(&*catalog()),
            pool: classified_pool(),
        },
    )
    .expect("the simulation runs")
}

/// The notice scenario's figures without its notice counts.
fn without_counts(
    f: &intentdesk::sim::report::ScenarioFigures,
) -> intentdesk::sim::report::ScenarioFigures {
    intentdesk::sim::report::ScenarioFigures {
        incident: None,
        ..f.clone()
    }
}

#[test]
fn an_incident_notice_takes_work_off_and_the_report_is_byte_identical() {
    let params = incident_params("share = 0.4");
    let report = simulate_with(params.clone());
    let again = simulate_with(params);
    let json = serde_json::to_string_pretty(&report).unwrap();
    assert_eq!(json, serde_json::to_string_pretty(&again).unwrap());
    let html = intentdesk::sim::report::html::page(&report);
    assert_eq!(html, intentdesk::sim::report::html::page(&again));

    let i = report.incident.as_ref().expect("the incident section");
    let s = &report.scenarios;
    let (without, with) = (
        s.bot_load_aware.as_ref().unwrap(),
        s.bot_notice.as_ref().unwrap(),
    );
    assert!(
        i.conversations > 200,
        "about 40 % of the peak's ~1,000 arrivals: {}",
        i.conversations
    );
    assert!(
        i.read_as_intent <= i.conversations && i.read_as_intent > i.conversations / 2,
        "{} of {}",
        i.read_as_intent,
        i.conversations
    );
    assert!(i.notice_shown <= i.read_as_intent && i.notice_shown > 0);
    assert!(i.notice_resolved > 0 && i.notice_resolved < i.notice_shown);
    assert_eq!(
        i.tickets_avoided,
        without.tickets as i64 - with.tickets as i64
    );
    assert!(i.tickets_avoided > 0, "{}", i.tickets_avoided);
    // The notice never adds work, and never needs more agents.
    assert!(
        i.asked_workload_reduction.with_notice > i.asked_workload_reduction.without_notice,
        "{:?}",
        i.asked_workload_reduction
    );
    let (a, b) = (
        i.agents_needed_at_peak.without_notice.unwrap(),
        i.agents_needed_at_peak.with_notice.unwrap(),
    );
    assert!(b <= a, "{b} agents with the notice, {a} without");
    // Sensitivity: a likelier "yes" answers a superset of the customers.
    let rows = &i.sensitivity;
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].notice_resolved < rows[1].notice_resolved && rows[1].tickets < rows[0].tickets,
        "{rows:?}"
    );
    assert!(html.contains("Incident: the notice") && html.contains("bot + notice"));
    assert!(
        report
            .assumptions
            .iter()
            .any(|a| a.contains("notice_acceptance"))
    );
}

#[test]
fn a_late_or_unread_notice_changes_nothing_and_no_incident_adds_nothing() {
    // Posted 10 hours after the incident starts: the peak is long over.
    let late = simulate_with(incident_params("share = 0.4\nnotice_delay_minutes = 600.0"));
    let (without, with) = (
        late.scenarios.bot_load_aware.as_ref().unwrap(),
        late.scenarios.bot_notice.as_ref().unwrap(),
    );
    assert_eq!(with.incident.as_ref().unwrap().notice_shown, 0);
    assert_eq!(without_counts(with), without_counts(without));
    assert_eq!(late.incident.as_ref().unwrap().tickets_avoided, 0);

    // Shown, read in no time, never taken: the same day.
    let unread = simulate_with(incident_params(
        "share = 0.4\nnotice_acceptance = 0.0\nnotice_read_minutes = 0.0",
    ));
    let (without, with) = (
        unread.scenarios.bot_load_aware.as_ref().unwrap(),
        unread.scenarios.bot_notice.as_ref().unwrap(),
    );
    assert!(with.incident.as_ref().unwrap().notice_shown > 0);
    assert_eq!(with.incident.as_ref().unwrap().notice_resolved, 0);
    assert_eq!(without_counts(with), without_counts(without));

    // No incident: no fourth scenario and no new keys in the report.
    let none = simulate_with(incident_params("share = 0.0"));
    assert!(none.incident.is_none() && none.scenarios.bot_notice.is_none());
    let json = serde_json::to_string(&none).unwrap();
    assert!(
        !json.contains("bot_notice") && !json.contains("agent_minutes_asked"),
        "the report without an incident keeps its shape"
    );
}

#[test]
fn incident_parameters_that_do_not_fit_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    for (text, want) in [
        ("[incident]\nshare = 1.5\n", "incident.share"),
        (
            "[incident]\nshare = 0.4\nnotice_acceptance = -0.1\n",
            "incident.notice_acceptance",
        ),
        (
            "[incident]\nshare = 0.4\nstarts_after_minutes = 120.0\n",
            "incident.starts_after_minutes",
        ),
        (
            "[incident]\nshare = 0.4\nintent = \"account_compromised\"\n",
            "security intent",
        ),
        (
            "[incident]\nshare = 0.4\nnotice_delay_minutes = -5.0\n",
            "incident.notice_delay_minutes",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = Params::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains(want), "{text}: {err}");
    }
    // An intent the catalog does not have, on the no-bot path (no model needed).
    std::fs::write(
        &path,
        "[incident]\nshare = 0.4\nintent = \"wallet_on_fire\"\n",
    )
    .unwrap();
    let (params, sources) = Params::load(Some(&path)).unwrap();
    let pool = Pool {
        source: "labels".into(),
        labels: vec!["withdrawal_delayed".into(), "trading_fees".into()],
        classified: None,
    };
    let config = SimConfig {
        params,
        sources,
        schedule: Schedule::Day,
        no_bot_only: true,
        handling_override: None,
        progress: false,
    };
    let err = intentdesk::sim::run(
        &config,
        &Inputs {
            catalog: Some(&*catalog()),
            pool: &pool,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("incident.intent") && err.contains("wallet_on_fire"),
        "{err}"
    );
    // The flag is validated before any model is loaded.
    let out = Command::new(env!("CARGO_BIN_EXE_intentdesk"))
        .args(["simulate", "--incident-share", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("incident.share") && stderr.contains("between 0 and 1"),
        "{stderr}"
    );
}
