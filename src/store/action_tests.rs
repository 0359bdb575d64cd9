//! Store tests of agent actions ([`Action`]), each on SQLite and PostgreSQL (see
//! `tests.rs` for the databases): an action whose event insert fails (a trigger makes the
//! database refuse it) leaves the ticket, the agents' slots and the transcript as they
//! were; concurrent claims of one ticket from two replicas have exactly one winner and
//! exactly one "agent joined".

use sqlx::Executor;

use super::tests::test_dbs;
use super::*;

/// Makes the database refuse events of the kinds an agent action announces.
async fn refuse_action_events(s: &Store) {
    let kinds = "('agent_joined', 'resolved', 'handed_back', 'queue_position')";
    let statements = match s.backend() {
        Backend::Sqlite => vec![format!(
            "CREATE TRIGGER refuse_events BEFORE INSERT ON events WHEN NEW.kind IN {kinds}
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )],
        Backend::Postgres => vec![
            "CREATE FUNCTION refuse_event() RETURNS trigger AS $$
             BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
                .to_string(),
            format!(
                "CREATE TRIGGER refuse_events BEFORE INSERT ON events FOR EACH ROW
                 WHEN (NEW.kind IN {kinds}) EXECUTE FUNCTION refuse_event()"
            ),
        ],
    };
    for sql in statements {
        s.pool()
            .execute(sql.as_str())
            .await
            .expect("trigger installed");
    }
}

fn says(kind: &str, text: &str) -> Announcement {
    Announcement {
        kind: kind.to_string(),
        payload_json: serde_json::json!({ "type": kind, "text": text }).to_string(),
        text: text.to_string(),
    }
}

async fn waiting(s: &Store, now: i64) -> Ticket {
    let c = s.create_conversation(None, now).await.unwrap();
    let t = NewTicket {
        conversation_id: c.id,
        intent: "account_2fa_reset".into(),
        confidence: 0.9,
        language: "ko".into(),
        priority: Priority::High,
        details: Default::default(),
        transcript: Vec::new(),
    };
    s.open_ticket(t, now).await.unwrap()
}

async fn load(s: &Store, agent: &str) -> u32 {
    let agents = s.agents().await.unwrap();
    agents
        .iter()
        .find(|a| a.id == agent)
        .unwrap()
        .active_tickets
}

/// (events, messages) of the ticket's conversation.
async fn written(s: &Store, t: &Ticket) -> (usize, usize) {
    let events = s.events_after(&t.conversation_id, 0).await.unwrap().len();
    let messages = s.messages(&t.conversation_id).await.unwrap().len();
    (events, messages)
}

#[tokio::test]
async fn an_action_whose_event_insert_fails_changes_nothing() {
    for db in test_dbs().await {
        let s = db.open().await;
        let b = db.backend;
        for (id, name) in [("mina", "Mina"), ("jun", "Jun")] {
            s.upsert_agent(id, name, 3).await.unwrap();
            s.set_agent_online(id, true, 1).await.unwrap();
        }
        let t = waiting(&s, 10).await;
        refuse_action_events(&s).await;

        // Claim: the ticket moved, then the "agent joined" insert failed.
        let mut action = s.begin_action().await.unwrap();
        let (claimed, _) = action.claim(&t.id, "mina", 20).await.unwrap();
        assert_eq!(claimed.state, TicketState::Assigned, "{b:?}");
        let joined = says("agent_joined", "Mina joined");
        assert!(
            action
                .announce(&t.conversation_id, Some(&t.id), &joined, 20)
                .await
                .is_err()
        );
        drop(action);
        let now = s.ticket(&t.id).await.unwrap().unwrap();
        assert_eq!(
            (now.state, now.agent_id),
            (TicketState::Waiting, None),
            "{b:?}"
        );
        assert_eq!(load(&s, "mina").await, 0, "{b:?}");
        assert_eq!(written(&s, &t).await, (0, 0), "{b:?}");

        // Auto-assign: same.
        let r = s
            .auto_assign_announced(30, |_, _| Ok(Some(says("agent_joined", "Jun joined"))))
            .await;
        assert!(r.is_err(), "{b:?}: {r:?}");
        assert_eq!(
            s.ticket(&t.id).await.unwrap().unwrap().state,
            TicketState::Waiting
        );
        assert_eq!(
            (load(&s, "mina").await, load(&s, "jun").await),
            (0, 0),
            "{b:?}"
        );

        // Resolve, hand back and transfer of an assigned ticket: nothing moves.
        s.claim_ticket(&t.id, "mina", 40).await.unwrap();
        let steps: [(&str, Option<&str>); 4] = [
            ("resolved", None),
            ("handed_back", None),
            ("queue_position", None),
            ("agent_joined", Some("jun")),
        ];
        for (kind, to) in steps {
            let mut action = s.begin_action().await.unwrap();
            let moved = match (kind, to) {
                ("resolved", _) => action.resolve(&t.id, "mina", 50).await,
                ("handed_back", _) => action.hand_back(&t.id, "mina", 50).await,
                (_, to) => action.transfer(&t.id, "mina", to, 50).await,
            };
            assert!(moved.is_ok(), "{b:?} {kind}: {moved:?}");
            let said = action
                .announce(&t.conversation_id, Some(&t.id), &says(kind, "x"), 50)
                .await;
            assert!(said.is_err(), "{b:?} {kind}");
            // A failed step poisons the action: it cannot be committed half-way.
            assert!(action.commit().await.is_err(), "{b:?} {kind}");
            let now = s.ticket(&t.id).await.unwrap().unwrap();
            assert_eq!(
                (now.state, now.agent_id.as_deref(), now.closed_at_ms),
                (TicketState::Assigned, Some("mina"), None),
                "{b:?} {kind}"
            );
            assert_eq!(
                (load(&s, "mina").await, load(&s, "jun").await),
                (1, 0),
                "{b:?} {kind}"
            );
            assert_eq!(written(&s, &t).await, (0, 0), "{b:?} {kind}");
        }
        // The convenience wrapper fails as a whole too.
        let r = s
            .transfer_ticket(&t.id, "mina", None, &says("queue_position", "x"), 60)
            .await;
        assert!(r.is_err(), "{b:?}");
        assert_eq!(
            s.ticket(&t.id).await.unwrap().unwrap().state,
            TicketState::Assigned
        );
    }
}

