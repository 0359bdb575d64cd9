//! A real server on port 0 with real WebSocket clients: the chat socket and resuming after a
//! reconnect, the agent feed, graceful shutdown (in-flight requests finish, sockets are told
//! to reconnect), and overload → 429 over the wire.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::harness::*;

#[tokio::test]
async fn a_customer_chats_over_the_socket_and_gets_what_they_missed_after_reconnecting() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(state(dir.path()).await).await;
    let mut ws = ws_connect(&server.ws_url("/v1/chat/ws")).await;
    let welcome = ws_next(&mut ws).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["resumed"], false);
    let id = welcome["conversation_id"].as_str().unwrap().to_string();

    ws_send(&mut ws, json!({ "type": "ping" })).await;
    assert_eq!(ws_next(&mut ws).await["type"], "pong");
    ws_send(
        &mut ws,
        json!({ "type": "message", "text": "how much is the trading fee?" }),
    )
    .await;
    let echo = ws_next(&mut ws).await;
    assert_eq!(
        (echo["type"].as_str(), echo["text"].as_str()),
        (
            Some("customer_message"),
            Some("how much is the trading fee?")
        )
    );
    let (help, answers) = ws_until(&mut ws, "bot_message").await;
    assert!(answers.is_empty());
    let help = if help["did_this_help"] == true {
        help
    } else {
        ws_next(&mut ws).await
    };
    assert_eq!(help["did_this_help"], true, "{help}");
    assert_eq!(help["choices"][0]["id"], "yes");
    let last_seen = help["seq"].as_i64().unwrap();

    // Bad frames get error frames, and the session goes on.
    ws.send_text("{not json").await;
    assert_eq!(ws_next(&mut ws).await["code"], "bad_request");
    ws_send(
        &mut ws,
        json!({ "type": "message", "text": "x".repeat(2001) }),
    )
    .await;
    let too_long = ws_next(&mut ws).await;
    assert_eq!(too_long["code"], "message_too_long");
    assert!(
        too_long["text"].as_str().unwrap().contains("2000"),
        "{too_long}"
    );
    drop(ws);

    // While the customer is away, more happens (a REST message from another tab).
    let r = http(
        server.addr,
        "POST",
        &format!("/v1/conversations/{id}/messages"),
        None,
        Some(&json!({ "text": "I want to talk to a human agent" })),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let missed = r.json()["events"].as_array().unwrap().len();

    let mut ws = ws_connect(&server.ws_url(&format!(
        "/v1/chat/ws?conversation_id={id}&after_seq={last_seen}"
    )))
    .await;
    let welcome = ws_next(&mut ws).await;
    assert_eq!(
        (
            welcome["resumed"].as_bool(),
            welcome["conversation_id"].as_str()
        ),
        (Some(true), Some(id.as_str()))
    );
    let mut replayed = Vec::new();
    for _ in 0..missed {
        replayed.push(ws_next(&mut ws).await);
    }
    assert!(
        replayed
            .windows(2)
            .all(|w| w[0]["seq"].as_i64() < w[1]["seq"].as_i64())
    );
    assert!(
        replayed
            .iter()
            .all(|e| e["seq"].as_i64().unwrap() > last_seen)
    );
    assert_eq!(replayed[0]["text"], "I want to talk to a human agent");
    assert!(
        replayed.iter().any(|e| e["type"] == "ticket_opened"),
        "{replayed:?}"
    );

    // An unknown conversation is refused before the upgrade.
    assert!(
        tokio_tungstenite::connect_async(server.ws_url("/v1/chat/ws?conversation_id=nope"))
            .await
            .is_err()
    );
    server.stop().await;
}

