//! The router without a socket (`app(state).oneshot(request)`): every endpoint, and every
//! error of the one error table, on the real model and a SQLite store in a temp dir.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use super::harness::*;

#[tokio::test]
async fn classify_one_text_or_a_batch_with_the_fields_of_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let r = call(
        &state,
        post_json(
            "/v1/classify",
            &json!({ "text": "입금했는데 안 들어왔어요" }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    assert_eq!(v["intent"], "deposit_missing");
    assert_eq!(v["language"], "ko");
    for field in [
        "confidence",
        "top",
        "out_of_scope",
        "route",
        "intent_route",
        "details",
        "masked",
        "secrets",
    ] {
        assert!(v.get(field).is_some(), "missing {field}: {v}");
    }
    let r = call(
        &state,
        post_json("/v1/classify", &json!({ "texts": ["how much is the trading fee?", "my OTP is 123456, I can't log in"] })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let results = r.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 2);
    assert!(
        !results[1]["masked"].as_str().unwrap().contains("123456"),
        "{}",
        results[1]
    );
}

#[tokio::test]
async fn classify_errors() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post_raw("/v1/classify", "{\"text\": "),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post_raw("/v1/classify", b"{\"text\": \"\xff\xfe\"}".to_vec()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post_json("/v1/classify", &json!({ "text": "a", "texts": ["b"] })),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post_json("/v1/classify", &json!({ "text": "   " })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_message",
        ),
        (
            post_json("/v1/classify", &json!({ "texts": [] })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_message",
        ),
        (
            post_json("/v1/classify", &json!({ "text": "x".repeat(2001) })),
            StatusCode::PAYLOAD_TOO_LARGE,
            "message_too_long",
        ),
        (
            post_json("/v1/classify", &json!({ "texts": vec!["hi"; 65] })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            post_json("/v1/classify", &json!({ "text": "y".repeat(70_000) })),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let r = call(&state, request).await;
        assert_eq!(r.status, status, "{}", r.text);
        assert_eq!(r.json()["error"]["code"], code, "{}", r.text);
    }
}

#[tokio::test]
async fn conversation_endpoints_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let r = call(&state, post_raw("/v1/conversations", Body::empty())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["conversation_id"].as_str().unwrap().to_string();
    let r = call(
        &state,
        post_json("/v1/conversations", &json!({ "customer_ref": "user-7" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);

    let r = call(
        &state,
        post_json(
            &format!("/v1/conversations/{id}/messages"),
            &json!({ "text": "what are the trading fees? my password is Qwerty!2345" }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let events = r.json()["events"].as_array().unwrap().clone();
    assert_eq!(events[0]["type"], "customer_message");
    assert!(
        !r.text.contains("Qwerty!2345"),
        "only masked text is sent: {}",
        r.text
    );
    assert!(events.len() >= 2, "{events:?}");
    let first_seq = events[0]["seq"].as_i64().unwrap();

    let r = call(
        &state,
        get(&format!(
            "/v1/conversations/{id}/events?after_seq={first_seq}"
        )),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json()["events"].as_array().unwrap().len(),
        events.len() - 1
    );
    let r = call(&state, get(&format!("/v1/conversations/{id}/events"))).await;
    assert_eq!(r.json()["events"].as_array().unwrap().len(), events.len());

    let r = call(&state, get(&format!("/v1/conversations/{id}/transcript"))).await;
    assert_eq!(r.status, StatusCode::OK);
    let t = r.json();
    assert_eq!(t["messages"][0]["sender"], "customer");
    assert!(!r.text.contains("Qwerty!2345"));
    let r = call(
        &state,
        get(&format!("/v1/conversations/{id}/transcript?format=text")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        r.text.contains("customer: what are the trading fees?"),
        "{}",
        r.text
    );

    let r = call(
        &state,
        post_json(
            &format!("/v1/conversations/{id}/rating"),
            &json!({ "score": 4, "comment": "ok" }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["events"][0]["type"], "bot_message");

    let errors: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post_json("/v1/conversations/nope/messages", &json!({ "text": "hi" })),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            post_json(
                &format!("/v1/conversations/{id}/messages"),
                &json!({ "text": "" }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_message",
        ),
        (
            post_json(
                &format!("/v1/conversations/{id}/messages"),
                &json!({ "text": "가".repeat(2001) }),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "message_too_long",
        ),
        (
            post_json(
                &format!("/v1/conversations/{id}/messages"),
                &json!({ "txt": "hi" }),
            ),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post_raw(&format!("/v1/conversations/{id}/messages"), "not json"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            get("/v1/conversations/nope/events"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            get(&format!("/v1/conversations/{id}/events?after_seq=abc")),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            get("/v1/conversations/nope/transcript"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            get(&format!("/v1/conversations/{id}/transcript?format=xml")),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            post_json(
                &format!("/v1/conversations/{id}/rating"),
                &json!({ "score": 9 }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            post_json("/v1/conversations/nope/rating", &json!({ "score": 3 })),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (get("/v1/nothing-here"), StatusCode::NOT_FOUND, "not_found"),
        (get("/v1/chat/ws"), StatusCode::BAD_REQUEST, "bad_request"),
        (
            post_raw("/v1/conversations", "x".repeat(70_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (request, status, code) in errors {
        let r = call(&state, request).await;
        assert_eq!(r.status, status, "{}", r.text);
        assert_eq!(r.json()["error"]["code"], code, "{}", r.text);
    }
}

#[tokio::test]
async fn agent_endpoints_tokens_and_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    // No token, a wrong token: 401 with a Bearer challenge.
    let r = call(&state, get("/v1/agent/queue")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    assert_eq!(
        call(&state, get("/v1/agent/ws")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&state, with_token(get("/v1/agent/ws"), MINA.1))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let r = call(
        &state,
        with_token(get("/v1/agent/queue"), "wrong-token-123"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["code"], "unauthorized");

    // A customer asks for a person: a ticket appears in the queue.
    let id = call(&state, post_raw("/v1/conversations", Body::empty()))
        .await
        .json()["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = call(
        &state,
        post_json(
            &format!("/v1/conversations/{id}/messages"),
            &json!({ "text": "I want to talk to a human agent, not a bot" }),
        ),
    )
    .await;
    assert!(r.text.contains("ticket_opened"), "{}", r.text);
    let r = call(&state, with_token(get("/v1/agent/queue"), MINA.1)).await;
    assert_eq!(r.status, StatusCode::OK);
    let queue = r.json();
    let ticket = queue["tickets"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(queue["tickets"][0]["position"], 1);
    assert!(queue["tickets"][0]["transcript"].is_array());
    assert_eq!(queue["agents"].as_array().unwrap().len(), 2);
    let r = call(
        &state,
        with_token(get(&format!("/v1/agent/tickets/{ticket}")), MINA.1),
    )
    .await;
    assert_eq!(r.json()["state"], "waiting");

    let action = |path: &str, token: &str, body: Option<serde_json::Value>| {
        let uri = format!("/v1/agent/tickets/{ticket}/{path}");
        let request = match body {
            Some(b) => post_json(&uri, &b),
            None => post_raw(&uri, Body::empty()),
        };
        with_token(request, token)
    };
    let r = call(&state, action("claim", MINA.1, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["state"], "assigned");
    let r = call(&state, action("claim", JUN.1, None)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = call(
        &state,
        action("reply", JUN.1, Some(json!({ "text": "hello" }))),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = call(
        &state,
        action(
            "reply",
            MINA.1,
            Some(json!({ "text": "Hello, this is Mina." })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["type"], "agent_message");
    let r = call(&state, action("reply", MINA.1, Some(json!({ "text": "" })))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(
        &state,
        action("note", JUN.1, Some(json!({ "text": "VIP customer" }))),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(&state, action("resolve", JUN.1, None)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = call(&state, action("resolve", MINA.1, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["state"], "resolved");
    let r = call(&state, action("handback", MINA.1, None)).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a resolved ticket cannot be handed back"
    );
    let r = call(
        &state,
        with_token(
            post_raw("/v1/agent/tickets/T-999999/claim", Body::empty()),
            MINA.1,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = call(
        &state,
        with_token(
            post_json(
                "/v1/agent/presence",
                &json!({ "online": true, "capacity": 4 }),
            ),
            JUN.1,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.json()["online"].as_bool(), r.json()["capacity"].as_u64()),
        (Some(true), Some(4))
    );
    let r = call(
        &state,
        with_token(
            post_json("/v1/agent/presence", &json!({ "online": "yes" })),
            JUN.1,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // The customer saw the agent's reply and the rating request, never the note.
    let events = call(&state, get(&format!("/v1/conversations/{id}/events"))).await;
    assert!(events.text.contains("Hello, this is Mina."));
    assert!(events.text.contains("rating_request"));
    assert!(!events.text.contains("VIP customer"));
}

#[tokio::test]
async fn operations_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    assert_eq!(call(&state, get("/health")).await.status, StatusCode::OK);
    let r = call(&state, get("/ready")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    call(
        &state,
        post_json("/v1/classify", &json!({ "text": "hello" })),
    )
    .await;
    let r = call(&state, get("/metrics")).await;
    assert_eq!(r.status, StatusCode::OK);
    for name in [
        "intentdesk_model_latency_seconds_bucket",
        "intentdesk_model_batch_size_bucket",
        "intentdesk_tickets{state=\"waiting\"}",
        "intentdesk_queue_length",
        "intentdesk_estimated_wait_minutes",
    ] {
        assert!(r.text.contains(name), "{name} missing from /metrics");
    }
    let r = call(&state, get("/openapi.json")).await;
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/classify",
        "/v1/conversations",
        "/v1/conversations/{id}/messages",
        "/v1/conversations/{id}/events",
        "/v1/conversations/{id}/transcript",
        "/v1/conversations/{id}/rating",
        "/v1/chat/ws",
        "/v1/agent/queue",
        "/v1/agent/tickets/{id}",
        "/v1/agent/tickets/{id}/claim",
        "/v1/agent/tickets/{id}/reply",
        "/v1/agent/tickets/{id}/note",
        "/v1/agent/tickets/{id}/resolve",
        "/v1/agent/tickets/{id}/handback",
        "/v1/agent/presence",
        "/v1/agent/ws",
        "/health",
        "/ready",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn ready_is_503_while_the_model_does_not_answer_and_a_full_queue_is_429() {
    let dir = tempfile::tempdir().unwrap();
    let held = held_engine(1);
    let (service, http) = test_configs();
    let state = state_with(held.engine.clone(), dir.path(), service, http).await;
    let r = call(&state, get("/ready")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.json()["error"]["code"], "not_ready");
    // The probe above is in the forward pass now (held); fill the one queue slot.
    let queued = {
        let state = state.clone();
        tokio::spawn(async move {
            call(
                &state,
                post_json("/v1/classify", &json!({ "text": "hello" })),
            )
            .await
        })
    };
    held.until_entered(1).await;
    held.until_queued(1).await;
    let r = call(
        &state,
        post_json("/v1/classify", &json!({ "text": "hello again" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(r.json()["error"]["code"], "overloaded");
    held.release.send(()).unwrap();
    held.release.send(()).unwrap();
    assert_eq!(queued.await.unwrap().status, StatusCode::OK);
    assert_eq!(
        call(&state, get("/ready")).await.status,
        StatusCode::OK,
        "answering again"
    );
}

#[tokio::test]
async fn clients_over_their_rate_get_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (service, mut http) = test_configs();
    http.rate_limit_per_minute = 2;
    let state = state_with(engine(), dir.path(), service, http).await;
    for _ in 0..2 {
        assert_eq!(
            call(&state, post_raw("/v1/conversations", Body::empty()))
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let r = call(&state, post_raw("/v1/conversations", Body::empty())).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.json()["error"]["code"], "rate_limited");
    let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&secs), "{secs}");
    // An API key that is not configured buys no fresh allowance (tests/it/abuse.rs covers
    // configured keys); operations are never limited.
    let mut keyed = post_raw("/v1/conversations", Body::empty());
    keyed
        .headers_mut()
        .insert("x-api-key", "widget-a".parse().unwrap());
    assert_eq!(
        call(&state, keyed).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(call(&state, get("/health")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn cors_allows_only_the_configured_widget_origins() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let preflight = |origin: &str| {
        Request::options("/v1/conversations")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap()
    };
    let r = call(&state, preflight("https://widget.example.com")).await;
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://widget.example.com"
    );
    let r = call(&state, preflight("https://evil.example.net")).await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
}

/// A customer asks for a person over REST: the conversation and its new ticket.
async fn human_ticket(state: &intentdesk::http::AppState, text: &str) -> (String, String) {
    let id = call(state, post_raw("/v1/conversations", Body::empty()))
        .await
        .json()["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = call(
        state,
        post_json(
            &format!("/v1/conversations/{id}/messages"),
            &json!({ "text": text }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let opened = r.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "ticket_opened")
        .unwrap_or_else(|| panic!("no ticket for {text:?}: {}", r.text))
        .clone();
    (id, opened["ticket_id"].as_str().unwrap().to_string())
}

fn agent_get(uri: &str, token: &str) -> Request<Body> {
    with_token(get(uri), token)
}

fn agent_post(uri: &str, token: &str, body: serde_json::Value) -> Request<Body> {
    with_token(post_json(uri, &body), token)
}

#[tokio::test]
async fn open_tickets_mine_the_ticket_pane_me_and_the_supervisor_strip() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    for uri in ["/v1/agent/tickets", "/v1/agent/me", "/v1/agent/stats"] {
        assert_eq!(
            call(&state, get(uri)).await.status,
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
    }
    let began = std::time::Instant::now();
    let first = "I want to talk to a human agent, not a bot";
    let (_c1, t1) = human_ticket(&state, first).await;
    let (c2, t2) = human_ticket(
        &state,
        "상담원이랑 직접 얘기하고 싶어요. 사람 연결해 주세요",
    )
    .await;

    let r = call(&state, agent_get("/v1/agent/tickets", MINA.1)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let tickets = r.json()["tickets"].as_array().unwrap().clone();
    assert_eq!(tickets.len(), 2, "{tickets:?}");
    assert_eq!(tickets[0]["ticket_id"], t1.as_str());
    assert_eq!(tickets[0]["state"], "waiting");
    assert_eq!(tickets[0]["agent"], serde_json::Value::Null);
    assert_eq!(tickets[0]["position"], 1);
    assert_eq!(tickets[1]["position"], 2);
    assert_eq!(tickets[0]["priority"], "normal");
    assert_eq!(tickets[0]["intent"], "human_agent");
    assert_eq!(tickets[0]["first_line"], first);
    assert!(tickets[0]["details"].is_object(), "{}", tickets[0]);
    assert_eq!(tickets[1]["language"], "ko");

    // Mina claims the second: waiting ones stay first, then the assigned one.
    let r = call(
        &state,
        with_token(
            post_raw(&format!("/v1/agent/tickets/{t2}/claim"), Body::empty()),
            MINA.1,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let tickets = call(&state, agent_get("/v1/agent/tickets", JUN.1))
        .await
        .json()["tickets"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        tickets
            .iter()
            .map(|t| (
                t["ticket_id"].as_str().unwrap(),
                t["state"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [(t1.as_str(), "waiting"), (t2.as_str(), "assigned")]
    );
    assert_eq!(tickets[1]["agent"], "mina");
    assert_eq!(tickets[1]["assigned_by"], "claim");
    assert_eq!(tickets[1]["position"], serde_json::Value::Null);
    let mine = |token: &'static str| {
        let state = state.clone();
        async move {
            let r = call(&state, agent_get("/v1/agent/tickets?assigned_to=me", token)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json()["tickets"].as_array().unwrap().clone()
        }
    };
    let mina = mine(MINA.1).await;
    assert_eq!(mina.len(), 1);
    assert_eq!(mina[0]["ticket_id"], t2.as_str());
    assert_eq!(mina[0]["unread"], 0);
    assert!(mine(JUN.1).await.is_empty());
    let r = call(
        &state,
        agent_get("/v1/agent/tickets?assigned_to=jun", MINA.1),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // The customer writes twice: two unread until Mina replies.
    for text in ["여보세요?", "아직 계세요?"] {
        let r = call(
            &state,
            post_json(
                &format!("/v1/conversations/{c2}/messages"),
                &json!({ "text": text }),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_eq!(mine(MINA.1).await[0]["unread"], 2);
    let reply = "네, 상담원 미나입니다.";
    let r = call(
        &state,
        agent_post(
            &format!("/v1/agent/tickets/{t2}/reply"),
            MINA.1,
            json!({ "text": reply }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(mine(MINA.1).await[0]["unread"], 0);
    let r = call(
        &state,
        agent_post(
            &format!("/v1/agent/tickets/{t2}/note"),
            JUN.1,
            json!({ "text": "VIP" }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // The pane: details as an object, notes, the live masked transcript, the suggested
    // reply in the customer's language.
    let pane = call(
        &state,
        agent_get(&format!("/v1/agent/tickets/{t2}"), MINA.1),
    )
    .await
    .json();
    assert!(pane["details"].is_object(), "{pane}");
    assert_eq!(pane["notes"][0]["text"], "VIP");
    assert_eq!(pane["notes"][0]["agent_id"], "jun");
    let answer = catalog()
        .intent("human_agent")
        .unwrap()
        .answer
        .clone()
        .unwrap();
    assert_eq!(pane["suggested_reply"], answer.ko.as_str());
    assert_eq!(pane["priority_name"], "normal");
    let transcript = pane["transcript"].as_array().unwrap();
    let kinds: Vec<&str> = transcript
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"customer_message"), "{kinds:?}");
    assert!(
        kinds.contains(&"ticket_opened") && kinds.contains(&"agent_joined"),
        "{kinds:?}"
    );
    let last = transcript.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["text"].as_str()),
        (Some("agent_message"), Some(reply))
    );
    assert_eq!(last["agent"], "mina");
    assert!(
        transcript
            .windows(2)
            .all(|w| w[0]["seq"].as_i64() < w[1]["seq"].as_i64())
    );
    let r = call(&state, agent_get("/v1/agent/tickets/T-999999", MINA.1)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let me = call(&state, agent_get("/v1/agent/me", MINA.1)).await.json();
    assert_eq!(
        me,
        json!({ "agent": "mina", "name": "mina", "online": false, "capacity": 3, "load": 1 })
    );

    let stats = call(&state, agent_get("/v1/agent/stats", JUN.1))
        .await
        .json();
    assert_eq!(stats["queue_length"], 1, "{stats}");
    assert!(
        stats["estimated_wait_minutes"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    // The oldest waiting ticket is t1, opened since `began` (one second more for the wall
    // clock the service reads against the monotonic one).
    let oldest = stats["oldest_waiting_seconds"].as_i64().unwrap();
    let elapsed = began.elapsed().as_secs() as i64;
    assert!(
        (0..=elapsed + 1).contains(&oldest),
        "{oldest} s, {elapsed} s elapsed"
    );
    assert_eq!(stats["agents"].as_array().unwrap().len(), 2);
    assert_eq!(stats["agents_online"], 0);
    let today = &stats["today"];
    assert_eq!(
        (today["conversations"].as_i64(), today["tickets"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(today["resolved"], 0);
    assert_eq!(today["deflection_rate"], 0.0);
    assert_eq!(today["ratings"], 0);
    assert_eq!(today["average_rating"], serde_json::Value::Null);

    // Resolved and rated: the strip counts both.
    let r = call(
        &state,
        with_token(
            post_raw(&format!("/v1/agent/tickets/{t2}/resolve"), Body::empty()),
            MINA.1,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = call(
        &state,
        post_json(
            &format!("/v1/conversations/{c2}/rating"),
            &json!({ "score": 4 }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let today = call(&state, agent_get("/v1/agent/stats", JUN.1))
        .await
        .json()["today"]
        .clone();
    assert_eq!(
        (today["resolved"].as_i64(), today["ratings"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(today["average_rating"], 4.0);
    // The resolved ticket left the open list.
    let open = call(&state, agent_get("/v1/agent/tickets", JUN.1))
        .await
        .json();
    assert_eq!(open["tickets"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn transfer_to_an_online_agent_or_back_to_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let (conversation, ticket) =
        human_ticket(&state, "I want to talk to a human agent, not a bot").await;
    let transfer = |token: &'static str, body: serde_json::Value| {
        let state = state.clone();
        let uri = format!("/v1/agent/tickets/{ticket}/transfer");
        async move { call(&state, agent_post(&uri, token, body)).await }
    };
    // Only the owner of an assigned ticket may transfer it.
    assert_eq!(
        transfer(MINA.1, json!({ "to": "jun" })).await.status,
        StatusCode::CONFLICT
    );
    let r = call(
        &state,
        with_token(
            post_raw(&format!("/v1/agent/tickets/{ticket}/claim"), Body::empty()),
            MINA.1,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let cases = [
        (
            MINA.1,
            json!({ "to": "jun" }),
            StatusCode::CONFLICT,
            "offline",
        ),
        (
            MINA.1,
            json!({ "to": "nobody" }),
            StatusCode::NOT_FOUND,
            "nobody",
        ),
        (
            MINA.1,
            json!({ "to": "mina" }),
            StatusCode::CONFLICT,
            "mina",
        ),
        (
            JUN.1,
            json!({ "to": "jun" }),
            StatusCode::CONFLICT,
            "not assigned to jun",
        ),
        (MINA.1, json!({ "to": 7 }), StatusCode::BAD_REQUEST, "to"),
        (MINA.1, json!({}), StatusCode::BAD_REQUEST, "to"),
    ];
    for (token, body, status, says) in cases {
        let r = transfer(token, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert!(r.text.contains(says), "{body}: {}", r.text);
    }
    let loads = |state: intentdesk::http::AppState| async move {
        let stats = call(&state, agent_get("/v1/agent/stats", MINA.1))
            .await
            .json();
        stats["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["agent"].as_str().unwrap().to_string(),
                    a["load"].as_u64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        loads(state.clone()).await,
        [("jun".into(), 0), ("mina".into(), 1)]
    );

    // Jun comes online: the ticket moves to him, the customer hears he joined.
    let r = call(
        &state,
        agent_post("/v1/agent/presence", JUN.1, json!({ "online": true })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = transfer(MINA.1, json!({ "to": "jun" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let moved = r.json();
    assert_eq!(
        (
            moved["state"].as_str(),
            moved["agent"].as_str(),
            moved["assigned_by"].as_str()
        ),
        (Some("assigned"), Some("jun"), Some("transfer"))
    );
    assert_eq!(
        loads(state.clone()).await,
        [("jun".into(), 1), ("mina".into(), 0)]
    );
    let events = call(
        &state,
        get(&format!("/v1/conversations/{conversation}/events")),
    )
    .await
    .json()["events"]
        .as_array()
        .unwrap()
        .clone();
    let last = events.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["agent"].as_str()),
        (Some("agent_joined"), Some("jun"))
    );
    assert_eq!(last["ticket_id"], ticket.as_str());
    // Mina may no longer reply; Jun may.
    let reply = |token: &'static str| {
        agent_post(
            &format!("/v1/agent/tickets/{ticket}/reply"),
            token,
            json!({ "text": "hi" }),
        )
    };
    assert_eq!(
        call(&state, reply(MINA.1)).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(call(&state, reply(JUN.1)).await.status, StatusCode::OK);

    // Jun goes offline (so automatic assignment does not hand it straight back) and
    // returns it to the queue: waiting, unassigned, the customer told their place.
    call(
        &state,
        agent_post("/v1/agent/presence", JUN.1, json!({ "online": false })),
    )
    .await;
    let r = transfer(JUN.1, json!({ "to": null })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let back = r.json();
    assert_eq!(
        (
            back["state"].as_str(),
            back["agent"].is_null(),
            back["position"].as_u64()
        ),
        (Some("waiting"), true, Some(1))
    );
    assert_eq!(back["assigned_by"], serde_json::Value::Null);
    assert_eq!(
        loads(state.clone()).await,
        [("jun".into(), 0), ("mina".into(), 0)]
    );
    let events = call(
        &state,
        get(&format!("/v1/conversations/{conversation}/events")),
    )
    .await
    .json()["events"]
        .as_array()
        .unwrap()
        .clone();
    let last = events.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["position"].as_u64()),
        (Some("queue_position"), Some(1))
    );
    let transcript = call(
        &state,
        get(&format!("/v1/conversations/{conversation}/transcript")),
    )
    .await
    .json();
    let lines = transcript["messages"].as_array().unwrap();
    assert_eq!(
        lines.last().unwrap()["text"],
        last["text"],
        "the transcript has the same line"
    );
    // A waiting ticket cannot be transferred; it can be claimed again.
    assert_eq!(
        transfer(JUN.1, json!({ "to": null })).await.status,
        StatusCode::CONFLICT
    );
    let r = call(
        &state,
        with_token(
            post_raw(&format!("/v1/agent/tickets/{ticket}/claim"), Body::empty()),
            JUN.1,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn a_transcript_downloads_as_a_named_attachment() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let (id, _) = human_ticket(&state, "I want to talk to a human agent, not a bot").await;
    let r = call(
        &state,
        get(&format!(
            "/v1/conversations/{id}/transcript?format=text&download=1"
        )),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.headers["content-disposition"],
        format!("attachment; filename=\"intentdesk-{id}.txt\"").as_str()
    );
    assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
    assert!(
        r.text.contains("I want to talk to a human agent"),
        "{}",
        r.text
    );
    let r = call(
        &state,
        get(&format!("/v1/conversations/{id}/transcript?format=text")),
    )
    .await;
    assert!(r.headers.get("content-disposition").is_none());
    let r = call(
        &state,
        get(&format!("/v1/conversations/{id}/transcript?download=yes")),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pages_are_embedded_with_etags_cache_headers_and_a_csp_and_off_with_no_ui() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let names = intentdesk::http::ui::asset_names();
    for required in ["index.html", "agent.html", "widget.js"] {
        assert!(
            names.contains(&required),
            "{required} missing from src/http/assets: {names:?}"
        );
    }
    let pages = [
        ("/", "text/html; charset=utf-8", "no-cache"),
        ("/agent", "text/html; charset=utf-8", "no-cache"),
        (
            "/widget.js",
            "text/javascript; charset=utf-8",
            "public, max-age=300",
        ),
    ];
    for (uri, content_type, cache) in pages {
        let r = call(&state, get(uri)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert_eq!(r.headers["content-type"], content_type, "{uri}");
        assert_eq!(r.headers["cache-control"], cache, "{uri}");
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{uri}");
        let html = content_type.starts_with("text/html");
        assert_eq!(
            r.headers
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap()),
            html.then_some(intentdesk::http::ui::CONTENT_SECURITY_POLICY),
            "{uri}"
        );
        let etag = r.headers["etag"].to_str().unwrap().to_string();
        assert!(
            etag.starts_with('"') && etag.len() == 34,
            "a strong hash ETag: {etag}"
        );
        let mut again = get(uri);
        again
            .headers_mut()
            .insert("if-none-match", etag.parse().unwrap());
        let r = call(&state, again).await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(r.text.is_empty());
        assert_eq!(r.headers["etag"], etag.as_str());
        let mut stale = get(uri);
        stale
            .headers_mut()
            .insert("if-none-match", "\"0000\"".parse().unwrap());
        assert_eq!(call(&state, stale).await.status, StatusCode::OK, "{uri}");
    }
    // Every embedded file is served under /assets/, byte for byte.
    for name in &names {
        let r = call(&state, get(&format!("/assets/{name}"))).await;
        assert_eq!(r.status, StatusCode::OK, "{name}");
        let on_disk = std::fs::read(root().join("src/http/assets").join(name)).unwrap();
        assert_eq!(
            r.text.as_bytes(),
            String::from_utf8_lossy(&on_disk).as_bytes(),
            "{name}"
        );
    }
    assert_eq!(
        call(&state, get("/assets/nope.js")).await.status,
        StatusCode::NOT_FOUND
    );
    // HTML pages carry no inline script or style the CSP would block.
    for page in ["index.html", "agent.html"] {
        let html =
            String::from_utf8(std::fs::read(root().join("src/http/assets").join(page)).unwrap())
                .unwrap();
        assert!(!html.contains("style=\""), "{page} has a style attribute");
        assert!(
            !html.contains("<style"),
            "{page} has an inline style element"
        );
        assert!(
            html.matches("<script").count()
                == html.matches("<script src=").count()
                    + html.matches("<script type=\"module\" src=").count(),
            "{page} has an inline script"
        );
    }

    // --no-ui: the pages are gone, the API stays.
    let (service, mut http) = test_configs();
    http.ui = false;
    let dir = tempfile::tempdir().unwrap();
    let api_only = state_with(engine(), dir.path(), service, http).await;
    for uri in ["/", "/agent", "/widget.js", "/assets/agent.html"] {
        assert_eq!(
            call(&api_only, get(uri)).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    assert_eq!(call(&api_only, get("/health")).await.status, StatusCode::OK);
}
