//! Helpers for the service tests: the real engine (loaded once per test binary), a stand-in
//! engine whose forward pass the test holds, app states on a SQLite store in a temp dir,
//! servers on port 0, and small HTTP / WebSocket clients.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use intentdesk::catalog::Catalog;
use intentdesk::conversation::{ChatService, ServiceConfig};
use intentdesk::engine::{Engine, EngineConfig, Predictor};
use intentdesk::http::{AgentCredential, AppState, HttpConfig, app};
use intentdesk::inference::{check_model, load_catalog};
use intentdesk::model::prediction::{Prediction, Scored};
use intentdesk::model::{Classifier, IntentModel};
use intentdesk::policy::PolicyConfig;
use intentdesk::store::Store;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

use super::common;

pub const MINA: (&str, &str) = ("mina", "mina-token-0001");
pub const JUN: (&str, &str) = ("jun", "jun-token-00002");

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| Arc::new(load_catalog(&root().join("intents")).expect("intents/")))
        .clone()
}

/// The real model (shipped classifier, f32 encoder) on its thread, started once.
pub fn engine() -> Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let model = common::load(intentdesk::model::Precision::F32);
            let classifier =
                Classifier::load(&root().join("models/default"), &model).expect("models/default");
            let model = IntentModel::single(model, classifier);
            check_model(&model, &catalog()).expect("model fits catalog");
            Engine::start(model, EngineConfig::default()).expect("engine starts")
        })
        .clone()
}

// Twin of `StandIn` in src/testing.rs: sharing one would export test code.
/// A stand-in model: each forward pass waits for a token from the returned sender, then
/// predicts `greeting`. Lets a test fill the queue deterministically.
pub struct Held {
    release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    entered: Arc<std::sync::atomic::AtomicUsize>,
}

impl Predictor for Held {
    fn predict_masked(&self, masked: &[&str]) -> intentdesk::Result<Vec<Prediction>> {
        self.entered
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _ = self.release.lock().unwrap().recv();
        Ok(masked
            .iter()
            .map(|_| Prediction {
                intent: "greeting".into(),
                confidence: 0.99,
                top: vec![Scored {
                    intent: "greeting".into(),
                    confidence: 0.99,
                }],
                out_of_scope: false,
                rejection: None,
                margin: 0.9,
            })
            .collect())
    }
}

/// An engine whose forward passes run only when the test sends a token on `release`.
pub struct HeldEngine {
    pub engine: Engine,
    pub release: std::sync::mpsc::Sender<()>,
    /// Forward passes started so far.
    pub entered: Arc<std::sync::atomic::AtomicUsize>,
}

impl HeldEngine {
    /// Waits until `n` forward passes have started.
    pub async fn until_entered(&self, n: usize) {
        for _ in 0..1000 {
            if self.entered.load(std::sync::atomic::Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{n} forward passes never started");
    }

    /// Waits until `n` requests wait in the queue.
    pub async fn until_queued(&self, n: usize) {
        for _ in 0..1000 {
            if self.engine.queued() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{n} requests never got queued");
    }
}

pub fn held_engine(queue_capacity: usize) -> HeldEngine {
    let (release, rx) = std::sync::mpsc::channel();
    let entered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backend = Held {
        release: std::sync::Mutex::new(rx),
        entered: entered.clone(),
    };
    let config = EngineConfig {
        max_batch: 1,
        queue_capacity,
        health_timeout: Duration::from_millis(300),
        max_queue_wait: None,
    };
    let engine = Engine::start(backend, config).unwrap();
    HeldEngine {
        engine,
        release,
        entered,
    }
}

/// Service and HTTP settings for tests: two agents, no rate limit, nobody online counts
/// as peak load only above 1000 minutes (so collect intents go straight to a ticket).
pub fn test_configs() -> (ServiceConfig, HttpConfig) {
    let service = ServiceConfig {
        policy: PolicyConfig {
            peak_wait_minutes: 1000,
            ..Default::default()
        },
        ..Default::default()
    };
    let http = HttpConfig {
        agents: vec![
            AgentCredential::parse(&format!("{}:{}", MINA.0, MINA.1)).unwrap(),
            AgentCredential::parse(&format!("{}:{}", JUN.0, JUN.1)).unwrap(),
        ],
        rate_limit_per_minute: 0,
        cors_origins: vec!["https://widget.example.com".into()],
        ..Default::default()
    };
    (service, http)
}

pub async fn state_with(
    engine: Engine,
    dir: &Path,
    service: ServiceConfig,
    http: HttpConfig,
) -> AppState {
    let store = Store::open_data_dir(dir).await.expect("store");
    let chat = Arc::new(ChatService::new(engine, catalog(), store, service));
    AppState::new(chat, http).await.expect("state")
}

/// An app state on the real engine and a fresh SQLite store.
pub async fn state(dir: &Path) -> AppState {
    let (service, http) = test_configs();
    state_with(engine(), dir, service, http).await
}

/// One in-process request: (status, headers, body as JSON or as a string).
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub async fn call(state: &AppState, request: Request<Body>) -> Reply {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub fn post_json(uri: &str, body: &Value) -> Request<Body> {
    post_raw(uri, serde_json::to_vec(body).unwrap())
}

pub fn post_raw(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

pub fn with_token(mut request: Request<Body>, token: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// A server on port 0 running `state`, stopped by [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start(state: AppState) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        TestServer::serve(listener, state)
    }

    /// Serves `state` on `listener` until the server is stopped or dropped.
    fn serve(listener: tokio::net::TcpListener, state: AppState) -> TestServer {
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = tokio::spawn(intentdesk::http::server::run(listener, state, async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            shutdown: Some(tx),
            handle,
        }
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Graceful shutdown; returns when the server has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(15), self.handle)
            .await
            .expect("server stops in time")
            .unwrap()
            .unwrap();
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn ws_connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket connects")
        .0
}

pub async fn ws_connect_with_token(url: &str, token: &str) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects")
        .0
}

pub async fn ws_send(ws: &mut Ws, value: Value) {
    ws.send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON frame (panics after 30 s or on close).
pub async fn ws_next(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a frame within 30 s")
            .expect("socket open")
            .expect("frame ok");
        match frame {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(c) => panic!("socket closed: {c:?}"),
            _ => continue,
        }
    }
}

/// Reads frames until one has `"type": kind`; returns it and everything read before.
pub async fn ws_until(ws: &mut Ws, kind: &str) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let frame = ws_next(ws).await;
        if frame["type"] == kind {
            return (frame, before);
        }
        before.push(frame);
    }
}

/// A response from [`http`].
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Opens a customer chat socket at `url` and reads its welcome: the socket
/// and its conversation id.
pub async fn chat(url: &str) -> (Ws, String) {
    let mut ws = ws_connect(url).await;
    let id = ws_next(&mut ws).await["conversation_id"]
        .as_str()
        .expect("the welcome names the conversation")
        .to_string();
    (ws, id)
}

/// The agent with `token` claims `ticket` over real HTTP, which must succeed.
pub async fn claim(addr: SocketAddr, ticket: &str, token: &str) {
    let r = http(
        addr,
        "POST",
        &format!("/v1/agent/tickets/{ticket}/claim"),
        Some(token),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A minimal HTTP/1.1 client over a real socket (one request per connection). A request
/// that gets no complete answer within two minutes is an error, never a hung test.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<HttpResponse> {
    tokio::time::timeout(
        Duration::from_secs(120),
        http_exchange(addr, method, path, token, body),
    )
    .await
    .unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("{method} {path}: no answer within 2 minutes"),
        ))
    })
}