#[tokio::test]
async fn the_agent_feed_shows_queue_changes_and_customer_messages_of_owned_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(state(dir.path()).await).await;
    assert!(
        tokio_tungstenite::connect_async(server.ws_url("/v1/agent/ws"))
            .await
            .is_err(),
        "the feed needs a token"
    );
    let mut feed = ws_connect_with_token(&server.ws_url("/v1/agent/ws"), MINA.1).await;
    let first = ws_next(&mut feed).await;
    assert_eq!(first["type"], "queue");
    assert_eq!(first["tickets"].as_array().unwrap().len(), 0);

    let (mut customer, id) = chat(&server.ws_url("/v1/chat/ws")).await;
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": "please connect me to a human agent" }),
    )
    .await;
    let (opened, _) = ws_until(&mut customer, "ticket_opened").await;
    let ticket = opened["ticket_id"].as_str().unwrap().to_string();
    loop {
        let frame = ws_next(&mut feed).await;
        if frame["type"] == "queue" && frame["tickets"].as_array().unwrap().len() == 1 {
            assert_eq!(frame["tickets"][0]["id"], ticket.as_str());
            assert_eq!(frame["tickets"][0]["conversation_id"], id.as_str());
            break;
        }
    }

    claim(server.addr, &ticket, MINA.1).await;
    let (joined, _) = ws_until(&mut customer, "agent_joined").await;
    assert_eq!(joined["agent"], "mina");
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": "thanks, my account is locked" }),
    )
    .await;
    let (forwarded, _) = ws_until(&mut feed, "customer_message").await;
    assert_eq!(forwarded["ticket_id"], ticket.as_str());
    assert_eq!(forwarded["text"], "thanks, my account is locked");
    // The bot stays silent: only the echo of the customer's own message comes back.
    let echo = ws_next(&mut customer).await;
    assert_eq!(echo["type"], "customer_message");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), customer.next())
            .await
            .is_err(),
        "no bot reply while an agent owns the conversation"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_tells_sockets_to_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let held = held_engine(8);
    let (service, http_config) = test_configs();
    let server =
        TestServer::start(state_with(held.engine.clone(), dir.path(), service, http_config).await)
            .await;
    let mut ws = ws_connect(&server.ws_url("/v1/chat/ws")).await;
    ws_next(&mut ws).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(async move {
        http(
            addr,
            "POST",
            "/v1/classify",
            None,
            Some(&json!({ "text": "hello" })),
        )
        .await
    });
    held.until_entered(1).await;
    let stopping = tokio::spawn(server.stop());
    // The socket is told the server restarts.
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("close frame in time");
    assert_eq!(u16::from(close.expect("a close code").code), 1012);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !stopping.is_finished(),
        "the server waits for the in-flight request"
    );
    held.release.send(()).unwrap();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    stopping.await.unwrap();
}

#[tokio::test]
async fn an_overloaded_model_answers_429_with_retry_after_over_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let held = held_engine(2);
    let (service, http_config) = test_configs();
    let server =
        TestServer::start(state_with(held.engine.clone(), dir.path(), service, http_config).await)
            .await;
    let addr = server.addr;
    let mut pending = Vec::new();
    let mut refused = None;
    for i in 0..10 {
        let task = tokio::spawn(async move {
            http(
                addr,
                "POST",
                "/v1/classify",
                None,
                Some(&json!({ "text": format!("hello {i}") })),
            )
            .await
        });
        match i {
            0 => held.until_entered(1).await,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
        if task.is_finished() {
            refused = Some(task.await.unwrap().unwrap());
            break;
        }
        pending.push(task);
    }
    let refused = refused.expect("one request in the forward pass, two queued, the fourth refused");
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.json()["error"]["code"], "overloaded");
    assert_eq!(pending.len(), 3);
    for _ in 0..pending.len() {
        held.release.send(()).unwrap();
    }
    for task in pending {
        assert_eq!(task.await.unwrap().unwrap().status, 200);
    }
    server.stop().await;
}

trait SendText {
    async fn send_text(&mut self, text: &str);
}

impl SendText for Ws {
    async fn send_text(&mut self, text: &str) {
        use futures::SinkExt;
        self.send(Message::Text(text.to_string().into()))
            .await
            .unwrap();
    }
}

/// Two replicas on one PostgreSQL database (`INTENTDESK_TEST_POSTGRES_URL`, set by `tests/run.sh`):
/// the customer's socket is on one, the agent works on the other, and every event crosses
/// over through LISTEN/NOTIFY.
#[tokio::test]
async fn two_replicas_on_postgres_deliver_events_across_servers() {
    let (url, _guard) = postgres_database().await;
    let a = TestServer::start(state_on(&url).await).await;
    let b = TestServer::start(state_on(&url).await).await;
    let mut customer = ws_connect(&a.ws_url("/v1/chat/ws")).await;
    ws_next(&mut customer).await;
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": "I need to talk to a human agent" }),
    )
    .await;
    let (opened, _) = ws_until(&mut customer, "ticket_opened").await;
    let ticket = opened["ticket_id"].as_str().unwrap().to_string();

    let mut feed = ws_connect_with_token(&b.ws_url("/v1/agent/ws"), MINA.1).await;
    let queue = ws_next(&mut feed).await;
    assert_eq!(
        queue["tickets"][0]["id"],
        ticket.as_str(),
        "replica B sees replica A's ticket"
    );
    claim(b.addr, &ticket, MINA.1).await;
    ws_until(&mut customer, "agent_joined").await;
    let r = http(
        b.addr,
        "POST",
        &format!("/v1/agent/tickets/{ticket}/reply"),
        Some(MINA.1),
        Some(&json!({ "text": "Hello from replica B" })),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let (message, _) = ws_until(&mut customer, "agent_message").await;
    assert_eq!(message["text"], "Hello from replica B");
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": "thanks, it is about my KYC" }),
    )
    .await;
    let (forwarded, _) = ws_until(&mut feed, "customer_message").await;
    assert_eq!(forwarded["text"], "thanks, it is about my KYC");
    drop((customer, feed));
    a.stop().await;
    b.stop().await;
}

