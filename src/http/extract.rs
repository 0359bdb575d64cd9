//! Request extractors with the API's own rejections: JSON bodies (400 for malformed JSON or
//! invalid UTF-8, 413 over the body limit), agent bearer tokens (401), and the client key
//! the rate limit counts by.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;

/// Header a widget deployment may send to be rate-limited as one client (instead of by IP).
pub const API_KEY_HEADER: &str = "x-api-key";

/// A JSON body, rejected with the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A body of at most the configured size (413 above, in the API's error shape).
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge {
                        limit: state.config().max_body_bytes,
                    }
                } else {
                    ApiError::BadRequest("the request body could not be read".into())
                }
            })
    }
}

/// Parses a JSON document: invalid UTF-8 and malformed JSON are both 400.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body is not valid UTF-8 (byte {})",
            e.valid_up_to()
        ))
    })?;
    serde_json::from_str(text).map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))
}

/// The agent a valid bearer token belongs to.
#[derive(Debug, Clone)]
pub struct AgentAuth {
    pub agent_id: String,
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        state
            .agent_for_token(token)
            .map(|agent_id| AgentAuth { agent_id })
            .ok_or(ApiError::Unauthorized)
    }
}

/// Who the rate limit counts a request against: the API key (hashed) when given, else the
/// peer address, else one shared bucket (in-process tests without a socket).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(pub String);

impl ClientKey {
    pub fn from_parts(parts: &Parts) -> ClientKey {
        if let Some(key) = parts.headers.get(API_KEY_HEADER).filter(|v| !v.is_empty()) {
            let digest = Sha256::digest(key.as_bytes());
            return ClientKey(format!("key:{}", hex::encode(&digest[..12])));
        }
        match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => ClientKey(format!("ip:{}", addr.ip())),
            None => ClientKey("local".into()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientKey::from_parts(parts))
    }
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_are_bad_requests() {
        assert!(matches!(
            parse_json::<serde_json::Value>(b"{\"text\": "),
            Err(ApiError::BadRequest(_))
        ));
        assert!(
            matches!(parse_json::<serde_json::Value>(b"{\"text\": \"\xff\"}"), Err(ApiError::BadRequest(m)) if m.contains("UTF-8"))
        );
        assert_eq!(
            parse_json::<serde_json::Value>(b"{\"a\":1}").unwrap()["a"],
            1
        );
    }

    #[test]
    fn secrets_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
