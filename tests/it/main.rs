//! Integration tests, compiled as one binary. Index:
//!
//! - [`encoder`]: the real multilingual-e5-small: paraphrases in different
//!   languages land closer than unrelated sentences; Q4 and f32 agree.
//! - [`fast_forward`]: the inference forward on own kernels held to candle's
//!   f32 encoder (embeddings in ko/en/zh/ja, dev-set predictions), the int8
//!   forward's dev-set accuracy, the portable kernel against the best one.
//! - [`benchmark_slice`]: a classifier trained on a BANKING77 slice from
//!   `../shared/data` reaches a stated accuracy on a slice of its test split.
//! - [`ensemble`]: classifiers on multilingual-e5-small and all-MiniLM-L6-v2
//!   combined on a BANKING77 slice: fitted, saved, loaded by directory,
//!   evaluated; broken ensembles are refused with the file named.
//! - [`conversation`]: multi-turn conversations through the policy with the
//!   real shipped model; the stale-catalog check; `classify` output fields.
//! - [`dialogues`]: multi-turn scripts in ko / en / zh / ja (`tests/data/dialogues/`)
//!   through the real service: answers kept as answers during a collection, true changes
//!   of subject followed, no detail dropped; the candidate switch rules swept and printed.
//! - [`api`]: the router without a socket (`app(state).oneshot`): every
//!   endpoint and every row of the error table (400, 401, 404, 409, 413, 422,
//!   429 overloaded and rate-limited, 503), CORS, metrics, the OpenAPI paths.
//! - [`openapi`]: the hand-written OpenAPI document against the router both ways:
//!   every route in `src/http` documented, every documented operation served.
//! - [`abuse`]: limits keyed on the real client (trusted proxies, configured
//!   API keys), agent-token guessing locked out, the open-ticket cap, WebSocket
//!   caps, the metrics token and address, one shared `/ready` probe, logs
//!   without conversation ids.
//! - [`live`]: a server on port 0 with real WebSocket clients: chat, resume
//!   after reconnect, the agent feed, graceful shutdown, overload → 429, and
//!   two replicas on one PostgreSQL database (`INTENTDESK_TEST_POSTGRES_URL`,
//!   which `tests/run.sh` sets; without it the test fails, it never skips).
//! - [`end_to_end`]: a Korean deposit case with the real model from the first
//!   message to the agent's reply on the socket and the rating.
//! - [`durability`]: the real binary is SIGKILLed during traffic and restarted
//!   on the same data dir; every acknowledged message is still there; escalating
//!   turns with client message ids and retries, on SQLite and PostgreSQL, leave
//!   every conversation before or after each turn.
//! - [`disconnect`]: clients that go away mid-request: a turn held in the model still
//!   commits whole (and its retry replays it); dropped agent actions (claim, resolve) leave
//!   each ticket changed with its customer events, or unchanged without them.
//! - [`masking`]: the secret masker on the masking test set
//!   (`tests/data/masking/`, written independently of it): share of secrets
//!   masked and of look-alikes damaged, every failure printed.
//! - [`cli`]: the binary's errors for a missing or corrupt model name the
//!   file and the command that fixes it.
//! - [`browser`]: Debian's Chromium over WebDriver: the widget on the demo page
//!   (Korean deposit case → ticket card, reload without duplicates, server
//!   restart), agents in the workspace (find, reply, transfer, resolve), the
//!   rating on the supervisor strip, a notice posted from the Notices form and
//!   shown as the widget's banner, axe-core scans and screenshots.
//! - [`notices`]: incident notices with the real model: the agent endpoints and their
//!   422s, the public banner, classify's `notice`, ko / en / zh / ja customers getting the
//!   notice first (yes ends it, no goes on to a ticket), security messages never held back,
//!   other coins not matched, open tickets told on post and resolve.
//! - [`simulate`]: `intentdesk simulate --no-bot` against Erlang C and
//!   Erlang A over 2000-hour runs; the same seed, the same report byte for
//!   byte; parameters read from a small desk's store.
//!
//! [`harness`] holds the service helpers (real engine once per binary, a
//! held stand-in engine, servers on port 0, HTTP and WebSocket clients).
//!
//! Tests that need the encoder load the real weights from the model cache
//! (`INTENTDESK_MODEL_CACHE`, default `models/cache`); `intentdesk
//! fetch-model` puts them there. `tests/run.sh` (the README's test command)
//! fetches them, starts PostgreSQL and installs Chromium before `cargo test`.

mod abuse;
mod api;
mod benchmark_slice;
mod browser;
mod cli;
mod common;
mod conversation;
mod dialogues;
mod disconnect;
mod durability;
mod encoder;
mod end_to_end;
mod ensemble;
mod fast_forward;
mod harness;
mod live;
mod masking;
mod notices;
mod openapi;
mod simulate;
