//! Kill -9 during traffic: the real binary serves on port 0 while several clients send
//! messages; the process is SIGKILLed mid-traffic and restarted on the same database.
//! Every message that was acknowledged (HTTP 200) must be there; and during escalating
//! turns (2FA phone lost, in four languages, then details), on SQLite and on PostgreSQL,
//! clients that retry every unanswered message with its `client_message_id` find every
//! conversation before or after each turn, never half-way, while an agent claims and
//! resolves tickets through the kill: each ticket's state and the customer's events agree.

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
    spawn_server_on(&Db::Dir(data_dir.to_path_buf())).await
}

/// Where the server keeps its data.
#[derive(Debug, Clone)]
enum Db {
    /// A SQLite data directory.
    Dir(std::path::PathBuf),
    /// A PostgreSQL URL.
    Url(String),
}

/// Starts `intentdesk serve` on port 0 over `db`; returns the child and its address.
async fn spawn_server_on(db: &Db) -> (Child, SocketAddr) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_intentdesk"));
    command.args([
        "serve",
        "--port",
        "0",
        "--rate-limit-per-minute",
        "0",
        "--max-open-tickets-per-client",
        "1000",
    ]);
    match db {
        Db::Dir(dir) => command.arg("--data-dir").arg(dir),
        Db::Url(url) => command.arg("--database-url").arg(url),
    };
    let mut child = command
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
    // Keep reading: a server whose stdout reader went away must not be what a test sees.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// `intentdesk serve | true`: nobody reads stdout, and the service must serve anyway (it
/// once panicked on the first line it printed after its reader went away).
#[tokio::test]
async fn serve_goes_on_when_nobody_reads_its_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_intentdesk"))
        .args(["serve", "--port", &port.to_string(), "--data-dir"])
        .arg(dir.path())
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the intentdesk binary starts");
    drop(child.stdout.take());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited: its stdout was closed"
        );
        if let Ok(r) = http(addr, "GET", "/ready", None, None).await {
            assert_eq!(r.status, 200, "{}", r.body);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server was not ready in 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
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

/// Escalating conversations: a lost 2FA phone (English, Korean, Japanese, Chinese), then
/// details and a follow-up. The two-factor intent collects details and opens a ticket.
const SCRIPTS: [[&str; 4]; 4] = [
    [
        "I lost my 2FA phone and can't get OTP codes",
        "lost phone, the authenticator app was on it and I have no backup key",
        "my account email is dana@example.com",
        "is there any update on my case?",
    ],
    [
        "휴대폰을 잃어버려서 OTP를 못 써요",
        "폰을 잃어버렸고 인증 앱 백업 키도 없어요",
        "계정 이메일은 minji@example.com 이에요",
        "진행 상황 알려주세요",
    ],
    [
        "スマホをなくしてOTPが使えません",
        "スマホを紛失しました。認証アプリのバックアップキーもありません",
        "メールアドレスは taro@example.com です",
        "進捗はどうなっていますか",
    ],
    [
        "手机丢了，谷歌验证器没了",
        "手机丢失了，验证器App里也没有备份密钥",
        "我的邮箱是 wei@example.com",
        "请问现在进度怎么样",
    ],
];

/// Conversations per script.
const ROUNDS: usize = 2;

/// The server's current address (`None` while it is down).
type Current = Arc<tokio::sync::watch::Sender<Option<SocketAddr>>>;

/// POSTs until an answer comes: a conversation, created on whichever server is up.
async fn create_conversation(current: &Current) -> String {
    let mut rx = current.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no server created a conversation for 2 minutes"
        );
        let addr = *rx.borrow_and_update();
        if let Some(addr) = addr
            && let Ok(r) = http(addr, "POST", "/v1/conversations", None, None).await
        {
            assert_eq!(r.status, 201, "{}", r.body);
            return r.json()["conversation_id"].as_str().unwrap().to_string();
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
    }
}

