//! Private keys and API secrets: labelled 64-digit hex keys, WIF keys, base58 keys of a
//! Solana/Phantom export (87–88 characters) unless introduced as a transaction, signature or
//! TXID, and exchange API secrets (long mixed-case strings no address or hash alphabet allows).

use std::sync::LazyLock;

use regex::Regex;

use super::super::scan::{after, alnum_runs, before, is_base58, is_hex};
use super::{LABEL_REACH, SecretKind, Span};

static PRIVATE_KEY_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)key(?-u:\b)|private[\s_-]*key|priv[\s_-]*key|secret[\s_-]*key|개인\s*키|비공개\s*키|프라이빗\s*키|비밀\s*키|私钥|私鑰|秘密鍵|秘密キー|プライベートキー",
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
        r"(?i)(?-u:\b)(?:tx|txn|txid|txhash|sig)(?-u:\b)|transaction|signature|hash|트랜잭션|트잭|시그니처|시그니쳐|シグネチャ|シグニチャ|거래\s*(?:id|아이디|해시|번호)|해시|서명|交易|哈希|签名|簽名|トランザクション|取引\s*(?:id|ハッシュ)|ハッシュ|署名",
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

/// How many characters may stand between a key and the label after it ("X\nthat's the raw
/// private key").
const KEY_BEFORE_LABEL: usize = 24;

/// Words that deny what follows ("X 这个是我的转账记录，不是私钥", "秘密鍵じゃないです").
static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:not|isn't|isnt|never)(?-u:\b)|不是|並不是|并不是|非|아니|아닌|じゃな|ではな|でもな").expect("valid regex")
});

/// True when the text between a key label and a long run says the run is something else: the
/// label's own value stands (masked) before it ("私钥：[masked]，交易哈希 0x…"), or a transaction
/// word introduces the run ("private key …, and the tx hash is 0x…").
fn names_another_value(between: &str) -> bool {
    between.contains(super::BLANK) || TRANSACTION_WORD.is_match(between)
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
        && !is_labelled_hash(run)
}

/// A mixed-case letters-and-digits string after an API-secret label.
fn is_labelled_secret(run: &str) -> bool {
    let has = |f: fn(&u8) -> bool| run.as_bytes().iter().any(f);
    let mixed_case = has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase);
    // Some exchanges issue secrets as 64 hex digits.
    let hex_secret = run.len() == 64 && is_hex(run);
    LABELLED_SECRET_LEN.contains(&run.len())
        && has(u8::is_ascii_digit)
        && (mixed_case || hex_secret)
}

/// A hash with its label glued on ("TXIDca61…", "txhash0x…"): a transaction id, not a secret.
fn is_labelled_hash(run: &str) -> bool {
    let lower = run.to_ascii_lowercase();
    ["txid", "txhash", "hash", "tx"].iter().any(|label| {
        lower.strip_prefix(label).is_some_and(|rest| {
            let hex = rest.strip_prefix("0x").unwrap_or(rest);
            hex.len() == 64 && is_hex(hex)
        })
    })
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
            && !names_another_value(&tail[..run.start])
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
            && !names_another_value(&tail[..run.start])
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
            && head[run.end..].chars().count() <= KEY_BEFORE_LABEL
            && !head[run.end..].chars().any(|c| c.is_ascii_digit())
            && !NEGATION.is_match(&head[run.end..])
            && !introduced_as_transaction(text, head_start + run.start, head_start + run.end)
        {
            out.push(Span {
                start: head_start + run.start,
                end: head_start + run.end,
                kind: SecretKind::PrivateKey,
            });
        }
    }
    // In a message about a private key that names no transaction, every 64-digit hex string
    // is a key ("import failed for key X and also for the other one Y").
    let about_a_private_key = PRIVATE_KEY_LABEL.find_iter(text).any(|label| {
        let api = before(text, label.start(), 5).to_ascii_lowercase();
        !(label.as_str().eq_ignore_ascii_case("key") && api.trim_end().ends_with("api"))
    });
    if about_a_private_key && !TRANSACTION_WORD.is_match(text) {
        for run in alnum_runs(text).filter(|r| is_hex_key(&text[r.clone()])) {
            out.push(Span {
                start: run.start,
                end: run.end,
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
