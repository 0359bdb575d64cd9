//! The service at ten times its capacity, on loopback, with the real model: first the
//! concurrency where `/v1/classify` throughput saturates (capacity: its goodput and p99),
//! then an open-loop offered load of ten times that goodput. Checks: goodput under overload
//! at least 90 % of goodput at capacity, admitted requests' p99 within 2x the p99 at
//! capacity, no 5xx, `/health` answering throughout. Bounded in requests and time.
//!
//! Run: `cargo bench --bench overload` (needs `intentdesk fetch-model`; release build).
//! Knobs (environment): `OVERLOAD_SECONDS` (per phase, default 8), `OVERLOAD_MAX_REQUESTS`
//! (cap on requests of the overload phase, default 40000); the server takes `serve`'s
//! defaults and `INTENTDESK_*` variables (e.g. `INTENTDESK_MAX_QUEUE_WAIT_MS`).
//! Results: `benches/RESULTS.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use intentdesk::config::{Cli, Command};
use intentdesk::conversation::ChatService;
use intentdesk::http::AppState;
use intentdesk::store::Store;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Realistic first messages in four languages, short and long.
const MESSAGES: [&str; 8] = [
    "입금했는데 아직 안 들어왔어요 TXID 0x3f5c...",
    "my withdrawal of 0.5 ETH has been pending for 3 hours, is there a problem with the network?",
    "OTP 앱을 지웠는데 로그인이 안돼요",
    "我的USDT充值还没到账，已经过了两个小时了",
    "出金が遅れています",
    "hi",
    "수수료가 얼마예요?",
    "someone called me pretending to be support and asked for my OTP code, is that you?",
];

/// Outcome of one request.
#[derive(Clone, Copy)]
enum Outcome {
    Ok(Duration),
    Refused,
    ServerError,
    Failed,
}

async fn classify(client: &HttpClient, base: &str, i: usize) -> Outcome {
    let body = serde_json::json!({ "text": MESSAGES[i % MESSAGES.len()] }).to_string();
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("{base}/v1/classify"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let started = Instant::now();
    let sent = tokio::time::timeout(Duration::from_secs(30), async {
        let response = client.request(request).await?;
        let status = response.status();
        let _ = response.into_body().collect().await;
        Ok::<StatusCode, hyper_util::client::legacy::Error>(status)
    })
    .await;
    match sent {
        Ok(Ok(s)) if s.is_success() => Outcome::Ok(started.elapsed()),
        Ok(Ok(s)) if s == StatusCode::TOO_MANY_REQUESTS => Outcome::Refused,
        Ok(Ok(s)) if s.is_server_error() => Outcome::ServerError,
        _ => Outcome::Failed,
    }
}

#[derive(Default, Debug)]
struct Tally {
    ok: Vec<Duration>,
    refused: usize,
    server_errors: usize,
    failed: usize,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Ok(d) => self.ok.push(d),
            Outcome::Refused => self.refused += 1,
            Outcome::ServerError => self.server_errors += 1,
            Outcome::Failed => self.failed += 1,
        }
    }

    fn p99(&mut self) -> Duration {
        self.ok.sort();
        self.ok
            .get((self.ok.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    }
}

/// Closed loop: `concurrency` clients each sending the next request as soon as the last
/// answered, for `seconds`.
async fn closed_loop(client: &HttpClient, base: &str, concurrency: usize, seconds: f64) -> Tally {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let counter = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, base, counter) = (client.clone(), base.to_string(), counter.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let i = counter.fetch_add(1, Ordering::Relaxed);
                    let outcome = classify(&client, &base, i).await;
                    tally.add(outcome);
                    if let Outcome::Refused = outcome {
                        // A well-behaved client backs off instead of spinning on 429s.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await.expect("client task");
        all.ok.extend(t.ok);
        all.refused += t.refused;
        all.server_errors += t.server_errors;
        all.failed += t.failed;
    }
    all
}

/// Open loop: requests started at `rate` per second regardless of answers, for `seconds`
/// or `max_requests`, whichever comes first.
async fn open_loop(
    client: &HttpClient,
    base: &str,
    rate: f64,
    seconds: f64,
    max_requests: usize,
) -> (Tally, f64) {
    let started = Instant::now();
    let total = ((rate * seconds) as usize).min(max_requests);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (client, base) = (client.clone(), base.to_string());
        tasks.push(tokio::spawn(
            async move { classify(&client, &base, i).await },
        ));
    }
    let offered_for = started.elapsed().as_secs_f64();
    let mut tally = Tally::default();
    for t in tasks {
        tally.add(t.await.expect("client task"));
    }
    (tally, offered_for)
}