/// Sends one script, retrying every message whose answer did not come (the server was
/// killed) with the same `client_message_id`; returns how many sends were retries.
async fn run_script(
    current: Current,
    id: String,
    (script, client): (usize, usize),
    answered: Arc<std::sync::atomic::AtomicUsize>,
) -> usize {
    let mut rx = current.subscribe();
    let mut retries = 0;
    for (i, text) in SCRIPTS[script].iter().enumerate() {
        let body = json!({ "text": text, "client_message_id": format!("c{client}-m{i}") });
        let mut attempt = 0;
        loop {
            let addr = *rx.borrow_and_update();
            if let Some(addr) = addr {
                let path = format!("/v1/conversations/{id}/messages");
                match http(addr, "POST", &path, None, Some(&body)).await {
                    Ok(r) if r.status == 200 => {
                        let events = r.json()["events"].as_array().unwrap().clone();
                        // No bot reply while the agent owns the conversation: what was
                        // stored is checked after the run (`check_between_turns`).
                        assert_eq!(events[0]["type"], "customer_message", "{}", r.body);
                        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        break;
                    }
                    Ok(r) => panic!("unexpected status {}: {}", r.status, r.body),
                    Err(_) => {}
                }
                attempt += 1;
                if attempt == 1 {
                    retries += 1;
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
        }
    }
    retries
}

/// An agent working the queue through the kill: claims the first waiting ticket, resolves
/// it, again, on whichever server is up, until `stop`; connection errors (the server was
/// killed) and refusals (another claim won, the ticket closed) are part of the work.
/// Returns how many claims and resolves were answered 200.
async fn agent_works_the_queue(
    current: Current,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (usize, usize) {
    let mut rx = current.subscribe();
    let (mut claimed, mut resolved) = (0, 0);
    let token = Some(MINA.1);
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let addr = *rx.borrow_and_update();
        let Some(addr) = addr else {
            let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
            continue;
        };
        let Ok(queue) = http(addr, "GET", "/v1/agent/queue", token, None).await else {
            continue;
        };
        let first = queue.json()["tickets"][0]["id"]
            .as_str()
            .map(str::to_string);
        let Some(ticket) = first else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let claim = format!("/v1/agent/tickets/{ticket}/claim");
        if !matches!(http(addr, "POST", &claim, token, None).await, Ok(r) if r.status == 200) {
            continue;
        }
        claimed += 1;
        let resolve = format!("/v1/agent/tickets/{ticket}/resolve");
        if matches!(http(addr, "POST", &resolve, token, None).await, Ok(r) if r.status == 200) {
            resolved += 1;
        }
    }
    (claimed, resolved)
}

/// Each ticket's agent events agree with its state: an owner was told to the customer
/// (`agent_joined`) exactly when the ticket was assigned, a resolution (`resolved`,
/// `rating_request`) exactly when it was resolved. Returns (assigned ever, resolved).
async fn check_agent_events(
    store: &intentdesk::store::Store,
    conversations: &[(String, usize)],
) -> (usize, usize) {
    use intentdesk::store::TicketState;
    let (mut assigned, mut resolved) = (0, 0);
    for (id, _) in conversations {
        let events = store.events_after(id, 0).await.unwrap();
        for opened in events.iter().filter(|e| e.kind == "ticket_opened") {
            let ticket_id = opened.ticket_id.as_deref().unwrap();
            let t = store.ticket(ticket_id).await.unwrap().unwrap();
            let count = |kind: &str| {
                events
                    .iter()
                    .filter(|e| e.kind == kind && e.ticket_id.as_deref() == Some(ticket_id))
                    .count()
            };
            let was_assigned = t.assigned_at_ms.is_some();
            assert_eq!(
                count("agent_joined"),
                usize::from(was_assigned),
                "ticket {ticket_id} ({:?}): an owner without the customer told, or the reverse",
                t.state
            );
            let is_resolved = t.state == TicketState::Resolved;
            assert_eq!(
                (count("resolved"), count("rating_request")),
                (usize::from(is_resolved), usize::from(is_resolved)),
                "ticket {ticket_id} ({:?}): resolved without the customer told, or the reverse",
                t.state
            );
            assigned += usize::from(was_assigned);
            resolved += usize::from(is_resolved);
        }
    }
    (assigned, resolved)
}

/// Checks that every conversation is between turns: each customer message has its bot
/// replies and is stored once; each ticket has its `ticket_opened` event and bot line; at
/// most one open ticket per conversation. Returns the number of tickets.
async fn check_between_turns(
    store: &intentdesk::store::Store,
    conversations: &[(String, usize)],
) -> usize {
    let mut tickets_seen = 0;
    let open = store.open_tickets().await.unwrap();
    for (id, script) in conversations {
        let events = store.events_after(id, 0).await.unwrap();
        let messages = store.messages(id).await.unwrap();
        // The bot is silent while an agent owns the conversation.
        let mut agent_owns = false;
        let mut bot_turns = 0;
        for (i, e) in events.iter().enumerate() {
            match e.kind.as_str() {
                "agent_joined" => agent_owns = true,
                "resolved" | "handed_back" => agent_owns = false,
                "customer_message" if !agent_owns => {
                    let next = events.get(i + 1).map(|n| n.kind.as_str());
                    assert!(
                        next.is_some_and(|k| k != "customer_message"),
                        "conversation {id}: a customer message without its bot replies: {events:#?}"
                    );
                    bot_turns += 1;
                }
                _ => {}
            }
        }
        let customer: Vec<&str> = messages
            .iter()
            .filter(|m| m.sender == intentdesk::store::Sender::Customer)
            .map(|m| m.text.as_str())
            .collect();
        let said = events
            .iter()
            .filter(|e| e.kind == "customer_message")
            .count();
        assert_eq!(
            said,
            customer.len(),
            "conversation {id}: messages and events disagree"
        );
        assert_eq!(
            customer.len(),
            SCRIPTS[*script].len(),
            "conversation {id}: every message once (no loss, no duplicate): {customer:#?}"
        );
        let mut distinct = customer.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            customer.len(),
            "conversation {id}: a message stored twice"
        );
        let opened: Vec<_> = events
            .iter()
            .filter(|e| e.kind == "ticket_opened")
            .collect();
        for e in &opened {
            let ticket = e
                .ticket_id
                .as_deref()
                .expect("a ticket_opened event names its ticket");
            let t = store
                .ticket(ticket)
                .await
                .unwrap()
                .expect("the ticket exists");
            assert_eq!(&t.conversation_id, id);
        }
        let mut ticket_ids: Vec<String> = Vec::new();
        for t in store.open_tickets().await.unwrap() {
            if &t.conversation_id == id {
                ticket_ids.push(t.id);
            }
        }
        assert!(
            ticket_ids.len() <= 1,
            "conversation {id}: two open tickets {ticket_ids:?}"
        );
        for t in &ticket_ids {
            assert!(
                opened
                    .iter()
                    .any(|e| e.ticket_id.as_deref() == Some(t.as_str())),
                "conversation {id}: ticket {t} without its ticket event (the customer was never told)"
            );
        }
        let bot_told = messages
            .iter()
            .filter(|m| m.sender == intentdesk::store::Sender::Bot)
            .count();
        assert!(
            bot_told >= bot_turns,
            "conversation {id}: fewer bot lines than the bot's turns"
        );
        tickets_seen += opened.len();
    }
    assert!(open.len() <= conversations.len());
    tickets_seen
}

/// Clients send the scripts; the server is SIGKILLed once a few turns were answered
/// (others in flight), restarted on the same database; clients retry; then the database
/// is checked with the server stopped.
async fn escalating_turns_survive_a_kill_9(db: Db) {
    let (mut child, addr) = spawn_server_on(&db).await;
    let current: Current = Arc::new(tokio::sync::watch::channel(Some(addr)).0);
    let mut conversations = Vec::new();
    for client in 0..SCRIPTS.len() * ROUNDS {
        conversations.push((create_conversation(&current).await, client % SCRIPTS.len()));
    }
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let agent = tokio::spawn(agent_works_the_queue(current.clone(), stop.clone()));
    let mut clients = Vec::new();
    for (client, (id, script)) in conversations.iter().cloned().enumerate() {
        let (current, answered) = (current.clone(), answered.clone());
        clients.push(tokio::spawn(run_script(
            current,
            id,
            (script, client),
            answered,
        )));
    }
    // Kill while turns are in flight: once a third of the messages were answered.
    let total = conversations.len() * SCRIPTS[0].len();
    tokio::time::timeout(Duration::from_secs(60), async {
        while answered.load(std::sync::atomic::Ordering::SeqCst) < total / 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("a third of the messages answered within a minute");
    current.send_replace(None);
    child.start_kill().expect("SIGKILL");
    child.wait().await.unwrap();
    let (mut child, addr) = spawn_server_on(&db).await;
    current.send_replace(Some(addr));
    let mut retries = 0;
    for c in clients {
        retries += tokio::time::timeout(Duration::from_secs(60), c)
            .await
            .expect("every client is answered within a minute of the restart")
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (claims, resolves) = tokio::time::timeout(Duration::from_secs(150), agent)
        .await
        .expect("the agent stops")
        .unwrap();
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert_eq!(
        answered.load(std::sync::atomic::Ordering::SeqCst),
        total,
        "every message was answered"
    );
    let store = match &db {
        Db::Dir(dir) => intentdesk::store::Store::open_data_dir(dir).await.unwrap(),
        Db::Url(url) => intentdesk::store::Store::connect(url).await.unwrap(),
    };
    let tickets = check_between_turns(&store, &conversations).await;
    let (assigned, resolved) = check_agent_events(&store, &conversations).await;
    eprintln!(
        "{db:?}: {} conversations, {retries} retried after the kill, {tickets} tickets; \
         the agent's answered claims {claims}, resolves {resolves}; tickets assigned {assigned}, resolved {resolved}",
        conversations.len()
    );
    assert!(
        claims > 0,
        "the agent claimed nothing: the test proved nothing for agents"
    );
    assert!(
        retries > 0,
        "the kill interrupted no client: the test proved nothing"
    );
    assert!(tickets > 0, "no script escalated to a ticket");
    store.close().await;
}

#[tokio::test]
async fn escalating_turns_are_all_or_nothing_across_a_kill_9_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    escalating_turns_survive_a_kill_9(Db::Dir(dir.path().to_path_buf())).await;
}

#[tokio::test]
async fn escalating_turns_are_all_or_nothing_across_a_kill_9_on_postgres() {
    // Panics when INTENTDESK_TEST_POSTGRES_URL is missing: never skipped.
    let (url, _guard) = postgres_database().await;
    escalating_turns_survive_a_kill_9(Db::Url(url)).await;
}
