//! The one table from errors to HTTP statuses (and to WebSocket error frames): every handler
//! returns [`ApiError`], whose body is `{"error": {"code": "...", "message": "..."}}`.
//! 5xx bodies never carry internals: the detail goes to the log, the client gets a fixed
//! sentence.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::Error;

/// Retry-After for an overloaded model: a batch takes milliseconds, so retry soon.
pub const OVERLOADED_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Retry-After when a client holds too many WebSockets: sessions last minutes.
pub const TOO_MANY_CONNECTIONS_RETRY_AFTER: Duration = Duration::from_secs(30);

/// An error as the API reports it.
#[derive(Debug)]
pub enum ApiError {
    /// A library error, mapped by [`ApiError::parts`].
    Service(Error),
    /// The body is not valid JSON (or not UTF-8), or a parameter is malformed.
    BadRequest(String),
    /// The body exceeds the configured limit.
    PayloadTooLarge { limit: usize },
    /// No or a wrong bearer token on an agent endpoint.
    Unauthorized,
    /// The client exceeded its request rate.
    RateLimited { retry_after: Duration },
    /// The model or the store does not answer yet.
    NotReady(String),
    /// `/metrics` without its configured bearer token.
    MetricsUnauthorized,
    /// The client already holds the most WebSockets it may.
    TooManyConnections { limit: usize },
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Service(e)
    }
}

/// The `error` object of an error body (also the payload of a WebSocket error frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// Stable, machine-readable: `bad_request`, `not_found`, `overloaded`...
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before retrying (429 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl ApiError {
    /// Status, code and client-safe message: THE mapping.
    ///
    /// Long because it is the one table from every error to its HTTP answer; kept whole
    /// so that every status the API gives can be read in one place.
    pub fn parts(&self) -> (StatusCode, ErrorBody) {
        let body = |code: &'static str, message: String| ErrorBody {
            code,
            message,
            retry_after_secs: None,
        };
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, body("bad_request", m.clone())),
            ApiError::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                body(
                    "payload_too_large",
                    format!("the request body exceeds {limit} bytes"),
                ),
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                body(
                    "unauthorized",
                    "a valid agent bearer token is required".into(),
                ),
            ),
            ApiError::RateLimited { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorBody {
                    retry_after_secs: Some(secs_up(*retry_after).max(1)),
                    ..body("rate_limited", "too many requests; slow down".into())
                },
            ),
            ApiError::MetricsUnauthorized => (
                StatusCode::UNAUTHORIZED,
                body(
                    "unauthorized",
                    "the metrics bearer token is required".into(),
                ),
            ),
            ApiError::TooManyConnections { limit } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorBody {
                    retry_after_secs: Some(TOO_MANY_CONNECTIONS_RETRY_AFTER.as_secs()),
                    ..body(
                        "too_many_connections",
                        format!("at most {limit} open WebSockets per client; close one first"),
                    )
                },
            ),
            ApiError::NotReady(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                body("not_ready", m.clone()),
            ),
            ApiError::Service(e) => match e {
                Error::EmptyMessage => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    body("empty_message", e.to_string()),
                ),
                Error::MessageTooLong { .. } => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    body("message_too_long", e.to_string()),
                ),
                Error::InvalidInput(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    body("invalid_input", e.to_string()),
                ),
                Error::NotFound { .. } => (StatusCode::NOT_FOUND, body("not_found", e.to_string())),
                Error::Conflict(_) => (StatusCode::CONFLICT, body("conflict", e.to_string())),
                Error::Overloaded { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorBody {
                        retry_after_secs: Some(secs_up(OVERLOADED_RETRY_AFTER)),
                        ..body("overloaded", "the model is busy; retry shortly".into())
                    },
                ),
                Error::ModelUnavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    body("not_ready", "the model is not available".into()),
                ),
                Error::ModelFileMissing { .. }
                | Error::ModelFileCorrupt { .. }
                | Error::ClassifierMismatch { .. }
                | Error::Download { .. }
                | Error::Data { .. }
                | Error::Catalog { .. }
                | Error::Candle(_)
                | Error::Tokenizer(_)
                | Error::Io { .. }
                | Error::Storage(_)
                | Error::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    body("internal", "internal server error".into()),
                ),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), error = ?self, "request failed");
        } else {
            tracing::debug!(
                status = status.as_u16(),
                code = body.code,
                "request refused"
            );
        }
        let retry_after = body.retry_after_secs;
        let unauthorized = matches!(self, ApiError::Unauthorized | ApiError::MetricsUnauthorized);
        let mut response = (status, Json(serde_json::json!({ "error": body }))).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_never_leak_internals() {
        let e = ApiError::from(Error::Storage("UPDATE tickets SET secret_column".into()));
        let (status, body) = e.parts();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.message.contains("tickets"));
        let e = ApiError::from(Error::ModelUnavailable(
            "thread panicked at src/x.rs".into(),
        ));
        assert!(!e.parts().1.message.contains("src/"));
    }

    #[test]
    fn the_table() {
        let cases = [
            (ApiError::BadRequest("x".into()), 400),
            (ApiError::Unauthorized, 401),
            (
                ApiError::from(Error::NotFound {
                    kind: "ticket",
                    id: "T-1".into(),
                }),
                404,
            ),
            (ApiError::from(Error::Conflict("claimed".into())), 409),
            (
                ApiError::from(Error::MessageTooLong { chars: 3, max: 2 }),
                413,
            ),
            (ApiError::PayloadTooLarge { limit: 1 }, 413),
            (ApiError::from(Error::EmptyMessage), 422),
            (ApiError::from(Error::InvalidInput("score".into())), 422),
            (ApiError::from(Error::Overloaded { queued: 9 }), 429),
            (
                ApiError::RateLimited {
                    retry_after: Duration::from_millis(1500),
                },
                429,
            ),
            (ApiError::NotReady("loading".into()), 503),
            (ApiError::TooManyConnections { limit: 8 }, 429),
            (ApiError::MetricsUnauthorized, 401),
            (ApiError::from(Error::Internal("bug".into())), 500),
        ];
        for (e, status) in cases {
            assert_eq!(e.parts().0.as_u16(), status, "{e:?}");
        }
        let (_, body) = ApiError::RateLimited {
            retry_after: Duration::from_millis(1500),
        }
        .parts();
        assert_eq!(body.retry_after_secs, Some(2));
    }
}
