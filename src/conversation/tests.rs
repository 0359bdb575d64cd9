//! The service on a real SQLite store with a scripted stand-in model: a message whose first
//! word is an intent id is predicted as that intent with high confidence, anything else is
//! a miss. The real model is exercised by the integration tests.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use super::*;
use crate::engine::{EngineConfig, Predictor};
use crate::inference::load_catalog;
use crate::model::prediction::Rejection;
use crate::testing::{StandIn, prediction};

/// The scripted stand-in: the first word an intent id of the catalog → that intent at 0.97,
/// anything else → a low-confidence miss.
fn scripted(catalog: Arc<Catalog>) -> impl Predictor {
    StandIn(move |masked: &[&str]| {
        Ok(masked
            .iter()
            .map(|text| {
                let first = text.split_whitespace().next().unwrap_or("");
                if catalog.intent(first).is_some() {
                    prediction(&[(first, 0.97), ("trading_fees", 0.01)], None)
                } else {
                    prediction(
                        &[("greeting", 0.2), ("trading_fees", 0.01)],
                        Some(Rejection::LowConfidence),
                    )
                }
            })
            .collect())
    })
}

fn catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| Arc::new(load_catalog(Path::new("intents")).unwrap()))
        .clone()
}

struct Fixture {
    service: ChatService,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(dir.path()).await.unwrap();
    let engine = Engine::start(scripted(catalog()), EngineConfig::default()).unwrap();
    let config = ServiceConfig {
        // Keep collect intents on the ticket path even with nobody online (120 min).
        policy: PolicyConfig {
            peak_wait_minutes: 1000,
            ..Default::default()
        },
        ..Default::default()
    };
    let service = ChatService::new(engine, catalog(), store, config);
    Fixture { service, _dir: dir }
}

fn types(events: &[OutgoingEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.body.kind()).collect()
}

fn ticket_of(events: &[OutgoingEvent]) -> String {
    events
        .iter()
        .find(|e| matches!(e.body, EventBody::TicketOpened { .. }))
        .and_then(|e| e.ticket_id.clone())
        .expect("a ticket_opened event")
}

