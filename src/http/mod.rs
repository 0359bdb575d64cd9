//! The HTTP and WebSocket API: the only module that knows axum. It turns requests and
//! frames into calls on [`ChatService`] and [`crate::engine::Engine`] and their results into
//! JSON; [`error`] holds the one error → status table.
//!
//! - [`app`] builds the router (tests call it with `oneshot`, no socket);
//! - [`server::run`] serves it on a listener until a shutdown future resolves;
//! - [`chat`]: classify, the customer REST endpoints and the chat WebSocket;
//! - [`agent`]: the agent API (bearer tokens) and the agent feed WebSocket;
//! - [`client`]: who a request comes from (trusted proxies, API keys) for the limits;
//! - [`ticket_caps`]: the per-client cap on open tickets (a hook into the service);
//! - [`notices`]: incident notices (agent endpoints, the public banner, classify's `notice`);
//! - [`ops`]: `/health`, `/ready`, `/metrics`, `/openapi.json`;
//! - [`ui`]: the embedded web pages (widget demo, agent workspace, `widget.js`).

mod agent;
mod chat;
pub mod client;
pub mod error;
pub mod extract;
mod notices;
mod openapi;
mod ops;
pub mod rate_limit;
pub mod server;
pub mod ticket_caps;
pub mod ui;
mod ws;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::routing::{MethodRouter, get, patch, post};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::conversation::ChatService;
use crate::error::{Error, Result};
use extract::constant_time_eq;
use rate_limit::RateLimiter;
use ticket_caps::TicketCaps;

pub use openapi::document as openapi_document;

/// An agent's name and bearer token (`name:token` on the command line).
#[derive(Clone, PartialEq, Eq)]
pub struct AgentCredential {
    /// Also the agent's id in the store.
    pub name: String,
    pub token: String,
}

impl std::fmt::Debug for AgentCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCredential")
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl AgentCredential {
    /// Parses `name:token`.
    pub fn parse(pair: &str) -> Result<AgentCredential> {
        let (name, token) = pair.trim().split_once(':').ok_or_else(|| {
            Error::InvalidInput("an agent token must be given as name:token".into())
        })?;
        let (name, token) = (name.trim(), token.trim());
        if name.is_empty() || token.len() < 8 {
            return Err(Error::InvalidInput(format!(
                "agent {name:?}: the name must not be empty and the token needs at least 8 characters"
            )));
        }
        Ok(AgentCredential {
            name: name.to_string(),
            token: token.to_string(),
        })
    }
}

/// What the HTTP layer needs beyond the service.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Origins allowed to call the API from a browser (the chat widget's sites). Empty: no
    /// cross-origin access.
    pub cors_origins: Vec<String>,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Requests per minute per client (peer IP or API key) on the customer endpoints; 0
    /// disables the limit.
    pub rate_limit_per_minute: u32,
    /// Wrong agent tokens per minute per client before every agent request of that client
    /// is refused (429) until the allowance refills; 0 disables.
    pub auth_failures_per_minute: u32,
    /// Longest a REST request may take (WebSocket sessions are not limited).
    pub request_timeout: Duration,
    /// Agents and their bearer tokens.
    pub agents: Vec<AgentCredential>,
    /// How long shutdown waits for WebSocket sessions to close.
    pub shutdown_grace: Duration,
    /// Serve the web pages (`/`, `/agent`, `/widget.js`, `/assets/...`); off for API-only
    /// deployments (`serve --no-ui`).
    pub ui: bool,
    /// How clients are told apart for the limits (trusted proxies, API keys).
    pub clients: client::ClientPolicy,
    /// Open tickets one client may hold; a further escalation tells the customer which of
    /// theirs is open instead of queueing another. 0 disables.
    pub max_open_tickets_per_client: usize,
    /// A WebSocket that sends nothing (not even a ping) for this long is closed with
    /// [`ws::CLOSE_IDLE`].
    pub ws_idle_timeout: Duration,
    /// Open WebSockets per client; one more is refused with 429.
    pub ws_max_per_client: usize,
    /// Bearer token `/metrics` requires; `None`: open (on a trusted network only).
    pub metrics_token: Option<client::Secret>,
    /// Serve `/metrics` only on this separate address (the main one then answers 404).
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cors_origins: Vec::new(),
            max_body_bytes: 64 * 1024,
            rate_limit_per_minute: 120,
            auth_failures_per_minute: 10,
            request_timeout: Duration::from_secs(30),
            agents: Vec::new(),
            shutdown_grace: Duration::from_secs(5),
            ui: true,
            clients: client::ClientPolicy::default(),
            max_open_tickets_per_client: 3,
            ws_idle_timeout: Duration::from_secs(90),
            ws_max_per_client: 8,
            metrics_token: None,
            metrics_addr: None,
        }
    }
}

