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
        if is_alnum(next_char(text, label.end())) {
            continue; // "pw9abc": glued, not a label
        }
        let value = labelled_value(text, label.as_str(), label.end())
            .or_else(|| value_in_context(text, label.end()));
        if let Some((start, end)) = value {
            out.push(Span {
                start,
                end,
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
fn value_in_context(text: &str, label_end: usize) -> Option<(usize, usize)> {
    let reach = super::super::scan::after(text, label_end, CONTEXT_REACH);
    // A sentence ends at a full stop, question or exclamation mark followed by a space (not
    // inside a value: "v1.2", "a!#A~0a"), at a CJK one, or at a line break.
    let sentence_end = reach
        .char_indices()
        .find(|&(i, c)| {
            let spaced = super::super::scan::next_char(reach, i + c.len_utf8())
                .is_none_or(char::is_whitespace);
            "。？！\n".contains(c) || (".?!".contains(c) && spaced)
        })
        .map_or(reach.len(), |(i, _)| i);
    let sentence = &reach[..sentence_end];
    // A masked value after the label means the label's value is already masked.
    let unmasked = &sentence[..sentence.find(super::BLANK).unwrap_or(sentence.len())];
    PASSWORD_VALUE_ANYWHERE
        .find_iter(unmasked)
        .take(CONTEXT_WORDS)
        .find_map(|word| {
            let lead = word.as_str().len() - word.as_str().trim_start_matches(OPENING).len();
            let value = word.as_str()[lead..].trim_end_matches(CLOSING);
            looks_like_password(value).then(|| {
                let start = label_end + word.start() + lead;
                (start, start + value.len())
            })
        })
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
