//! Tests of rule 6 (incident notices) of [`super::decide_with_notices`], one per rule, on the
//! small catalog of `tests.rs`.

use std::collections::BTreeMap;

use super::tests::{analysis, catalog};
use super::*;
use crate::nlu::Details;
use crate::testing::hit;

fn eth_notice() -> ActiveNotice {
    ActiveNotice {
        id: "N-000001".into(),
        intents: vec!["withdrawal_delayed".into(), "two_factor_reset".into()],
        coins: vec!["ETH".into()],
        networks: vec!["ERC-20".into()],
        keywords: vec![],
        texts: BTreeMap::from([
            (
                "en".into(),
                "ETH withdrawals are delayed until 15:00.".into(),
            ),
            ("ko".into(), "ETH 출금이 15시까지 지연됩니다.".into()),
        ]),
    }
}

fn coin(c: &str) -> Details {
    Details {
        coin: Some(c.into()),
        ..Details::default()
    }
}

/// One conversation with notices: the state is carried from message to message.
struct Chat {
    catalog: Catalog,
    queue: QueueState,
    notices: Vec<ActiveNotice>,
    state: ConversationState,
}

impl Chat {
    fn new() -> Chat {
        Chat {
            catalog: catalog(),
            queue: QueueState {
                estimated_wait_minutes: 5,
                open_ticket: None,
            },
            notices: vec![eth_notice()],
            state: ConversationState::default(),
        }
    }

    fn send(&mut self, text: &str, prediction: Prediction, details: Details) -> Outcome {
        let out = decide_with_notices(
            &self.catalog,
            &PolicyConfig::default(),
            &self.state,
            &analysis(text, details),
            &prediction,
            &self.queue,
            &self.notices,
        );
        self.state = out.state.clone();
        out
    }

    fn msg(&self, key: &str, lang: Lang) -> String {
        self.catalog.messages.render(key, lang, &[])
    }
}

fn texts(out: &Outcome) -> Vec<&str> {
    out.replies.iter().map(|r| r.text.as_str()).collect()
}

fn shown(chat: &mut Chat, text: &str) -> Outcome {
    chat.send(text, hit("withdrawal_delayed", 0.95), coin("ETH"))
}

#[test]
fn a_matching_message_gets_the_notice_first_in_its_language_with_yes_no() {
    let mut chat = Chat::new();
    let out = shown(&mut chat, "ETH 출금이 아직 안 들어왔어요");
    assert_eq!(
        texts(&out),
        [
            "ETH 출금이 15시까지 지연됩니다.",
            chat.msg("did_it_help", Lang::Ko).as_str()
        ]
    );
    let ids: Vec<&str> = out.replies[1]
        .choices
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, [YES_CHOICE, NO_CHOICE]);
    assert_eq!(
        out.decision,
        Decision::Answer {
            intent: "withdrawal_delayed".into()
        }
    );
    assert_eq!(out.notice, Some(NoticeEffect::Shown("N-000001".into())));
    let offer = out
        .state
        .notice_offer
        .as_ref()
        .expect("waits for the answer");
    assert_eq!(offer.details.get("coin").map(String::as_str), Some("ETH"));
    assert!(out.state.collecting.is_none(), "nothing asked yet");
}

#[test]
fn a_language_without_a_text_gets_english() {
    let mut chat = Chat::new();
    let out = shown(&mut chat, "ETHの出金がまだ届きません");
    assert_eq!(out.lang, Lang::Ja);
    assert_eq!(texts(&out)[0], "ETH withdrawals are delayed until 15:00.");
    assert_eq!(texts(&out)[1], chat.msg("did_it_help", Lang::Ja));
}

#[test]
fn yes_ends_the_conversation_and_counts_answered() {
    let mut chat = Chat::new();
    shown(&mut chat, "my ETH withdrawal has not arrived");
    let out = chat.send(YES_CHOICE, hit("greeting", 0.3), Details::default());
    assert_eq!(
        out.decision,
        Decision::SmallTalk {
            intent: THANKS_GOODBYE.into()
        }
    );
    assert_eq!(texts(&out), [chat.msg("glad_it_helped", Lang::En).as_str()]);
    assert_eq!(out.notice, Some(NoticeEffect::Answered("N-000001".into())));
    assert!(out.state.notice_offer.is_none() && out.state.collecting.is_none());
}

#[test]
fn no_continues_the_usual_route_with_what_is_known_and_counts_asked_for_person() {
    let mut chat = Chat::new();
    shown(&mut chat, "my ETH withdrawal has not arrived");
    let out = chat.send(NO_CHOICE, hit("greeting", 0.3), Details::default());
    // The coin is known: the collection asks the next detail.
    assert_eq!(
        out.decision,
        Decision::CollectDetail {
            intent: "withdrawal_delayed".into(),
            key: "withdrawal_ref".into()
        }
    );
    assert_eq!(
        out.notice,
        Some(NoticeEffect::AskedForPerson("N-000001".into()))
    );
    let collecting = out.state.collecting.as_ref().unwrap();
    assert_eq!(
        collecting.details.get("coin").map(String::as_str),
        Some("ETH")
    );
}

