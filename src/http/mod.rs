//! The HTTP and WebSocket API: the only module that knows axum. It turns requests and
//! frames into calls on [`ChatService`] and [`crate::engine::Engine`] and their results into
//! JSON; [`error`] holds the one error → status table.
//!
//! - [`app`] builds the router (tests call it with `oneshot`, no socket);
//! - [`server::run`] serves it on a listener until a shutdown future resolves;
//! - [`chat`]: classify, the customer REST endpoints and the chat WebSocket;
//! - [`agent`]: the agent API (bearer tokens) and the agent feed WebSocket;
//! - [`ops`]: `/health`, `/ready`, `/metrics`, `/openapi.json`;
//! - [`ui`]: the embedded web pages (widget demo, agent workspace, `widget.js`).

mod agent;
mod chat;
pub mod error;
pub mod extract;
mod openapi;
mod ops;
pub mod rate_limit;
pub mod server;
pub mod ui;
mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::routing::{MethodRouter, get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::conversation::ChatService;
use crate::error::{Error, Result};
use extract::constant_time_eq;
use rate_limit::RateLimiter;

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
    /// Longest a REST request may take (WebSocket sessions are not limited).
    pub request_timeout: Duration,
    /// Agents and their bearer tokens.
    pub agents: Vec<AgentCredential>,
    /// How long shutdown waits for WebSocket sessions to close.
    pub shutdown_grace: Duration,
    /// Serve the web pages (`/`, `/agent`, `/widget.js`, `/assets/...`); off for API-only
    /// deployments (`serve --no-ui`).
    pub ui: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cors_origins: Vec::new(),
            max_body_bytes: 64 * 1024,
            rate_limit_per_minute: 120,
            request_timeout: Duration::from_secs(30),
            agents: Vec::new(),
            shutdown_grace: Duration::from_secs(5),
            ui: true,
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
        Ok(AppState {
            inner: Arc::new(Inner {
                limiter: RateLimiter::new(config.rate_limit_per_minute),
                chat,
                config,
                metrics: crate::telemetry::prometheus(),
                shutdown,
                sessions: AtomicUsize::new(0),
                sessions_done: tokio::sync::Notify::new(),
            }),
        })
    }

    pub fn chat(&self) -> &ChatService {
        &self.inner.chat
    }

    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
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
            // Method and path only: headers (bearer tokens) and bodies are never logged.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
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
