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
    // Another client (API key) has its own allowance; operations are never limited.
    let mut keyed = post_raw("/v1/conversations", Body::empty());
    keyed
        .headers_mut()
        .insert("x-api-key", "widget-a".parse().unwrap());
    assert_eq!(call(&state, keyed).await.status, StatusCode::CREATED);
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
