//! Incident notices through the router (`app(state).oneshot`) with the real model and a
//! SQLite store: the agent endpoints and their errors, the public banner, classify's
//! `notice`, and multi-turn conversations in ko / en / zh / ja (yes ends it, no continues to a
//! ticket, security messages are never held back, other coins are not matched), the push to
//! open tickets when a notice is posted and resolved.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use intentdesk::http::AppState;
use serde_json::{Value, json};

use super::harness::*;

const TOKEN: &str = MINA.1;

fn agent_post(uri: &str, body: &Value) -> Request<Body> {
    with_token(post_json(uri, body), TOKEN)
}

fn agent_patch(uri: &str, body: &Value) -> Request<Body> {
    let request = Request::patch(uri)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap();
    with_token(request, TOKEN)
}

/// The ETH / ERC-20 withdrawal-delay notice in four languages.
fn eth_notice() -> Value {
    json!({
        "intents": ["withdrawal_delayed"],
        "coins": ["eth"],
        "networks": ["ERC-20"],
        "severity": "high",
        "expires_in_minutes": 90,
        "text": {
            "ko": "ETH(ERC-20) 출금이 네트워크 혼잡으로 지연되고 있습니다. 15시까지 순차 처리됩니다.",
            "en": "ETH (ERC-20) withdrawals are delayed by network congestion. They will be processed by 15:00.",
            "zh": "由于网络拥堵，ETH（ERC-20）提币出现延迟，将于15:00前陆续处理。",
            "ja": "ネットワーク混雑のため、ETH（ERC-20）の出金が遅れています。15時までに順次処理されます。"
        }
    })
}

