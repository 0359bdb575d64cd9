//! Tests of [`super::decide`], rule by rule, on a small catalog built in code with the real
//! fixed sentences of `intents/messages.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::catalog::{DetailSpec, Localized, Messages};
use crate::nlu::{Analysis, Details};
use crate::testing::{hit, prediction};

// ---------------------------------------------------------------- fixtures

fn loc(s: &str) -> Localized {
    Localized {
        ko: format!("{s} [ko]"),
        en: format!("{s} [en]"),
        zh: format!("{s} [zh]"),
        ja: format!("{s} [ja]"),
    }
}

fn intent(
    id: &str,
    route: Route,
    priority: Option<Priority>,
    answer: bool,
    details: &[&str],
) -> Intent {
    Intent {
        id: id.to_string(),
        route,
        priority,
        description: format!("About {id}"),
        answer: answer.then(|| loc(&format!("answer {id}"))),
        details: details
            .iter()
            .map(|k| DetailSpec {
                key: k.to_string(),
                question: loc(&format!("question {k}")),
            })
            .collect(),
        phrases: BTreeMap::new(),
        file: PathBuf::from(format!("{id}.toml")),
    }
}

pub(super) fn catalog() -> Catalog {
    use Priority::*;
    use Route::*;
    let intents = [
        intent("trading_fees", Answer, None, true, &[]),
        intent("password_reset", Answer, None, true, &[]),
        intent("ticket_status", Answer, None, true, &[]),
        intent(
            "deposit_missing",
            Collect,
            Some(High),
            true,
            &["coin", "network", "txid", "amount", "time_sent"],
        ),
        intent(
            "withdrawal_delayed",
            Collect,
            Some(High),
            true,
            &["coin", "withdrawal_ref", "time_requested"],
        ),
        intent(
            "login_problem",
            Collect,
            Some(Normal),
            true,
            &["account", "error_shown", "since_when"],
        ),
        intent(
            "account_closure",
            Collect,
            Some(Normal),
            true,
            &["account", "balances_withdrawn"],
        ),
        intent(
            "phishing_report",
            Collect,
            Some(High),
            true,
            &["contact_channel", "scam_contact"],
        ),
        intent(
            "two_factor_reset",
            Collect,
            Some(High),
            true,
            &["account", "what_changed"],
        ),
        intent("account_compromised", Escalate, Some(Urgent), true, &[]),
        intent("complaint", Escalate, Some(Normal), true, &[]),
        intent("human_agent", Escalate, Some(Normal), true, &[]),
        intent("greeting", Smalltalk, None, true, &[]),
        intent("thanks_goodbye", Smalltalk, None, true, &[]),
        intent("investment_advice", Reject, None, true, &[]),
        intent("out_of_scope", Reject, None, true, &[]),
    ];
    let entries: BTreeMap<String, Localized> =
        toml::from_str(include_str!("../../intents/messages.toml")).expect("messages.toml parses");
    Catalog {
        intents: intents.into_iter().map(|i| (i.id.clone(), i)).collect(),
        messages: Messages { entries },
        sha256: String::new(),
        dir: PathBuf::from("intents"),
    }
}

/// A low-confidence prediction whose best guesses are `a` then `b`.
fn unsure(a: &str, b: &str) -> Prediction {
    prediction(
        &[("out_of_scope", 0.35), (a, 0.33), (b, 0.2)],
        Some(Rejection::LowConfidence),
    )
}

/// A confident out-of-scope prediction.
fn oos() -> Prediction {
    prediction(&[("out_of_scope", 0.9)], Some(Rejection::OutOfScopeClass))
}

/// The analysis of `text` with exactly the given details and no secret.
pub(super) fn analysis(text: &str, details: Details) -> Analysis {
    let mut a = crate::nlu::analyse(text);
    a.masked.text = text.to_string();
    a.masked.secrets.clear();
    a.details = details;
    a
}

/// The analysis of a message in which nlu masked a secret.
fn analysis_with_secret(text: &str) -> Analysis {
    let mut a = crate::nlu::analyse(text);
    assert!(
        !a.masked.secrets.is_empty(),
        "nlu masks the secret in {text:?}"
    );
    a.details = Details::default();
    a
}

/// One conversation: the state is carried from message to message.
struct Chat {
    catalog: Catalog,
    config: PolicyConfig,
    queue: QueueState,
    state: ConversationState,
}

impl Chat {
    fn new() -> Chat {
        Chat {
            catalog: catalog(),
            config: PolicyConfig::default(),
            queue: QueueState {
                estimated_wait_minutes: 5,
                open_ticket: None,
            },
            state: ConversationState::default(),
        }
    }

    fn send_analysis(&mut self, analysis: &Analysis, prediction: Prediction) -> Outcome {
        let out = decide(
            &self.catalog,
            &self.config,
            &self.state,
            analysis,
            &prediction,
            &self.queue,
        );
        self.state = out.state.clone();
        out
    }

    fn send(&mut self, text: &str, prediction: Prediction) -> Outcome {
        self.send_analysis(&analysis(text, Details::default()), prediction)
    }

    fn send_with(&mut self, text: &str, prediction: Prediction, details: Details) -> Outcome {
        self.send_analysis(&analysis(text, details), prediction)
    }

    fn msg(&self, key: &str, lang: Lang) -> String {
        self.catalog.messages.render(key, lang, &[])
    }
}