/// Base64url without padding (what a browser page computes for the subprotocol).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Opens the agent feed the way the browser page does: the token in a subprotocol.
async fn feed_by_subprotocol(
    url: &str,
    token: &str,
) -> Result<(Ws, Option<String>), tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().unwrap();
    let offered = format!(
        "intentdesk.v1, intentdesk.bearer.{}",
        base64url(token.as_bytes())
    );
    request
        .headers_mut()
        .insert("sec-websocket-protocol", offered.parse().unwrap());
    let (ws, response) = tokio_tungstenite::connect_async(request).await?;
    let chosen = response
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_string());
    Ok((ws, chosen))
}

/// Reads the feed until a `conversation_event` whose event has `kind` and `text`.
async fn until_event(feed: &mut Ws, kind: &str, text: &str) -> serde_json::Value {
    loop {
        let (frame, _) = ws_until(feed, "conversation_event").await;
        if frame["event"]["type"] == kind && frame["event"]["text"] == text {
            return frame;
        }
    }
}

#[tokio::test]
async fn browsers_authenticate_the_agent_feed_with_a_subprotocol_never_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(state(dir.path()).await).await;
    let url = server.ws_url("/v1/agent/ws");
    assert_eq!(base64url(b"mina-token-0001"), "bWluYS10b2tlbi0wMDAx");
    let (mut feed, chosen) = feed_by_subprotocol(&url, MINA.1).await.expect("accepted");
    assert_eq!(chosen.as_deref(), Some("intentdesk.v1"));
    assert_eq!(ws_next(&mut feed).await["type"], "queue");
    assert_eq!(ws_next(&mut feed).await["type"], "tickets");
    let refused = |result: Result<(Ws, Option<String>), tokio_tungstenite::tungstenite::Error>| {
        match result {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(e) => panic!("refused with {e}, not an HTTP status"),
            Ok(_) => panic!("a wrong token was accepted"),
        }
    };
    assert_eq!(
        refused(feed_by_subprotocol(&url, "wrong-token-123").await),
        401
    );
    // A token in the URL is never read.
    let in_url =
        tokio_tungstenite::connect_async(format!("{url}?token={}&access_token={}", MINA.1, MINA.1))
            .await;
    match in_url {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    drop(feed);
    server.stop().await;
}

