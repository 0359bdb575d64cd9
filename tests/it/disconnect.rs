//! Clients that go away mid-request: a customer turn held in the model while its REST
//! request is dropped still commits whole, and agent actions whose requests are dropped at
//! every point leave each ticket with or without its change and the customer's event,
//! never one without the other.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{
    MINA, call, held_engine, post_json, state, state_with, test_configs, with_token,
};

/// The conversation's events of type `kind`.
async fn events_of(state: &intentdesk::http::AppState, id: &str, kind: &str) -> Vec<Value> {
    let reply = call(
        state,
        crate::harness::get(&format!("/v1/conversations/{id}/events")),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

async fn new_conversation(state: &intentdesk::http::AppState) -> String {
    let reply = call(state, post_json("/v1/conversations", &json!({}))).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["conversation_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_turn_whose_client_goes_away_in_the_model_still_commits_whole() {
    let dir = tempfile::tempdir().unwrap();
    let held = held_engine(4);
    let (service, http) = test_configs();
    let state = state_with(held.engine.clone(), dir.path(), service, http).await;
    let id = new_conversation(&state).await;

    let request = post_json(
        &format!("/v1/conversations/{id}/messages"),
        &json!({ "text": "hello there", "client_message_id": "m-1" }),
    );
    let client = tokio::spawn({
        let state = state.clone();
        async move { call(&state, request).await }
    });
    held.until_entered(1).await;
    // The client goes away while its message is in the model.
    client.abort();
    assert!(client.await.is_err_and(|e| e.is_cancelled()));
    held.release.send(()).unwrap();

    // The turn completes without anyone waiting for it: the message and its reply.
    let mut replies = Vec::new();
    for _ in 0..200 {
        replies = events_of(&state, &id, "bot_message").await;
        if !replies.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(!replies.is_empty(), "the detached turn never committed");
    assert_eq!(events_of(&state, &id, "customer_message").await.len(), 1);

    // The client's retry with the same id gets the first outcome and stores nothing new.
    let retry = call(
        &state,
        post_json(
            &format!("/v1/conversations/{id}/messages"),
            &json!({ "text": "hello there", "client_message_id": "m-1" }),
        ),
    )
    .await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(events_of(&state, &id, "customer_message").await.len(), 1);
    assert_eq!(
        events_of(&state, &id, "bot_message").await.len(),
        replies.len()
    );
}

/// Opens a ticket (a customer asking for a person) and returns (conversation, ticket).
async fn open_ticket(state: &intentdesk::http::AppState) -> (String, String) {
    let id = new_conversation(state).await;
    let reply = call(
        state,
        post_json(
            &format!("/v1/conversations/{id}/messages"),
            &json!({ "text": "상담원 연결해 주세요. 사람이랑 얘기하고 싶어요" }),
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let ticket = reply.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "ticket_opened")
        .and_then(|e| e["ticket_id"].as_str())
        .unwrap_or_else(|| panic!("no ticket opened: {}", reply.text))
        .to_string();
    (id, ticket)
}

async fn ticket_state(state: &intentdesk::http::AppState, ticket: &str) -> String {
    let request = with_token(
        crate::harness::get(&format!("/v1/agent/tickets/{ticket}")),
        MINA.1,
    );
    let reply = call(state, request).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["state"].as_str().unwrap().to_string()
}

/// Sends an agent action and drops it after `delay`, then waits for whatever was started
/// to settle.
async fn dropped_action(
    state: &intentdesk::http::AppState,
    uri: String,
    token: &'static str,
    delay: Duration,
) {
    let request = with_token(post_json(&uri, &json!({})), token);
    let client = tokio::spawn({
        let state = state.clone();
        async move { call(&state, request).await }
    });
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    // With no delay the request is dropped before it was ever polled.
    client.abort();
    let _ = client.await;
    // A detached action that started finishes on its own: give it time.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn agent_actions_whose_clients_go_away_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    // Nobody online: no automatic assignment, every ticket waits for a claim.
    let mut completed = [0usize; 2];
    // Drops at growing delays: from before the request was polled to after it answered.
    for step in 0..12u64 {
        let delay = Duration::from_micros(step * step * 150);
        let (id, ticket) = open_ticket(&state).await;
        assert_eq!(ticket_state(&state, &ticket).await, "waiting");
        dropped_action(
            &state,
            format!("/v1/agent/tickets/{ticket}/claim"),
            MINA.1,
            delay,
        )
        .await;
        let joined = events_of(&state, &id, "agent_joined").await.len();
        match ticket_state(&state, &ticket).await.as_str() {
            "assigned" => {
                assert_eq!(
                    joined, 1,
                    "{ticket}: assigned, so the customer is told once"
                );
                completed[0] += 1;
            }
            "waiting" => assert_eq!(joined, 0, "{ticket}: not assigned, yet told"),
            other => panic!("{ticket}: {other}"),
        }
        if ticket_state(&state, &ticket).await != "assigned" {
            continue;
        }
        // The owner resolves it; the request is dropped as well.
        let token = MINA.1;
        dropped_action(
            &state,
            format!("/v1/agent/tickets/{ticket}/resolve"),
            token,
            delay,
        )
        .await;
        let resolved = events_of(&state, &id, "resolved").await.len();
        let rating = events_of(&state, &id, "rating_request").await.len();
        match ticket_state(&state, &ticket).await.as_str() {
            "resolved" => {
                assert_eq!(
                    (resolved, rating),
                    (1, 1),
                    "{ticket}: resolved, so told once"
                );
                completed[1] += 1;
            }
            "assigned" => assert_eq!((resolved, rating), (0, 0), "{ticket}: still open, yet told"),
            other => panic!("{ticket}: {other}"),
        }
        if ticket_state(&state, &ticket).await == "assigned" {
            // Leave no open ticket behind to fill the agents' slots.
            let request = with_token(
                post_json(&format!("/v1/agent/tickets/{ticket}/resolve"), &json!({})),
                token,
            );
            assert_eq!(call(&state, request).await.status, 200);
        }
    }
    println!(
        "dropped actions that still completed: claims {}, resolves {} (of 12 each)",
        completed[0], completed[1]
    );
    // The later drops come after the handler answered: those actions must have completed.
    assert!(
        completed[0] >= 1 && completed[1] >= 1,
        "no action ever completed: {completed:?}"
    );
}