fn texts(out: &Outcome) -> Vec<&str> {
    out.replies.iter().map(|r| r.text.as_str()).collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------- decisions and routes

#[test]
fn decision_names_equal_the_json_kind() {
    let all = [
        Decision::Answer { intent: "a".into() },
        Decision::CollectDetail {
            intent: "a".into(),
            key: "coin".into(),
        },
        Decision::OpenTicket {
            intent: "a".into(),
            priority: Priority::High,
            details: BTreeMap::new(),
        },
        Decision::EscalateNow {
            intent: "a".into(),
            priority: Priority::Urgent,
            reason: HandoffReason::AfterMisses,
            details: BTreeMap::new(),
        },
        Decision::SmallTalk { intent: "a".into() },
        Decision::Reject { intent: "a".into() },
        Decision::Clarify {
            choices: vec!["a".into()],
        },
        Decision::Silent,
    ];
    let names: Vec<&str> = all.iter().map(Decision::name).collect();
    assert_eq!(
        names,
        [
            "answer",
            "collect",
            "open_ticket",
            "escalate",
            "smalltalk",
            "reject",
            "clarify",
            "silent"
        ]
    );
    for d in &all {
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(json["kind"], d.name());
        assert_eq!(serde_json::from_value::<Decision>(json).unwrap(), *d);
    }
    let json = serde_json::to_value(&all[3]).unwrap();
    assert_eq!(json["reason"], "after_misses");
    assert_eq!(json["priority"], "urgent");
}

#[test]
fn answer_route_answers_in_the_customers_language_then_asks_did_it_help() {
    let mut chat = Chat::new();
    let out = chat.send("거래 수수료가 얼마예요?", hit("trading_fees", 0.95));
    assert_eq!(
        out.decision,
        Decision::Answer {
            intent: "trading_fees".into()
        }
    );
    assert_eq!(out.lang, Lang::Ko);
    assert_eq!(
        texts(&out),
        [
            "answer trading_fees [ko]",
            chat.msg("did_it_help", Lang::Ko).as_str()
        ]
    );
    let choices = &out.replies[1].choices;
    assert_eq!(
        choices.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["yes", "no"]
    );
    assert_eq!(choices[1].label, "아니요");
    assert_eq!(out.state.awaiting_feedback.as_deref(), Some("trading_fees"));
}

#[test]
fn escalate_route_says_the_answer_first_and_hands_over_with_the_intents_priority() {
    let mut chat = Chat::new();
    let details = Details {
        txid: Some("0x9f3c2ab17e".into()),
        ..Default::default()
    };
    let out = chat.send_with(
        "I was hacked, someone withdrew my ETH",
        hit("account_compromised", 0.97),
        details,
    );
    assert_eq!(
        out.decision,
        Decision::EscalateNow {
            intent: "account_compromised".into(),
            priority: Priority::Urgent,
            reason: HandoffReason::EscalateIntent,
            details: map(&[("txid", "0x9f3c2ab17e")]),
        }
    );
    assert_eq!(texts(&out), ["answer account_compromised [en]"]);
    assert!(out.state.facts.is_empty());
}

#[test]
fn smalltalk_and_reject_routes() {
    let mut chat = Chat::new();
    let out = chat.send("안녕하세요", hit("greeting", 0.95));
    assert_eq!(
        out.decision,
        Decision::SmallTalk {
            intent: "greeting".into()
        }
    );
    assert_eq!(texts(&out), ["answer greeting [ko]"]);
    let out = chat.send("비트코인 지금 사도 될까요?", hit("investment_advice", 0.9));
    assert_eq!(
        out.decision,
        Decision::Reject {
            intent: "investment_advice".into()
        }
    );
    assert_eq!(texts(&out), ["answer investment_advice [ko]"]);
    assert!(out.state.awaiting_feedback.is_none() && out.state.collecting.is_none());
}

#[test]
fn ticket_opened_text_fills_the_numbers() {
    let text = ticket_opened_text(&catalog(), Lang::En, "T-42", 3, 12);
    assert!(
        text.contains("T-42") && text.contains("number 3") && text.contains("12 minutes"),
        "{text}"
    );
    assert!(ticket_opened_text(&catalog(), Lang::Ko, "T-42", 3, 12).contains("3번째"));
}

// ---------------------------------------------------------------- rule 2: misses

#[test]
fn a_miss_asks_to_rephrase_with_the_two_best_guesses() {
    let mut chat = Chat::new();
    let out = chat.send(
        "코인이 이상해요",
        unsure("deposit_missing", "withdrawal_delayed"),
    );
    assert_eq!(
        out.decision,
        Decision::Clarify {
            choices: vec!["deposit_missing".into(), "withdrawal_delayed".into()]
        }
    );
    assert_eq!(out.replies.len(), 1);
    assert_eq!(out.replies[0].text, chat.msg("rephrase", Lang::Ko));
    let labels: Vec<&str> = out.replies[0]
        .choices
        .iter()
        .map(|c| c.label.as_str())
        .collect();
    assert_eq!(
        labels,
        ["About deposit_missing", "About withdrawal_delayed"],
        "labels are the descriptions"
    );
    assert_eq!(out.state.misses_in_a_row, 1);
}

#[test]
fn a_small_margin_is_a_miss_too_and_no_guess_asks_plainly() {
    let mut chat = Chat::new();
    let mut p = unsure("deposit_missing", "withdrawal_delayed");
    p.rejection = Some(Rejection::SmallMargin);
    assert_eq!(chat.send("hmm", p).decision.name(), "clarify");
    let mut chat = Chat::new();
    let mut p = unsure("x", "y");
    p.top.retain(|s| s.intent == "out_of_scope");
    let out = chat.send("hmm", p);
    assert_eq!(out.decision, Decision::Clarify { choices: vec![] });
    assert_eq!(out.replies[0].text, chat.msg("rephrase_no_guess", Lang::En));
}

#[test]
fn the_second_miss_in_a_row_hands_over() {
    let mut chat = Chat::new();
    chat.send(
        "코인이 이상해요",
        unsure("deposit_missing", "withdrawal_delayed"),
    );
    let out = chat.send(
        "그게 아니라 좀 이상하다고요",
        unsure("deposit_missing", "withdrawal_delayed"),
    );
    match &out.decision {
        Decision::EscalateNow {
            reason, priority, ..
        } => {
            assert_eq!(
                (*reason, *priority),
                (HandoffReason::AfterMisses, Priority::Normal)
            );
        }
        other => panic!("expected a hand-over, got {other:?}"),
    }
    assert_eq!(
        texts(&out),
        [chat.msg("handoff_after_misses", Lang::Ko).as_str()]
    );
    assert_eq!(out.state.misses_in_a_row, 0);
}

#[test]
fn out_of_scope_twice_is_two_polite_refusals_not_a_hand_over() {
    let mut chat = Chat::new();
    for text in [
        "What's the weather in Seoul?",
        "Can you give me a pasta recipe?",
    ] {
        let out = chat.send(text, oos());
        assert_eq!(
            out.decision,
            Decision::Reject {
                intent: "out_of_scope".into()
            }
        );
        assert_eq!(texts(&out), ["answer out_of_scope [en]"]);
        assert_eq!(out.state.misses_in_a_row, 0);
    }
}

#[test]
fn an_understood_message_breaks_the_row_of_misses() {
    let mut chat = Chat::new();
    chat.send("hmm", unsure("deposit_missing", "withdrawal_delayed"));
    chat.send("What's the weather?", oos());
    assert_eq!(
        chat.send("hmm again", unsure("deposit_missing", "withdrawal_delayed"))
            .decision
            .name(),
        "clarify"
    );
}

#[test]
fn choosing_an_offered_choice_continues_with_that_intent_in_the_same_language() {
    let mut chat = Chat::new();
    let details = Details {
        coin: Some("USDT".into()),
        ..Default::default()
    };
    chat.send_with(
        "테더가 이상해요",
        unsure("deposit_missing", "withdrawal_delayed"),
        details,
    );
    // The widget sends the choice id; the classifier's opinion of "deposit_missing" does not matter.
    let out = chat.send("deposit_missing", unsure("trading_fees", "greeting"));
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "network".into()
        }
    );
    assert_eq!(out.lang, Lang::Ko);
    assert_eq!(texts(&out), ["question network [ko]"]);
    assert_eq!(
        out.state.collecting.unwrap().details,
        map(&[("coin", "USDT")]),
        "the coin said before is kept"
    );
}

