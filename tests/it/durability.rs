//! Kill -9 during traffic: the real binary serves on port 0 with a SQLite data dir while
//! several clients send messages; the process is SIGKILLed mid-traffic, restarted on the
//! same data dir, and every message that was acknowledged (HTTP 200) must be there.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::harness::*;

/// Starts `intentdesk serve` on port 0 over `data_dir`; returns the child and its address.
async fn spawn_server(data_dir: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_intentdesk"))
        .args([
            "serve",
            "--port",
            "0",
            "--rate-limit-per-minute",
            "0",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(["--agent-token", &format!("{}:{}", MINA.0, MINA.1)])
        .current_dir(root())
        .env("RUST_LOG", "intentdesk=warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the intentdesk binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("listening on http://") {
                return url.parse::<SocketAddr>().unwrap();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server listens within 2 minutes");
    (child, addr)
}

#[tokio::test]
async fn every_acknowledged_message_survives_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_server(dir.path()).await;
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut clients = Vec::new();
    for client in 0..4 {
        let acked = acked.clone();
        clients.push(tokio::spawn(async move {
            let Ok(r) = http(addr, "POST", "/v1/conversations", None, None).await else {
                return;
            };
            let id = r.json()["conversation_id"].as_str().unwrap().to_string();
            for i in 0.. {
                let text =
                    format!("client {client} message {i}: how much is the withdrawal fee for BTC?");
                match http(
                    addr,
                    "POST",
                    &format!("/v1/conversations/{id}/messages"),
                    None,
                    Some(&json!({ "text": text })),
                )
                .await
                {
                    Ok(r) if r.status == 200 => acked.lock().unwrap().push((id.clone(), text)),
                    Ok(r) => panic!("unexpected status {}: {}", r.status, r.body),
                    // The server is gone: this message was never acknowledged.
                    Err(_) => return,
                }
            }
        }));
    }
    // Let traffic flow, then kill mid-stream.
    tokio::time::timeout(Duration::from_secs(60), async {
        while acked.lock().unwrap().len() < 12 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("12 messages acknowledged within a minute");
    child.start_kill().expect("SIGKILL");
    child.wait().await.unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let (mut child, addr) = spawn_server(dir.path()).await;
    let mut by_conversation: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (id, text) in &acked {
        by_conversation
            .entry(id.clone())
            .or_default()
            .push(text.clone());
    }
    for (id, texts) in by_conversation {
        let r = http(
            addr,
            "GET",
            &format!("/v1/conversations/{id}/transcript"),
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let stored: Vec<String> = r.json()["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["sender"] == "customer")
            .map(|m| m["text"].as_str().unwrap().to_string())
            .collect();
        for text in &texts {
            assert!(
                stored.contains(text),
                "acknowledged message lost after kill -9: {text:?}"
            );
        }
        // Events too: a widget reconnecting with after_seq=0 sees each of them.
        let events = http(
            addr,
            "GET",
            &format!("/v1/conversations/{id}/events"),
            None,
            None,
        )
        .await
        .unwrap();
        for text in &texts {
            assert!(
                events.body.contains(text.as_str()),
                "event of {text:?} lost"
            );
        }
    }
    // The restarted server works.
    let r = http(addr, "POST", "/v1/conversations", None, None)
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}
