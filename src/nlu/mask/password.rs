//! Passwords: the value after a password word in four languages, labelled (`pw: X`) or in
//! context ("my usual pass X", "비번 X", "パスワードはX").

use std::sync::LazyLock;

use regex::Regex;

use super::super::scan::{is_alnum, next_char};
use super::{SecretKind, Span, is_whole_word};

static PASSWORD_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)password|passwd|passcode|pwd|pw|pass|비밀\s*번호|비번|패스워드|암호|密码|密碼|口令|パスワード|暗証コード",
    )
    .expect("valid regex")
});
/// What may stand between a password label and its value; explicit parts (":", "是", "は",
/// quotes) make the value certain even when it looks like a word.
static PASSWORD_CONNECTOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:\s+|[:：=＝]|->|是|为|為|は|「|『|“|‘|'|\x22|(?:is|was|now|to|of)(?-u:\b)|는|은|이|가|를|을|요)*",
    )
    .expect("valid regex")
});
static PASSWORD_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\x21-\x7E]+").expect("valid regex"));
static EMAIL_LIKE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$").expect("valid regex"));

/// Words that follow "password" in ordinary talk about passwords, not as the password.
const NOT_A_PASSWORD: &[&str] = &[
    "reset",
    "changed",
    "change",
    "forgot",
    "forgotten",
    "wrong",
    "incorrect",
    "expired",
    "not",
    "none",
    "required",
    "needed",
    "correct",
    "same",
    "different",
    "again",
    "please",
    "help",
    "error",
    "issue",
    "problem",
    "manager",
    "field",
    "recovery",
    "policy",
    "twice",
    "locked",
];

/// How far after a password word a value given in context may be, in characters; it must also
/// be in the same sentence.
const CONTEXT_REACH: usize = 48;

/// Words of a sentence up to a password value given in context ("the new password I set (X)").
const CONTEXT_WORDS: usize = 6;

/// Network and token names that look like passwords (letters and digits) but are public.
static PUBLIC_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:[a-z]{2,6}[-_]?)?(?:erc|trc|bep|brc|spl|omni)[-_]?\d{1,3}$|^\d+(?:\.\d+)?[a-z]{1,5}$|^v?\d+(?:\.\d+)+$")
        .expect("valid regex")
});

pub(super) fn passwords(text: &str, out: &mut Vec<Span>) {
    for label in PASSWORD_LABEL.find_iter(text) {
        if !is_whole_word(text, label.start(), label.end()) {
            continue;
        }
        let rest = &text[label.end()..];
        if label.as_str().starts_with("암호") && rest.starts_with(['화', '문']) {
            continue; // 암호화폐 (cryptocurrency), 암호문
        }
        if label.as_str().is_ascii() && is_alnum(next_char(text, label.end())) {
            continue; // "pw9abc": glued, not a label ("パスワードmomo1234" is one)
        }
        let values = match labelled_value(text, label.as_str(), label.end()) {
            Some(value) => vec![value],
            None => values_in_context(text, label.end()),
        };
        let before = value_before_label(text, label.start());
        for (start, end) in values.into_iter().chain(before) {
            out.push(Span {
                start,
                end,
                kind: SecretKind::Password,
            });
        }
    }
}

/// A value given just before a password word ("mikan!0303 ←これが今のパスワードです", "X is my
/// password").
static VALUE_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)([\x21-\x7E]+)\s*(?:←|<-|<--|=|:)?\s*(?:(?:is|was|my|the|current|new|old|usual)\s+)*[^\x21-\x7E]{0,8}$",
    )
    .expect("valid regex")
});

fn value_before_label(text: &str, label_start: usize) -> Option<(usize, usize)> {
    let head = super::super::scan::before(text, label_start, 40);
    let head_start = label_start - head.len();
    let value = VALUE_BEFORE.captures(head)?.get(1)?;
    let trimmed = value.as_str().trim_end_matches(CLOSING);
    let lead = trimmed.len() - trimmed.trim_start_matches(OPENING).len();
    looks_like_password(&trimmed[lead..]).then(|| {
        let start = head_start + value.start() + lead;
        (start, head_start + value.start() + trimmed.len())
    })
}

/// Words of typing a value ("I typed X", "입력했는데", "输入", "入力").
static TYPED_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:typed|entered|input)(?-u:\b)").expect("valid regex")
});

/// A typed value shaped like a strong password (letters, digits and a symbol): "i typed
/// Passw0rd! like 10 times".
pub(super) fn typed_passwords(text: &str, out: &mut Vec<Span>) {
    for word in TYPED_WORD.find_iter(text) {
        let rest = &text[word.end()..];
        let Some(value) = PASSWORD_VALUE_ANYWHERE.find(rest) else {
            continue;
        };
        if !rest[..value.start()].trim().is_empty() {
            continue;
        }
        let v = value.as_str().trim_end_matches(CLOSING);
        let strong =
            v.bytes().any(|b| b.is_ascii_digit()) && v.bytes().any(|b| b.is_ascii_punctuation());
        if strong && looks_like_password(v) {
            let start = word.end() + value.start();
            out.push(Span {
                start,
                end: start + v.len(),
                kind: SecretKind::Password,
            });
        }
    }
}

