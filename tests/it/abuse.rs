//! Abuse containment through the router and real sockets: limits keyed on the real client
//! (trusted proxies, configured API keys only), agent-token guessing locked out, the
//! per-client open-ticket cap with the customer told which ticket is open, WebSocket caps
//! (connections per client, idle close, frame size, rated ratings), the metrics token and
//! address, one readiness probe for concurrent `/ready`s, and logs without conversation ids.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use futures::StreamExt;
use intentdesk::http::client::{ApiKeys, ClientPolicy, Secret};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use super::harness::*;

const PARTNER_KEY: &str = "partner-widget-key-0001";

fn from(peer: &str, mut request: Request<Body>) -> Request<Body> {
    let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

fn header(mut request: Request<Body>, name: &'static str, value: &str) -> Request<Body> {
    request.headers_mut().append(name, value.parse().unwrap());
    request
}

fn new_conversation() -> Request<Body> {
    post_raw("/v1/conversations", Body::empty())
}

#[tokio::test]
async fn limits_count_the_real_client_not_what_it_claims() {
    let dir = tempfile::tempdir().unwrap();
    let (service, mut http) = test_configs();
    http.rate_limit_per_minute = 2;
    http.clients = ClientPolicy {
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        api_keys: ApiKeys::new([PARTNER_KEY]).unwrap(),
    };
    let state = state_with(engine(), dir.path(), service, http).await;
    let status = |r: Reply| r.status;

    // A direct client cannot get a fresh allowance by forging X-Forwarded-For...
    for (i, expected) in [
        StatusCode::CREATED,
        StatusCode::CREATED,
        StatusCode::TOO_MANY_REQUESTS,
    ]
    .into_iter()
    .enumerate()
    {
        let request = header(new_conversation(), "x-forwarded-for", &format!("1.2.3.{i}"));
        let r = call(&state, from("203.0.113.9", request)).await;
        assert_eq!(status(r), expected, "forged XFF #{i}");
    }
    // ...nor by sending random API keys.
    for (i, expected) in [
        StatusCode::CREATED,
        StatusCode::CREATED,
        StatusCode::TOO_MANY_REQUESTS,
    ]
    .into_iter()
    .enumerate()
    {
        let request = header(
            new_conversation(),
            "x-api-key",
            &format!("random-key-{i:020}"),
        );
        let r = call(&state, from("203.0.113.10", request)).await;
        assert_eq!(status(r), expected, "random key #{i}");
    }
    // A configured key is its own client, whatever the exhausted address.
    let request = header(new_conversation(), "x-api-key", PARTNER_KEY);
    assert_eq!(
        status(call(&state, from("203.0.113.10", request)).await),
        StatusCode::CREATED
    );
    // Behind the trusted proxy, each forwarded client has its own allowance.
    for (client, expected) in [
        ("198.51.100.1", StatusCode::CREATED),
        ("198.51.100.1", StatusCode::CREATED),
        ("198.51.100.1", StatusCode::TOO_MANY_REQUESTS),
        ("198.51.100.2", StatusCode::CREATED),
    ] {
        let chain = format!("6.6.6.6, {client}");
        let request = header(new_conversation(), "x-forwarded-for", &chain);
        let r = call(&state, from("10.0.0.2", request)).await;
        assert_eq!(status(r), expected, "{client} through the proxy");
    }
}

#[tokio::test]
async fn guessing_agent_tokens_is_locked_out_and_right_tokens_cost_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (service, mut http) = test_configs();
    http.auth_failures_per_minute = 3;
    let state = state_with(engine(), dir.path(), service, http).await;
    let me = |peer: &str, token: &str| from(peer, with_token(get("/v1/agent/me"), token));
    for _ in 0..20 {
        let r = call(&state, me("192.0.2.1", MINA.1)).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "successful logins are not counted"
        );
    }
    for i in 0..3 {
        let r = call(&state, me("192.0.2.1", &format!("guess-{i:08}"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = call(&state, me("192.0.2.1", "guess-99999999")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    let r = call(&state, me("192.0.2.1", MINA.1)).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked out even with the right token: the answer tells nothing"
    );
    let r = call(&state, me("192.0.2.2", MINA.1)).await;
    assert_eq!(r.status, StatusCode::OK, "other clients are not affected");
}

/// A new conversation from `peer` asking for a person: (conversation id, the reply).
async fn escalate(state: &intentdesk::http::AppState, peer: &str) -> (String, serde_json::Value) {
    let id = call(state, from(peer, new_conversation())).await.json()["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = call(
        state,
        from(
            peer,
            post_json(
                &format!("/v1/conversations/{id}/messages"),
                &json!({ "text": "I want to talk to a human agent, not a bot" }),
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (id, r.json())
}

#[tokio::test]
async fn a_client_at_its_open_ticket_cap_is_told_which_ticket_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let (service, mut http) = test_configs();
    http.max_open_tickets_per_client = 2;
    let state = state_with(engine(), dir.path(), service, http).await;
    let first = escalate(&state, "203.0.113.50").await.1.to_string();
    assert!(first.contains("ticket_opened"), "{first}");
    let second = escalate(&state, "203.0.113.50").await.1.to_string();
    assert!(second.contains("ticket_opened"), "{second}");
    let oldest = call(&state, with_token(get("/v1/agent/queue"), MINA.1))
        .await
        .json()["tickets"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let capped = escalate(&state, "203.0.113.50").await.1.to_string();
    assert!(!capped.contains("ticket_opened"), "{capped}");
    assert!(
        capped.contains(&oldest) && capped.contains("already have an open request"),
        "the customer is pointed to the open ticket: {capped}"
    );
    let other = escalate(&state, "203.0.113.51").await.1.to_string();
    assert!(
        other.contains("ticket_opened"),
        "another client still gets a ticket: {other}"
    );
    let queue = call(&state, with_token(get("/v1/agent/queue"), MINA.1))
        .await
        .json();
    assert_eq!(queue["tickets"].as_array().unwrap().len(), 3);
}

fn close_code(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Option<u16> {
    match frame {
        Some(Ok(Message::Close(Some(c)))) => Some(c.code.into()),
        _ => None,
    }
}

#[tokio::test]
async fn websockets_are_capped_per_client_closed_when_idle_and_bounded_in_size() {
    let dir = tempfile::tempdir().unwrap();
    let (service, mut http) = test_configs();
    http.ws_max_per_client = 2;
    http.ws_idle_timeout = Duration::from_millis(800);
    http.max_body_bytes = 4096;
    let state = state_with(engine(), dir.path(), service, http).await;
    let server = TestServer::start(state).await;
    let url = server.ws_url("/v1/chat/ws");
    let mut a = ws_connect(&url).await;
    let mut b = ws_connect(&url).await;
    assert_eq!(ws_next(&mut a).await["type"], "welcome");
    assert_eq!(ws_next(&mut b).await["type"], "welcome");
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        }
        other => panic!("a third socket must be refused: {:?}", other.map(|_| ())),
    }
    // A frame over the size limit ends the socket.
    ws_send(
        &mut b,
        json!({ "type": "message", "text": "x".repeat(8000) }),
    )
    .await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match b.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "an oversized frame closes the socket");
    // Silence past the idle timeout: closed with 4408 (pings keep a socket open).
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        ws_send(&mut a, json!({ "type": "ping" })).await;
        assert_eq!(ws_next(&mut a).await["type"], "pong");
    }
    let frame = tokio::time::timeout(Duration::from_secs(5), a.next())
        .await
        .unwrap();
    assert_eq!(close_code(frame), Some(4408));
    // Slots are given back: two new sockets fit again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut c = ws_connect(&url).await;
    assert_eq!(ws_next(&mut c).await["type"], "welcome");
    let mut d = ws_connect(&url).await;
    assert_eq!(ws_next(&mut d).await["type"], "welcome");
    drop((c, d));
    server.stop().await;
}

#[tokio::test]
async fn rating_frames_are_rate_limited_like_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (service, mut http) = test_configs();
    // The upgrade request takes one, then two frames fit.
    http.rate_limit_per_minute = 3;
    let state = state_with(engine(), dir.path(), service, http).await;
    let server = TestServer::start(state).await;
    let mut ws = ws_connect(&server.ws_url("/v1/chat/ws")).await;
    assert_eq!(ws_next(&mut ws).await["type"], "welcome");
    let mut codes = Vec::new();
    for _ in 0..3 {
        // Out of range: answered with an error frame, so every frame gets a reply.
        ws_send(&mut ws, json!({ "type": "rating", "score": 9 })).await;
        let frame = loop {
            let f = ws_next(&mut ws).await;
            if f["type"] == "error" {
                break f;
            }
        };
        codes.push(frame["code"].as_str().unwrap().to_string());
    }
    assert_eq!(codes[0], "invalid_input", "{codes:?}");
    assert_eq!(codes[1], "invalid_input", "{codes:?}");
    assert_eq!(codes[2], "rate_limited", "{codes:?}");
    server.stop().await;
}

async fn raw_get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    (status, out)
}

#[tokio::test]
async fn metrics_need_their_token_and_can_live_on_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let (service, mut http) = test_configs();
    http.metrics_token = Some(Secret::new("scrape-token-0123456789"));
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    http.metrics_addr = Some(metrics_port);
    let state = state_with(engine(), dir.path(), service, http).await;
    let server = TestServer::start(state).await;
    let (status, _) = raw_get(server.addr, "/metrics", Some("scrape-token-0123456789")).await;
    assert_eq!(status, 404, "not on the main address");
    let (status, body) = raw_get(metrics_port, "/metrics", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = raw_get(metrics_port, "/metrics", Some("wrong-token-0123456789")).await;
    assert_eq!(status, 401);
    let (status, body) = raw_get(metrics_port, "/metrics", Some("scrape-token-0123456789")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("intentdesk_"), "{body}");
    let (status, _) = raw_get(metrics_port, "/v1/classify", None).await;
    assert_eq!(status, 404, "only /metrics there");
    server.stop().await;
}

#[tokio::test]
async fn concurrent_ready_calls_share_one_probe() {
    let dir = tempfile::tempdir().unwrap();
    let held = held_engine(16);
    let (service, http) = test_configs();
    let state = state_with(held.engine.clone(), dir.path(), service, http).await;
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move { call(&state, get("/ready")).await.status })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(
        held.entered.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one probe reached the model"
    );
    assert_eq!(held.engine.queued(), 0, "no probe waits behind it");
    held.release.send(()).unwrap();
}