// ---------------------------------------------------------------- rule 3: a person

#[test]
fn an_explicit_request_for_a_person_is_honoured() {
    let mut chat = Chat::new();
    let out = chat.send("상담원 연결해 주세요", hit("human_agent", 0.95));
    assert_eq!(
        out.decision,
        Decision::EscalateNow {
            intent: "human_agent".into(),
            priority: Priority::Normal,
            reason: HandoffReason::Requested,
            details: BTreeMap::new(),
        }
    );
    assert_eq!(texts(&out), ["answer human_agent [ko]"]);
}

#[test]
fn a_request_for_a_person_mid_collection_hands_over_with_the_collected_details() {
    let mut chat = Chat::new();
    let details = Details {
        coin: Some("ETH".into()),
        ..Default::default()
    };
    chat.send_with(
        "ETH deposit not arrived",
        hit("deposit_missing", 0.9),
        details,
    );
    // A low confidence is irrelevant: the "human" choice was clicked.
    let out = chat.send("human", unsure("deposit_missing", "greeting"));
    assert_eq!(
        out.decision,
        Decision::EscalateNow {
            intent: "deposit_missing".into(),
            priority: Priority::High,
            reason: HandoffReason::Requested,
            details: map(&[("coin", "ETH")]),
        }
    );
    assert_eq!(
        texts(&out),
        [chat.msg("handoff_requested", Lang::En).as_str()]
    );
    assert!(out.state.collecting.is_none());
    // Also while waiting for feedback, and typed rather than clicked.
    let mut chat = Chat::new();
    chat.send("fees?", hit("trading_fees", 0.9));
    let out = chat.send("let me talk to a human", hit("human_agent", 0.9));
    assert_eq!(out.decision.name(), "escalate");
    assert!(out.state.awaiting_feedback.is_none());
}

// ---------------------------------------------------------------- rule 4: feedback

#[test]
fn did_not_help_hands_over_with_the_conversation() {
    let cases = [
        ("비밀번호를 잊어버렸어요", "아니요", Lang::Ko),
        ("I forgot my password", "no", Lang::En),
        ("我忘记密码了", "没用", Lang::Zh),
        ("パスワードを忘れました", "いいえ", Lang::Ja),
    ];
    for (question, no, lang) in cases {
        let mut chat = Chat::new();
        chat.send(question, hit("password_reset", 0.9));
        let out = chat.send(no, unsure("greeting", "thanks_goodbye"));
        assert_eq!(
            out.decision,
            Decision::EscalateNow {
                intent: "password_reset".into(),
                priority: Priority::Normal,
                reason: HandoffReason::NotHelped,
                details: BTreeMap::new(),
            },
            "{no}"
        );
        assert_eq!(
            texts(&out),
            [chat.msg("handoff_not_helped", lang).as_str()],
            "{no}"
        );
        assert!(out.state.awaiting_feedback.is_none());
    }
}

#[test]
fn the_no_button_the_same_question_again_or_a_complaint_also_mean_not_helped() {
    let cases = [
        ("no", unsure("greeting", "thanks_goodbye")),
        (
            "I still can't reset my password",
            hit("password_reset", 0.9),
        ),
        (
            "This is ridiculous, I want to complain",
            hit("complaint", 0.9),
        ),
    ];
    for (text, prediction) in cases {
        let mut chat = Chat::new();
        chat.send("How do I reset my password?", hit("password_reset", 0.9));
        let out = chat.send(text, prediction);
        assert!(
            matches!(
                out.decision,
                Decision::EscalateNow {
                    reason: HandoffReason::NotHelped,
                    ..
                }
            ),
            "{text}: {:?}",
            out.decision
        );
    }
}

