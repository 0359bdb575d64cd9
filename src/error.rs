//! The library's error type: one enum whose variants callers branch on.
//!
//! Messages name the file, the id or the limit that was wrong and, where the
//! cure is a command, the command.

use std::path::PathBuf;

/// Errors raised by the intentdesk library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file the caller needs does not exist.
    #[error("model file {path} is missing: {hint}")]
    ModelFileMissing { path: PathBuf, hint: String },

    /// A model file exists but is truncated, corrupt or of the wrong format.
    #[error("model file {path} is corrupt: {reason}. {hint}")]
    ModelFileCorrupt {
        path: PathBuf,
        reason: String,
        hint: String,
    },

    /// A trained classifier does not match what it is used with.
    #[error("classifier in {path} cannot be used: {reason}")]
    ClassifierMismatch { path: PathBuf, reason: String },

    /// Fetching model files from the network failed.
    #[error("download of {what} failed: {reason}")]
    Download { what: String, reason: String },

    /// A data file (training or evaluation set) could not be read.
    #[error("data file {path}: {reason}")]
    Data { path: PathBuf, reason: String },

    /// The intent catalog is invalid.
    #[error("catalog {path}: {reason}")]
    Catalog { path: PathBuf, reason: String },

    /// A request was invalid (empty text, too long, unknown id...).
    #[error("{0}")]
    InvalidInput(String),

    /// The model's queue is full: the caller should retry later.
    #[error("the model is overloaded: {queued} requests are waiting; retry shortly")]
    Overloaded { queued: usize },

    /// The model worker is gone (shutting down or crashed).
    #[error("the model is not available: {0}")]
    ModelUnavailable(String),

    /// A tensor operation failed inside candle.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),

    /// The tokenizer failed.
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),

    /// An I/O error with the path it concerned.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A storage (database) error.
    #[error("storage: {0}")]
    Storage(String),

    /// Something referred to by id does not exist.
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },

    /// The request conflicts with the current state (ticket already claimed...).
    #[error("{0}")]
    Conflict(String),

    /// A customer message is empty (or only whitespace).
    #[error("the message is empty")]
    EmptyMessage,

    /// A customer message is longer than the configured limit.
    #[error("the message has {chars} characters; the limit is {max}")]
    MessageTooLong { chars: usize, max: usize },

    /// A bug or an unexpected failure inside the service (never shown to clients as is).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerned.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
