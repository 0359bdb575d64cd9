//! Store tests, each run against SQLite (a temporary directory) and PostgreSQL (a fresh database per test named by `INTENTDESK_TEST_POSTGRES_URL`, which `tests/run.sh` sets; dropped afterwards, even when the test panics). Without the variable they fail: they never pass by skipping PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sqlx::{Connection, Executor, Row};

use super::*;

/// Set to a PostgreSQL URL whose role may CREATE DATABASE, e.g.
/// `postgres://root@localhost/intentdesk_test?host=/var/run/postgresql`.
const PG_ENV: &str = "INTENTDESK_TEST_POSTGRES_URL";

/// One database for one test.
pub(super) struct TestDb {
    pub(super) backend: Backend,
    url: String,
    /// Keeps the SQLite directory alive.
    dir: Option<tempfile::TempDir>,
    /// Drops the PostgreSQL database on drop.
    _pg: Option<PgDrop>,
}

// Twin of `PgGuard` in tests/it/harness.rs: sharing one would export test code.
struct PgDrop {
    admin_url: String,
    db: String,
}

impl Drop for PgDrop {
    fn drop(&mut self) {
        let (admin, db) = (self.admin_url.clone(), self.db.clone());
        // Own thread and runtime: this runs inside the test's runtime, possibly
        // while it unwinds a panic.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = c
                        .execute(format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

impl TestDb {
    pub(super) async fn open(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect {:?}: {e}", self.backend))
    }
}

/// SQLite and PostgreSQL; panics when PostgreSQL is not configured.
pub(super) async fn test_dbs() -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        percent_encode_path(dir.path().join(SQLITE_FILE_NAME).to_str().unwrap())
    );
    let mut dbs = vec![TestDb {
        backend: Backend::Sqlite,
        url,
        dir: Some(dir),
        _pg: None,
    }];
    let admin_url = std::env::var(PG_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| panic!("{PG_ENV} is not set: run the tests with `bash tests/run.sh`, which starts PostgreSQL and sets it"));
    {
        let db = format!(
            "intentdesk_t_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut c = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{PG_ENV}: {e}"));
        c.execute(format!("CREATE DATABASE \"{db}\"").as_str())
            .await
            .expect("create test database");
        c.close().await.ok();
        dbs.push(TestDb {
            backend: Backend::Postgres,
            url: with_database(&admin_url, &db),
            dir: None,
            _pg: Some(PgDrop { admin_url, db }),
        });
    }
    dbs
}

/// `postgres://u@h/old?x=y` -> `postgres://u@h/new?x=y`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

fn new_ticket(conversation_id: &str, priority: i32) -> NewTicket {
    NewTicket {
        conversation_id: conversation_id.to_string(),
        intent: "withdrawal_delay".into(),
        confidence: 0.42,
        language: "ko".into(),
        priority: Priority::from_number(priority.into()).expect("a priority number"),
        details: BTreeMap::from([("asset".to_string(), "BTC".to_string())]),
        transcript: vec![TranscriptLine {
            seq: 1,
            sender: Sender::Customer,
            text: "출금이 안 돼요".into(),
            at_ms: 0,
        }],
    }
}

/// A conversation with a waiting ticket.
async fn waiting_ticket(s: &Store, priority: i32, now: i64) -> Ticket {
    let c = s.create_conversation(None, now).await.unwrap();
    s.open_ticket(new_ticket(&c.id, priority), now)
        .await
        .unwrap()
}