/// The real binary's log, as an operator reads it: a thread-local capturing subscriber
/// missed lines whenever other tests ran beside it (tracing's callsite interest is global).
#[tokio::test]
async fn conversation_ids_never_reach_the_logs() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_intentdesk"))
        .args([
            "serve",
            "--port",
            "0",
            "--rate-limit-per-minute",
            "0",
            "--data-dir",
        ])
        .arg(dir.path())
        .current_dir(root())
        .env("RUST_LOG", "intentdesk=debug,tower_http=debug")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the intentdesk binary starts");
    let logs: Arc<Mutex<String>> = Arc::default();
    let collect = |stream: Box<dyn tokio::io::AsyncRead + Unpin + Send>,
                   logs: Arc<Mutex<String>>| {
        let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        let task = tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stream).lines();
            let mut tx = Some(tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("listening on http://")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.parse().unwrap());
                }
                let mut logs = logs.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        (rx, task)
    };
    let (addr, out_task) = collect(Box::new(child.stdout.take().unwrap()), logs.clone());
    let (_, err_task) = collect(Box::new(child.stderr.take().unwrap()), logs.clone());
    let addr = tokio::time::timeout(Duration::from_secs(120), addr)
        .await
        .expect("the server listens within 2 minutes")
        .expect("the server printed its address");
    let r = http(addr, "POST", "/v1/conversations", None, None)
        .await
        .unwrap();
    let id = r.json()["conversation_id"].as_str().unwrap().to_string();
    let path = format!("/v1/conversations/{id}/messages");
    let body = json!({ "text": "I want to talk to a human agent, not a bot" });
    assert_eq!(
        http(addr, "POST", &path, None, Some(&body))
            .await
            .unwrap()
            .status,
        200
    );
    let ws = http(
        addr,
        "GET",
        "/v1/chat/ws?conversation_id=abc-123-secret&after_seq=2",
        None,
        None,
    )
    .await
    .unwrap();
    assert_ne!(ws.status, 200);
    child.start_kill().expect("SIGKILL");
    child.wait().await.unwrap();
    out_task.await.unwrap();
    err_task.await.unwrap();
    let logs = logs.lock().unwrap().clone();
    assert!(
        logs.contains("/v1/conversations/:id/messages"),
        "the redacted path is logged: {logs}"
    );
    assert!(logs.contains("conversation_id=***&after_seq=2"), "{logs}");
    assert!(!logs.contains("abc-123-secret"), "{logs}");
    let conversations: Vec<String> = logs
        .lines()
        .filter_map(|l| l.split("/v1/conversations/").nth(1))
        .map(|rest| rest.split('/').next().unwrap_or("").to_string())
        .collect();
    assert!(
        conversations.iter().all(|c| c == ":id"),
        "{conversations:?}"
    );
    assert!(!logs.contains(&id), "{logs}");
}