/// Polls `/health` every 100 ms until stopped: (answered, failed or slower than 1 s).
async fn watch_health(client: HttpClient, base: String, stop: Arc<AtomicBool>) -> (usize, usize) {
    let (mut ok, mut bad) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        let request = Request::get(format!("{base}/health"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let answered = tokio::time::timeout(Duration::from_secs(1), client.request(request)).await;
        match answered {
            Ok(Ok(r)) if r.status().is_success() => ok += 1,
            _ => bad += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (ok, bad)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The server as `intentdesk serve` configures it (the same flags and defaults), with
/// the rate limit off: every request comes from 127.0.0.1.
async fn start_server(dir: &std::path::Path) -> String {
    let args = [
        "intentdesk",
        "serve",
        "--port",
        "0",
        "--rate-limit-per-minute",
        "0",
    ];
    let cli = <Cli as clap::Parser>::parse_from(args);
    let Command::Serve(serve) = cli.command else {
        unreachable!()
    };
    let config = serve.config().expect("serve flags");
    println!(
        "server: max batch {}, model queue {}, max queue wait {:?}",
        config.engine.max_batch, config.engine.queue_capacity, config.engine.max_queue_wait
    );
    let c = config.clone();
    let (engine, catalog) = tokio::task::spawn_blocking(move || {
        intentdesk::commands::start_engine(&c.encoder, &c.model_dir, &c.catalog_dir, c.engine)
    })
    .await
    .expect("loader")
    .expect("run `intentdesk fetch-model` first");
    let store = Store::open_data_dir(dir).await.expect("store");
    let chat = Arc::new(ChatService::new(engine, catalog, store, config.service));
    let state = AppState::new(chat, config.http).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(intentdesk::http::server::run(
        listener,
        state,
        std::future::pending(),
    ));
    base
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let seconds: f64 = env_or("OVERLOAD_SECONDS", 8.0);
    let max_requests: usize = env_or("OVERLOAD_MAX_REQUESTS", 40_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let base = start_server(dir.path()).await;
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build_http();
    // Warm up (first forward passes allocate).
    closed_loop(&client, &base, 4, 2.0).await;

    println!("capacity search: closed loop, {seconds} s per step");
    let mut best: Option<(usize, f64, Duration)> = None;
    let mut steps = Vec::new();
    for concurrency in [1usize, 2, 4, 8, 16, 32, 64] {
        let mut t = closed_loop(&client, &base, concurrency, seconds).await;
        let goodput = t.ok.len() as f64 / seconds;
        let p99 = t.p99();
        println!(
            "  concurrency {concurrency:>3}: goodput {goodput:>7.1}/s, p99 {:>6.1} ms, 429 {}, 5xx {}, failed {}",
            p99.as_secs_f64() * 1e3,
            t.refused,
            t.server_errors,
            t.failed
        );
        steps.push((concurrency, goodput, p99));
        if best.is_none_or(|(_, g, _)| goodput > g) {
            best = Some((concurrency, goodput, p99));
        }
    }
    let (_, max_goodput, _) = best.expect("steps ran");
    // Capacity: the first concurrency within 5 % of the best throughput (saturation).
    let &(cap_concurrency, cap_goodput, cap_p99) = steps
        .iter()
        .find(|(_, g, _)| *g >= 0.95 * max_goodput)
        .expect("the best step qualifies");
    println!(
        "capacity: concurrency {cap_concurrency}, goodput {cap_goodput:.1}/s, p99 {:.1} ms",
        cap_p99.as_secs_f64() * 1e3
    );

    let rate = 10.0 * cap_goodput;
    let stop = Arc::new(AtomicBool::new(false));
    let health = tokio::spawn(watch_health(client.clone(), base.clone(), stop.clone()));
    let (mut over, offered_for) = open_loop(&client, &base, rate, seconds, max_requests).await;
    stop.store(true, Ordering::Relaxed);
    let (health_ok, health_bad) = health.await.expect("health watcher");
    let goodput = over.ok.len() as f64 / offered_for;
    let p99 = over.p99();
    println!(
        "overload: offered {rate:.0}/s for {offered_for:.1} s ({} requests): goodput {goodput:.1}/s, admitted p99 {:.1} ms, 429 {}, 5xx {}, failed {}; /health {health_ok} answered, {health_bad} not",
        over.ok.len() + over.refused + over.server_errors + over.failed,
        p99.as_secs_f64() * 1e3,
        over.refused,
        over.server_errors,
        over.failed
    );
    let checks = [
        (
            goodput >= 0.9 * cap_goodput,
            format!("goodput {goodput:.1}/s >= 90 % of {cap_goodput:.1}/s"),
        ),
        (
            p99 <= 2 * cap_p99,
            format!(
                "admitted p99 {:.1} ms <= 2 x {:.1} ms",
                p99.as_secs_f64() * 1e3,
                cap_p99.as_secs_f64() * 1e3
            ),
        ),
        (
            over.server_errors == 0,
            format!("{} 5xx", over.server_errors),
        ),
        (
            over.failed == 0,
            format!("{} failed or timed out", over.failed),
        ),
        (
            health_bad == 0 && health_ok > 0,
            format!("/health: {health_bad} missed of {}", health_ok + health_bad),
        ),
    ];
    let mut passed = true;
    for (ok, what) in &checks {
        println!("  [{}] {what}", if *ok { "ok" } else { "FAIL" });
        passed &= ok;
    }
    if !passed {
        std::process::exit(1);
    }
}
