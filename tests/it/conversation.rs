//! Multi-turn conversations driven through the policy with the real shipped
//! model (`models/default`) and the real catalog: what a customer would see.

use std::sync::{Arc, OnceLock};

use intentdesk::catalog::Catalog;
use intentdesk::inference::check_model;
use intentdesk::model::{Classifier, IntentModel};
use intentdesk::nlu::{self, Lang, SecretKind};
use intentdesk::policy::{self, ConversationState, Decision, Outcome, PolicyConfig, QueueState};

use super::common;
use super::harness::{catalog, root};

/// The shipped model, the catalog it fits and the default policy, loaded once.
struct Shipped {
    model: IntentModel,
    catalog: Arc<Catalog>,
    policy: PolicyConfig,
}

fn shipped() -> &'static Shipped {
    static ENGINE: OnceLock<Shipped> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let model = common::load(intentdesk::model::Precision::F32);
        let classifier =
            Classifier::load(&root().join("models/default"), &model).expect("models/default");
        let model = IntentModel::single(model, classifier);
        let catalog = catalog();
        check_model(&model, &catalog).expect("shipped model fits the catalog");
        Shipped {
            model,
            catalog,
            policy: PolicyConfig::default(),
        }
    })
}

/// One conversation: state threaded from message to message.
struct Chat {
    state: ConversationState,
    queue: QueueState,
}

impl Chat {
    fn new(wait_minutes: u32) -> Self {
        Chat {
            state: ConversationState::default(),
            queue: QueueState {
                estimated_wait_minutes: wait_minutes,
                open_ticket: None,
            },
        }
    }

    fn say(&mut self, text: &str) -> Outcome {
        let e = shipped();
        let analysis = nlu::analyse(text);
        let prediction = e
            .model
            .predict(&[analysis.masked.text.as_str()])
            .unwrap()
            .remove(0);
        let outcome = policy::decide(
            &e.catalog,
            &e.policy,
            &self.state,
            &analysis,
            &prediction,
            &self.queue,
        );
        eprintln!(
            "{text:?} -> {} ({} {:.2}) {:?}",
            outcome.decision.name(),
            prediction.intent,
            prediction.confidence,
            outcome
                .replies
                .iter()
                .map(|r| r.text.chars().take(60).collect::<String>())
                .collect::<Vec<_>>()
        );
        self.state = outcome.state.clone();
        outcome
    }
}

#[test]
fn korean_deposit_problem_with_the_txid_in_the_second_message() {
    let mut chat = Chat::new(3);
    let first = chat
        .say("어제 밤에 바이낸스에서 USDT 500개 트론 네트워크로 보냈는데 아직 입금이 안 됐어요");
    assert_eq!(first.lang, Lang::Ko);
    // Coin, network and amount were in the message: the bot asks for what is missing, in Korean.
    let Decision::CollectDetail { intent, key } = &first.decision else {
        panic!("expected a question, got {:?}", first.decision);
    };
    assert_eq!(intent, "deposit_missing");
    assert_eq!(
        key, "txid",
        "coin, network and amount were given; the TXID is the next missing detail"
    );
    assert!(
        first
            .replies
            .iter()
            .any(|r| r.text.chars().any(|c| ('가'..='힣').contains(&c)))
    );

    let txid = "7c1e5d0f4b2a9e8d3c6b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d";
    let second = chat.say(&format!("TXID는 {txid} 입니다"));
    let details = match &second.decision {
        Decision::OpenTicket {
            intent, details, ..
        } => {
            assert_eq!(intent, "deposit_missing");
            details.clone()
        }
        Decision::CollectDetail { key, .. } => {
            // Only the time was left: answering it opens the ticket.
            assert_eq!(key, "time_sent");
            match chat.say("어제 밤 11시쯤이요").decision {
                Decision::OpenTicket { details, .. } => details,
                other => panic!("expected a ticket, got {other:?}"),
            }
        }
        other => panic!("expected the ticket path, got {other:?}"),
    };
    assert_eq!(details.get("coin").map(String::as_str), Some("USDT"));
    assert_eq!(details.get("network").map(String::as_str), Some("TRC-20"));
    assert_eq!(details.get("txid").map(String::as_str), Some(txid));
    assert_eq!(details.get("amount").map(String::as_str), Some("500"));
}