#[tokio::test]
async fn an_action_commits_its_change_and_its_events_together() {
    for db in test_dbs().await {
        let s = db.open().await;
        let b = db.backend;
        s.upsert_agent("mina", "Mina", 3).await.unwrap();
        let t = waiting(&s, 10).await;
        let mut action = s.begin_action().await.unwrap();
        action.claim(&t.id, "mina", 20).await.unwrap();
        action
            .announce(
                &t.conversation_id,
                Some(&t.id),
                &says("agent_joined", "Mina joined"),
                20,
            )
            .await
            .unwrap();
        // Not visible before the commit (another connection reads the old state).
        if b == Backend::Postgres {
            assert_eq!(
                s.ticket(&t.id).await.unwrap().unwrap().state,
                TicketState::Waiting
            );
            assert_eq!(written(&s, &t).await, (0, 0));
        }
        let events = action.commit().await.unwrap();
        assert_eq!(events.len(), 1, "{b:?}");
        assert_eq!(
            s.ticket(&t.id).await.unwrap().unwrap().state,
            TicketState::Assigned
        );
        assert_eq!(written(&s, &t).await, (1, 1), "{b:?}");
        // A refused step: nothing to commit.
        let mut action = s.begin_action().await.unwrap();
        assert!(matches!(
            action.claim(&t.id, "mina", 30).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(action.commit().await.is_err(), "{b:?}");
        assert_eq!(load(&s, "mina").await, 1, "{b:?}");
    }
}

#[tokio::test]
async fn concurrent_claims_with_their_events_have_exactly_one_winner() {
    for db in test_dbs().await {
        // Two stores (two pools, like two replicas) on one database.
        let (s1, s2) = (db.open().await, db.open().await);
        let b = db.backend;
        let agents: Vec<String> = (0..6).map(|i| format!("agent{i}")).collect();
        for a in &agents {
            s1.upsert_agent(a, a, 3).await.unwrap();
        }
        for round in 0..4 {
            let t = waiting(&s1, round).await;
            let claims = agents.iter().enumerate().map(|(i, a)| {
                let s = if i % 2 == 0 { s1.clone() } else { s2.clone() };
                let (a, t) = (a.clone(), t.clone());
                tokio::spawn(async move {
                    let mut action = s.begin_action().await?;
                    let (ticket, agent) = action.claim(&t.id, &a, 100).await?;
                    let joined = says("agent_joined", &format!("{} joined", agent.name));
                    action
                        .announce(&ticket.conversation_id, Some(&ticket.id), &joined, 100)
                        .await?;
                    action.commit().await?;
                    Ok::<_, StoreError>(a)
                })
            });
            let results: Vec<_> = futures::future::join_all(claims).await;
            let mut winners = Vec::new();
            for r in results {
                match r.unwrap() {
                    Ok(a) => winners.push(a),
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => panic!("{b:?}: a losing claim must be a conflict: {e:?}"),
                }
            }
            assert_eq!(winners.len(), 1, "{b:?}: {winners:?}");
            let stored = s1.ticket(&t.id).await.unwrap().unwrap();
            assert_eq!(
                stored.agent_id.as_deref(),
                Some(winners[0].as_str()),
                "{b:?}"
            );
            let events = s1.events_after(&t.conversation_id, 0).await.unwrap();
            assert_eq!(events.len(), 1, "{b:?}: one agent joined: {events:?}");
            assert!(
                events[0]
                    .payload_json
                    .contains(&format!("{} joined", winners[0]))
            );
            let total: u32 = s1
                .agents()
                .await
                .unwrap()
                .iter()
                .map(|a| a.active_tickets)
                .sum();
            assert_eq!(
                total,
                round as u32 + 1,
                "{b:?}: one slot per claimed ticket"
            );
        }
    }
}
