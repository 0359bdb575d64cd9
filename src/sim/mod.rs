//! `intentdesk simulate`: a seeded discrete-event simulation of a support
//! day (or a constant-rate queue) through the real model and policy, to
//! measure how much agent work the bot takes off at a peak and how many
//! agents hold the wait target with and without it.
//!
//! The core ([`core`]) is pure: arrivals and routing paths in, tickets and
//! queue series out. Around it: [`params`] (documented defaults, a lead's
//! TOML), [`arrivals`] (schedules as data, Poisson draws, traces),
//! [`routing`] (the real `policy::decide` on the classified pool),
//! [`random`] (named seeded streams), [`erlang`] (the closed forms it is
//! checked against), [`stats`] (figures), [`report`] (the JSON report and
//! the HTML page), [`history`] (parameters measured from a desk's store)
//! and [`incident`] (a peak with a known cause and the notice posted about it).
//! Model loading, file and database access stay in `commands`.

pub mod arrivals;
pub mod core;
pub mod erlang;
pub mod history;
pub mod incident;
pub mod params;
pub mod random;
pub mod report;
pub mod routing;
pub mod run;
pub mod stats;

use std::path::PathBuf;

pub use params::{Params, Sources};
pub use report::Report;
pub use run::{Inputs, Pool, Schedule, SimConfig, run};

/// Why a simulation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A parameter is missing, malformed or out of range.
    #[error("simulation parameter {key}: {reason}")]
    Config { key: String, reason: String },
    /// A trace file cannot be read.
    #[error("trace {} line {line}: {reason}", path.display())]
    Trace {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// The labelled pool does not fit the catalog.
    #[error("message pool {source_name}: {reason}")]
    Pool { source_name: String, reason: String },
    /// Reading a desk's store failed.
    #[error("reading the desk's store: {0}")]
    Store(String),
}
