//! Per-client rate limit: a token bucket per [`ClientKey`] holding up to a minute's worth of
//! requests and refilling continuously, so a client may burst its per-minute allowance and
//! then proceeds at the configured rate. In memory, per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::ClientKey;

/// Buckets kept before idle (full) ones are dropped.
const MAX_CLIENTS: usize = 100_000;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets by client.
pub struct RateLimiter {
    /// Requests per minute per client; 0 disables the limit.
    per_minute: u32,
    /// Short critical sections only (no await inside): a std mutex is enough.
    buckets: Mutex<HashMap<ClientKey, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says how long until one is available.
    pub fn check(&self, key: &ClientKey, now: Instant) -> Result<(), Duration> {
        self.take(key, now, 1.0)
    }

    /// Whether `key` has a token left, without taking it (how the agent login limit asks
    /// before checking a token, and charges only failures).
    pub fn peek(&self, key: &ClientKey, now: Instant) -> Result<(), Duration> {
        self.take(key, now, 0.0)
    }

    fn take(&self, key: &ClientKey, now: Instant, cost: f64) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(key) {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * per_sec < capacity
            });
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}

/// Middleware: 429 with Retry-After when the client is over its rate.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let key = ClientKey::from_parts(&parts, &state.config().clients);
    if let Err(retry_after) = state.limiter().check(&key, Instant::now()) {
        metrics::counter!("intentdesk_rate_limited_total").increment(1);
        return ApiError::RateLimited { retry_after }.into_response();
    }
    if parts.method == axum::http::Method::POST
        && let Some(conversation) = message_conversation(parts.uri.path())
    {
        state.ticket_caps().wrote(conversation, &key);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The conversation of `POST /v1/conversations/{id}/messages` (its writer counts for the
/// open-ticket cap).
fn message_conversation(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1/conversations/")?;
    let (id, tail) = rest.split_once('/')?;
    (tail == "messages" && !id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_up_to_the_minute_then_refills() {
        let limiter = RateLimiter::new(3);
        let a = ClientKey("a".into());
        let b = ClientKey("b".into());
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check(&a, t0).unwrap();
        }
        let wait = limiter.check(&a, t0).unwrap_err();
        assert!((19.0..=20.1).contains(&wait.as_secs_f64()), "{wait:?}");
        limiter.check(&b, t0).expect("clients are counted apart");
        limiter
            .check(&a, t0 + Duration::from_secs(20))
            .expect("one token after 20 s");
        assert!(limiter.check(&a, t0 + Duration::from_secs(20)).is_err());
    }

    #[test]
    fn peek_takes_nothing() {
        let limiter = RateLimiter::new(2);
        let a = ClientKey("a".into());
        let t0 = Instant::now();
        for _ in 0..10 {
            limiter.peek(&a, t0).unwrap();
        }
        limiter.check(&a, t0).unwrap();
        limiter.check(&a, t0).unwrap();
        assert!(limiter.peek(&a, t0).is_err(), "empty after two");
    }

    #[test]
    fn the_conversation_of_a_message_post() {
        assert_eq!(
            message_conversation("/v1/conversations/abc/messages"),
            Some("abc")
        );
        assert_eq!(message_conversation("/v1/conversations/abc/rating"), None);
        assert_eq!(message_conversation("/v1/conversations//messages"), None);
        assert_eq!(message_conversation("/v1/classify"), None);
    }

    #[test]
    fn zero_disables() {
        let limiter = RateLimiter::new(0);
        for _ in 0..1000 {
            limiter
                .check(&ClientKey("a".into()), Instant::now())
                .unwrap();
        }
    }
}
