//! The desk in real Chromium (Debian's, driven over WebDriver by chromedriver with
//! fantoccini): a customer in the widget on the demo page, agents in the workspace, each in
//! their own browser profile. Stories: Korean deposit case → ticket card; an agent finds,
//! reads and answers it; transfer to a second agent who resolves; rating counted on the
//! supervisor strip; reload without duplicates; server restart mid-conversation; a lead
//! posts an incident notice from the workspace form and the widget shows its banner; axe-core
//! finds no serious or critical violation; screenshots at 1280 px and 360 px.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (or `INTENTDESK_TEST_CHROMIUM` /
//! `INTENTDESK_TEST_CHROMEDRIVER`) and axe-core under `tests/browser/node_modules`:
//! `bash tests/run.sh` installs them. Without them the tests fail, they never skip.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use super::harness::*;

/// How long any visible state may take to appear (the real model answers in well under a
/// second; reconnect back-off after a restart stays below ten).
const PATIENCE: Duration = Duration::from_secs(45);

fn tool(var: &str, default: &str) -> PathBuf {
    let path = std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string());
    let path = PathBuf::from(path);
    assert!(
        path.exists(),
        "{} not found ({var}): run the tests with `bash tests/run.sh`, which installs Debian's chromium and chromium-driver",
        path.display()
    );
    path
}

/// The one chromedriver of this test binary, shared by the tests that run at the same time
/// and stopped when the last of them is done.
struct Driver {
    child: Child,
    url: String,
    users: usize,
}

static DRIVER: Mutex<Option<Driver>> = Mutex::new(None);

/// A use of the shared chromedriver; the last one dropped stops it.
struct DriverLease {
    url: String,
}

