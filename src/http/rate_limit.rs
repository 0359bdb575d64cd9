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
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}

/// Middleware: 429 with Retry-After when the client is over its rate.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let key = ClientKey::from_parts(&parts);
    if let Err(retry_after) = state.limiter().check(&key, Instant::now()) {
        metrics::counter!("intentdesk_rate_limited_total").increment(1);
        return ApiError::RateLimited { retry_after }.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
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
    fn zero_disables() {
        let limiter = RateLimiter::new(0);
        for _ in 0..1000 {
            limiter
                .check(&ClientKey("a".into()), Instant::now())
                .unwrap();
        }
    }
}
