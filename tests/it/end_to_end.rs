//! One whole support case with the real model on a real server: a Korean customer whose
//! deposit did not arrive chats over the WebSocket, the bot collects the missing details,
//! a ticket with them appears in the agents' queue, an agent claims it and replies, the
//! customer reads the reply on the socket, the agent resolves, the customer rates.

use serde_json::json;

use super::harness::*;

fn has_hangul(text: &str) -> bool {
    text.chars().any(|c| ('가'..='힣').contains(&c))
}

#[tokio::test]
async fn korean_deposit_missing_from_first_message_to_rating() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(state(dir.path()).await).await;
    let (mut customer, id) = chat(&server.ws_url("/v1/chat/ws")).await;

    // 1. The deposit did not arrive: coin, network and amount are in the message, so the
    //    bot asks (in Korean) for what is missing, the TXID.
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": "어제 바이낸스에서 USDT 500개를 트론 네트워크로 보냈는데 아직 입금이 안 됐어요" }),
    )
    .await;
    let (question, before) = ws_until(&mut customer, "bot_message").await;
    assert_eq!(
        before.len(),
        1,
        "only the echo before the question: {before:?}"
    );
    let question = question["text"].as_str().unwrap();
    assert!(
        has_hangul(question) && question.contains("TXID"),
        "{question}"
    );

    // 2. The TXID (and, if asked, the time it was sent) opens the ticket.
    let txid = "7c1e5d0f4b2a9e8d3c6b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d";
    ws_send(
        &mut customer,
        json!({ "type": "message", "text": format!("TXID는 {txid} 입니다") }),
    )
    .await;
    let catalog = catalog();
    let deposit = catalog.intent("deposit_missing").unwrap();
    let time_question = &deposit
        .details
        .iter()
        .find(|d| d.key == "time_sent")
        .unwrap()
        .question
        .ko;
    let opened = loop {
        let frame = ws_next(&mut customer).await;
        if frame["type"] == "ticket_opened" {
            break frame;
        }
        if frame["type"] == "bot_message" && frame["text"] == time_question.as_str() {
            ws_send(
                &mut customer,
                json!({ "type": "message", "text": "어제 밤 11시쯤이요" }),
            )
            .await;
        }
    };
    let ticket = opened["ticket_id"].as_str().unwrap().to_string();
    assert_eq!(opened["position"], 1);
    let text = opened["text"].as_str().unwrap();
    assert!(has_hangul(text) && text.contains(&ticket), "{text}");

    // 3. The agents' queue shows it, with the collected details.
    let queue = http(server.addr, "GET", "/v1/agent/queue", Some(MINA.1), None)
        .await
        .unwrap()
        .json();
    let queued = &queue["tickets"][0];
    assert_eq!(queued["id"], ticket.as_str());
    assert_eq!(queued["intent"], "deposit_missing");
    assert_eq!(queued["language"], "ko");
    assert_eq!(queued["priority"], 2);
    assert_eq!(queued["details"]["coin"], "USDT");
    assert_eq!(queued["details"]["network"], "TRC-20");
    assert_eq!(queued["details"]["txid"], txid);
    assert_eq!(queued["details"]["amount"], "500");
    assert!(queued["transcript"].to_string().contains("바이낸스"));

    // 4. An agent claims it and replies; the customer reads both on the socket.
    claim(server.addr, &ticket, MINA.1).await;
    let (joined, _) = ws_until(&mut customer, "agent_joined").await;
    assert!(has_hangul(joined["text"].as_str().unwrap()));
    let reply = "안녕하세요, 상담원 미나입니다. 입금 건을 확인했고 10분 안에 반영될 예정입니다.";
    let r = http(
        server.addr,
        "POST",
        &format!("/v1/agent/tickets/{ticket}/reply"),
        Some(MINA.1),
        Some(&json!({ "text": reply })),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let (message, _) = ws_until(&mut customer, "agent_message").await;
    assert_eq!(message["text"], reply);
    assert_eq!(message["agent"], "mina");

    // 5. Resolved: the bot takes over and asks for a rating; the customer rates.
    let r = http(
        server.addr,
        "POST",
        &format!("/v1/agent/tickets/{ticket}/resolve"),
        Some(MINA.1),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    ws_until(&mut customer, "resolved").await;
    let (rate, _) = ws_until(&mut customer, "rating_request").await;
    assert!(has_hangul(rate["text"].as_str().unwrap()));
    ws_send(
        &mut customer,
        json!({ "type": "rating", "score": 5, "comment": "빨리 해결됐어요" }),
    )
    .await;
    let (thanks, _) = ws_until(&mut customer, "bot_message").await;
    assert!(has_hangul(thanks["text"].as_str().unwrap()), "{thanks}");
    // The rating is stored: the supervisor strip counts it.
    let stats = http(server.addr, "GET", "/v1/agent/stats", Some(MINA.1), None)
        .await
        .unwrap();
    assert_eq!(stats.status, 200, "{}", stats.body);
    let stats = stats.json();
    let today = &stats["today"];
    assert_eq!(
        (today["ratings"].as_i64(), today["average_rating"].as_f64()),
        (Some(1), Some(5.0)),
        "{today}"
    );

    let transcript = http(
        server.addr,
        "GET",
        &format!("/v1/conversations/{id}/transcript?format=text"),
        None,
        None,
    )
    .await
    .unwrap();
    assert!(transcript.body.contains(reply), "{}", transcript.body);
    server.stop().await;
}