impl DriverLease {
    async fn acquire() -> DriverLease {
        let url = {
            let mut slot = DRIVER.lock().unwrap();
            if let Some(d) = slot.as_mut() {
                d.users += 1;
                d.url.clone()
            } else {
                let binary = tool("INTENTDESK_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port();
                let child = Command::new(&binary)
                    .arg(format!("--port={port}"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
                let url = format!("http://127.0.0.1:{port}");
                *slot = Some(Driver {
                    child,
                    url: url.clone(),
                    users: 1,
                });
                url
            }
        };
        let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // Listening is enough: the session request below waits for the driver.
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver never answered on {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        DriverLease { url }
    }
}

impl Drop for DriverLease {
    fn drop(&mut self) {
        let mut slot = DRIVER.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = slot.as_mut() {
            d.users -= 1;
            if d.users == 0 {
                let mut d = slot.take().unwrap();
                let _ = d.child.kill();
                let _ = d.child.wait();
            }
        }
    }
}

/// One browser session with its own fresh profile (a separate "browser context").
struct Browser {
    client: Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn open(driver: &DriverLease) -> Browser {
        let chromium = tool("INTENTDESK_TEST_CHROMIUM", "/usr/bin/chromium");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,800",
                    "--lang=ko-KR", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": { "intl.accept_languages": "ko-KR,ko" }
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("chromium starts under chromedriver");
        Browser {
            client,
            _profile: profile,
        }
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Waits until `expr` (a JavaScript expression) is truthy; returns its value.
    async fn until(&self, what: &str, expr: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        let script = format!("try {{ return ({expr}) || null; }} catch (e) {{ return null; }}");
        loop {
            let v = self.js(&script).await;
            if !v.is_null() && v != json!(false) {
                return v;
            }
            if Instant::now() > deadline {
                let page = self
                    .js("return document.body ? document.body.innerText.slice(-1500) : ''")
                    .await;
                panic!("waited {PATIENCE:?} for {what} ({expr}); the page ends with:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap();
    }

    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    async fn type_into(&self, css: &str, keys: &str) {
        self.element(css).await.send_keys(keys).await.unwrap();
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

const ENTER: &str = "\u{E007}";
const CTRL_ENTER: &str = "\u{E009}\u{E007}\u{E000}";

/// The widget's bubbles with a seq, in order: (seq, class, text).
async fn bubbles(b: &Browser) -> Vec<(i64, String, String)> {
    let v = b
        .js("return [...document.querySelectorAll('#intentdesk-widget [data-seq]')].map(e => [Number(e.dataset.seq), e.className, e.textContent])")
        .await;
    serde_json::from_value(v).unwrap()
}

async fn max_seq(b: &Browser) -> i64 {
    bubbles(b).await.iter().map(|x| x.0).max().unwrap_or(0)
}

/// Sends a customer message from the widget's composer (Enter sends).
async fn say(b: &Browser, text: &str) {
    b.type_into("#idw-input", &format!("{text}{ENTER}")).await;
}

/// Opens the demo page's widget, ready to type.
async fn open_widget(b: &Browser, base: &str) {
    b.goto(&format!("{base}/")).await;
    b.until(
        "the widget",
        "document.querySelector('#intentdesk-widget[data-ready]')",
    )
    .await;
    b.click(".idw-launcher").await;
    b.until(
        "the socket",
        "document.querySelector('.idw-root:not(.idw-offline) #idw-panel:not([hidden])')",
    )
    .await;
}

/// The bot's latest question and whether it came after `seq`.
async fn wait_reply_after(b: &Browser, seq: i64) -> (i64, String, String) {
    b.until(
        "the bot's answer",
        &format!("[...document.querySelectorAll('#intentdesk-widget [data-seq]')].some(e => Number(e.dataset.seq) > {seq} && !e.classList.contains('idw-from-customer'))"),
    )
    .await;
    bubbles(b)
        .await
        .into_iter()
        .rfind(|x| x.0 > seq && !x.1.contains("idw-from-customer"))
        .unwrap()
}

/// Story 1: a Korean deposit problem, the detail questions answered, until the ticket card.
async fn korean_deposit_to_ticket(customer: &Browser) -> String {
    let mut seq = max_seq(customer).await;
    say(customer, "USDT 입금했는데 3시간째 안 들어왔어요").await;
    for _ in 0..8 {
        let (s, _, text) = wait_reply_after(customer, seq).await;
        seq = max_seq(customer).await.max(s);
        if customer
            .js("return !!document.querySelector('.idw-ticket .idw-ticket-id')")
            .await
            == json!(true)
        {
            break;
        }
        let lower = text.to_lowercase();
        let choice = customer
            .js("const b = [...document.querySelectorAll('.idw-choice:not(:disabled)')]; const t = b.find(x => /TRC|트론|tron/i.test(x.innerText)) || null; return t ? t.dataset.choice : null")
            .await;
        if let Some(id) = choice.as_str() {
            customer
                .click(&format!(".idw-choice[data-choice='{id}']:not(:disabled)"))
                .await;
            continue;
        }
        let answer = if lower.contains("txid") || text.contains("거래") {
            "TXID는 7c1e5d0f4b2a9e8d3c6b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d 입니다"
        } else if text.contains("네트워크") || lower.contains("network") {
            "트론 TRC-20 네트워크로 보냈어요"
        } else if text.contains("금액") || text.contains("수량") || lower.contains("amount") {
            "500 USDT요"
        } else if text.contains("시간") || text.contains("언제") {
            "오늘 오후 2시쯤 보냈어요"
        } else if text.contains("주소") {
            "입금 주소는 TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE 예요"
        } else {
            "업비트에서 트론 네트워크로 USDT 500개 보냈고 TXID는 7c1e5d0f4b2a9e8d3c6b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d 입니다"
        };
        say(customer, answer).await;
    }
    let ticket = customer
        .until(
            "the ticket card",
            "document.querySelector('.idw-ticket .idw-ticket-id')?.innerText",
        )
        .await;
    let ticket = ticket.as_str().unwrap().to_string();
    assert!(ticket.starts_with("T-"), "{ticket}");
    let pos = customer
        .until(
            "the queue position",
            "document.querySelector('.idw-ticket .idw-pos')?.innerText",
        )
        .await;
    assert_eq!(
        pos, "#1",
        "the first ticket of the day is first in the queue"
    );
    let wait = customer
        .until(
            "the wait",
            "document.querySelector('.idw-ticket .idw-wait')?.innerText",
        )
        .await;
    assert!(wait.as_str().unwrap().contains('분'), "Korean wait: {wait}");
    ticket
}

/// Signs an agent in at /agent with their token and goes online.
async fn agent_sign_in(b: &Browser, base: &str, token: &str) {
    b.goto(&format!("{base}/agent")).await;
    b.type_into("#token", &format!("{token}{ENTER}")).await;
    b.until("the workspace", "!document.querySelector('#app').hidden")
        .await;
    b.until(
        "the live feed",
        "document.querySelector('#feed-state').innerText === 'Live'",
    )
    .await;
    b.click("#online").await;
    b.until(
        "online",
        "document.querySelector('#online').getAttribute('aria-pressed') === 'true'",
    )
    .await;
}

/// Opens `ticket` from the Mine list (auto-assigned) or claims it from Waiting.
async fn agent_take(b: &Browser, ticket: &str) {
    let row = b
        .until(
            "the ticket in Mine or Waiting",
            &format!("document.querySelector('#list-mine [data-ticket=\"{ticket}\"]') ? 'mine' : document.querySelector('#list-waiting [data-ticket=\"{ticket}\"]') ? 'waiting' : null"),
        )
        .await;
    if row == "waiting" {
        b.click(&format!("#list-waiting [data-ticket='{ticket}']"))
            .await;
        b.click("#a-claim").await;
    } else {
        b.click(&format!("#list-mine [data-ticket='{ticket}']"))
            .await;
    }
    b.until(
        "the ticket pane",
        &format!("document.querySelector('#t-title').innerText === '{ticket}' && !document.querySelector('#reply-box').hidden"),
    )
    .await;
}

fn artifacts() -> PathBuf {
    let dir = std::env::var("INTENTDESK_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target/browser-artifacts"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(b: &Browser, name: &str, width: u32) {
    b.client.set_window_size(width, 800).await.unwrap();
    // The top of the page and of the ticket pane, nothing focused.
    b.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); const p = document.querySelector('#pane'); if (p) p.scrollTop = 0; return true")
        .await;
    b.until(
        "the new width",
        &format!("Math.abs(window.innerWidth - {width}) < 20"),
    )
    .await;
    // The page from its top, without a focus ring left by the last keystroke.
    b.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); document.querySelectorAll('.pane').forEach(e => e.scrollTop = 0); return true")
        .await;
    let png = b.client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let path = artifacts().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Runs axe-core in the page; panics listing every serious or critical violation.
async fn axe(b: &Browser, page: &str) {
    let path = root().join("tests/browser/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run `bash tests/run.sh` (npm ci in tests/browser)",
            path.display()
        )
    });
    b.client
        .execute(&format!("{source}\nreturn typeof axe;"), vec![])
        .await
        .unwrap();
    let found = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary) }))))
               .catch(e => done([{ id: 'axe-error', help: String(e) }]));",
            vec![],
        )
        .await
        .unwrap();
    let found = found.as_array().cloned().unwrap_or_default();
    assert!(
        found.is_empty(),
        "axe-core on {page}: {}",
        serde_json::to_string_pretty(&found).unwrap()
    );
}

/// Stories 1, 2, 3, 5 and 6 in one sequence (one server, three browser sessions).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_agent_transfer_rating_accessibility_and_screenshots() {
    let driver = DriverLease::acquire().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(state(dir.path()).await).await;
    let base = format!("http://{}", server.addr);

    // 1. The customer: a Korean deposit problem until the ticket card.
    let customer = Browser::open(&driver).await;
    open_widget(&customer, &base).await;
    let ticket = korean_deposit_to_ticket(&customer).await;

    // 2. Mina signs in (the token survives a reload, and is never in the URL), finds the
    //    ticket, sees its details and transcript, and replies with Ctrl+Enter.
    let mina = Browser::open(&driver).await;
    agent_sign_in(&mina, &base, MINA.1).await;
    mina.client.refresh().await.unwrap();
    mina.until(
        "signed in after a reload",
        "!document.querySelector('#app').hidden",
    )
    .await;
    let url = mina.client.current_url().await.unwrap();
    assert!(!url.as_str().contains(MINA.1), "token in the URL: {url}");
    agent_take(&mina, &ticket).await;
    let details = mina
        .until(
            "the details",
            "document.querySelector('#t-details').innerText",
        )
        .await;
    assert!(details.as_str().unwrap().contains("USDT"), "{details}");
    assert!(
        details.as_str().unwrap().contains("7c1e5d0f4b2a"),
        "the TXID is among the details: {details}"
    );
    mina.until(
        "the transcript",
        "document.querySelector('#t-transcript').innerText.includes('3시간째')",
    )
    .await;
    customer
        .until(
            "agent joined",
            "document.querySelector('.idw-ticket-active')",
        )
        .await;
    let reply = "안녕하세요, 상담원 미나입니다. 입금 건을 확인하고 있어요.";
    mina.type_into("#reply", &format!("{reply}{CTRL_ENTER}"))
        .await;
    let from = customer
        .until(
            "the agent's reply in the widget",
            &format!("[...document.querySelectorAll('.idw-from-agent')].find(e => e.innerText.includes('{reply}'))?.querySelector('.idw-who').innerText"),
        )
        .await;
    assert!(
        from.as_str().unwrap().contains("Mina"),
        "shown as from Mina: {from}"
    );
    mina.until(
        "the reply in the agent's transcript",
        &format!("document.querySelector('#t-transcript').innerText.includes('{reply}')"),
    )
    .await;
    // The customer's next message reaches the agent live.
    say(&customer, "네 감사합니다. 기다릴게요").await;
    mina.until(
        "the customer's message live",
        "document.querySelector('#t-transcript').innerText.includes('기다릴게요')",
    )
    .await;

    // 5 + 6. Accessibility and screenshots with a real conversation on screen.
    axe(&customer, "the demo page with the widget open").await;
    axe(&mina, "the agent workspace with a ticket open").await;
    screenshot(&customer, "widget-desktop", 1280).await;
    screenshot(&mina, "agent-desktop", 1280).await;
    screenshot(&customer, "widget-360", 360).await;
    screenshot(&mina, "agent-360", 360).await;
    mina.client.set_window_size(1280, 800).await.unwrap();
    customer.client.set_window_size(1280, 800).await.unwrap();

    // 3. Jun comes online; Mina transfers the ticket to him; he resolves it.
    let jun = Browser::open(&driver).await;
    agent_sign_in(&jun, &base, JUN.1).await;
    mina.until(
        "Jun as a transfer target",
        "document.querySelector('#transfer-to option[value=\"jun\"]')",
    )
    .await;
    mina.js("const s = document.querySelector('#transfer-to'); s.value = 'jun'; return s.value")
        .await;
    mina.click("#a-transfer").await;
    mina.until(
        "the ticket left Mine",
        &format!("!document.querySelector('#list-mine [data-ticket=\"{ticket}\"]')"),
    )
    .await;
    jun.until(
        "the transfer announced",
        &format!("document.querySelector('#notice').innerText.includes('{ticket}')"),
    )
    .await;
    agent_take(&jun, &ticket).await;
    jun.click("#a-resolve").await;

    // The widget asks for a rating; four stars and a comment.
    customer
        .until(
            "the rating form",
            "document.querySelector('.idw-rating .idw-star')",
        )
        .await;
    customer.click(".idw-star[data-score='4']").await;
    customer
        .type_into(".idw-comment", "친절하게 해결해 주셨어요")
        .await;
    customer.click(".idw-rate-send").await;
    customer
        .until(
            "thanks for the rating",
            "document.querySelector('.idw-rated')",
        )
        .await;
    let ratings = jun
        .until(
            "the rating on the supervisor strip",
            "document.querySelector('#s-rating').dataset.ratings === '1' && document.querySelector('#s-rating').innerText",
        )
        .await;
    assert!(ratings.as_str().unwrap().starts_with("4.0"), "{ratings}");

    for b in [customer, mina, jun] {
        b.close().await;
    }
    server.stop().await;
}

/// Story 4: reload mid-conversation restores it once; a server restart is survived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_reload_and_server_restart_resume_the_conversation() {
    let driver = DriverLease::acquire().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(state(dir.path()).await).await;
    let base = format!("http://{}", server.addr);
    let customer = Browser::open(&driver).await;
    open_widget(&customer, &base).await;