#[test]
fn the_same_question_again_counts_as_a_no() {
    let mut chat = Chat::new();
    shown(&mut chat, "my ETH withdrawal has not arrived");
    let out = shown(&mut chat, "but where is my ETH withdrawal?");
    assert!(
        matches!(out.decision, Decision::CollectDetail { .. }),
        "{:?}",
        out.decision
    );
    assert_eq!(
        out.notice,
        Some(NoticeEffect::AskedForPerson("N-000001".into()))
    );
}

#[test]
fn asking_for_a_person_after_the_notice_hands_over_and_counts() {
    let mut chat = Chat::new();
    shown(&mut chat, "my ETH withdrawal has not arrived");
    let out = chat.send(HUMAN_CHOICE, hit("greeting", 0.3), Details::default());
    assert!(matches!(
        out.decision,
        Decision::EscalateNow {
            reason: HandoffReason::Requested,
            ..
        }
    ));
    assert_eq!(
        out.notice,
        Some(NoticeEffect::AskedForPerson("N-000001".into()))
    );
    assert!(out.state.notice_offer.is_none());
}

#[test]
fn a_security_intent_is_never_held_back() {
    let mut chat = Chat::new();
    let out = chat.send(
        "I lost my 2FA phone, ETH",
        hit("two_factor_reset", 0.95),
        coin("ETH"),
    );
    // The notice as information, then the collection at once: no yes / no gate.
    assert_eq!(texts(&out)[0], "ETH withdrawals are delayed until 15:00.");
    assert!(
        out.replies.iter().all(|r| r.choices.is_empty()),
        "{:?}",
        out.replies
    );
    assert!(
        matches!(out.decision, Decision::CollectDetail { ref intent, .. } if intent == "two_factor_reset")
    );
    assert!(out.state.notice_offer.is_none());
}

#[test]
fn another_coin_or_intent_is_not_matched() {
    let mut chat = Chat::new();
    let out = chat.send(
        "my BTC withdrawal is late",
        hit("withdrawal_delayed", 0.95),
        coin("BTC"),
    );
    assert!(out.notice.is_none() && out.state.notice_offer.is_none());
    assert!(matches!(out.decision, Decision::CollectDetail { .. }));
    let mut chat = Chat::new();
    let out = chat.send(
        "my ETH deposit is missing",
        hit("deposit_missing", 0.95),
        coin("ETH"),
    );
    assert!(out.notice.is_none());
}

#[test]
fn keywords_narrow_the_notice() {
    let mut chat = Chat::new();
    chat.notices[0].keywords = vec!["merge".into()];
    let out = shown(&mut chat, "my ETH withdrawal has not arrived");
    assert!(out.notice.is_none());
    let mut chat = Chat::new();
    chat.notices[0].keywords = vec!["merge".into()];
    let out = shown(&mut chat, "is my ETH withdrawal late because of the Merge?");
    assert_eq!(out.notice, Some(NoticeEffect::Shown("N-000001".into())));
}

#[test]
fn a_notice_is_shown_once_per_conversation() {
    let mut chat = Chat::new();
    shown(&mut chat, "my ETH withdrawal has not arrived");
    chat.send(YES_CHOICE, hit("greeting", 0.3), Details::default());
    let again = shown(&mut chat, "my ETH withdrawal has still not arrived");
    assert!(again.notice.is_none(), "{:?}", texts(&again));
    assert!(matches!(again.decision, Decision::CollectDetail { .. }));
}

#[test]
fn at_peak_load_the_notice_comes_before_the_self_help_offer() {
    let mut chat = Chat::new();
    chat.queue.estimated_wait_minutes = 60;
    let out = shown(&mut chat, "my ETH withdrawal has not arrived");
    assert_eq!(out.notice, Some(NoticeEffect::Shown("N-000001".into())));
    assert!(out.state.peak_offer.is_none());
}

#[test]
fn without_notices_decide_is_unchanged() {
    let mut chat = Chat::new();
    chat.notices.clear();
    let out = shown(&mut chat, "my ETH withdrawal has not arrived");
    let plain = decide(
        &chat.catalog,
        &PolicyConfig::default(),
        &ConversationState::default(),
        &analysis("my ETH withdrawal has not arrived", coin("ETH")),
        &hit("withdrawal_delayed", 0.95),
        &chat.queue,
    );
    assert_eq!(out, plain);
    assert!(out.notice.is_none());
}