async fn http_exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<HttpResponse> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("content-type: application/json\r\n");
    }
    if let Some(token) = token {
        request.push_str(&format!("authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no response head: {text:?}")))?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

// Twin of `test_dbs`/`PgDrop` in src/store/tests.rs: sharing one would export test code.
/// A fresh PostgreSQL database for one test, on the server `INTENTDESK_TEST_POSTGRES_URL`
/// names (a role that may create databases; `tests/run.sh` starts the server and sets it);
/// dropped with the guard. Panics when the variable is not set: no test skips PostgreSQL.
pub async fn postgres_database() -> (String, PgGuard) {
    use sqlx::{Connection, Executor};
    let admin = std::env::var("INTENTDESK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("INTENTDESK_TEST_POSTGRES_URL is not set: run the tests with `bash tests/run.sh`, which starts PostgreSQL and sets it");
    let db = format!(
        "intentdesk_svc_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .expect("INTENTDESK_TEST_POSTGRES_URL connects");
    c.execute(format!("CREATE DATABASE \"{db}\"").as_str())
        .await
        .expect("create database");
    c.close().await.ok();
    let (base, query) = admin
        .split_once('?')
        .map_or((admin.as_str(), None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = base[authority..]
        .find('/')
        .map_or(base, |i| &base[..authority + i]);
    let url = match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    };
    (url, PgGuard { admin, db })
}

/// Drops the test database (from its own thread: it may run while a test unwinds).
pub struct PgGuard {
    admin: String,
    db: String,
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        use sqlx::{Connection, Executor};
        let (admin, db) = (self.admin.clone(), self.db.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = c
                        .execute(format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

/// An app state on the real engine over the database at `url`.
pub async fn state_on(url: &str) -> AppState {
    let (service, http) = test_configs();
    let store = Store::connect(url).await.expect("store");
    let chat = Arc::new(ChatService::new(engine(), catalog(), store, service));
    AppState::new(chat, http).await.expect("state")
}

impl TestServer {
    /// A server on `addr` (a port a stopped [`TestServer`] used) running `state`.
    pub async fn start_at(state: AppState, addr: SocketAddr) -> TestServer {
        // The old listener is closed; retry briefly in case the port is still held.
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(_) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot bind {addr} again: {e}"),
            }
        };
        TestServer::serve(listener, state)
    }

    /// Stops this server (clients are told 1012) and starts a new one on the same address
    /// over the same data directory `dir`, as a deployment's restart would.
    pub async fn restart(self, dir: &Path) -> TestServer {
        let addr = self.addr;
        self.stop().await;
        TestServer::start_at(state(dir).await, addr).await
    }
}