#[tokio::test]
async fn the_agent_feed_announces_assignments_and_carries_every_event_of_my_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(state(dir.path()).await).await;
    let url = server.ws_url("/v1/agent/ws");
    let mut mina = ws_connect_with_token(&url, MINA.1).await;
    assert_eq!(ws_next(&mut mina).await["type"], "queue");
    let tickets = ws_next(&mut mina).await;
    assert_eq!(tickets["type"], "tickets");
    assert!(tickets["tickets"].as_array().unwrap().is_empty());
    let online = |token: &'static str, online: bool| {
        let addr = server.addr;
        async move {
            let body = json!({ "online": online });
            let r = http(addr, "POST", "/v1/agent/presence", Some(token), Some(&body))
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };

    // Mina is online: a customer asking for a person becomes hers automatically.
    online(MINA.1, true).await;
    let (mut customer, conversation) = chat(&server.ws_url("/v1/chat/ws")).await;
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": "I want to talk to a human agent, not a bot" }),
    )
    .await;
    let (assigned, _) = ws_until(&mut mina, "assigned").await;
    assert_eq!(assigned["by"], "auto", "{assigned}");
    let ticket = assigned["ticket"]["ticket_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(assigned["ticket"]["agent"], "mina");
    assert_eq!(assigned["ticket"]["conversation_id"], conversation.as_str());
    let (all, _) = ws_until(&mut mina, "tickets").await;
    assert_eq!(all["tickets"][0]["ticket_id"], ticket.as_str());
    assert_eq!(all["tickets"][0]["state"], "assigned");

    // Every event of her ticket reaches her as the customer saw it.
    ws_until(&mut customer, "agent_joined").await;
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": "my USDT deposit is missing" }),
    )
    .await;
    let (echo, _) = ws_until(&mut customer, "customer_message").await;
    let frame = until_event(&mut mina, "customer_message", "my USDT deposit is missing").await;
    assert_eq!(frame["event"], echo, "the same JSON the customer got");
    assert_eq!(frame["seq"], echo["seq"]);
    assert_eq!(frame["ticket_id"], ticket.as_str());
    assert_eq!(frame["conversation_id"], conversation.as_str());
    let seen = frame["seq"].as_i64().unwrap();

    // She drops; meanwhile the customer writes and she replies from another tab. The
    // reconnect with after_seq replays both, in order, nothing at or before `seen`.
    drop(mina);
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": "hello? anyone there?" }),
    )
    .await;
    ws_until(&mut customer, "customer_message").await;
    let r = http(
        server.addr,
        "POST",
        &format!("/v1/agent/tickets/{ticket}/reply"),
        Some(MINA.1),
        Some(&json!({ "text": "Yes, checking your deposit now." })),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let mut mina = ws_connect_with_token(&format!("{url}?after_seq={seen}"), MINA.1).await;
    let mut replayed = Vec::new();
    while replayed.len() < 2 {
        let frame = ws_next(&mut mina).await;
        if frame["type"] == "conversation_event" {
            replayed.push(frame);
        }
    }
    let texts: Vec<(&str, &str)> = replayed
        .iter()
        .map(|f| {
            (
                f["event"]["type"].as_str().unwrap(),
                f["event"]["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        texts,
        [
            ("customer_message", "hello? anyone there?"),
            ("agent_message", "Yes, checking your deposit now.")
        ]
    );
    assert!(replayed[0]["seq"].as_i64().unwrap() > seen);
    assert!(replayed[0]["seq"].as_i64() < replayed[1]["seq"].as_i64());

    // Transfer to Jun: his feed says assigned by transfer, hers unassigned to jun.
    let mut jun = ws_connect_with_token(&url, JUN.1).await;
    ws_until(&mut jun, "tickets").await;
    online(JUN.1, true).await;
    let r = http(
        server.addr,
        "POST",
        &format!("/v1/agent/tickets/{ticket}/transfer"),
        Some(MINA.1),
        Some(&json!({ "to": "jun" })),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let (to_jun, _) = ws_until(&mut jun, "assigned").await;
    assert_eq!(
        (
            to_jun["by"].as_str(),
            to_jun["ticket"]["ticket_id"].as_str()
        ),
        (Some("transfer"), Some(ticket.as_str()))
    );
    let (lost, _) = ws_until(&mut mina, "unassigned").await;
    assert_eq!(
        (lost["ticket_id"].as_str(), lost["to"].as_str()),
        (Some(ticket.as_str()), Some("jun"))
    );
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": "the TXID starts with 7c1e" }),
    )
    .await;
    let frame = until_event(&mut jun, "customer_message", "the TXID starts with 7c1e").await;
    assert_eq!(frame["ticket_id"], ticket.as_str());

    // Back to the queue with nobody online: Jun loses it to nobody; Mina claims it.
    online(MINA.1, false).await;
    online(JUN.1, false).await;
    let r = http(
        server.addr,
        "POST",
        &format!("/v1/agent/tickets/{ticket}/transfer"),
        Some(JUN.1),
        Some(&json!({ "to": null })),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let (lost, _) = ws_until(&mut jun, "unassigned").await;
    assert_eq!(
        (lost["ticket_id"].as_str(), lost["to"].is_null()),
        (Some(ticket.as_str()), true)
    );
    let (waiting, _) = ws_until(&mut customer, "queue_position").await;
    assert_eq!(waiting["position"], 1);
    claim(server.addr, &ticket, MINA.1).await;
    let (claimed, before) = ws_until(&mut mina, "assigned").await;
    assert_eq!(claimed["by"], "claim");
    assert!(
        before.iter().all(|f| f["type"] != "conversation_event"
            || f["event"]["text"] != "the TXID starts with 7c1e"),
        "Mina did not own the ticket when that message came"
    );
    drop((customer, mina, jun));
    server.stop().await;
}
