//! Store tests of incident notices, each on SQLite and PostgreSQL (see `tests.rs` for the
//! databases): create, read back, active vs recent, edit, resolve, counters, conflicts.

use std::collections::BTreeMap;

use super::tests::test_dbs;
use super::*;

fn scope() -> NoticeScope {
    NoticeScope {
        intents: vec!["withdrawal_delayed".into()],
        coins: vec!["ETH".into()],
        networks: vec!["ERC-20".into()],
        keywords: vec![],
        texts: BTreeMap::from([
            ("en".to_string(), "ETH withdrawals are delayed.".to_string()),
            (
                "ko".to_string(),
                "ETH 출금이 지연되고 있습니다.".to_string(),
            ),
        ]),
        severity: Severity::High,
    }
}

#[tokio::test]
async fn notices_round_trip_and_expire() {
    for db in test_dbs().await {
        let s = db.open().await;
        let b = db.backend;
        let a = s
            .create_notice(&scope(), "mina", 10_000, 1_000)
            .await
            .unwrap();
        let second = s
            .create_notice(&scope(), "mina", 5_000, 2_000)
            .await
            .unwrap();
        assert_eq!(
            (a.id.as_str(), second.id.as_str()),
            ("N-000001", "N-000002"),
            "{b:?}"
        );
        assert_eq!(a.scope, scope(), "{b:?}");
        assert_eq!((a.created_by.as_str(), a.expires_at_ms), ("mina", 10_000));
        assert!(a.resolved_at_ms.is_none() && a.closing_texts.is_empty());
        assert_eq!(s.notice(&a.id).await.unwrap(), Some(a.clone()), "{b:?}");
        assert!(s.notice("N-999999").await.unwrap().is_none());
        let ids = |v: Vec<Notice>| v.into_iter().map(|n| n.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.active_notices(3_000).await.unwrap()),
            ["N-000001", "N-000002"]
        );
        // At 6 000 the second has expired: no longer active, still recent.
        assert_eq!(
            ids(s.active_notices(6_000).await.unwrap()),
            ["N-000001"],
            "{b:?}"
        );
        assert_eq!(
            ids(s.recent_notices(6_000, 4_000).await.unwrap()),
            ["N-000002", "N-000001"],
            "{b:?}"
        );
        assert_eq!(
            ids(s.recent_notices(6_000, 5_500).await.unwrap()),
            ["N-000001"]
        );
    }
}

#[tokio::test]
async fn notices_edit_resolve_and_count() {
    for db in test_dbs().await {
        let s = db.open().await;
        let b = db.backend;
        let n = s
            .create_notice(&scope(), "mina", 10_000, 1_000)
            .await
            .unwrap();
        let mut edited = scope();
        edited.coins = vec!["ETH".into(), "USDT".into()];
        edited.severity = Severity::Medium;
        let e = s
            .update_notice(&n.id, &edited, 50_000, 2_000)
            .await
            .unwrap();
        assert_eq!(
            (e.scope.clone(), e.expires_at_ms, e.updated_at_ms),
            (edited, 50_000, 2_000)
        );
        assert_eq!(e.created_at_ms, 1_000, "{b:?}");

        s.count_notice(&n.id, NoticeCounter::Shown).await.unwrap();
        s.count_notice(&n.id, NoticeCounter::Shown).await.unwrap();
        s.count_notice(&n.id, NoticeCounter::Answered)
            .await
            .unwrap();
        s.count_notice(&n.id, NoticeCounter::AskedForPerson)
            .await
            .unwrap();
        let c = s.notice(&n.id).await.unwrap().unwrap();
        assert_eq!(
            (c.shown, c.answered, c.asked_for_person),
            (2, 1, 1),
            "{b:?}"
        );
        assert!(matches!(
            s.count_notice("N-000404", NoticeCounter::Answered).await,
            Err(StoreError::NotFound { .. })
        ));

        let closing = BTreeMap::from([("en".to_string(), "Fixed at 14:20.".to_string())]);
        let r = s.resolve_notice(&n.id, &closing, 3_000).await.unwrap();
        assert_eq!(
            (r.resolved_at_ms, r.closing_texts.clone()),
            (Some(3_000), closing.clone())
        );
        assert!(!r.is_active(3_001) && s.active_notices(3_001).await.unwrap().is_empty());
        assert_eq!(
            s.recent_notices(3_001, 2_500).await.unwrap().len(),
            1,
            "{b:?}"
        );
        // History cannot be rewritten.
        assert!(matches!(
            s.resolve_notice(&n.id, &closing, 4_000).await,
            Err(StoreError::Conflict(m)) if m.contains(&n.id)
        ));
        assert!(matches!(
            s.update_notice(&n.id, &scope(), 90_000, 4_000).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.update_notice("N-000404", &scope(), 90_000, 4_000).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn a_second_replica_sees_notices_and_counts() {
    for db in test_dbs().await {
        let (one, two) = (db.open().await, db.open().await);
        let n = one
            .create_notice(&scope(), "mina", 10_000, 1_000)
            .await
            .unwrap();
        two.count_notice(&n.id, NoticeCounter::Answered)
            .await
            .unwrap();
        let seen = two.active_notices(2_000).await.unwrap();
        assert_eq!(seen.len(), 1, "{:?}", db.backend);
        assert_eq!(one.notice(&n.id).await.unwrap().unwrap().answered, 1);
    }
}

#[test]
fn severity_parses_and_refuses() {
    for s in Severity::ALL {
        assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
    }
    let e = "urgent".parse::<Severity>().unwrap_err();
    assert!(e.to_string().contains("\"urgent\""), "{e}");
}