#[test]
fn a_yes_is_acknowledged_and_clears_the_feedback() {
    let cases = [
        ("수수료가 얼마예요?", "네", Lang::Ko),
        ("What are the trading fees?", "yes", Lang::En),
        ("交易手续费是多少?", "谢谢", Lang::Zh),
        ("取引手数料はいくらですか?", "はい", Lang::Ja),
    ];
    for (question, yes, lang) in cases {
        let mut chat = Chat::new();
        chat.send(question, hit("trading_fees", 0.9));
        let out = chat.send(yes, unsure("greeting", "thanks_goodbye"));
        assert_eq!(
            out.decision,
            Decision::SmallTalk {
                intent: "thanks_goodbye".into()
            },
            "{yes}"
        );
        assert_eq!(texts(&out), [chat.msg("glad_it_helped", lang).as_str()]);
        assert!(out.state.awaiting_feedback.is_none());
    }
}

#[test]
fn anything_else_after_an_answer_is_a_new_message() {
    let mut chat = Chat::new();
    chat.send("fees", hit("trading_fees", 0.9));
    let out = chat.send(
        "My BTC deposit has not arrived",
        hit("deposit_missing", 0.9),
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "coin".into()
        }
    );
    assert!(out.state.awaiting_feedback.is_none());
    // Thanks plus a new question: the new question wins.
    let mut chat = Chat::new();
    chat.send("fees", hit("trading_fees", 0.9));
    let out = chat.send(
        "Thanks! And how do I reset my password?",
        hit("password_reset", 0.9),
    );
    assert_eq!(
        out.decision,
        Decision::Answer {
            intent: "password_reset".into()
        }
    );
}

// ---------------------------------------------------------------- rule 5: language

#[test]
fn the_reply_language_follows_the_customer() {
    let mut chat = Chat::new();
    // Mid-collection the Japanese fee question must switch (what decides a switch has
    // its own tests): any intent above 0.80 may.
    chat.config.collect_switch_confidence = 0.80;
    chat.config.collect_switch_only_to_handover = false;
    let out = chat.send("입금이 안 됐어요", hit("deposit_missing", 0.9));
    assert_eq!((out.lang, texts(&out)[0]), (Lang::Ko, "question coin [ko]"));
    // Only a TXID: no language evidence, the conversation keeps Korean.
    let out = chat.send("0x9f3c2ab17e44d1aa0b", unsure("greeting", "trading_fees"));
    assert_eq!(out.lang, Lang::Ko);
    // The customer switches to Japanese, then to Russian (answered in English).
    let out = chat.send("手数料はいくらですか", hit("trading_fees", 0.9));
    assert_eq!(
        (out.lang, texts(&out)[0]),
        (Lang::Ja, "answer trading_fees [ja]")
    );
    let out = chat.send("Как мне сбросить пароль?", hit("password_reset", 0.9));
    assert_eq!(out.lang, Lang::Other("ru"));
    assert_eq!(out.state.lang, Some(Lang::Other("ru")));
    assert_eq!(texts(&out)[0], "answer password_reset [en]");
}

// ---------------------------------------------------------------- rule 6: details

#[test]
fn details_in_the_first_message_are_not_asked_again() {
    let mut chat = Chat::new();
    let details = Details {
        coin: Some("USDT".into()),
        network: Some("TRC-20".into()),
        ..Default::default()
    };
    let out = chat.send_with(
        "TRC-20으로 테더 보냈는데 안 들어왔어요",
        hit("deposit_missing", 0.9),
        details,
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "txid".into()
        }
    );
    assert_eq!(texts(&out), ["question txid [ko]"]);
    let c = out.state.collecting.unwrap();
    assert_eq!(c.details, map(&[("coin", "USDT"), ("network", "TRC-20")]));
    assert_eq!(c.asked.as_deref(), Some("txid"));
}

#[test]
fn all_details_in_the_first_message_open_the_ticket_at_once() {
    let mut chat = Chat::new();
    let details = Details {
        coin: Some("BTC".into()),
        withdrawal_id: Some("W-118".into()),
        time: Some("yesterday 3pm".into()),
        ..Default::default()
    };
    let out = chat.send_with(
        "BTC withdrawal W-118 requested yesterday 3pm is stuck",
        hit("withdrawal_delayed", 0.9),
        details,
    );
    assert_eq!(
        out.decision,
        Decision::OpenTicket {
            intent: "withdrawal_delayed".into(),
            priority: Priority::High,
            details: map(&[
                ("coin", "BTC"),
                ("withdrawal_ref", "W-118"),
                ("time_requested", "yesterday 3pm")
            ]),
        }
    );
    assert!(out.replies.is_empty(), "the service tells ticket_opened");
    assert!(out.state.collecting.is_none() && out.state.facts.is_empty());
}

#[test]
fn details_are_asked_one_at_a_time_and_structured_answers_fill_them() {
    let mut chat = Chat::new();
    chat.send("my deposit is missing", hit("deposit_missing", 0.9));
    let out = chat.send_with(
        "ETH",
        unsure("greeting", "trading_fees"),
        Details {
            coin: Some("ETH".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "network".into()
        }
    );
    assert_eq!(
        texts(&out),
        [
            chat.msg("detail_ack", Lang::En).as_str(),
            "question network [en]"
        ]
    );
    // One message with two details fills both and skips to the next missing one.
    let details = Details {
        network: Some("ERC-20".into()),
        amount: Some("0.5 ETH".into()),
        ..Default::default()
    };
    let out = chat.send_with(
        "ERC-20, 0.5 ETH",
        unsure("greeting", "trading_fees"),
        details,
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "txid".into()
        }
    );
    let details = Details {
        txid: Some("0xabc123".into()),
        ..Default::default()
    };
    chat.send_with("0xabc123", unsure("greeting", "trading_fees"), details);
    let details = Details {
        time: Some("2 hours ago".into()),
        ..Default::default()
    };
    let out = chat.send_with("2 hours ago", unsure("greeting", "trading_fees"), details);
    assert_eq!(
        out.decision,
        Decision::OpenTicket {
            intent: "deposit_missing".into(),
            priority: Priority::High,
            details: map(&[
                ("coin", "ETH"),
                ("network", "ERC-20"),
                ("amount", "0.5 ETH"),
                ("txid", "0xabc123"),
                ("time_sent", "2 hours ago"),
            ]),
        }
    );
}

