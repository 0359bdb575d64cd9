//! Request extractors with the API's own rejections: JSON bodies (400 for malformed JSON or
//! invalid UTF-8, 413 over the body limit), agent bearer tokens (401; from the header, or
//! from a WebSocket subprotocol for browsers), and the client key the rate limit counts by.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::client::{ClientPolicy, FORWARDED_FOR_HEADER};
use super::error::ApiError;

/// Header a widget deployment may send to be rate-limited as one client (instead of by IP);
/// only the keys in [`ClientPolicy::api_keys`] count.
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

/// On a WebSocket upgrade, the subprotocol that carries an agent's bearer token from a
/// browser (which cannot set `Authorization` on a WebSocket): this prefix followed by the
/// token in base64url without padding. Never the URL: URLs end up in logs and histories.
pub const BEARER_SUBPROTOCOL_PREFIX: &str = "intentdesk.bearer.";

/// The subprotocol the agent WebSocket answers with (a browser that offered subprotocols
/// requires the server to pick one).
pub const FEED_SUBPROTOCOL: &str = "intentdesk.v1";

/// The agent a valid bearer token belongs to: from `Authorization: Bearer ...`, or on a
/// WebSocket upgrade from the [`BEARER_SUBPROTOCOL_PREFIX`] subprotocol. Anything else,
/// or a wrong token, is 401.
#[derive(Debug, Clone)]
pub struct AgentAuth {
    pub agent_id: String,
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    /// A client with too many wrong tokens in the last minute gets 429 for every attempt,
    /// right or wrong, until its allowance refills: guessing gets nowhere, and the answer
    /// tells nothing about the token. Successful logins cost nothing.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let client = ClientKey::from_parts(parts, &state.config().clients);
        let now = Instant::now();
        if let Err(retry_after) = state.auth_failures().peek(&client, now) {
            metrics::counter!("intentdesk_auth_locked_out_total").increment(1);
            return Err(ApiError::RateLimited { retry_after });
        }
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_string());
        let token = header
            .or_else(|| bearer_subprotocol(parts))
            .ok_or(ApiError::Unauthorized)?;
        match state.agent_for_token(&token) {
            Some(agent_id) => Ok(AgentAuth { agent_id }),
            None => {
                metrics::counter!("intentdesk_auth_failed_total").increment(1);
                let _ = state.auth_failures().check(&client, now);
                Err(ApiError::Unauthorized)
            }
        }
    }
}

/// The token of a `intentdesk.bearer.<base64url>` subprotocol, on WebSocket upgrades only.
fn bearer_subprotocol(parts: &Parts) -> Option<String> {
    let upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return None;
    }
    parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(BEARER_SUBPROTOCOL_PREFIX))
        .and_then(base64url_decode)
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Decodes base64url (RFC 4648 §5), padding optional; `None` for anything else.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Who the rate limits count a request against: a configured API key (by digest) when the
/// request presents one, else the client address (see [`ClientPolicy::client_ip`]), else one
/// shared bucket (in-process tests without a socket). An unknown key is ignored, so random
/// keys buy no fresh allowance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(pub String);

impl ClientKey {
    pub fn from_parts(parts: &Parts, policy: &ClientPolicy) -> ClientKey {
        let key = parts
            .headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|k| policy.api_keys.identify(k));
        if let Some(name) = key {
            return ClientKey(format!("key:{name}"));
        }
        match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => {
                let forwarded = parts
                    .headers
                    .get_all(FORWARDED_FOR_HEADER)
                    .iter()
                    .filter_map(|v| v.to_str().ok());
                ClientKey(format!("ip:{}", policy.client_ip(addr.ip(), forwarded)))
            }
            None => ClientKey("local".into()),
        }
    }
}

impl FromRequestParts<AppState> for ClientKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientKey::from_parts(parts, &state.config().clients))
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
    fn base64url_decodes_with_or_without_padding() {
        assert_eq!(
            base64url_decode("bWluYS10b2tlbi0wMDAx").unwrap(),
            b"mina-token-0001"
        );
        assert_eq!(base64url_decode("-_8").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64url_decode("-_8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64url_decode("").unwrap(), b"");
        assert!(
            base64url_decode("ab+/").is_none(),
            "standard alphabet refused"
        );
        assert!(base64url_decode("abcde").is_none(), "impossible length");
    }

    #[test]
    fn secrets_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