#[tokio::test]
async fn an_faq_answer_asks_whether_it_helped_and_everything_is_stored() {
    let f = fixture().await;
    let s = &f.service;
    let c = s.start_conversation(None).await.unwrap();
    let events = s
        .handle(&c.id, "trading_fees how much is the fee?")
        .await
        .unwrap();
    assert_eq!(
        types(&events),
        ["customer_message", "bot_message", "bot_message"]
    );
    match &events[2].body {
        EventBody::BotMessage {
            choices,
            did_this_help,
            ..
        } => {
            assert!(did_this_help);
            assert_eq!(
                choices.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
                ["yes", "no"]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(s.events_after(&c.id, 0).await.unwrap(), events);
    assert_eq!(
        s.events_after(&c.id, events[0].seq).await.unwrap(),
        events[1..]
    );
    let transcript = s.transcript(&c.id).await.unwrap();
    assert_eq!(transcript.messages.len(), 3);
    assert_eq!(transcript.lang, "en");
    assert!(
        transcript
            .to_text()
            .contains("customer: trading_fees how much is the fee?")
    );
    let stored = s.conversation(&c.id).await.unwrap();
    let state: crate::policy::ConversationState = serde_json::from_str(&stored.state_json).unwrap();
    assert_eq!(state.awaiting_feedback.as_deref(), Some("trading_fees"));
}

#[tokio::test]
async fn invalid_messages_and_unknown_conversations_are_refused() {
    let f = fixture().await;
    let s = &f.service;
    let c = s.start_conversation(None).await.unwrap();
    assert!(matches!(
        s.handle(&c.id, "  \n").await,
        Err(Error::EmptyMessage)
    ));
    let long = "가".repeat(2001);
    assert!(matches!(
        s.handle(&c.id, &long).await,
        Err(Error::MessageTooLong {
            chars: 2001,
            max: 2000
        })
    ));
    assert!(
        s.handle(&c.id, &"가".repeat(2000)).await.is_ok(),
        "the limit itself is allowed"
    );
    assert!(matches!(
        s.handle("nope", "hello").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        s.events_after("nope", 0).await,
        Err(Error::NotFound { .. })
    ));
    assert!(s.too_long_text(Some(Lang::Ko)).contains("2000"));
}

#[tokio::test]
async fn secrets_are_masked_before_anything_is_stored_or_sent() {
    let f = fixture().await;
    let s = &f.service;
    let c = s.start_conversation(None).await.unwrap();
    let events = s
        .handle(
            &c.id,
            "login_problem I cannot log in, my password is Hunter2!xyz and OTP 493817",
        )
        .await
        .unwrap();
    let everything = serde_json::to_string(&events).unwrap()
        + &serde_json::to_string(&s.transcript(&c.id).await.unwrap()).unwrap();
    assert!(!everything.contains("Hunter2"), "{everything}");
    assert!(!everything.contains("493817"), "{everything}");
    let warning = s.catalog().messages.render("secret_warning", Lang::En, &[]);
    assert!(everything.contains(&warning[..20]));
}

#[tokio::test]
async fn a_rating_comment_is_stored_masked() {
    use sqlx::{Connection, Row};

    let f = fixture().await;
    let s = &f.service;
    let c = s.start_conversation(None).await.unwrap();
    s.rate(
        &c.id,
        2,
        Some("slow. I had to give my usual pass Sunflower88! and OTP ４８２ ９１３"),
    )
    .await
    .unwrap();
    let path = f._dir.path().join("intentdesk.db");
    let mut db = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
    )
    .await
    .unwrap();
    let comment: String = sqlx::query("SELECT comment FROM ratings WHERE conversation_id = $1")
        .bind(&c.id)
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get("comment");
    assert!(comment.starts_with("slow. I had to give my usual pass [masked:password]"));
    assert!(comment.ends_with("and OTP [masked:otp_code]"), "{comment}");
    assert!(
        !comment.contains("Sunflower") && !comment.contains("４８２"),
        "{comment}"
    );
}

#[tokio::test]
async fn a_hand_over_opens_a_ticket_an_agent_works_it_and_the_customer_rates() {
    let f = fixture().await;
    let s = &f.service;
    s.register_agent("mina", "Mina").await.unwrap();
    let c = s.start_conversation(Some("cust-1")).await.unwrap();
    let events = s
        .handle(&c.id, "human_agent please let me talk to a person")
        .await
        .unwrap();
    let kinds = types(&events);
    assert_eq!(kinds.first(), Some(&"customer_message"));
    assert_eq!(kinds.last(), Some(&"ticket_opened"));
    let ticket_id = ticket_of(&events);
    match &events.last().unwrap().body {
        EventBody::TicketOpened {
            position,
            wait_minutes,
            text,
            ..
        } => {
            assert_eq!(*position, 1);
            assert_eq!(
                *wait_minutes,
                crate::queue::NO_AGENTS_WAIT_MINUTES,
                "nobody is online"
            );
            assert!(text.contains(&ticket_id));
        }
        other => panic!("{other:?}"),
    }
    let queue = s.queue_view().await.unwrap();
    assert_eq!(queue.len(), 1);
    let t = &queue[0].ticket;
    assert_eq!(
        (t.intent.as_str(), t.language.as_str(), t.priority),
        ("human_agent", "en", Priority::Normal)
    );
    assert!(
        t.transcript
            .iter()
            .any(|l| l.text.contains("let me talk to a person")),
        "{:?}",
        t.transcript
    );

    // The customer asks about it: answered from the live queue.
    let status = s
        .handle(&c.id, "ticket_status where is my request?")
        .await
        .unwrap();
    assert!(
        status.iter().any(
            |e| matches!(&e.body, EventBody::BotMessage { text, .. } if text.contains(&ticket_id))
        ),
        "{status:?}"
    );

    // The agent comes online: automatic assignment gives them the ticket.
    let agent = s.set_presence("mina", true, Some(2)).await.unwrap();
    assert_eq!(
        (agent.online, agent.capacity, agent.active_tickets),
        (true, 2, 1)
    );
    let joined = s
        .events_after(&c.id, status.last().unwrap().seq)
        .await
        .unwrap();
    assert!(
        matches!(&joined[0].body, EventBody::AgentJoined { agent, .. } if agent == "Mina"),
        "{joined:?}"
    );
    assert!(s.queue_view().await.unwrap().is_empty());

    // The bot is silent while the agent owns the conversation.
    let silent = s
        .handle(&c.id, "trading_fees hello? are you there")
        .await
        .unwrap();
    assert_eq!(types(&silent), ["customer_message"]);

    let reply = s
        .agent_reply("mina", &ticket_id, "Hi, I'm checking your account now.")
        .await
        .unwrap();
    assert!(matches!(&reply.body, EventBody::AgentMessage { agent, .. } if agent == "Mina"));
    s.add_note("mina", &ticket_id, "customer verified")
        .await
        .unwrap();
    let notes = s.store().notes(&ticket_id).await.unwrap();
    assert_eq!(notes.len(), 1);

    let last = reply.seq;
    s.resolve("mina", &ticket_id).await.unwrap();
    let after = s.events_after(&c.id, last).await.unwrap();
    assert_eq!(types(&after), ["resolved", "rating_request"]);
    assert!(
        !serde_json::to_string(&after)
            .unwrap()
            .contains("customer verified"),
        "notes stay internal"
    );

    let thanks = s
        .rate(&c.id, 5, Some("quick, thanks! pw: hunter2"))
        .await
        .unwrap();
    assert_eq!(types(&thanks), ["bot_message"]);
    assert!(matches!(
        s.rate(&c.id, 6, None).await,
        Err(Error::InvalidInput(_))
    ));

    // The bot answers again.
    let again = s.handle(&c.id, "trading_fees and the fee?").await.unwrap();
    assert!(again.len() > 1, "{again:?}");
    let agent = s.agents().await.unwrap().remove(0);
    assert_eq!(agent.active_tickets, 0);
}

#[tokio::test]
async fn waiting_customers_are_told_when_their_position_changes() {
    let f = fixture().await;
    let s = &f.service;
    s.register_agent("jun", "Jun").await.unwrap();
    let a = s.start_conversation(None).await.unwrap();
    let b = s.start_conversation(None).await.unwrap();
    let ta = ticket_of(
        &s.handle(&a.id, "human_agent a person please")
            .await
            .unwrap(),
    );
    let opened_b = s
        .handle(&b.id, "human_agent a person please")
        .await
        .unwrap();
    let tb = ticket_of(&opened_b);
    let positions: Vec<u32> = s
        .queue_view()
        .await
        .unwrap()
        .iter()
        .map(|q| q.position)
        .collect();
    assert_eq!(positions, [1, 2]);

    s.claim("jun", &ta).await.unwrap();
    let updates = s
        .events_after(&b.id, opened_b.last().unwrap().seq)
        .await
        .unwrap();
    match &updates[..] {
        [e] => match &e.body {
            EventBody::QueuePosition { position, .. } => {
                assert_eq!((e.ticket_id.as_ref(), *position), (Some(&tb), 1));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("expected one queue update, got {other:?}"),
    }

    // Another agent cannot claim the same ticket; replying or resolving someone else's
    // ticket is a conflict too.
    s.register_agent("sora", "Sora").await.unwrap();
    assert!(matches!(
        s.claim("sora", &ta).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        s.agent_reply("sora", &ta, "hi").await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        s.resolve("sora", &ta).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        s.claim("sora", "T-999999").await,
        Err(Error::NotFound { .. })
    ));

    // Handing back: the bot talks again in that conversation.
    s.hand_back("jun", &ta).await.unwrap();
    let back = s.events_after(&a.id, 0).await.unwrap();
    assert_eq!(back.last().unwrap().body.kind(), "handed_back");
    let again = s
        .handle(&a.id, "trading_fees what are the fees")
        .await
        .unwrap();
    assert!(again.len() > 1);
}

#[tokio::test]
async fn asking_for_a_person_again_while_waiting_does_not_open_a_second_ticket() {
    let f = fixture().await;
    let s = &f.service;
    let c = s.start_conversation(None).await.unwrap();
    let first = ticket_of(
        &s.handle(&c.id, "human_agent a person please")
            .await
            .unwrap(),
    );
    let again = s
        .handle(&c.id, "human_agent I said a person!")
        .await
        .unwrap();
    assert!(
        again
            .iter()
            .any(|e| matches!(e.body, EventBody::QueuePosition { .. })
                && e.ticket_id.as_ref() == Some(&first)),
        "{again:?}"
    );
    assert_eq!(s.queue_view().await.unwrap().len(), 1);
}

#[tokio::test]
async fn collected_details_travel_with_the_ticket() {
    let f = fixture().await;
    let s = &f.service;
    let c = s.start_conversation(None).await.unwrap();
    let txid = "7c1e5d0f4b2a9e8d3c6b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d";
    let mut events = s
        .handle(
            &c.id,
            &format!("deposit_missing I sent 500 USDT on TRC-20, txid {txid}, not credited"),
        )
        .await
        .unwrap();
    for _ in 0..4 {
        if events.iter().any(|e| e.body.kind() == "ticket_opened") {
            break;
        }
        events = s.handle(&c.id, "yesterday around 11pm").await.unwrap();
    }
    ticket_of(&events);
    let t = &s.queue_view().await.unwrap()[0].ticket;
    assert_eq!(t.intent, "deposit_missing");
    assert_eq!(
        t.priority,
        Priority::High,
        "deposit_missing is high priority"
    );
    assert_eq!(t.details.get("txid").map(String::as_str), Some(txid));
    assert_eq!(t.details.get("coin").map(String::as_str), Some("USDT"));
}

/// The value of the series `series` (name and labels, as rendered) in Prometheus text.
fn gauge(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} not in:\n{text}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{series}: {e}\n{text}"))
}

#[tokio::test]
async fn metrics_refresh_sets_the_gauges_from_the_store() {
    // A recorder of this test's own, on its thread: the process-wide one is shared with the
    // tests running beside this one, which set the same gauges.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let rendered = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let f = fixture().await;
    let s = &f.service;
    let before = s.gauges().await.unwrap();
    assert_eq!(before.queue_length, 0);
    assert_eq!(before.tickets.get("waiting"), Some(&0));
    s.refresh_metrics().await.unwrap();
    let text = rendered.render();
    assert_eq!(gauge(&text, "intentdesk_queue_length"), 0.0);
    assert_eq!(gauge(&text, "intentdesk_tickets{state=\"waiting\"}"), 0.0);

    // A ticket waits: the store's figures and the gauges follow.
    let c = s.start_conversation(None).await.unwrap();
    ticket_of(
        &s.handle(&c.id, "human_agent a person please")
            .await
            .unwrap(),
    );
    let after = s.gauges().await.unwrap();
    assert_eq!(after.queue_length, 1, "{after:?}");
    assert_eq!(after.tickets.get("waiting"), Some(&1), "{after:?}");
    assert_eq!(after.agents_online, 0);
    assert_eq!(
        after.estimated_wait_minutes,
        crate::queue::NO_AGENTS_WAIT_MINUTES
    );
    s.refresh_metrics().await.unwrap();
    let text = rendered.render();
    assert_eq!(gauge(&text, "intentdesk_queue_length"), 1.0);
    assert_eq!(gauge(&text, "intentdesk_tickets{state=\"waiting\"}"), 1.0);
    assert_eq!(gauge(&text, "intentdesk_agents_online"), 0.0);
    assert_eq!(
        gauge(&text, "intentdesk_estimated_wait_minutes"),
        f64::from(crate::queue::NO_AGENTS_WAIT_MINUTES)
    );

    // An agent comes online and is given the ticket.
    s.register_agent("mina", "Mina").await.unwrap();
    s.set_presence("mina", true, Some(2)).await.unwrap();
    s.refresh_metrics().await.unwrap();
    let text = rendered.render();
    assert_eq!(gauge(&text, "intentdesk_queue_length"), 0.0);
    assert_eq!(gauge(&text, "intentdesk_tickets{state=\"waiting\"}"), 0.0);
    assert_eq!(gauge(&text, "intentdesk_tickets{state=\"assigned\"}"), 1.0);
    assert_eq!(gauge(&text, "intentdesk_agents_online"), 1.0);
}