#[test]
fn free_text_keys_take_the_customers_masked_answer() {
    let mut chat = Chat::new();
    // account from the e-mail in the first message; error_shown and since_when from replies.
    let details = Details {
        email: Some("kim@example.com".into()),
        ..Default::default()
    };
    let out = chat.send_with(
        "kim@example.com 로그인이 안 돼요",
        hit("login_problem", 0.9),
        details,
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "login_problem".into(),
            key: "error_shown".into()
        }
    );
    let out = chat.send(
        "인증번호 [masked:otp] 가 틀렸다고 나와요",
        unsure("password_reset", "login_problem"),
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "login_problem".into(),
            key: "since_when".into()
        }
    );
    let out = chat.send("지난주부터요", unsure("greeting", "login_problem"));
    assert_eq!(
        out.decision,
        Decision::OpenTicket {
            intent: "login_problem".into(),
            priority: Priority::Normal,
            details: map(&[
                ("account", "kim@example.com"),
                ("error_shown", "인증번호 [masked:otp] 가 틀렸다고 나와요"),
                ("since_when", "지난주부터요"),
            ]),
        }
    );
    // balances_withdrawn: a yes / no is stored as such.
    let mut chat = Chat::new();
    chat.send("계정 탈퇴하고 싶어요", hit("account_closure", 0.9));
    chat.send("user1234", unsure("greeting", "login_problem"));
    // Even when the classifier is sure "네" is a thanks: it answers the yes/no question.
    let out = chat.send("네", hit("thanks_goodbye", 0.95));
    assert_eq!(
        out.decision,
        Decision::OpenTicket {
            intent: "account_closure".into(),
            priority: Priority::Normal,
            details: map(&[("account", "user1234"), ("balances_withdrawn", "yes")]),
        }
    );
}

#[test]
fn contact_channel_and_scam_contact_use_structured_values_when_found() {
    let mut chat = Chat::new();
    let out = chat.send("고객센터라면서 전화가 왔어요", hit("phishing_report", 0.9));
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "phishing_report".into(),
            key: "contact_channel".into()
        }
    );
    let out = chat.send(
        "카톡으로 연락 왔어요",
        unsure("greeting", "phishing_report"),
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "phishing_report".into(),
            key: "scam_contact".into()
        }
    );
    let details = Details {
        url: Some("http://upbit-help.example".into()),
        ..Default::default()
    };
    let out = chat.send_with(
        "이 사이트요 http://upbit-help.example",
        unsure("greeting", "phishing_report"),
        details,
    );
    assert_eq!(
        out.decision,
        Decision::OpenTicket {
            intent: "phishing_report".into(),
            priority: Priority::High,
            details: map(&[
                ("contact_channel", "카톡으로 연락 왔어요"),
                ("scam_contact", "http://upbit-help.example")
            ]),
        }
    );
}

#[test]
fn a_structured_key_keeps_the_answer_only_when_nothing_structured_was_found() {
    let mut chat = Chat::new();
    chat.send_with(
        "USDT deposit missing",
        hit("deposit_missing", 0.9),
        Details {
            coin: Some("USDT".into()),
            ..Default::default()
        },
    );
    // Asked for the network: "the Tron one" is not recognised, the answer itself is kept.
    let out = chat.send("the Tron one I think", unsure("greeting", "trading_fees"));
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "txid".into()
        }
    );
    assert_eq!(
        out.state.collecting.as_ref().unwrap().details["network"],
        "the Tron one I think"
    );
    // Asked for the TXID, the customer gives the amount instead: the TXID is asked again.
    let out = chat.send_with(
        "I sent 100 USDT",
        unsure("greeting", "trading_fees"),
        Details {
            amount: Some("100 USDT".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "txid".into()
        }
    );
}

#[test]
fn a_correction_replaces_the_detail_and_is_acknowledged() {
    let mut chat = Chat::new();
    let details = Details {
        coin: Some("USDT".into()),
        ..Default::default()
    };
    chat.send_with("테더 입금이 안 돼요", hit("deposit_missing", 0.9), details);
    let details = Details {
        coin: Some("USDC".into()),
        network: Some("ERC-20".into()),
        ..Default::default()
    };
    let out = chat.send_with(
        "아 테더 말고 USDC였어요, ERC-20이요",
        unsure("greeting", "deposit_missing"),
        details,
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "txid".into()
        }
    );
    let ack =
        chat.catalog
            .messages
            .render("correction_ack", Lang::Ko, &[("detail", "코인".into())]);
    assert_eq!(texts(&out), [ack.as_str(), "question txid [ko]"]);
    assert_eq!(
        out.state.collecting.unwrap().details,
        map(&[("coin", "USDC"), ("network", "ERC-20")])
    );
}

#[test]
fn a_confident_other_intent_switches_but_a_bare_txid_is_an_answer() {
    // Switch: the coin collected for the deposit carries over to the withdrawal.
    let mut chat = Chat::new();
    chat.send_with(
        "BTC deposit missing",
        hit("deposit_missing", 0.9),
        Details {
            coin: Some("BTC".into()),
            ..Default::default()
        },
    );
    let out = chat.send(
        "actually it's my withdrawal that is stuck",
        hit("withdrawal_delayed", 0.97),
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "withdrawal_delayed".into(),
            key: "withdrawal_ref".into()
        }
    );
    assert_eq!(
        out.state.collecting.unwrap().details,
        map(&[("coin", "BTC")])
    );
    // Not confident enough (below collect_switch_confidence): an answer.
    let mut chat = Chat::new();
    chat.send("deposit missing", hit("deposit_missing", 0.9));
    let out = chat.send("the one from my withdrawal", hit("withdrawal_delayed", 0.7));
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "network".into()
        }
    );
    // A bare TXID classified confidently as something else is still an answer.
    let mut chat = Chat::new();
    chat.send_with(
        "USDT TRC-20 deposit missing",
        hit("deposit_missing", 0.9),
        Details {
            coin: Some("USDT".into()),
            network: Some("TRC-20".into()),
            ..Default::default()
        },
    );
    let txid = "a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1";
    let out = chat.send_with(
        txid,
        hit("account_compromised", 0.95),
        Details {
            txid: Some(txid.into()),
            ..Default::default()
        },
    );
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "amount".into()
        }
    );
    // Out of scope is never a switch.
    let out = chat.send("about 5 dollars worth", oos());
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "time_sent".into()
        }
    );
}