async fn post_notice(state: &AppState, body: &Value) -> Value {
    let r = call(state, agent_post("/v1/notices", body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

async fn notices(state: &AppState) -> Value {
    let r = call(state, with_token(get("/v1/notices"), TOKEN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

async fn new_conversation(state: &AppState) -> String {
    let r = call(state, post_json("/v1/conversations", &json!({}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()["conversation_id"].as_str().unwrap().to_string()
}

/// Sends a customer message; returns the events it produced after the customer's own.
async fn say(state: &AppState, conversation: &str, text: &str) -> Vec<Value> {
    let uri = format!("/v1/conversations/{conversation}/messages");
    let r = call(state, post_json(&uri, &json!({ "text": text }))).await;
    assert_eq!(r.status, StatusCode::OK, "{text}: {}", r.text);
    let events = r.json()["events"].as_array().unwrap().clone();
    events
        .into_iter()
        .filter(|e| e["type"] != "customer_message")
        .collect()
}

fn texts(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["text"].as_str()).collect()
}

fn has_type(events: &[Value], kind: &str) -> bool {
    events.iter().any(|e| e["type"] == kind)
}

#[tokio::test]
async fn notices_are_posted_listed_edited_and_resolved_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let mut body = eth_notice();
    body["text"] =
        json!({ "en": "ETH withdrawals are delayed.", "ko": "ETH 출금이 지연되고 있습니다." });
    let n = post_notice(&state, &body).await;
    assert_eq!(n["id"], "N-000001");
    assert_eq!(n["coins"], json!(["ETH"]), "coins are upper-cased");
    assert_eq!(n["status"], "active");
    assert_eq!(n["missing_languages"], json!(["zh", "ja"]));
    assert_eq!(n["created_by"], MINA.0);
    let expires = n["expires_at_ms"].as_i64().unwrap();
    assert!((expires - n["created_at_ms"].as_i64().unwrap() - 90 * 60_000).abs() < 1000);

    let list = notices(&state).await;
    assert_eq!(list["notices"][0]["id"], "N-000001");
    assert_eq!(
        (
            list["notices"][0]["answered"].as_i64(),
            list["notices"][0]["asked_for_person"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert!(
        list["intents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == "phishing_report" && i["security"] == true)
    );
    assert_eq!(list["default_expires_in_minutes"], 120);

    // Add the Japanese text and extend by a day.
    let r = call(
        &state,
        agent_patch(
            "/v1/notices/N-000001",
            &json!({ "text": { "ja": "ETHの出金が遅れています。" }, "expires_in_minutes": 1440 }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let e = r.json();
    assert_eq!(e["missing_languages"], json!(["zh"]));
    assert_eq!(
        e["texts"]["ko"], "ETH 출금이 지연되고 있습니다.",
        "other languages kept"
    );
    assert!(e["expires_at_ms"].as_i64().unwrap() > expires + 20 * 3_600_000);

    // The public banner, in the customer's language, English where none.
    let r = call(&state, get("/v1/notices/active?lang=ja")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json()["notices"],
        json!([{ "id": "N-000001", "text": "ETHの出金が遅れています。", "expires_at_ms": e["expires_at_ms"] }])
    );
    let r = call(&state, get("/v1/notices/active?lang=zh")).await;
    assert_eq!(
        r.json()["notices"][0]["text"],
        "ETH withdrawals are delayed."
    );
    assert!(
        r.json()["notices"][0].get("created_by").is_none(),
        "no internal fields"
    );

    let r = call(
        &state,
        agent_post(
            "/v1/notices/N-000001/resolve",
            &json!({ "text": { "en": "Fixed at 14:20: withdrawals are being processed." } }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["status"], "resolved");
    let r = call(&state, get("/v1/notices/active?lang=en")).await;
    assert_eq!(r.json()["notices"], json!([]));
    assert_eq!(
        notices(&state).await["notices"][0]["status"],
        "resolved",
        "recent ones stay listed"
    );
    let again = call(
        &state,
        agent_post(
            "/v1/notices/N-000001/resolve",
            &json!({ "text": { "en": "again" } }),
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let edit = call(
        &state,
        agent_patch("/v1/notices/N-000001", &json!({ "expires_in_minutes": 60 })),
    )
    .await;
    assert_eq!(edit.status, StatusCode::CONFLICT, "{}", edit.text);
}

#[tokio::test]
async fn bad_notices_are_refused_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let with = |field: &str, value: Value| {
        let mut b = eth_notice();
        b[field] = value;
        b
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            with("intents", json!(["withdrawl_delayed"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"withdrawl_delayed\" is not in the catalog",
        ),
        (
            with("intents", json!([])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "intents is empty",
        ),
        (
            with("intents", json!(["human_agent"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "always honoured",
        ),
        (
            with("text", json!({})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "text is empty",
        ),
        (
            with("text", json!({ "en": "  " })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "text is empty",
        ),
        (
            with("text", json!({ "ko": "출금 지연" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "text.en is missing",
        ),
        (
            with("text", json!({ "en": "Delayed.", "de": "Verzögert." })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"de\"",
        ),
        (
            with(
                "text",
                json!({ "en": "To speed this up, reply with your OTP code." }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"otp\"",
        ),
        (
            with(
                "text",
                json!({ "en": "Delayed.", "ko": "확인을 위해 비밀번호를 보내 주세요." }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "text.ko",
        ),
        (
            with("expires_in_minutes", json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside 1..=10080",
        ),
        (
            with("expires_in_minutes", json!(20_000)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "20000",
        ),
        (
            with("severity", json!("urgent")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"urgent\"",
        ),
        (
            with("colour", json!("red")),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
    ];
    for (body, status, needle) in cases {
        let r = call(&state, agent_post("/v1/notices", &body)).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        let message = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
    let r = call(&state, post_json("/v1/notices", &eth_notice())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&state, get("/v1/notices")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(
        &state,
        agent_patch("/v1/notices/N-000404", &json!({ "severity": "low" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = call(
        &state,
        agent_post(
            "/v1/notices/N-000404/resolve",
            &json!({ "text": { "en": "ok" } }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = call(&state, get("/v1/notices/active?lang=xx")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        notices(&state).await["notices"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn customers_in_four_languages_get_the_notice_first_and_yes_or_no_decides() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let notice = eth_notice();
    post_notice(&state, &notice).await;
    // (language, first message, the reply, whether the reply is a yes)
    let cases = [
        ("ko", "ETH 출금 신청했는데 아직 안 들어왔어요", "네", true),
        (
            "en",
            "My ETH withdrawal has been pending for hours",
            "no",
            false,
        ),
        ("zh", "我的ETH提币已经好几个小时了还没到账", "yes", true),
        ("ja", "ETHの出金がまだ届きません", "いいえ", false),
    ];
    for (lang, first, reply, yes) in cases {
        let c = new_conversation(&state).await;
        let events = say(&state, &c, first).await;
        let expected = notice["text"][lang].as_str().unwrap();
        assert_eq!(
            texts(&events).first().copied(),
            Some(expected),
            "{lang}: {events:?}"
        );
        let question = &events[1];
        assert_eq!(question["did_this_help"], true, "{lang}: {question}");
        let ids: Vec<&str> = question["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["yes", "no"]);
        assert!(
            !has_type(&events, "ticket_opened"),
            "{lang}: held before a ticket"
        );

        let after = say(&state, &c, reply).await;
        if yes {
            assert!(!has_type(&after, "ticket_opened"), "{lang}: {after:?}");
            assert_eq!(
                after.len(),
                1,
                "{lang}: only the glad-it-helped line: {after:?}"
            );
        } else {
            // The usual collection, with the coin already known: the withdrawal id next.
            assert!(!texts(&after).is_empty(), "{lang}: {after:?}");
            let mut ticket = has_type(&after, "ticket_opened");
            for detail in [
                "0x8f3c2a9be7d4e1f6a5b3c8d2e9f1a7b4c6d8e0f2a1b3c5d7e9f0a2b4c6d8e0f2",
                "3 hours ago",
            ] {
                if !ticket {
                    ticket = has_type(&say(&state, &c, detail).await, "ticket_opened");
                }
            }
            assert!(ticket, "{lang}: a no ends in a ticket");
        }
    }
    let n = &notices(&state).await["notices"][0];
    assert_eq!(
        (
            n["shown"].as_i64(),
            n["answered"].as_i64(),
            n["asked_for_person"].as_i64()
        ),
        (Some(4), Some(2), Some(2)),
        "{n}"
    );
}

#[tokio::test]
async fn security_messages_are_never_held_back_and_other_coins_are_not_matched() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    post_notice(&state, &eth_notice()).await;
    let phishing = json!({ "intents": ["phishing_report"], "severity": "high",
        "text": { "en": "A phishing wave imitates our SMS. We never ask for your password or OTP.",
                  "ko": "거래소를 사칭한 피싱 문자가 돌고 있습니다. 저희는 비밀번호나 OTP를 절대 묻지 않습니다." } });
    post_notice(&state, &phishing).await;

    // Lost 2FA phone: no notice concerns it, the collection starts at once.
    let c = new_conversation(&state).await;
    let events = say(&state, &c, "2FA 인증 앱이 있는 휴대폰을 잃어버렸어요").await;
    assert!(
        events.iter().all(|e| e["did_this_help"] != true),
        "{events:?}"
    );
    assert!(
        !texts(&events).iter().any(|t| t.contains("ETH")),
        "{events:?}"
    );

    // Phishing: the notice as information, and the report goes on without a yes / no gate.
    let c = new_conversation(&state).await;
    let events = say(&state, &c, "거래소를 사칭하는 문자를 받았어요 피싱 같아요").await;
    assert!(
        texts(&events)[0].starts_with("거래소를 사칭한 피싱 문자가"),
        "{events:?}"
    );
    assert!(
        events.iter().all(|e| e["did_this_help"] != true),
        "{events:?}"
    );
    assert!(
        texts(&events).len() >= 2,
        "the report's next step follows: {events:?}"
    );

    // Another coin: the usual path, no notice.
    for text in ["BTC 출금이 아직 안 와요", "My BTC withdrawal is stuck"] {
        let c = new_conversation(&state).await;
        let events = say(&state, &c, text).await;
        assert!(
            !texts(&events).iter().any(|t| t.contains("ETH")),
            "{text}: {events:?}"
        );
        assert!(
            events.iter().all(|e| e["did_this_help"] != true),
            "{text}: {events:?}"
        );
    }
    let list = notices(&state).await;
    let eth = list["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "N-000001")
        .unwrap()
        .clone();
    assert_eq!(eth["shown"], 0, "{eth}");
}

#[tokio::test]
async fn open_tickets_are_told_when_a_notice_is_posted_and_resolved_and_classify_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    // Before any notice: an ETH withdrawal case becomes a waiting ticket.
    let waiting = new_conversation(&state).await;
    let mut ticket = has_type(
        &say(&state, &waiting, "이더리움 출금이 몇 시간째 처리 중이에요").await,
        "ticket_opened",
    );
    for detail in [
        "0x8f3c2a9be7d4e1f6a5b3c8d2e9f1a7b4c6d8e0f2a1b3c5d7e9f0a2b4c6d8e0f2",
        "세 시간 전에요",
    ] {
        if !ticket {
            ticket = has_type(&say(&state, &waiting, detail).await, "ticket_opened");
        }
    }
    assert!(ticket, "a waiting ticket");
    // A BTC case too: not concerned.
    let btc = new_conversation(&state).await;
    let mut btc_ticket = has_type(
        &say(&state, &btc, "BTC 출금이 아직 안 와요").await,
        "ticket_opened",
    );
    for detail in [
        "0x8f3c2a9be7d4e1f6a5b3c8d2e9f1a7b4c6d8e0f2a1b3c5d7e9f0a2b4c6d8e0f2",
        "세 시간 전에요",
    ] {
        if !btc_ticket {
            btc_ticket = has_type(&say(&state, &btc, detail).await, "ticket_opened");
        }
    }
    assert!(btc_ticket);

    let posted = post_notice(&state, &eth_notice()).await;
    assert_eq!(posted["pushed_to"], 1, "{posted}");
    let events = call(
        &state,
        get(&format!("/v1/conversations/{waiting}/events?after_seq=0")),
    )
    .await
    .json();
    let last = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "bot_message");
    assert_eq!(
        last["text"],
        eth_notice()["text"]["ko"],
        "in the ticket's language"
    );
    assert!(last["ticket_id"].as_str().unwrap().starts_with("T-"));

    // classify says which notice a message would get, in its language.
    let r = call(
        &state,
        post_json(
            "/v1/classify",
            &json!({ "text": "ETHの出金がまだ届きません" }),
        ),
    )
    .await;
    assert_eq!(
        r.json()["notice"],
        json!({ "id": "N-000001", "text": eth_notice()["text"]["ja"] })
    );
    let r = call(
        &state,
        post_json(
            "/v1/classify",
            &json!({ "text": "My BTC withdrawal is stuck" }),
        ),
    )
    .await;
    assert_eq!(r.json()["notice"], Value::Null);

    let closing = "ETH 출금이 14:20에 정상화되었습니다. 순차 처리 중입니다.";
    let r = call(
        &state,
        agent_post(
            "/v1/notices/N-000001/resolve",
            &json!({ "text": { "en": "Fixed at 14:20.", "ko": closing } }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["pushed_to"], 1);
    let events = call(
        &state,
        get(&format!("/v1/conversations/{waiting}/events?after_seq=0")),
    )
    .await
    .json();
    assert_eq!(
        events["events"].as_array().unwrap().last().unwrap()["text"],
        closing
    );
    let btc_events = call(
        &state,
        get(&format!("/v1/conversations/{btc}/events?after_seq=0")),
    )
    .await
    .json();
    assert!(
        !btc_events.to_string().contains("ETH 출금"),
        "the BTC customer was not told"
    );
    let r = call(
        &state,
        post_json(
            "/v1/classify",
            &json!({ "text": "ETHの出金がまだ届きません" }),
        ),
    )
    .await;
    assert_eq!(
        r.json()["notice"],
        Value::Null,
        "resolved: no longer offered"
    );
}