/// Everything a handler reaches. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    chat: Arc<ChatService>,
    config: HttpConfig,
    limiter: RateLimiter,
    /// Wrong agent tokens by client (only failures take from it).
    auth_failures: RateLimiter,
    /// Who wrote in which conversation, for the open-ticket cap (also the service's gate).
    ticket_caps: Arc<TicketCaps>,
    /// Open WebSockets by client, for `ws_max_per_client`. Short critical sections only.
    ws_clients: std::sync::Mutex<HashMap<extract::ClientKey, usize>>,
    /// The last readiness answer and when it was made: `/ready` reuses it for
    /// [`ops::READY_REUSE`] and concurrent calls wait for one probe instead of each
    /// queueing their own (the lock is held across the probe).
    ready: tokio::sync::Mutex<Option<(std::time::Instant, ops::Readiness)>>,
    metrics: PrometheusHandle,
    /// Flips to true when the server starts shutting down: WebSocket sessions then say
    /// goodbye (close 1012, "reconnect later") and end, so shutdown does not wait on them.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Open WebSocket sessions; shutdown waits (up to the grace period) until it is 0.
    sessions: AtomicUsize,
    sessions_done: tokio::sync::Notify,
}

impl AppState {
    /// Registers the configured agents in the store and builds the state.
    pub async fn new(chat: Arc<ChatService>, config: HttpConfig) -> Result<AppState> {
        for agent in &config.agents {
            chat.register_agent(&agent.name, &agent.name).await?;
        }
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let ticket_caps = Arc::new(TicketCaps::new(config.max_open_tickets_per_client));
        chat.set_ticket_gate(ticket_caps.clone());
        Ok(AppState {
            inner: Arc::new(Inner {
                limiter: RateLimiter::new(config.rate_limit_per_minute),
                auth_failures: RateLimiter::new(config.auth_failures_per_minute),
                ticket_caps,
                ws_clients: std::sync::Mutex::new(HashMap::new()),
                ready: tokio::sync::Mutex::new(None),
                chat,
                config,
                metrics: crate::telemetry::prometheus(),
                shutdown,
                sessions: AtomicUsize::new(0),
                sessions_done: tokio::sync::Notify::new(),
            }),
        })
    }

    pub fn chat(&self) -> &Arc<ChatService> {
        &self.inner.chat
    }

    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    fn auth_failures(&self) -> &RateLimiter {
        &self.inner.auth_failures
    }

    fn ticket_caps(&self) -> &TicketCaps {
        &self.inner.ticket_caps
    }

    /// Counts an open WebSocket of `client` until the guard drops; `None` when the client
    /// already has `ws_max_per_client` open.
    fn ws_slot(&self, client: &extract::ClientKey) -> Option<WsSlot> {
        let mut open = self
            .inner
            .ws_clients
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let n = open.entry(client.clone()).or_insert(0);
        if *n >= self.inner.config.ws_max_per_client {
            return None;
        }
        *n += 1;
        Some(WsSlot {
            state: self.clone(),
            client: client.clone(),
        })
    }

    fn metrics(&self) -> &PrometheusHandle {
        &self.inner.metrics
    }

    /// The agent whose token this is.
    fn agent_for_token(&self, token: &str) -> Option<String> {
        self.inner
            .config
            .agents
            .iter()
            .find(|a| constant_time_eq(a.token.as_bytes(), token.as_bytes()))
            .map(|a| a.name.clone())
    }

    /// Tells WebSocket sessions to close.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Counts a WebSocket session until the guard drops.
    fn session(&self) -> SessionGuard {
        self.inner.sessions.fetch_add(1, Ordering::SeqCst);
        SessionGuard {
            state: self.clone(),
        }
    }

    /// Waits until every WebSocket session has ended, at most `grace`.
    pub async fn sessions_closed(&self, grace: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.inner.sessions_done.notified();
                if self.inner.sessions.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(grace, wait).await.is_ok()
    }
}

/// One of a client's open WebSockets; gives the slot back on drop.
struct WsSlot {
    state: AppState,
    client: extract::ClientKey,
}