#[test]
fn no_more_questions_opens_the_ticket_with_what_was_given() {
    let mut chat = Chat::new();
    chat.send_with(
        "ETH deposit missing",
        hit("deposit_missing", 0.9),
        Details {
            coin: Some("ETH".into()),
            ..Default::default()
        },
    );
    let out = chat.send(
        "I don't know all that, just open a ticket",
        unsure("human_agent", "greeting"),
    );
    assert_eq!(
        out.decision,
        Decision::OpenTicket {
            intent: "deposit_missing".into(),
            priority: Priority::High,
            details: map(&[("coin", "ETH")])
        }
    );
}

// ---------------------------------------------------------------- rule 7: secrets

#[test]
fn a_masked_secret_adds_the_warning_whatever_the_decision() {
    let secret = analysis_with_secret("my OTP code is 123456 and my password is hunter2!!");
    assert!(!secret.masked.text.contains("hunter2"));
    // With an answer.
    let mut chat = Chat::new();
    chat.state.lang = Some(Lang::En);
    let out = chat.send_analysis(&secret, hit("password_reset", 0.9));
    assert_eq!(out.decision.name(), "answer");
    assert_eq!(out.replies[0].text, chat.msg("secret_warning", Lang::En));
    assert_eq!(out.replies.len(), 3);
    // While collecting: the masked text is what gets stored.
    let mut chat = Chat::new();
    chat.send("I cannot log in", hit("login_problem", 0.9));
    let out = chat.send_analysis(&secret, unsure("greeting", "login_problem"));
    assert_eq!(out.replies[0].text, chat.msg("secret_warning", Lang::En));
    assert_eq!(
        out.state.collecting.unwrap().details["account"],
        secret.masked.text
    );
    // While a person owns the conversation.
    let mut chat = Chat::new();
    chat.state.agent_assigned = true;
    let out = chat.send_analysis(&secret, hit("password_reset", 0.9));
    assert_eq!(out.decision, Decision::Silent);
    assert_eq!(texts(&out), [chat.msg("secret_warning", Lang::En).as_str()]);
}

// ---------------------------------------------------------------- rule 8: load

#[test]
fn at_peak_load_a_collect_intent_first_gets_its_self_help_answer() {
    let mut chat = Chat::new();
    chat.queue.estimated_wait_minutes = 40;
    let details = Details {
        coin: Some("XRP".into()),
        ..Default::default()
    };
    let out = chat.send_with(
        "XRP deposit not credited",
        hit("deposit_missing", 0.9),
        details,
    );
    assert_eq!(
        out.decision,
        Decision::Answer {
            intent: "deposit_missing".into()
        }
    );
    let intro = chat.catalog.messages.render(
        "peak_self_help_intro",
        Lang::En,
        &[("wait_minutes", "40".into())],
    );
    let expected = format!(
        "{intro}\n\nanswer deposit_missing [en]\n\n{}",
        chat.msg("peak_open_ticket_offer", Lang::En)
    );
    assert_eq!(texts(&out), [expected.as_str()]);
    assert_eq!(out.replies[0].choices.len(), 2);
    assert!(out.state.collecting.is_none());
    // "No": the ticket path starts, with the coin already known.
    let out = chat.send("no", unsure("greeting", "thanks_goodbye"));
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "network".into()
        }
    );
    assert_eq!(
        out.state.collecting.unwrap().details,
        map(&[("coin", "XRP")])
    );
    assert!(out.state.peak_offer.is_none());
}

#[test]
fn at_peak_load_a_yes_ends_without_a_ticket() {
    let mut chat = Chat::new();
    chat.queue.estimated_wait_minutes = 40;
    chat.send("계정 탈퇴", hit("account_closure", 0.9));
    let out = chat.send("네 해결됐어요", unsure("thanks_goodbye", "greeting"));
    assert_eq!(
        out.decision,
        Decision::SmallTalk {
            intent: "thanks_goodbye".into()
        }
    );
    assert!(out.state.peak_offer.is_none() && out.state.collecting.is_none());
}

#[test]
fn at_normal_load_a_collect_intent_collects_at_once() {
    let mut chat = Chat::new();
    chat.queue.estimated_wait_minutes = 15; // not above the threshold
    let out = chat.send("XRP deposit not credited", hit("deposit_missing", 0.9));
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "coin".into()
        }
    );
}

#[test]
fn security_intents_are_never_delayed() {
    for id in ["phishing_report", "two_factor_reset"] {
        let mut chat = Chat::new();
        chat.queue.estimated_wait_minutes = 90;
        let out = chat.send("help", hit(id, 0.9));
        assert_eq!(out.decision.name(), "collect", "{id}");
    }
    let mut chat = Chat::new();
    chat.queue.estimated_wait_minutes = 90;
    assert_eq!(
        chat.send("hacked", hit("account_compromised", 0.9))
            .decision
            .name(),
        "escalate"
    );
}

// ---------------------------------------------------------------- rule 9: ticket status

#[test]
fn ticket_status_is_answered_from_the_live_queue() {
    let mut chat = Chat::new();
    chat.queue.open_ticket = Some(TicketView {
        id: "T-7".into(),
        state: "waiting".into(),
        position: Some(4),
        wait_minutes: Some(20),
        last_agent_reply: Some("We are checking the blockchain.".into()),
    });
    let out = chat.send("where is my ticket?", hit("ticket_status", 0.9));
    assert_eq!(
        out.decision,
        Decision::Answer {
            intent: "ticket_status".into()
        }
    );
    let live = chat.catalog.messages.render(
        "ticket_status_live",
        Lang::En,
        &[
            ("ticket", "T-7".into()),
            ("state", "waiting".into()),
            ("position", "4".into()),
            ("wait_minutes", "20".into()),
        ],
    );
    let last = chat.catalog.messages.render(
        "ticket_status_last_reply",
        Lang::En,
        &[("reply", "We are checking the blockchain.".into())],
    );
    assert_eq!(texts(&out), [live.as_str(), last.as_str()]);
    assert!(out.state.awaiting_feedback.is_none());
}

