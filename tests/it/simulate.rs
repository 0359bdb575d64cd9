//! `intentdesk simulate`: the binary in its constant-rate, no-bot mode agrees
//! with Erlang C and Erlang A over long runs; the same seed gives the same
//! report byte for byte; parameters are read from a desk's store.

use std::path::Path;
use std::process::Command;

use intentdesk::sim::erlang::{erlang_a, erlang_c, erlang_c_mean_wait};
use intentdesk::sim::history;
use intentdesk::store::{Sender, Store};
use serde_json::Value;

/// Runs the binary in the closed-form setting and returns the report.
fn run(dir: &Path, seed: u64, patience: &str, hours: u32) -> (Value, String) {
    let report = dir.join(format!("r-{seed}-{patience}.json"));
    let out = Command::new(env!("CARGO_BIN_EXE_intentdesk"))
        .args(["simulate", "--no-bot", "--arrivals-per-hour", "40", "--agents", "5", "--agent-capacity", "1"])
        .args(["--handling-minutes", "6", "--handling-cv", "1", "--patience-minutes", patience])
        .args(["--hours", &hours.to_string(), "--seed", &seed.to_string(), "--report"])
        .arg(&report)
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&report).unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

fn mean_of(reports: &[Value], key: &str) -> f64 {
    reports.iter().map(|r| r["scenarios"]["no_bot"][key].as_f64().unwrap()).sum::<f64>() / reports.len() as f64
}

/// λ = 40/h, 5 agents, 6 min each: 80 % utilisation. Four seeds of 2000 hours
/// (about 320,000 tickets): the seed-to-seed spread of the mean wait is about
/// 5 % per run, 2.5 % for the average, so 8 % is over three standard deviations.
#[test]
fn no_bot_agrees_with_erlang_c_and_erlang_a() {
    let dir = tempfile::tempdir().unwrap();
    let (lambda, mu) = (40.0 / 60.0, 1.0 / 6.0); // per minute
    let c: Vec<Value> = (1..=4).map(|s| run(dir.path(), s, "none", 2000).0).collect();
    let want_wait = erlang_c_mean_wait(5, lambda, mu).unwrap() * 60.0;
    let want_p = erlang_c(5, 4.0).unwrap();
    let (wait, p) = (mean_of(&c, "wait_mean_s"), mean_of(&c, "waited_share"));
    assert!((wait / want_wait - 1.0).abs() < 0.08, "Erlang C mean wait {want_wait:.1}s, simulated {wait:.1}s");
    assert!((p - want_p).abs() < 0.02, "Erlang C P(wait) {want_p:.4}, simulated {p:.4}");
    assert_eq!(mean_of(&c, "abandoned_share"), 0.0);

    // Mean patience 10 minutes.
    let a: Vec<Value> = (1..=4).map(|s| run(dir.path(), s, "10", 2000).0).collect();
    let want = erlang_a(5, lambda, mu, 0.1);
    let (wait, ab) = (mean_of(&a, "wait_mean_s"), mean_of(&a, "abandoned_share"));
    assert!((wait / (want.mean_wait * 60.0) - 1.0).abs() < 0.08, "Erlang A mean wait {:.1}s, simulated {wait:.1}s", want.mean_wait * 60.0);
    assert!((ab / want.abandoned_share - 1.0).abs() < 0.08, "Erlang A abandoned {:.4}, simulated {ab:.4}", want.abandoned_share);
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
        let c = store.create_conversation(None, day + 10 * hour + i).await.unwrap();
        let meta = r#"{"intent":"trading_fees","decision":"answer"}"#;
        store.append_message(&c.id, Sender::Customer, "fees?", meta, day + 10 * hour + i).await.unwrap();
        let reply = if i < 9 { r#"{"intent":"thanks_goodbye","decision":"smalltalk"}"# } else { r#"{"intent":"trading_fees","decision":"escalate"}"# };
        store.append_message(&c.id, Sender::Customer, "x", reply, day + 10 * hour + i + 1).await.unwrap();
    }
    for i in 0..6i64 {
        // Deposit cases at 14:00, each resolved after 20 minutes of handling.
        let t = day + 14 * hour + i;
        let c = store.create_conversation(None, t).await.unwrap();
        let meta = r#"{"intent":"deposit_missing","decision":"collect"}"#;
        store.append_message(&c.id, Sender::Customer, "deposit missing", meta, t).await.unwrap();
        let ticket = store
            .open_ticket(
                intentdesk::store::NewTicket {
                    conversation_id: c.id.clone(),
                    intent: "deposit_missing".into(),
                    confidence: 0.9,
                    language: "en".into(),
                    priority: 2,
                    details_json: "{}".into(),
                    transcript_json: "[]".into(),
                },
                t,
            )
            .await
            .unwrap();
        store.claim_ticket(&ticket.id, "a1", t + 1000).await.unwrap();
        store.resolve_ticket(&ticket.id, "a1", t + 1000 + 20 * 60_000).await.unwrap();
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
    for key in ["arrivals.hourly_profile", "pool.intent_mix", "handling.intents", "acceptance.intents"] {
        assert_eq!(sources[key], "data", "{key}");
    }
    assert_eq!(sources["desk.sla_minutes"], "default");
    assert!(sources["desk.patience_minutes"].starts_with("default"));
}