    say(&customer, "출금 수수료가 얼마예요?").await;
    wait_reply_after(&customer, 0).await;
    let before = bubbles(&customer).await;
    assert!(before.len() >= 2, "{before:?}");

    // Reload: the same bubbles, each once.
    customer.client.refresh().await.unwrap();
    customer
        .until(
            "the widget",
            "document.querySelector('#intentdesk-widget[data-ready]')",
        )
        .await;
    customer
        .until(
            "the history replayed",
            &format!(
                "document.querySelectorAll('#intentdesk-widget [data-seq]').length >= {}",
                before.len()
            ),
        )
        .await;
    // A second message's answer proves the replay is over; then nothing is doubled.
    customer.click(".idw-launcher").await;
    let last = max_seq(&customer).await;
    say(&customer, "입금은 얼마나 걸려요?").await;
    wait_reply_after(&customer, last).await;
    let after = bubbles(&customer).await;
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "history restored in order"
    );
    let mut seqs: Vec<i64> = after.iter().map(|x| x.0).collect();
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), after.len(), "no duplicate bubbles: {after:?}");
    let asked = after
        .iter()
        .filter(|x| x.2.contains("출금 수수료가 얼마예요?"))
        .count();
    assert_eq!(asked, 1, "the first question once: {after:?}");

    // Restart the server on the same address and data: the widget reconnects by itself.
    let last = max_seq(&customer).await;
    let server = server.restart(dir.path()).await;
    customer
        .until(
            "reconnected",
            "document.querySelector('.idw-root:not(.idw-offline)')",
        )
        .await;
    say(&customer, "비밀번호를 잊어버렸어요").await;
    let (seq, _, text) = wait_reply_after(&customer, last).await;
    assert!(seq > last && !text.is_empty());
    let all = bubbles(&customer).await;
    let mut seqs: Vec<i64> = all.iter().map(|x| x.0).collect();
    seqs.sort();
    seqs.dedup();
    assert_eq!(
        seqs.len(),
        all.len(),
        "no duplicates after the restart: {all:?}"
    );
    assert_eq!(
        all.iter()
            .filter(|x| x.2.contains("비밀번호를 잊어버렸어요"))
            .count(),
        1
    );
    customer.close().await;
    server.stop().await;
}