#[test]
fn ticket_status_without_a_ticket_or_without_a_position() {
    let mut chat = Chat::new();
    let out = chat.send("제 문의 어떻게 됐어요?", hit("ticket_status", 0.9));
    assert_eq!(
        texts(&out),
        [chat.msg("ticket_status_none", Lang::Ko).as_str()]
    );
    chat.queue.open_ticket = Some(TicketView {
        id: "T-8".into(),
        state: "상담 중".into(),
        ..Default::default()
    });
    let out = chat.send("제 문의 어떻게 됐어요?", hit("ticket_status", 0.9));
    assert_eq!(texts(&out), ["문의 T-8의 현재 상태: 상담 중."]);
    for lang in [Lang::En, Lang::Zh, Lang::Ja] {
        let text = ticket_status_live(
            &chat.catalog,
            lang,
            chat.queue.open_ticket.as_ref().unwrap(),
            9,
        );
        assert!(
            text.contains("T-8") && !text.contains('{') && !text.contains("0"),
            "{text}"
        );
    }
}

// ---------------------------------------------------------------- rule 10: agent owns

#[test]
fn while_an_agent_owns_the_conversation_the_bot_is_silent() {
    let mut chat = Chat::new();
    chat.send("deposit missing", hit("deposit_missing", 0.9));
    chat.state.agent_assigned = true;
    let before = chat.state.clone();
    for (text, p) in [
        ("hello?", hit("greeting", 0.9)),
        ("I want a human", hit("human_agent", 0.99)),
        ("hmm", unsure("a", "b")),
    ] {
        let out = chat.send(text, p);
        assert_eq!(out.decision, Decision::Silent);
        assert!(out.replies.is_empty());
        assert_eq!(out.state, before);
    }
    // The service clears the flag after resolution: the bot takes over again.
    chat.state.agent_assigned = false;
    chat.state.collecting = None;
    assert_eq!(
        chat.send("fees?", hit("trading_fees", 0.9)).decision.name(),
        "answer"
    );
}

#[test]
fn outcomes_serialise_as_json() {
    let mut chat = Chat::new();
    let out = chat.send("fees", hit("trading_fees", 0.9));
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["decision"]["kind"], "answer");
    assert_eq!(json["lang"], "en");
    assert_eq!(json["replies"][1]["choices"][0]["id"], "yes");
    assert_eq!(serde_json::from_value::<Outcome>(json).unwrap(), out);
}

// ---------------------------------------------------------------- the real catalog

/// `intents/` of the repository (works from the crate root and through `#[path]`).
fn real_catalog() -> Catalog {
    let dir = std::path::Path::new(file!())
        .parent()
        .unwrap()
        .join("../../intents");
    crate::catalog::load::load(&dir).expect("intents/ loads")
}

#[test]
fn the_real_catalog_fits_the_policy() {
    let catalog = real_catalog();
    for key in [
        "secret_warning",
        "choice_yes",
        "choice_no",
        "did_it_help",
        "handoff_requested",
        "handoff_not_helped",
        "handoff_after_misses",
        "rephrase",
        "rephrase_no_guess",
        "glad_it_helped",
        "detail_ack",
        "correction_ack",
        "peak_self_help_intro",
        "peak_open_ticket_offer",
        "ticket_status_live",
        "ticket_status_last_reply",
        "ticket_status_none",
        "ticket_opened",
    ] {
        assert!(
            catalog.messages.entries.contains_key(key),
            "messages.toml has {key}"
        );
    }
    for id in [
        HUMAN_AGENT,
        OUT_OF_SCOPE,
        TICKET_STATUS,
        COMPLAINT,
        THANKS_GOODBYE,
    ] {
        assert!(catalog.intent(id).is_some(), "{id}");
    }
    for id in SECURITY_INTENTS {
        let route = catalog.intent(id).expect(id).route;
        assert!(matches!(route, Route::Collect | Route::Escalate), "{id}");
    }
    for intent in catalog.intents.values() {
        for spec in &intent.details {
            assert!(
                crate::catalog::detail_key(&spec.key).is_some(),
                "{}: {}",
                intent.id,
                spec.key
            );
        }
    }
    // The "(yes/no)" choice texts are read as such.
    for lang in crate::catalog::LANGUAGES {
        assert_eq!(
            yes_no(&catalog.messages.render("choice_yes", lang, &[])),
            Some(YesNo::Yes)
        );
        assert_eq!(
            yes_no(&catalog.messages.render("choice_no", lang, &[])),
            Some(YesNo::No)
        );
    }
    // Without a queue position the live status keeps its first sentence in every language.
    let ticket = TicketView {
        id: "T-1".into(),
        state: "open".into(),
        ..Default::default()
    };
    for lang in crate::catalog::LANGUAGES {
        let text = ticket_status_live(&catalog, lang, &ticket, 3);
        assert!(
            text.contains("T-1") && text.contains("open") && !text.contains('{'),
            "{text}"
        );
        assert!(!text.contains('3'), "{text}");
    }
}