impl Drop for WsSlot {
    fn drop(&mut self) {
        let mut open = self
            .state
            .inner
            .ws_clients
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

struct SessionGuard {
    state: AppState,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.state.inner.sessions.fetch_sub(1, Ordering::SeqCst);
        self.state.inner.sessions_done.notify_waiters();
    }
}

/// Routes as a table: (path, method as OpenAPI names it, handler). The router is built from
/// these tables and [`route_table`] lists them, so a test can check the OpenAPI document
/// against exactly what is served.
type Routes = Vec<(&'static str, &'static str, MethodRouter<AppState>)>;

fn customer_routes() -> Routes {
    vec![
        ("/v1/classify", "post", post(chat::classify)),
        ("/v1/conversations", "post", post(chat::create_conversation)),
        (
            "/v1/conversations/{id}/messages",
            "post",
            post(chat::post_message),
        ),
        ("/v1/conversations/{id}/events", "get", get(chat::events)),
        (
            "/v1/conversations/{id}/transcript",
            "get",
            get(chat::transcript),
        ),
        ("/v1/conversations/{id}/rating", "post", post(chat::rate)),
        ("/v1/chat/ws", "get", get(ws::chat_ws)),
        ("/v1/notices/active", "get", get(notices::active)),
    ]
}

fn agent_routes() -> Routes {
    vec![
        ("/v1/agent/queue", "get", get(agent::queue)),
        ("/v1/agent/tickets", "get", get(agent::tickets)),
        ("/v1/agent/tickets/{id}", "get", get(agent::ticket)),
        ("/v1/agent/tickets/{id}/claim", "post", post(agent::claim)),
        ("/v1/agent/tickets/{id}/reply", "post", post(agent::reply)),
        ("/v1/agent/tickets/{id}/note", "post", post(agent::note)),
        (
            "/v1/agent/tickets/{id}/resolve",
            "post",
            post(agent::resolve),
        ),
        (
            "/v1/agent/tickets/{id}/handback",
            "post",
            post(agent::hand_back),
        ),
        (
            "/v1/agent/tickets/{id}/transfer",
            "post",
            post(agent::transfer),
        ),
        ("/v1/agent/me", "get", get(agent::me)),
        ("/v1/agent/presence", "post", post(agent::presence)),
        ("/v1/agent/stats", "get", get(agent::stats)),
        ("/v1/agent/ws", "get", get(ws::agent_ws)),
        ("/v1/notices", "get", get(notices::list)),
        ("/v1/notices", "post", post(notices::post)),
        ("/v1/notices/{id}", "patch", patch(notices::edit)),
        ("/v1/notices/{id}/resolve", "post", post(notices::resolve)),
    ]
}

fn ops_routes() -> Routes {
    vec![
        ("/health", "get", get(ops::health)),
        ("/ready", "get", get(ops::ready)),
        ("/metrics", "get", get(ops::metrics)),
        ("/openapi.json", "get", get(ops::openapi)),
    ]
}

fn router(routes: Routes) -> Router<AppState> {
    routes
        .into_iter()
        .fold(Router::new(), |r, (path, _, handler)| {
            r.route(path, handler)
        })
}

/// Every (path, method) the router serves, the pages included (`serve --no-ui` drops
/// those).
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    [
        customer_routes(),
        agent_routes(),
        ops_routes(),
        ui::routes(),
    ]
    .into_iter()
    .flatten()
    .map(|(path, method, _)| (path, method))
    .collect()
}

/// The whole API, and the pages unless `HttpConfig::ui` is off.
pub fn app(state: AppState) -> Router {
    let config = state.config().clone();
    let customer = router(customer_routes()).route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        rate_limit::limit,
    ));
    let mut routes = Router::new()
        .merge(customer)
        .merge(router(agent_routes()))
        .merge(router(ops_routes()));
    if config.ui {
        routes = routes.merge(router(ui::routes()));
    }
    routes
        .fallback(ops::not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(cors(&config.cors_origins))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// The router of the separate metrics address (`HttpConfig::metrics_addr`): `/metrics` only.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics_only))
        .fallback(ops::not_found)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// The request span: method and redacted path only. Headers (bearer tokens), bodies,
/// conversation and ticket ids and query values are never logged (see
/// [`crate::telemetry::redact_uri`]).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let uri = crate::telemetry::redact_uri(request.uri().path(), request.uri().query());
    tracing::info_span!("request", method = %request.method(), uri = %uri)
}

fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(extract::API_KEY_HEADER),
        ])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}