/// A supervisor posts an incident notice from the workspace form (missing languages named,
/// the list with its counters), and a customer sees it as the widget's banner in Korean;
/// axe-core on both, screenshots of both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_posts_a_notice_and_the_widget_shows_the_banner() {
    let driver = DriverLease::acquire().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(state(dir.path()).await).await;
    let base = format!("http://{}", server.addr);

    let lead = Browser::open(&driver).await;
    agent_sign_in(&lead, &base, MINA.1).await;
    lead.click("#notices-toggle").await;
    lead.until(
        "the intents",
        "document.querySelectorAll('#n-intents option').length > 10",
    )
    .await;
    lead.click("#n-intents option[value='withdrawal_delayed']")
        .await;
    lead.type_into("#n-coins", "ETH").await;
    lead.type_into("#n-networks", "ERC-20").await;
    lead.js("document.querySelector('#n-severity').value = 'high'; return true")
        .await;
    let ko = "ETH(ERC-20) 출금이 네트워크 혼잡으로 지연되고 있습니다. 15시까지 순차 처리됩니다.";
    lead.type_into("#n-text-ko", ko).await;
    let missing = lead
        .until(
            "the missing languages",
            "document.querySelector('#n-missing').innerText",
        )
        .await;
    assert!(missing.as_str().unwrap().contains("English"), "{missing}");
    lead.type_into("#n-text-en", "ETH (ERC-20) withdrawals are delayed by network congestion. They will be processed by 15:00.").await;
    let missing = lead.until("Chinese and Japanese missing", "document.querySelector('#n-missing').innerText.includes('read the English') && document.querySelector('#n-missing').innerText").await;
    assert!(
        missing.as_str().unwrap().contains("Chinese, Japanese"),
        "{missing}"
    );
    lead.click("#n-submit").await;
    lead.until(
        "the posted notice in the list",
        "document.querySelector('#n-list [data-notice=\"N-000001\"]')",
    )
    .await;
    let item = lead
        .until(
            "its counters",
            "document.querySelector('#n-list [data-notice=\"N-000001\"]').innerText",
        )
        .await;
    assert!(item.as_str().unwrap().contains("answered 0"), "{item}");
    assert!(item.as_str().unwrap().contains("missing: zh, ja"), "{item}");
    axe(&lead, "the agent workspace with the notices form").await;
    screenshot(&lead, "notices-form", 1280).await;

    let customer = Browser::open(&driver).await;
    open_widget(&customer, &base).await;
    let banner = customer
        .until(
            "the banner",
            "document.querySelector('.idw-banner:not([hidden])')?.innerText",
        )
        .await;
    assert!(banner.as_str().unwrap().contains(ko), "{banner}");
    let live = customer
        .js("return document.querySelector('.idw-banner').getAttribute('aria-live')")
        .await;
    assert_eq!(live, "polite");
    axe(&customer, "the widget with the incident banner").await;
    screenshot(&customer, "widget-banner", 1280).await;

    lead.close().await;
    customer.close().await;
    server.stop().await;
}