#[test]
fn with_database_replaces_the_path() {
    assert_eq!(
        with_database(
            "postgres://root@localhost/intentdesk_test?host=/var/run/postgresql",
            "x"
        ),
        "postgres://root@localhost/x?host=/var/run/postgresql"
    );
    assert_eq!(
        with_database("postgres://u:p@h:5432/db", "x"),
        "postgres://u:p@h:5432/x"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

#[tokio::test]
async fn migrations_are_idempotent() {
    for db in test_dbs().await {
        let s = db.open().await;
        let c = s.create_conversation(Some("cust-1"), 1).await.unwrap();
        drop(s);
        // Connect twice more, the second pair at the same time (replicas starting).
        let (a, b) = tokio::join!(db.open(), db.open());
        for s in [&a, &b] {
            let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
                .fetch_all(s.pool())
                .await
                .unwrap();
            let versions: Vec<i64> = rows.iter().map(|r| r.get("version")).collect();
            let expected: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
            assert_eq!(versions, expected, "{:?}", db.backend);
            assert_eq!(s.conversation(&c.id).await.unwrap().unwrap(), c);
        }
        assert!(
            migrate::run(a.pool(), a.backend())
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(a.backend(), db.backend);
    }
}

#[tokio::test]
async fn sqlite_pragmas_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_data_dir(&dir.path().join("new/sub dir"))
        .await
        .unwrap();
    assert_eq!(s.backend(), Backend::Sqlite);
    assert!(
        dir.path()
            .join("new/sub dir")
            .join(SQLITE_FILE_NAME)
            .is_file()
    );
    let mut conn = s.pool().acquire().await.unwrap();
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    for (pragma, expected) in [
        ("synchronous", 2i64),
        ("foreign_keys", 1),
        ("busy_timeout", 10_000),
    ] {
        let v: i64 = sqlx::query(&format!("PRAGMA {pragma}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(v, expected, "PRAGMA {pragma}");
    }
}

#[tokio::test]
async fn bad_urls_are_refused() {
    assert!(matches!(
        Store::connect("mysql://localhost/db").await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn conversations_round_trip() {
    for db in test_dbs().await {
        let s = db.open().await;
        let c = s.create_conversation(Some("uid-77"), 1_000).await.unwrap();
        assert_eq!(c.state_json, "{}");
        assert_eq!(c.customer_ref.as_deref(), Some("uid-77"));
        assert_eq!(s.conversation(&c.id).await.unwrap().unwrap(), c);
        let anon = s.create_conversation(None, 1_001).await.unwrap();
        assert_ne!(anon.id, c.id);
        assert_eq!(
            s.conversation(&anon.id)
                .await
                .unwrap()
                .unwrap()
                .customer_ref,
            None
        );

        s.save_conversation_state(&c.id, r#"{"slot":"출금"}"#, "ko", 2_000)
            .await
            .unwrap();
        let c2 = s.conversation(&c.id).await.unwrap().unwrap();
        assert_eq!(
            (c2.state_json.as_str(), c2.lang.as_str()),
            (r#"{"slot":"출금"}"#, "ko")
        );
        assert_eq!((c2.created_at_ms, c2.updated_at_ms), (1_000, 2_000));

        assert!(s.conversation("nope").await.unwrap().is_none());
        assert!(matches!(
            s.save_conversation_state("nope", "{}", "ko", 1).await,
            Err(StoreError::NotFound {
                kind: "conversation",
                ..
            })
        ));
        assert!(matches!(
            s.save_conversation_state(&c.id, "{not json", "ko", 1).await,
            Err(StoreError::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn messages_round_trip_in_order() {
    for db in test_dbs().await {
        let s = db.open().await;
        let c = s.create_conversation(None, 1).await.unwrap();
        let senders = [
            Sender::Customer,
            Sender::Bot,
            Sender::Agent,
            Sender::System,
            Sender::Customer,
        ];
        let mut written = Vec::new();
        for (i, sender) in senders.iter().enumerate() {
            // Same timestamp on purpose: order comes from seq, not time.
            let m = s
                .append_message(
                    &c.id,
                    *sender,
                    &format!("메시지 {i} ***"),
                    r#"{"masked":true}"#,
                    50,
                )
                .await
                .unwrap();
            assert_eq!(m.seq, i as i64 + 1);
            written.push(m);
        }
        // Concurrent appends get distinct numbers.
        let (x, y) = tokio::join!(
            s.append_message(&c.id, Sender::Customer, "x", "{}", 60),
            s.append_message(&c.id, Sender::Bot, "y", "{}", 60)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(HashSet::from([x.seq, y.seq]), HashSet::from([6, 7]));

        let read = s.messages(&c.id).await.unwrap();
        assert_eq!(read.len(), 7);
        assert_eq!(&read[..5], &written[..]);
        assert!(read.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(
            s.conversation(&c.id).await.unwrap().unwrap().message_count,
            7
        );

        assert!(s.messages("nope").await.unwrap().is_empty());
        assert!(matches!(
            s.append_message("nope", Sender::Bot, "x", "{}", 1).await,
            Err(StoreError::NotFound {
                kind: "conversation",
                ..
            })
        ));
        assert!(matches!(
            s.append_message(&c.id, Sender::Bot, "x", "", 1).await,
            Err(StoreError::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn events_after_returns_later_events_in_order() {
    for db in test_dbs().await {
        let s = db.open().await;
        let a = s.create_conversation(None, 1).await.unwrap();
        let b = s.create_conversation(None, 1).await.unwrap();
        let t = s.open_ticket(new_ticket(&a.id, 1), 2).await.unwrap();
        let mut seqs = Vec::new();
        for i in 0..6 {
            let (conv, ticket) = if i % 2 == 0 {
                (&a.id, Some(t.id.as_str()))
            } else {
                (&b.id, None)
            };
            let e = s
                .append_event(
                    conv,
                    ticket,
                    "bot_message",
                    &format!(r#"{{"i":{i}}}"#),
                    10 + i,
                )
                .await
                .unwrap();
            seqs.push(e.seq);
        }
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "store-wide increasing: {seqs:?}"
        );

        let all_a = s.events_after(&a.id, 0).await.unwrap();
        assert_eq!(
            all_a.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![seqs[0], seqs[2], seqs[4]]
        );
        assert_eq!(all_a[1].payload_json, r#"{"i":2}"#);
        assert_eq!(all_a[1].ticket_id.as_deref(), Some(t.id.as_str()));
        assert_eq!(all_a[1].kind, "bot_message");
        assert_eq!(all_a[1].created_at_ms, 12);

        let after = s.events_after(&a.id, seqs[2]).await.unwrap();
        assert_eq!(
            after.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![seqs[4]]
        );
        assert!(s.events_after(&a.id, seqs[5]).await.unwrap().is_empty());
        let b_events = s.events_after(&b.id, 0).await.unwrap();
        assert!(
            b_events
                .iter()
                .all(|e| e.conversation_id == b.id && e.ticket_id.is_none())
        );

        assert!(matches!(
            s.append_event("nope", None, "k", "{}", 1).await,
            Err(StoreError::NotFound {
                kind: "conversation",
                ..
            })
        ));
        assert!(matches!(
            s.append_event(&a.id, Some("T-999999"), "k", "{}", 1).await,
            Err(StoreError::NotFound { kind: "ticket", .. })
        ));
        assert!(matches!(
            s.append_event(&a.id, None, "k", "nope", 1).await,
            Err(StoreError::Invalid(_))
        ));
        // A failed append consumed no sequence number.
        let next = s.append_event(&a.id, None, "k", "{}", 99).await.unwrap();
        assert_eq!(next.seq, seqs[5] + 1);
    }
}

#[tokio::test]
async fn tickets_queue_by_priority_then_age() {
    for db in test_dbs().await {
        let s = db.open().await;
        // (priority, created_at)
        let spec = [(1, 100), (3, 300), (1, 50), (0, 10), (3, 200), (2, 400)];
        let mut ids = Vec::new();
        for (p, at) in spec {
            ids.push(waiting_ticket(&s, p, at).await.id);
        }
        assert_eq!(ids[0], "T-000001");
        assert_eq!(ids[5], "T-000006");
        let q = s.queue().await.unwrap();
        let order: Vec<&str> = q.iter().map(|t| t.id.as_str()).collect();
        // p3@200, p3@300, p2@400, p1@50, p1@100, p0@10
        assert_eq!(
            order,
            vec![&ids[4], &ids[1], &ids[5], &ids[2], &ids[0], &ids[3]]
        );
        let positions = crate::queue::queue_positions(&q);
        assert_eq!(positions[&ids[4]], 1);
        assert_eq!(positions[&ids[3]], 6);

        let t = s.ticket(&ids[0]).await.unwrap().unwrap();
        assert_eq!(t.state, TicketState::Waiting);
        assert_eq!(
            (t.intent.as_str(), t.language.as_str(), t.priority.number()),
            ("withdrawal_delay", "ko", 1)
        );
        assert!((t.confidence - 0.42).abs() < 1e-12);
        assert_eq!(t.details["asset"], "BTC");
        assert_eq!(t.transcript[0].text, "출금이 안 돼요");
        assert_eq!(t.agent_id, None);
        assert!(s.ticket("T-999999").await.unwrap().is_none());

        // One open ticket per conversation; another after it closed.
        assert_eq!(
            s.open_ticket_for_conversation(&t.conversation_id)
                .await
                .unwrap()
                .unwrap()
                .id,
            t.id
        );
        assert!(matches!(
            s.open_ticket(new_ticket(&t.conversation_id, 2), 500).await,
            Err(StoreError::Conflict(_))
        ));
        s.upsert_agent("a1", "Agent", 5).await.unwrap();
        s.claim_ticket(&t.id, "a1", 600).await.unwrap();
        assert_eq!(
            s.open_ticket_for_conversation(&t.conversation_id)
                .await
                .unwrap()
                .unwrap()
                .state,
            TicketState::Assigned
        );
        s.resolve_ticket(&t.id, "a1", 700).await.unwrap();
        assert!(
            s.open_ticket_for_conversation(&t.conversation_id)
                .await
                .unwrap()
                .is_none()
        );
        let again = s
            .open_ticket(new_ticket(&t.conversation_id, 2), 800)
            .await
            .unwrap();
        assert_eq!(again.id, "T-000007", "failed opens consumed no number");

        for bad in [
            NewTicket {
                confidence: 1.5,
                ..new_ticket(&t.conversation_id, 0)
            },
            NewTicket {
                confidence: -0.1,
                ..new_ticket(&t.conversation_id, 0)
            },
        ] {
            assert!(matches!(
                s.open_ticket(bad, 1).await,
                Err(StoreError::Invalid(_))
            ));
        }
        assert!(matches!(
            s.open_ticket(new_ticket("nope", 1), 1).await,
            Err(StoreError::NotFound {
                kind: "conversation",
                ..
            })
        ));
    }
}

#[tokio::test]
async fn concurrent_claims_have_exactly_one_winner() {
    for db in test_dbs().await {
        // Two stores (two pools, like two replicas) on one database.
        let (s1, s2) = (db.open().await, db.open().await);
        s1.upsert_agent("alice", "Alice", 3).await.unwrap();
        s1.upsert_agent("bob", "Bob", 3).await.unwrap();
        for round in 0..5 {
            let t = waiting_ticket(&s1, 2, round).await;
            let (a, b) = tokio::join!(
                s1.claim_ticket(&t.id, "alice", 100),
                s2.claim_ticket(&t.id, "bob", 100)
            );
            let (winner, loser) = match (&a, &b) {
                (Ok(w), Err(l)) => (w, l),
                (Err(l), Ok(w)) => (w, l),
                other => panic!("{:?}: expected one winner, got {other:?}", db.backend),
            };
            assert!(matches!(loser, StoreError::Conflict(_)), "{loser:?}");
            assert_eq!(winner.state, TicketState::Assigned);
            let stored = s1.ticket(&t.id).await.unwrap().unwrap();
            assert_eq!(stored.agent_id, winner.agent_id);
            assert_eq!(stored.assigned_at_ms, Some(100));
            // Claim it again: conflict, whoever asks.
            assert!(matches!(
                s2.claim_ticket(&t.id, "alice", 101).await,
                Err(StoreError::Conflict(_))
            ));
            let owner = winner.agent_id.clone().unwrap();
            s1.resolve_ticket(&t.id, &owner, 200).await.unwrap();
        }
        let agents = s1.agents().await.unwrap();
        assert!(agents.iter().all(|a| a.active_tickets == 0), "{agents:?}");
        let t = waiting_ticket(&s1, 1, 9).await;
        assert!(matches!(
            s1.claim_ticket("T-999999", "alice", 1).await,
            Err(StoreError::NotFound { kind: "ticket", .. })
        ));
        assert!(matches!(
            s1.claim_ticket(&t.id, "mallory", 1).await,
            Err(StoreError::NotFound { kind: "agent", .. })
        ));
        assert_eq!(
            s1.ticket(&t.id).await.unwrap().unwrap().state,
            TicketState::Waiting
        );
    }
}

#[tokio::test]
async fn only_the_owner_resolves_or_hands_back() {
    for db in test_dbs().await {
        let s = db.open().await;
        s.upsert_agent("a1", "One", 2).await.unwrap();
        s.upsert_agent("a2", "Two", 2).await.unwrap();
        let t = waiting_ticket(&s, 1, 1).await;
        // Not assigned yet.
        assert!(matches!(
            s.resolve_ticket(&t.id, "a1", 2).await,
            Err(StoreError::Conflict(_))
        ));
        s.claim_ticket(&t.id, "a1", 10).await.unwrap();
        s.claim_ticket(&waiting_ticket(&s, 1, 1).await.id, "a2", 10)
            .await
            .unwrap();

        let refused = s.resolve_ticket(&t.id, "a2", 20).await.unwrap_err();
        assert!(matches!(refused, StoreError::Conflict(_)), "{refused:?}");
        assert!(
            !refused.to_string().to_lowercase().contains("update"),
            "no SQL: {refused}"
        );
        assert!(matches!(
            s.hand_back_to_bot(&t.id, "a2", 20).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.resolve_ticket(&t.id, "ghost", 20).await,
            Err(StoreError::Conflict(_))
        ));
        let still = s.ticket(&t.id).await.unwrap().unwrap();
        assert_eq!(
            (still.state, still.agent_id.as_deref()),
            (TicketState::Assigned, Some("a1"))
        );
        let loads: HashMap<String, u32> = s
            .agents()
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.id, a.active_tickets))
            .collect();
        assert_eq!(
            (loads["a1"], loads["a2"]),
            (1, 1),
            "refusals changed no counter"
        );

        let done = s.resolve_ticket(&t.id, "a1", 30).await.unwrap();
        assert_eq!(
            (done.state, done.closed_at_ms),
            (TicketState::Resolved, Some(30))
        );
        assert!(matches!(
            s.resolve_ticket(&t.id, "a1", 31).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.resolve_ticket("T-999999", "a1", 31).await,
            Err(StoreError::NotFound { kind: "ticket", .. })
        ));

        let t2 = waiting_ticket(&s, 1, 40).await;
        s.claim_ticket(&t2.id, "a1", 41).await.unwrap();
        let back = s.hand_back_to_bot(&t2.id, "a1", 42).await.unwrap();
        assert_eq!(back.state, TicketState::BackToBot);
        let a1 = s
            .agents()
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.id == "a1")
            .unwrap();
        assert_eq!(a1.active_tickets, 0);
    }
}

#[tokio::test]
async fn auto_assign_respects_capacity_and_presence() {
    for db in test_dbs().await {
        let s = db.open().await;
        assert!(s.auto_assign(1).await.unwrap().is_none(), "empty queue");
        s.upsert_agent("busy", "Busy", 1).await.unwrap();
        s.upsert_agent("away", "Away", 2).await.unwrap();
        s.upsert_agent("zero", "Zero", 0).await.unwrap();
        s.set_agent_online("busy", true, 1).await.unwrap();
        s.set_agent_online("zero", true, 1).await.unwrap();
        let low = waiting_ticket(&s, 0, 10).await;
        let urgent = waiting_ticket(&s, 3, 30).await;
        let mid_old = waiting_ticket(&s, 2, 15).await;
        let mid_new = waiting_ticket(&s, 2, 20).await;

        let (t, a) = s.auto_assign(100).await.unwrap().unwrap();
        assert_eq!((t.id.as_str(), a.id.as_str()), (urgent.id.as_str(), "busy"));
        assert_eq!(
            (t.state, t.agent_id.as_deref(), a.active_tickets),
            (TicketState::Assigned, Some("busy"), 1)
        );
        // busy is full, away is offline, zero has no capacity.
        assert!(s.auto_assign(101).await.unwrap().is_none());

        let away = s.set_agent_online("away", true, 102).await.unwrap();
        assert!(away.online);
        assert_eq!(away.presence_changed_at_ms, Some(102));
        let (t, a) = s.auto_assign(103).await.unwrap().unwrap();
        assert_eq!(
            (t.id.as_str(), a.id.as_str()),
            (mid_old.id.as_str(), "away")
        );
        let (t, a) = s.auto_assign(104).await.unwrap().unwrap();
        assert_eq!(
            (t.id.as_str(), a.id.as_str()),
            (mid_new.id.as_str(), "away")
        );
        assert!(s.auto_assign(105).await.unwrap().is_none());

        // A freed slot is used; least loaded agent first.
        s.resolve_ticket(&urgent.id, "busy", 106).await.unwrap();
        s.upsert_agent("fresh", "Fresh", 4).await.unwrap();
        s.set_agent_online("fresh", true, 107).await.unwrap();
        let (t, a) = s.auto_assign(108).await.unwrap().unwrap();
        assert_eq!(t.id, low.id);
        assert!(a.id == "busy" || a.id == "fresh", "an idle agent: {a:?}");
        assert_ne!(a.id, "away");

        // Going offline keeps tickets but stops new ones.
        s.set_agent_online("away", false, 109).await.unwrap();
        let away = s
            .agents()
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.id == "away")
            .unwrap();
        assert_eq!((away.online, away.active_tickets), (false, 2));
        let extra = waiting_ticket(&s, 1, 110).await;
        let (t, a) = s.auto_assign(111).await.unwrap().unwrap();
        assert_eq!(t.id, extra.id);
        assert_ne!(a.id, "away");

        let agents = s.agents().await.unwrap();
        assert_eq!(
            agents.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["away", "busy", "fresh", "zero"]
        );
        assert!(
            agents.iter().all(|a| a.active_tickets <= a.capacity),
            "{agents:?}"
        );
        assert!(matches!(
            s.set_agent_online("ghost", true, 1).await,
            Err(StoreError::NotFound { kind: "agent", .. })
        ));
        // Upsert updates name and capacity, keeps presence and load.
        let up = s.upsert_agent("away", "Away Again", 5).await.unwrap();
        assert_eq!(
            (up.name.as_str(), up.capacity, up.active_tickets, up.online),
            ("Away Again", 5, 2, false)
        );
    }
}

#[tokio::test]
async fn concurrent_auto_assign_never_overbooks() {
    for db in test_dbs().await {
        let (s1, s2) = (db.open().await, db.open().await);
        for (id, cap) in [("a", 2u32), ("b", 2), ("c", 1)] {
            s1.upsert_agent(id, id, cap).await.unwrap();
            s1.set_agent_online(id, true, 0).await.unwrap();
        }
        for i in 0..12 {
            waiting_ticket(&s1, (i % 4) as i32, i).await;
        }
        let worker = |s: Store| async move {
            let mut got = Vec::new();
            loop {
                match s.auto_assign(1_000).await {
                    Ok(Some((t, a))) => got.push((t.id, a.id)),
                    Ok(None) => return got,
                    Err(StoreError::Conflict(_)) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        };
        let (w1, w2, w3, w4) = tokio::join!(
            worker(s1.clone()),
            worker(s2.clone()),
            worker(s1.clone()),
            worker(s2.clone())
        );
        let all: Vec<(String, String)> = [w1, w2, w3, w4].concat();
        assert_eq!(
            all.len(),
            5,
            "{:?}: total capacity is 5: {all:?}",
            db.backend
        );
        let tickets: HashSet<&String> = all.iter().map(|(t, _)| t).collect();
        assert_eq!(tickets.len(), 5, "no ticket assigned twice");
        let mut per_agent: HashMap<&str, u32> = HashMap::new();
        for (_, a) in &all {
            *per_agent.entry(a).or_default() += 1;
        }
        assert_eq!((per_agent["a"], per_agent["b"], per_agent["c"]), (2, 2, 1));
        for a in s1.agents().await.unwrap() {
            assert_eq!(a.active_tickets, per_agent[a.id.as_str()]);
        }
        // The five served are the highest priority ones.
        let waiting = s1.queue().await.unwrap();
        assert_eq!(waiting.len(), 7);
        assert!(waiting.iter().all(|t| t.priority <= Priority::High));
    }
}

#[tokio::test]
async fn ratings_are_validated() {
    for db in test_dbs().await {
        let s = db.open().await;
        let c = s.create_conversation(None, 1).await.unwrap();
        let other = s.create_conversation(None, 1).await.unwrap();
        let t = s.open_ticket(new_ticket(&c.id, 1), 2).await.unwrap();
        for bad in [0u8, 6, 255] {
            assert!(matches!(
                s.add_rating(&c.id, None, bad, None, 3).await,
                Err(StoreError::Invalid(_))
            ));
        }
        let r = s
            .add_rating(&c.id, Some(&t.id), 5, Some("친절해요"), 4)
            .await
            .unwrap();
        assert_eq!(
            (r.score, r.comment.as_deref(), r.ticket_id.as_deref()),
            (5, Some("친절해요"), Some(t.id.as_str()))
        );
        let r1 = s.add_rating(&c.id, None, 1, None, 5).await.unwrap();
        assert_ne!(r1.id, r.id);
        assert!(matches!(
            s.add_rating("nope", None, 3, None, 5).await,
            Err(StoreError::NotFound {
                kind: "conversation",
                ..
            })
        ));
        assert!(matches!(
            s.add_rating(&c.id, Some("T-999999"), 3, None, 5).await,
            Err(StoreError::NotFound { kind: "ticket", .. })
        ));
        assert!(matches!(
            s.add_rating(&other.id, Some(&t.id), 3, None, 5).await,
            Err(StoreError::Invalid(_))
        ));
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ratings")
            .fetch_one(s.pool())
            .await
            .unwrap()
            .get("n");
        assert_eq!(n, 2);
    }
}

#[tokio::test]
async fn notes_are_kept_in_order() {
    for db in test_dbs().await {
        let s = db.open().await;
        s.upsert_agent("a1", "One", 1).await.unwrap();
        s.upsert_agent("a2", "Two", 1).await.unwrap();
        let t = waiting_ticket(&s, 1, 1).await;
        s.add_note(&t.id, "a1", "KYC 확인 필요", 5).await.unwrap();
        s.add_note(&t.id, "a2", "second", 5).await.unwrap();
        let notes = s.notes(&t.id).await.unwrap();
        assert_eq!(
            notes
                .iter()
                .map(|n| (n.seq, n.agent_id.as_str(), n.text.as_str()))
                .collect::<Vec<_>>(),
            vec![(1, "a1", "KYC 확인 필요"), (2, "a2", "second")]
        );
        assert_eq!(s.ticket(&t.id).await.unwrap().unwrap().note_count, 2);
        assert!(matches!(
            s.add_note("T-999999", "a1", "x", 1).await,
            Err(StoreError::NotFound { kind: "ticket", .. })
        ));
        assert!(matches!(
            s.add_note(&t.id, "ghost", "x", 1).await,
            Err(StoreError::NotFound { kind: "agent", .. })
        ));
        assert!(matches!(
            s.add_note(&t.id, "a1", "  ", 1).await,
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(s.notes(&t.id).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn handling_times_and_counts() {
    for db in test_dbs().await {
        let s = db.open().await;
        s.upsert_agent("a", "A", 10).await.unwrap();
        let zero = s.ticket_counts().await.unwrap();
        assert_eq!(zero.len(), 4);
        assert!(zero.values().all(|&n| n == 0));
        // (assigned_at, resolved_at)
        for (assigned, resolved) in [(100, 400), (200, 1_200), (300, 350)] {
            let t = waiting_ticket(&s, 1, 0).await;
            s.claim_ticket(&t.id, "a", assigned).await.unwrap();
            s.resolve_ticket(&t.id, "a", resolved).await.unwrap();
        }
        let back = waiting_ticket(&s, 1, 0).await;
        s.claim_ticket(&back.id, "a", 10).await.unwrap();
        s.hand_back_to_bot(&back.id, "a", 5_000).await.unwrap();
        s.claim_ticket(&waiting_ticket(&s, 1, 0).await.id, "a", 10)
            .await
            .unwrap();
        waiting_ticket(&s, 1, 0).await;

        // Most recently resolved first; hand-backs are not handling times.
        assert_eq!(
            s.recent_handling_times(10).await.unwrap(),
            vec![1_000, 300, 50]
        );
        assert_eq!(s.recent_handling_times(2).await.unwrap(), vec![1_000, 300]);
        assert!(s.recent_handling_times(0).await.unwrap().is_empty());

        let counts = s.ticket_counts().await.unwrap();
        let expected: BTreeMap<String, i64> = [
            ("assigned", 1),
            ("back_to_bot", 1),
            ("resolved", 3),
            ("waiting", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(counts, expected);
    }
}

#[tokio::test]
async fn subscribers_are_notified() {
    for db in test_dbs().await {
        let (a, b) = (db.open().await, db.open().await);
        let c = a.create_conversation(None, 1).await.unwrap();
        let mut on_a = a.subscribe().await;
        let mut on_b = b.subscribe().await;
        let e = a
            .append_event(&c.id, None, "ticket_opened", "{}", 2)
            .await
            .unwrap();
        let expected = EventNotice {
            conversation_id: c.id.clone(),
            seq: e.seq,
        };
        let got = tokio::time::timeout(Duration::from_secs(10), on_a.recv())
            .await
            .expect("notice on the writing store")
            .unwrap();
        assert_eq!(got, expected);
        match db.backend {
            Backend::Postgres => {
                // Another replica sees it, exactly once.
                let got = tokio::time::timeout(Duration::from_secs(10), on_b.recv())
                    .await
                    .expect("notice on the other replica")
                    .unwrap();
                assert_eq!(got, expected);
                let e2 = b
                    .append_event(&c.id, None, "agent_message", "{}", 3)
                    .await
                    .unwrap();
                let got = tokio::time::timeout(Duration::from_secs(10), on_a.recv())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(got.seq, e2.seq);
                let got = tokio::time::timeout(Duration::from_secs(10), on_b.recv())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(got.seq, e2.seq, "no duplicate of the first notice");
            }
            Backend::Sqlite => {
                // In-process only: clones share the channel, another Store does not.
                let mut on_clone = a.clone().subscribe().await;
                let e2 = a
                    .append_event(&c.id, None, "bot_message", "{}", 3)
                    .await
                    .unwrap();
                assert_eq!(on_clone.recv().await.unwrap().seq, e2.seq);
                assert!(on_b.try_recv().is_err());
            }
        }
        // A failed append notifies nobody.
        assert!(a.append_event("nope", None, "k", "{}", 4).await.is_err());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let pending: Vec<_> = std::iter::from_fn(|| on_a.try_recv().ok()).collect();
        assert!(
            pending.iter().all(|n| n.conversation_id == c.id),
            "{pending:?}"
        );
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_reopening() {
    for db in test_dbs().await {
        let s = db.open().await;
        s.upsert_agent("a1", "One", 2).await.unwrap();
        let c = s.create_conversation(Some("cust"), 1).await.unwrap();
        s.append_message(&c.id, Sender::Customer, "hello", "{}", 2)
            .await
            .unwrap();
        let t = s.open_ticket(new_ticket(&c.id, 2), 3).await.unwrap();
        s.claim_ticket(&t.id, "a1", 4).await.unwrap();
        let e = s
            .append_event(&c.id, Some(&t.id), "ticket_assigned", "{}", 5)
            .await
            .unwrap();
        drop(s);

        let s = match &db.dir {
            Some(dir) => Store::open_data_dir(dir.path()).await.unwrap(),
            None => db.open().await,
        };
        assert_eq!(
            s.conversation(&c.id).await.unwrap().unwrap().message_count,
            1
        );
        assert_eq!(s.messages(&c.id).await.unwrap()[0].text, "hello");
        let t2 = s.ticket(&t.id).await.unwrap().unwrap();
        assert_eq!(
            (t2.state, t2.agent_id.as_deref()),
            (TicketState::Assigned, Some("a1"))
        );
        assert_eq!(s.events_after(&c.id, 0).await.unwrap(), vec![e]);
        assert_eq!(s.agents().await.unwrap()[0].active_tickets, 1);
        // Counters continue, they do not restart.
        assert_eq!(waiting_ticket(&s, 1, 6).await.id, "T-000002");
    }
}

/// Environment variable naming the data directory of [`durability_child_writer`].
const CHILD_DIR_ENV: &str = "INTENTDESK_DURABILITY_CHILD_DIR";

/// The writing half of `acknowledged_writes_survive_a_kill`: run as a child
/// process, it prints `ACK <seq>` after each acknowledged append and aborts the
/// process without closing anything.
#[tokio::test]
#[ignore = "run by acknowledged_writes_survive_a_kill in a child process"]
async fn durability_child_writer() {
    let dir = std::env::var(CHILD_DIR_ENV).unwrap_or_else(|_| {
        panic!("{CHILD_DIR_ENV} is not set: this is the child of acknowledged_writes_survive_a_kill, run that test")
    });
    let s = Store::open_data_dir(Path::new(&dir)).await.unwrap();
    let c = s.create_conversation(Some("kill-test"), 1).await.unwrap();
    println!("CONV {}", c.id);
    for i in 0..20 {
        let m = s
            .append_message(&c.id, Sender::Customer, &format!("m{i}"), "{}", i)
            .await
            .unwrap();
        println!("ACK {}", m.seq);
    }
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    std::process::abort();
}

#[tokio::test]
async fn acknowledged_writes_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "store::tests::durability_child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the child aborts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let conv = stdout
        .lines()
        .find_map(|l| l.split_once("CONV ").map(|(_, id)| id.trim()))
        .unwrap_or_else(|| {
            panic!(
                "child output: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_string();
    let acked: Vec<i64> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ACK ")?.trim().parse().ok())
        .collect();
    assert_eq!(acked.len(), 20, "{stdout}");
    let s = Store::open_data_dir(dir.path()).await.unwrap();
    let seqs: Vec<i64> = s
        .messages(&conv)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(seqs, acked);
}

#[tokio::test]
async fn transfers_move_slots_ticket_and_the_customer_event_together() {
    for db in test_dbs().await {
        let s = db.open().await;
        s.upsert_agent("a1", "One", 2).await.unwrap();
        s.upsert_agent("a2", "Two", 2).await.unwrap();
        let t = waiting_ticket(&s, 1, 1).await;
        let announce = Announcement {
            kind: "agent_joined".into(),
            payload_json: r#"{"type":"agent_joined","agent":"Two","text":"Two joined"}"#.into(),
            text: "Two joined".into(),
        };
        let claimed = s.claim_ticket(&t.id, "a1", 5).await.unwrap();
        assert_eq!(claimed.assigned_by.as_deref(), Some("claim"));
        let loads = |s: Store| async move {
            let a = s.agents().await.unwrap();
            (a[0].active_tickets, a[1].active_tickets)
        };
        let events =
            |s: Store, c: String| async move { s.events_after(&c, 0).await.unwrap().len() };
        // Refusals change nothing: a2 offline, an unknown agent, not the owner.
        let offline = s
            .transfer_ticket(&t.id, "a1", Some("a2"), &announce, 10)
            .await;
        assert!(
            matches!(&offline, Err(StoreError::Conflict(m)) if m.contains("offline")),
            "{offline:?}"
        );
        let ghost = s
            .transfer_ticket(&t.id, "a1", Some("ghost"), &announce, 10)
            .await;
        assert!(
            matches!(ghost, Err(StoreError::NotFound { kind: "agent", .. })),
            "{ghost:?}"
        );
        let not_owner = s.transfer_ticket(&t.id, "a2", None, &announce, 10).await;
        assert!(
            matches!(not_owner, Err(StoreError::Conflict(_))),
            "{not_owner:?}"
        );
        assert_eq!(loads(s.clone()).await, (1, 0));
        assert_eq!(events(s.clone(), t.conversation_id.clone()).await, 0);

        s.set_agent_online("a2", true, 11).await.unwrap();
        let (moved, event) = s
            .transfer_ticket(&t.id, "a1", Some("a2"), &announce, 12)
            .await
            .unwrap();
        assert_eq!(
            (
                moved.state,
                moved.agent_id.as_deref(),
                moved.assigned_by.as_deref(),
                moved.assigned_at_ms
            ),
            (
                TicketState::Assigned,
                Some("a2"),
                Some("transfer"),
                Some(12)
            )
        );
        assert_eq!(loads(s.clone()).await, (0, 1));
        assert_eq!(
            (event.kind.as_str(), event.ticket_id.as_deref()),
            ("agent_joined", Some(t.id.as_str()))
        );
        let messages = s.messages(&t.conversation_id).await.unwrap();
        assert_eq!(messages.last().unwrap().text, "Two joined");

        // Back to the queue: waiting, nobody's, in its old place by priority and age.
        let later = waiting_ticket(&s, 1, 20).await;
        let (back, _) = s
            .transfer_ticket(&t.id, "a2", None, &announce, 30)
            .await
            .unwrap();
        assert_eq!(
            (
                back.state,
                back.agent_id,
                back.assigned_by,
                back.assigned_at_ms
            ),
            (TicketState::Waiting, None, None, None)
        );
        assert_eq!(loads(s.clone()).await, (0, 0));
        let queue: Vec<String> = s.queue().await.unwrap().into_iter().map(|t| t.id).collect();
        assert_eq!(queue, [t.id.clone(), later.id.clone()]);
        assert_eq!(events(s.clone(), t.conversation_id.clone()).await, 2);
        let open: Vec<String> = s
            .open_tickets()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(open.len(), 2);
    }
}

#[tokio::test]
async fn counts_since_and_unanswered_messages() {
    for db in test_dbs().await {
        let s = db.open().await;
        s.upsert_agent("a1", "One", 2).await.unwrap();
        let old = s.create_conversation(None, 10).await.unwrap();
        s.append_message(&old.id, Sender::Customer, "old", "{}", 10)
            .await
            .unwrap();
        let c = s.create_conversation(None, 1_000).await.unwrap();
        let silent = s.create_conversation(None, 1_000).await.unwrap();
        s.append_message(&c.id, Sender::Customer, "hi", "{}", 1_000)
            .await
            .unwrap();
        let t = s.open_ticket(new_ticket(&c.id, 1), 1_001).await.unwrap();
        s.append_event(&c.id, Some(&t.id), "ticket_opened", "{}", 1_002)
            .await
            .unwrap();
        s.append_event(&c.id, None, "customer_message", "{}", 1_003)
            .await
            .unwrap();
        s.append_event(&c.id, None, "customer_message", "{}", 1_004)
            .await
            .unwrap();
        assert_eq!(s.unanswered_messages(&c.id).await.unwrap(), 2);
        s.append_event(&c.id, Some(&t.id), "agent_message", "{}", 1_005)
            .await
            .unwrap();
        assert_eq!(s.unanswered_messages(&c.id).await.unwrap(), 0);
        assert_eq!(s.unanswered_messages(&silent.id).await.unwrap(), 0);
        s.claim_ticket(&t.id, "a1", 1_006).await.unwrap();
        s.resolve_ticket(&t.id, "a1", 1_007).await.unwrap();
        s.add_rating(&c.id, Some(&t.id), 4, None, 1_008)
            .await
            .unwrap();
        s.add_rating(&c.id, Some(&t.id), 5, None, 1_009)
            .await
            .unwrap();
        s.add_rating(&old.id, None, 1, None, 11).await.unwrap();
        let counts = s.counts_since(1_000).await.unwrap();
        assert_eq!(
            counts,
            DayCounts {
                conversations: 1,
                tickets: 1,
                resolved: 1,
                ratings: 2,
                rating_sum: 9
            }
        );
        assert_eq!(s.counts_since(0).await.unwrap().conversations, 2);
    }
}

#[tokio::test]
async fn a_turn_commits_everything_or_nothing_and_replays_by_client_message_id() {
    for db in test_dbs().await {
        let s = db.open().await;
        let c = s.create_conversation(None, 1).await.unwrap();
        // Dropped before commit: nothing of it is visible.
        {
            let mut turn = s.begin_turn(&c.id).await.unwrap();
            turn.append_message(Sender::Customer, "hi", "{}", 2)
                .await
                .unwrap();
            turn.append_event(None, "customer_message", "{}", 2)
                .await
                .unwrap();
            turn.open_ticket(new_ticket(&c.id, 1), 2).await.unwrap();
            turn.save_state("{\"x\":1}", "en", 2).await.unwrap();
        }
        assert!(
            s.messages(&c.id).await.unwrap().is_empty(),
            "{:?}",
            db.backend
        );
        assert!(s.events_after(&c.id, 0).await.unwrap().is_empty());
        assert!(
            s.open_ticket_for_conversation(&c.id)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            s.conversation(&c.id).await.unwrap().unwrap().state_json,
            "{}"
        );

        let mut turn = s.begin_turn(&c.id).await.unwrap();
        assert!(turn.recorded("m-1").await.unwrap().is_none());
        turn.append_message(Sender::Customer, "hi", "{}", 3)
            .await
            .unwrap();
        turn.append_event(None, "customer_message", "{}", 3)
            .await
            .unwrap();
        let ticket = turn.open_ticket(new_ticket(&c.id, 1), 3).await.unwrap();
        let announce = Announcement {
            kind: "ticket_opened".into(),
            payload_json: "{}".into(),
            text: "opened".into(),
        };
        turn.announce(Some(&ticket.id), &announce, 3).await.unwrap();
        let events = turn.commit(Some("m-1"), 3).await.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(s.messages(&c.id).await.unwrap().len(), 2);
        assert_eq!(
            s.recorded_turn(&c.id, "m-1").await.unwrap(),
            Some(events.clone())
        );
        // Another conversation's id space is its own.
        let other = s.create_conversation(None, 4).await.unwrap();
        assert!(s.recorded_turn(&other.id, "m-1").await.unwrap().is_none());
        // Under the lock the retry sees the first outcome.
        let mut retry = s.begin_turn(&c.id).await.unwrap();
        assert_eq!(retry.recorded("m-1").await.unwrap(), Some(events));
        assert_eq!(retry.conversation().message_count, 2);
        drop(retry);
        assert!(matches!(
            s.begin_turn("no-such-conversation").await,
            Err(StoreError::NotFound { .. })
        ));
        for bad in ["", "has space", &"x".repeat(65), "tab\there"] {
            assert!(check_client_message_id(bad).is_err(), "{bad:?}");
        }
        check_client_message_id(&"x".repeat(64)).unwrap();
    }
}

/// Two stores on one database are two replicas: a turn that read the conversation must keep
/// it until it commits, so the other replica's turn starts from its result.
#[tokio::test]
async fn turns_of_one_conversation_serialize_across_replicas() {
    for db in test_dbs().await {
        let (a, b) = (db.open().await, db.open().await);
        let c = a.create_conversation(None, 1).await.unwrap();
        let run = |s: Store, name: &'static str| {
            let id = c.id.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for i in 0..5 {
                    let mut turn = s.begin_turn(&id).await.unwrap();
                    let before = turn.conversation().message_count;
                    seen.push(before);
                    // Hold the lock a while: the other replica must wait, not interleave.
                    tokio::time::sleep(Duration::from_millis(15)).await;
                    for part in ["ask", "answer"] {
                        let text = format!("{name}{i}-{part}");
                        turn.append_message(Sender::Customer, &text, "{}", 2)
                            .await
                            .unwrap();
                        turn.append_event(None, "customer_message", "{}", 2)
                            .await
                            .unwrap();
                    }
                    let state = format!("{{\"count\":{}}}", before + 2);
                    turn.save_state(&state, "en", 2).await.unwrap();
                    turn.commit(None, 2).await.unwrap();
                }
                seen
            })
        };
        let (sa, sb) = tokio::join!(run(a.clone(), "a"), run(b.clone(), "b"));
        let mut seen: Vec<i64> = sa.unwrap().into_iter().chain(sb.unwrap()).collect();
        seen.sort();
        // Every turn read the state the previous turn left: 0, 2, 4, ... 18.
        assert_eq!(
            seen,
            (0..10).map(|i| i * 2).collect::<Vec<_>>(),
            "{:?}",
            db.backend
        );
        let messages = a.messages(&c.id).await.unwrap();
        let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
        for pair in messages.chunks(2) {
            let ask = pair[0]
                .text
                .strip_suffix("-ask")
                .expect("a turn starts with its ask");
            assert_eq!(pair[1].text, format!("{ask}-answer"), "turns interleaved");
        }
        let events = a.events_after(&c.id, 0).await.unwrap();
        assert_eq!(events.len(), 20);
        let state = a.conversation(&c.id).await.unwrap().unwrap().state_json;
        assert_eq!(state, "{\"count\":20}");
    }
}
