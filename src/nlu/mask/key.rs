//! Private keys and API secrets: labelled 64-digit hex keys, WIF keys, base58 keys of a
//! Solana/Phantom export (87–88 characters) unless introduced as a transaction, signature or
//! TXID, and exchange API secrets (long mixed-case strings no address or hash alphabet allows).

use std::sync::LazyLock;

use regex::Regex;

use super::super::scan::{after, alnum_runs, before, is_base58, is_hex};
use super::{LABEL_REACH, SecretKind, Span};

static PRIVATE_KEY_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)key(?-u:\b)|private[\s_-]*key|priv[\s_-]*key|secret[\s_-]*key|개인\s*키|프라이빗\s*키|비밀\s*키|私钥|私鑰|秘密鍵|秘密キー|プライベートキー",
    )
    .expect("valid regex")
});

fn is_hex_key(run: &str) -> bool {
    let hex = run
        .strip_prefix("0x")
        .or_else(|| run.strip_prefix("0X"))
        .unwrap_or(run);
    hex.len() == 64 && is_hex(hex)
}

/// Words that introduce a public transaction identifier of the same shape as a Solana/Phantom
/// key (a base58 signature): transaction, signature, TXID, hash, an explorer's `/tx/` path.
static TRANSACTION_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(?:tx|txn|txid|txhash|sig)(?-u:\b)|transaction|signature|hash|트랜잭션|트잭|거래\s*(?:id|아이디|해시|번호)|해시|서명|交易|哈希|签名|簽名|トランザクション|取引\s*(?:id|ハッシュ)|ハッシュ|署名",
    )
    .expect("valid regex")
});

/// A base58 string of 87–88 characters: a 64-byte Solana keypair as Phantom exports it, or a
/// transaction signature, which has the same shape.
fn is_base58_64_bytes(run: &str) -> bool {
    (87..=88).contains(&run.len()) && is_base58(run)
}

/// True when the base58 run at `start..end` is introduced as a transaction (a transaction word
/// before it with no key label after that word, or right after it: "X is the signature").
fn introduced_as_transaction(text: &str, start: usize, end: usize) -> bool {
    let head = before(text, start, LABEL_REACH);
    let last_tx = TRANSACTION_WORD.find_iter(head).last().map(|m| m.end());
    let last_key = PRIVATE_KEY_LABEL.find_iter(head).last().map(|m| m.end());
    match (last_tx, last_key) {
        (Some(tx), key) if key.is_none_or(|k| k < tx) => return true,
        (_, Some(_)) => return false,
        _ => {}
    }
    let tail = after(text, end, 24);
    TRANSACTION_WORD
        .find(tail)
        .is_some_and(|m| !PRIVATE_KEY_LABEL.is_match(&tail[..m.start()]))
}

/// A WIF private key: `5` + 50 base58 characters, or `K`/`L` + 51.
fn is_wif(run: &str) -> bool {
    let ok_len = match run.as_bytes().first() {
        Some(b'5') => run.len() == 51,
        Some(b'K' | b'L') => run.len() == 52,
        _ => false,
    };
    ok_len && is_base58(run)
}

/// Words that introduce an API secret ("API secret", "secret", "시크릿", "API密钥", "シークレット").
static API_SECRET_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)secret|api\s*key|시크릿|密钥|密鑰|シークレット").expect("valid regex")
});

/// Letters and digits of an API secret given after its label.
const LABELLED_SECRET_LEN: std::ops::RangeFrom<usize> = 20..;

/// An API secret by its shape alone: 32 or more ASCII letters and digits with upper case, lower case
/// and a digit, holding a character that base58 (and so every Bitcoin, Solana or Tron address
/// and signature) leaves out (`0`, `O`, `I`, `l`), and not hex (hashes, Ethereum addresses).
fn is_api_secret_shape(run: &str) -> bool {
    let has = |f: fn(&u8) -> bool| run.as_bytes().iter().any(f);
    run.len() >= 32
        && has(u8::is_ascii_uppercase)
        && has(u8::is_ascii_lowercase)
        && has(u8::is_ascii_digit)
        && !is_base58(run)
        && !is_hex(run.strip_prefix("0x").unwrap_or(run))
}

/// A mixed-case letters-and-digits string after an API-secret label.
fn is_labelled_secret(run: &str) -> bool {
    let has = |f: fn(&u8) -> bool| run.as_bytes().iter().any(f);
    LABELLED_SECRET_LEN.contains(&run.len())
        && has(u8::is_ascii_uppercase)
        && has(u8::is_ascii_lowercase)
        && has(u8::is_ascii_digit)
}

/// API secrets: by shape anywhere, and after an API-secret label.
pub(super) fn api_secrets(text: &str, out: &mut Vec<Span>) {
    let span = |start, end| Span {
        start,
        end,
        kind: SecretKind::ApiSecret,
    };
    for label in API_SECRET_LABEL.find_iter(text) {
        let reach = after(text, label.end(), LABEL_REACH).len();
        let tail = &text[label.end()..];
        if let Some(run) = alnum_runs(tail)
            .take_while(|r| r.start < reach)
            .find(|r| is_labelled_secret(&tail[r.clone()]))
        {
            out.push(span(label.end() + run.start, label.end() + run.end));
        }
    }
    for run in alnum_runs(text) {
        if is_api_secret_shape(&text[run.clone()]) {
            out.push(span(run.start, run.end));
        }
    }
}

pub(super) fn private_keys(text: &str, out: &mut Vec<Span>) {
    let is_key = |run: &str| is_hex_key(run) || is_wif(run) || is_base58_64_bytes(run);
    for label in PRIVATE_KEY_LABEL.find_iter(text) {
        // "private key: <key>"
        let reach = after(text, label.end(), LABEL_REACH).len();
        let tail = &text[label.end()..];
        let next_long_run = alnum_runs(tail)
            .take_while(|r| r.start < reach)
            .find(|r| r.len() >= 32);
        if let Some(run) = next_long_run
            && is_key(&tail[run.clone()])
        {
            out.push(Span {
                start: label.end() + run.start,
                end: label.end() + run.end,
                kind: SecretKind::PrivateKey,
            });
        }
        // "<key> is my private key"
        let head = before(text, label.start(), 120);
        let head_start = label.start() - head.len();
        if let Some(run) = alnum_runs(head).filter(|r| r.len() >= 51).last()
            && is_key(&head[run.clone()])
            && head[run.end..].chars().count() <= 12
            && !head[run.end..].chars().any(|c| c.is_ascii_digit())
        {
            out.push(Span {
                start: head_start + run.start,
                end: head_start + run.end,
                kind: SecretKind::PrivateKey,
            });
        }
    }
    // WIF keys are secret whatever their label; a 64-byte base58 string unless it is introduced
    // as a transaction.
    for run in alnum_runs(text) {
        let word = &text[run.clone()];
        if is_wif(word)
            || (is_base58_64_bytes(word) && !introduced_as_transaction(text, run.start, run.end))
        {
            out.push(Span {
                start: run.start,
                end: run.end,
                kind: SecretKind::PrivateKey,
            });
        }
    }
}