/// A login given as "user / password" after a login word ("login with mina.k / Sunny#77").
static LOGIN_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:log\s*-?in|sign\s*-?in|credentials|로그인|登录|登錄|登入|ログイン)[^\n/]{0,24}?[\x21-\x2E\x30-\x7E]+\s*/\s*([\x21-\x7E]+)",
    )
    .expect("valid regex")
});

/// Passwords of a "user / password" login pair.
pub(super) fn login_pairs(text: &str, out: &mut Vec<Span>) {
    for caps in LOGIN_PAIR.captures_iter(text) {
        let Some(value) = caps.get(1) else { continue };
        let trimmed = value.as_str().trim_end_matches(CLOSING);
        if looks_like_password(trimmed) {
            out.push(Span {
                start: value.start(),
                end: value.start() + trimmed.len(),
                kind: SecretKind::Password,
            });
        }
    }
}

/// The value right after a password word and its connector ("pw: X", "password is X",
/// "비밀번호는 X", "パスワードは「X」").
fn labelled_value(text: &str, label: &str, label_end: usize) -> Option<(usize, usize)> {
    let rest = &text[label_end..];
    let connector = PASSWORD_CONNECTOR.find(rest).map_or("", |m| m.as_str());
    let skipped = connector.len();
    let explicit = connector.contains([
        ':', '：', '=', '＝', '>', '是', '为', '為', 'は', '「', '『', '“', '‘', '\'', '"',
    ]);
    if label.eq_ignore_ascii_case("pass") && !explicit {
        return None;
    }
    let value = PASSWORD_VALUE.find(&rest[skipped..])?;
    let trimmed = value
        .as_str()
        .trim_end_matches(['.', ',', ';', ':', ')', '"', '\'', '」', '』']);
    let len = trimmed.chars().count();
    let has_digit_or_symbol = trimmed.chars().any(|c| !c.is_ascii_alphabetic());
    let lower = trimmed.to_ascii_lowercase();
    let plausible = (4..=64).contains(&len)
        && (explicit || has_digit_or_symbol)
        && !NOT_A_PASSWORD.contains(&lower.as_str())
        && !trimmed.starts_with("[masked:")
        && !trimmed.contains("://")
        && !EMAIL_LIKE.is_match(trimmed);
    let start = label_end + skipped;
    plausible.then_some((start, start + trimmed.len()))
}

/// A value that only its shape marks as a password, among the next few words of the sentence
/// after a password word: "my usual pass X", "the new password I set (X)", "I typed X as the
/// password". The shape: 6–64 printable ASCII characters with a letter and a digit or symbol,
/// not a URL, e-mail address, network name, amount or version, not an address or hash (25+
/// letters and digits only).
fn values_in_context(text: &str, label_end: usize) -> Vec<(usize, usize)> {
    let reach = super::super::scan::after(text, label_end, CONTEXT_REACH);
    // A sentence ends at a full stop, question or exclamation mark followed by a space (not
    // inside a value: "v1.2", "a!#A~0a"), at a CJK one, or at a line break.
    let sentence_end = reach
        .char_indices()
        .find(|&(i, c)| {
            let spaced = super::super::scan::next_char(reach, i + c.len_utf8())
                .is_none_or(char::is_whitespace);
            let ellipsis = c == '.' && i > 0 && reach.as_bytes()[i - 1] == b'.';
            "。？！\n".contains(c) || (".?!".contains(c) && spaced && !ellipsis)
        })
        .map_or(reach.len(), |(i, _)| i);
    let sentence = &reach[..sentence_end];
    // A masked value after the label means the label's value is already masked.
    let unmasked = &sentence[..sentence.find(super::BLANK).unwrap_or(sentence.len())];
    PASSWORD_VALUE_ANYWHERE
        .find_iter(unmasked)
        .take(CONTEXT_WORDS)
        .filter_map(|word| {
            let lead = word.as_str().len() - word.as_str().trim_start_matches(OPENING).len();
            let value = word.as_str()[lead..].trim_end_matches(CLOSING);
            looks_like_password(value).then(|| {
                let start = label_end + word.start() + lead;
                (start, start + value.len())
            })
        })
        .collect()
}

/// Brackets and quotes before a value given in context.
const OPENING: &[char] = &['(', '[', '{', '"', '\'', '`', '「', '『', '“', '‘'];
/// Brackets, quotes and punctuation after a value given in context ("!" often ends a password).
const CLOSING: &[char] = &[
    ')', ']', '}', '"', '\'', '`', '.', ',', ';', ':', '?', '」', '』', '”', '’',
];

static PASSWORD_VALUE_ANYWHERE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\x21-\x7E]+").expect("valid regex"));

fn looks_like_password(value: &str) -> bool {
    let len = value.len();
    let letter = value.bytes().any(|b| b.is_ascii_alphabetic());
    let digit_or_symbol = value.bytes().any(|b| !b.is_ascii_alphabetic());
    let hash_like = len >= 25 && value.bytes().all(|b| b.is_ascii_alphanumeric());
    (6..=64).contains(&len)
        && letter
        && digit_or_symbol
        && !hash_like
        && !value.starts_with("[masked:")
        && !value.contains("://")
        && !EMAIL_LIKE.is_match(value)
        && !PUBLIC_TOKEN.is_match(value)
}