#[test]
fn a_korean_deposit_conversation_on_the_real_catalog() {
    let mut chat = Chat::new();
    chat.catalog = real_catalog();
    let details = Details {
        coin: Some("USDT".into()),
        network: Some("TRC-20".into()),
        ..Default::default()
    };
    let out = chat.send_with(
        "업비트에서 테더 TRC-20으로 보냈는데 안 들어왔어요",
        hit("deposit_missing", 0.93),
        details,
    );
    let intent = chat.catalog.intent("deposit_missing").unwrap().clone();
    let question = |key: &str| {
        intent
            .details
            .iter()
            .find(|d| d.key == key)
            .unwrap()
            .question
            .ko
            .clone()
    };
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "txid".into()
        }
    );
    assert_eq!(texts(&out), [question("txid")]);
    let txid = "a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1";
    let out = chat.send_with(
        txid,
        unsure("greeting", "deposit_missing"),
        Details {
            txid: Some(txid.into()),
            ..Default::default()
        },
    );
    assert_eq!(out.lang, Lang::Ko);
    assert_eq!(
        texts(&out),
        [chat.msg("detail_ack", Lang::Ko), question("amount")]
    );
}

#[test]
fn real_nlu_details_fill_the_collection_before_any_question() {
    let mut chat = Chat::new();
    chat.catalog = real_catalog();
    let a = crate::nlu::analyse("테더 TRC-20으로 500개 보냈는데 안 들어왔어요");
    let out = chat.send_analysis(&a, hit("deposit_missing", 0.93));
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "txid".into()
        }
    );
    let collected = out.state.collecting.unwrap().details;
    assert_eq!(collected["coin"], "USDT");
    assert_eq!(collected["network"], "TRC-20");
    assert_eq!(collected["amount"], "500");
    // A secret typed mid-collection is warned about and never stored in clear.
    let a = crate::nlu::analyse("비밀번호는 qwer1234! 인데 로그인이 안 돼요");
    let out = chat.send_analysis(&a, unsure("greeting", "login_problem"));
    assert_eq!(out.replies[0].text, chat.msg("secret_warning", Lang::Ko));
    assert!(!serde_json::to_string(&out).unwrap().contains("qwer1234"));
}

#[test]
fn with_collect_keep_asked_detail_a_message_holding_the_asked_detail_is_its_answer() {
    // "the withdrawal I made to 0x.., hash 0x.." while the TXID is asked: the model may call it
    // a withdrawal case, but the message holds the TXID asked for: an answer.
    let txid = "0x5b1e0c3f9a7d2e4b6c8a0f1e3d5c7b9a2e4f6d8c0b1a3e5f7d9c2b4a6e8f0d1c";
    let address = "0x742d35Cc6634C0532925a3b844Bc454e4438f44e";
    let start = |keep: bool| {
        let mut chat = Chat::new();
        chat.config.collect_keep_asked_detail = keep;
        // The sweep's setting where this signal mattered: any intent above 0.80 may switch.
        chat.config.collect_switch_confidence = 0.80;
        chat.config.collect_switch_only_to_handover = false;
        chat.send_with(
            "USDT ERC-20 deposit missing",
            hit("deposit_missing", 0.9),
            Details {
                coin: Some("USDT".into()),
                network: Some("ERC-20".into()),
                ..Default::default()
            },
        );
        chat
    };
    let message = format!("the withdrawal I made to {address} on the other exchange, hash {txid}");
    let details = Details {
        txid: Some(txid.into()),
        address: Some(address.into()),
        ..Default::default()
    };
    let mut chat = start(true);
    let out = chat.send_with(&message, hit("withdrawal_delayed", 0.93), details.clone());
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "deposit_missing".into(),
            key: "amount".into()
        }
    );
    assert_eq!(
        out.state
            .collecting
            .unwrap()
            .details
            .get("txid")
            .map(String::as_str),
        Some(txid)
    );
    // Without the detail asked for, the same confidence is still a change of subject.
    let mut chat = start(true);
    let out = chat.send(
        "someone logged into my account!!",
        hit("account_compromised", 0.93),
    );
    assert!(
        matches!(&out.decision, Decision::EscalateNow { intent, .. } if intent == "account_compromised"),
        "{:?}",
        out.decision
    );
    // The rule off: the confident other intent wins.
    let mut chat = start(false);
    let out = chat.send_with(&message, hit("withdrawal_delayed", 0.93), details);
    assert!(
        chat.state
            .collecting
            .as_ref()
            .is_none_or(|c| c.intent != "deposit_missing"),
        "{:?}",
        out.decision
    );
}

#[test]
fn with_collect_switch_only_to_handover_an_answer_only_reading_keeps_the_collection() {
    // A short answer while the network is asked: a confident reading as an answer-only or
    // smalltalk intent must not end the collection (no ticket would open and every detail
    // given would be lost); a confident handover intent still changes the subject.
    let start = |only_handover: bool| {
        let mut chat = Chat::new();
        chat.config.collect_switch_only_to_handover = only_handover;
        chat.send_with(
            "my USDT deposit of 500 is not there",
            hit("deposit_missing", 0.9),
            Details {
                coin: Some("USDT".into()),
                amount: Some("500".into()),
                ..Default::default()
            },
        );
        chat
    };
    for other in ["greeting", "trading_fees"] {
        let mut chat = start(true);
        let out = chat.send("the usual one I always use, you know", hit(other, 0.97));
        assert!(
            matches!(&out.decision, Decision::CollectDetail { intent, .. } if intent == "deposit_missing"),
            "{other}: {:?}",
            out.decision
        );
        let collecting = out.state.collecting.expect("still collecting");
        assert_eq!(
            collecting.details.get("amount").map(String::as_str),
            Some("500")
        );
        // The rule off: the same reading interrupts the collection (the answer is lost).
        let mut chat = start(false);
        let out = chat.send("the usual one I always use, you know", hit(other, 0.97));
        assert!(
            !matches!(&out.decision, Decision::CollectDetail { intent, .. } if intent == "deposit_missing"),
            "{other} with the rule off: {:?}",
            out.decision
        );
    }
    let mut chat = start(true);
    let out = chat.send(
        "someone logged into my account!!",
        hit("account_compromised", 0.97),
    );
    assert!(
        matches!(&out.decision, Decision::EscalateNow { intent, .. } if intent == "account_compromised"),
        "{:?}",
        out.decision
    );
}