#[test]
fn japanese_two_factor_loss_at_peak_load_is_not_delayed() {
    // 90 minutes' wait is far above the peak limit: collect intents with a
    // self-help answer would be offered it first, but 2FA is a security intent.
    let mut chat = Chat::new(90);
    let out = chat.say(
        "機種変更したら認証アプリが消えてしまって、2段階認証のコードが入力できずログインできません",
    );
    assert_eq!(out.lang, Lang::Ja);
    match &out.decision {
        Decision::CollectDetail { intent, .. } | Decision::OpenTicket { intent, .. } => {
            assert_eq!(intent, "two_factor_reset")
        }
        other => panic!("expected the ticket path at once, got {other:?}"),
    }
    assert!(
        chat.state.peak_offer.is_none(),
        "security intents never get the peak-load self-help detour"
    );
    assert!(out.replies.iter().all(|r| {
        r.text.chars().any(|c| {
            ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c)
        })
    }));

    // The same peak load delays an ordinary collect intent with a self-help answer.
    let mut other = Chat::new(90);
    let out =
        other.say("I withdrew 0.3 ETH two hours ago and it still has not arrived in my wallet");
    assert_eq!(
        out.decision,
        Decision::Answer {
            intent: "withdrawal_delayed".into()
        }
    );
    assert!(other.state.peak_offer.is_some());
}

#[test]
fn chinese_customer_who_gives_a_seed_phrase_is_masked_and_warned() {
    let mut chat = Chat::new(3);
    let seed =
        "abandon ability able about above absent absorb abstract absurd abuse access accident";
    let text = format!("客服说要验证钱包，我的助记词是 {seed} 请帮我看看资产");
    let analysis = nlu::analyse(&text);
    assert!(analysis.masked.secrets.contains(&SecretKind::SeedPhrase));
    assert!(
        !analysis.masked.text.contains("abandon ability"),
        "{}",
        analysis.masked.text
    );
    let out = chat.say(&text);
    assert_eq!(out.lang, Lang::Zh);
    let warning = shipped()
        .catalog
        .messages
        .render("secret_warning", Lang::Zh, &[]);
    assert!(
        out.replies.iter().any(|r| r.text.contains(&warning)),
        "the customer is warned in Chinese"
    );
    for reply in &out.replies {
        assert!(
            !reply.text.contains("abandon"),
            "the seed never reaches a reply"
        );
    }
}

#[test]
fn english_customer_asking_twice_for_something_out_of_scope_gets_two_refusals() {
    let mut chat = Chat::new(3);
    for text in [
        "can you recommend a good pizza place near Gangnam station?",
        "ok then what's the weather going to be like in Seoul tomorrow",
    ] {
        let out = chat.say(text);
        assert_eq!(out.lang, Lang::En);
        // A refusal each time: neither a guess offered as choices nor, the second
        // time, a hand-over to a person.
        match &out.decision {
            Decision::Reject { intent } => assert_eq!(intent, "out_of_scope", "{text}"),
            other => panic!("expected a polite refusal to {text:?}, got {other:?}"),
        }
    }
}

#[test]
fn the_shipped_model_refuses_a_changed_catalog() {
    let root = root();
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root.join("intents")).unwrap().flatten() {
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
    }
    let greeting = copy.path().join("greeting.toml");
    let text = std::fs::read_to_string(&greeting).unwrap();
    std::fs::write(
        &greeting,
        text.replacen("en = [", "en = [\"howdy partner\", ", 1),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_intentdesk"))
        .args(["classify", "--catalog"])
        .arg(copy.path())
        .arg("hello")
        .current_dir(root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("different version of the catalog")
            && err.contains("intentdesk train --catalog"),
        "{err}"
    );
}

#[test]
fn classify_prints_the_documented_fields() {
    let root = root();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_intentdesk"))
        .args([
            "classify",
            "출금 신청한 0.5 ETH가 3시간째 안 와요 비번은 qwer1234!",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "language",
        "intent",
        "confidence",
        "top",
        "out_of_scope",
        "route",
        "details",
        "masked",
    ] {
        assert!(v.get(field).is_some(), "missing {field}: {v}");
    }
    assert_eq!(v["language"], "ko");
    assert_eq!(v["intent"], "withdrawal_delayed");
    assert_eq!(v["details"]["coin"], "ETH");
    assert_eq!(v["details"]["amount"], "0.5");
    assert!(!v["masked"].as_str().unwrap().contains("qwer1234"));
    assert_eq!(v["top"].as_array().unwrap().len(), 3);
}
