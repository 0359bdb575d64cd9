//! Masking of secrets (passwords, OTP codes, seed phrases, private keys, card numbers, Korean
//! resident registration numbers, bank PINs) before a message is stored or shown to a model.
//!
//! Each secret is replaced by `[masked:<kind>]`. Public identifiers (TXIDs, addresses, amounts,
//! order and ticket ids, dates, phone numbers, e-mail addresses) are left untouched.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::scan::{
    after, alnum_runs, before, char_after_next, compose, is_alnum, is_base58, is_digit, is_hex,
    next_char, prev_char, runs,
};

/// The kind of a masked secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// A password given after a label ("pw: ...", "비밀번호는 ...").
    Password,
    /// A one-time / verification code.
    OtpCode,
    /// A BIP-39 mnemonic.
    SeedPhrase,
    /// A private key (labelled hex, or WIF).
    PrivateKey,
    /// A payment card number passing the Luhn check.
    CardNumber,
    /// A Korean resident registration number passing its checksum.
    ResidentNumber,
    /// A bank or card PIN.
    BankPin,
}

impl SecretKind {
    /// The snake_case name used in the placeholder `[masked:<name>]`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SecretKind::Password => "password",
            SecretKind::OtpCode => "otp_code",
            SecretKind::SeedPhrase => "seed_phrase",
            SecretKind::PrivateKey => "private_key",
            SecretKind::CardNumber => "card_number",
            SecretKind::ResidentNumber => "resident_number",
            SecretKind::BankPin => "bank_pin",
        }
    }
}

/// A message with its secrets replaced by placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Masked {
    /// The text with every secret replaced by `[masked:<kind>]`.
    pub text: String,
    /// The kinds of secret found, distinct, in the order they appear in the text.
    pub secrets: Vec<SecretKind>,
}

/// A secret found at `start..end` (byte offsets).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    kind: SecretKind,
}

/// Masks every secret in `text`.
pub fn mask(text: &str) -> Masked {
    // Finders run in priority order: a later span overlapping an earlier one is dropped.
    // Accepted spans never overlap, so ordered by start they are ordered by end too.
    let mut accepted: BTreeMap<usize, Span> = BTreeMap::new();
    let finders: [fn(&str, &mut Vec<Span>); 7] = [
        seed_phrases,
        private_keys,
        resident_numbers,
        card_numbers,
        bank_pins,
        otp_codes,
        passwords,
    ];
    let mut found = Vec::new();
    for find in finders {
        found.clear();
        find(text, &mut found);
        for span in &found {
            let overlaps = accepted
                .range(..span.end)
                .next_back()
                .is_some_and(|(_, s)| s.end > span.start);
            if span.start < span.end && !overlaps {
                accepted.insert(span.start, *span);
            }
        }
    }

    let mut out = String::with_capacity(text.len());
    let mut secrets = Vec::new();
    let mut pos = 0;
    for span in accepted.values() {
        out.push_str(&text[pos..span.start]);
        out.push_str("[masked:");
        out.push_str(span.kind.as_str());
        out.push(']');
        pos = span.end;
        if !secrets.contains(&span.kind) {
            secrets.push(span.kind);
        }
    }
    out.push_str(&text[pos..]);
    Masked { text: out, secrets }
}

// ---------------------------------------------------------------------------------------------
// Seed phrases

/// Word counts of a BIP-39 mnemonic; a run of at least the smallest is masked whole.
const MIN_SEED_WORDS: usize = 12;

static ENGLISH_WORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    bip39::Language::English
        .word_list()
        .iter()
        .copied()
        .collect()
});
static KOREAN_WORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    bip39::Language::Korean
        .word_list()
        .iter()
        .map(|w| compose(w))
        .collect()
});
static JAPANESE_WORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    bip39::Language::Japanese
        .word_list()
        .iter()
        .map(|w| compose(w))
        .collect()
});
static CHINESE_CHARS: LazyLock<HashSet<char>> = LazyLock::new(|| {
    [
        bip39::Language::SimplifiedChinese,
        bip39::Language::TraditionalChinese,
    ]
    .iter()
    .flat_map(|l| l.word_list().iter())
    .flat_map(|w| w.chars())
    .collect()
});

static SEED_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)seed(?:\s*phrase)?|mnemonic|recovery\s*phrase|secret\s*phrase|backup\s*phrase|시드(?:\s*구문|\s*문구)?|니모닉|복구\s*구문|복구\s*단어|비밀\s*복구\s*구문|助记词|助記詞|种子|種子|恢复短语|恢復短語|シードフレーズ|シード|リカバリーフレーズ|復元フレーズ|ニーモニック",
    )
    .expect("valid regex")
});

/// True when the text between two mnemonic words is only spacing, punctuation or a list number
/// ("abandon, ability", "1. abandon 2. ability", one word a line).
fn is_seed_separator(sep: &str) -> bool {
    sep.chars().count() <= 10
        && sep.chars().filter(char::is_ascii_digit).count() <= 2
        && sep
            .chars()
            .all(|c| c.is_whitespace() || c.is_ascii_digit() || ",;.:)(-/|\"'、，。・".contains(c))
}

/// List words that also label a mnemonic ("recovery phrase: ..."): not part of the secret when
/// they lead a run that is longer than a mnemonic.
const LABEL_WORDS_IN_LIST: &[&str] = &[
    "phrase", "word", "key", "secret", "seed", "recovery", "backup",
];

/// Finds runs of at least [`MIN_SEED_WORDS`] words of one list, separated by seed separators.
fn word_runs(
    text: &str,
    words: impl Iterator<Item = Range<usize>>,
    in_list: impl Fn(&str) -> bool,
    out: &mut Vec<Span>,
) {
    let mut run: Vec<Range<usize>> = Vec::new();
    let mut flush = |run: &mut Vec<Range<usize>>| {
        let mut first = 0;
        while run.len() - first > MIN_SEED_WORDS
            && LABEL_WORDS_IN_LIST
                .iter()
                .any(|w| text[run[first].clone()].eq_ignore_ascii_case(w))
        {
            first += 1;
        }
        if run.len() - first >= MIN_SEED_WORDS {
            out.push(Span {
                start: run[first].start,
                end: run[run.len() - 1].end,
                kind: SecretKind::SeedPhrase,
            });
        }
        run.clear();
    };
    for word in words {
        if !in_list(&text[word.clone()]) {
            flush(&mut run);
            continue;
        }
        let continues = run
            .last()
            .is_some_and(|last| is_seed_separator(&text[last.end..word.start]));
        if !continues {
            flush(&mut run);
        }
        run.push(word);
    }
    flush(&mut run);
}

/// Characters typical of a Chinese sentence; a real mnemonic rarely has more than one of them.
const CHINESE_SENTENCE_CHARS: &str = "我你吗么呢什怎这那哪吧啊";

/// A Chinese mnemonic starting at `pos`: 12+ list characters, space-separated, or exactly
/// 12/15/18/21/24 in a row that do not read like a sentence.
fn chinese_run_at(text: &str, pos: usize) -> Option<(usize, usize)> {
    let rest = text.get(pos..)?;
    let mut count = 0;
    let mut end = pos;
    // Decided by the first gap: one character a word (separated) or all in a row.
    let mut separated: Option<bool> = None;
    let mut sentence_chars = 0;
    let mut gap = 0;
    for (i, c) in rest.char_indices() {
        if CHINESE_CHARS.contains(&c) {
            if count > 0 {
                let this_separated = gap > 0;
                if *separated.get_or_insert(this_separated) != this_separated {
                    break;
                }
            }
            count += 1;
            if count > 24 {
                return None; // longer than any mnemonic
            }
            end = pos + i + c.len_utf8();
            gap = 0;
            if CHINESE_SENTENCE_CHARS.contains(c) {
                sentence_chars += 1;
            }
        } else if (c.is_whitespace() || ",，、".contains(c))
            && gap < 3
            && count > 0
            && separated != Some(false)
        {
            gap += 1;
        } else {
            break;
        }
    }
    let separated = separated.unwrap_or(false);
    let ok = if separated {
        count >= MIN_SEED_WORDS
    } else {
        [12, 15, 18, 21, 24].contains(&count) && sentence_chars <= 1
    };
    ok.then_some((pos, end))
}

fn seed_phrases(text: &str, out: &mut Vec<Span>) {
    let in_english = |w: &str| {
        w.len() <= 8
            && if w.bytes().any(|b| b.is_ascii_uppercase()) {
                ENGLISH_WORDS.contains(w.to_ascii_lowercase().as_str())
            } else {
                ENGLISH_WORDS.contains(w)
            }
    };
    // Composing is only needed for text typed decomposed (NFD).
    let in_list = |list: &HashSet<String>, w: &str| {
        if w.chars()
            .any(|c| matches!(c, '\u{1100}'..='\u{11FF}' | '\u{3099}' | '\u{309A}'))
        {
            list.contains(&compose(w))
        } else {
            list.contains(w)
        }
    };
    let hangul = |c: char| matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}');
    let hiragana = |c: char| matches!(c, '\u{3041}'..='\u{309F}');
    word_runs(
        text,
        runs(text, |c| c.is_ascii_alphabetic()),
        in_english,
        out,
    );
    word_runs(text, runs(text, hangul), |w| in_list(&KOREAN_WORDS, w), out);
    word_runs(
        text,
        runs(text, hiragana),
        |w| in_list(&JAPANESE_WORDS, w),
        out,
    );
    // Chinese words are single characters, frequent in any Chinese text: require a label.
    for label in SEED_LABEL.find_iter(text) {
        let skip = |s: &str| {
            s.find(|c: char| !(c.is_whitespace() || ":：=\"'「『“".contains(c)))
                .unwrap_or(s.len())
        };
        let p0 = label.end() + skip(&text[label.end()..]);
        let rest = &text[p0..];
        // "助记词是 ...": try after the copula first, then with it (it may be the first word).
        let after_copula = ["是", "为", "為", "如下"]
            .iter()
            .find(|c| rest.starts_with(**c))
            .map(|copula| {
                let p1 = p0 + copula.len();
                p1 + skip(&text[p1..])
            });
        let found = after_copula
            .and_then(|p1| chinese_run_at(text, p1))
            .or_else(|| chinese_run_at(text, p0));
        if let Some((start, end)) = found {
            out.push(Span {
                start,
                end,
                kind: SecretKind::SeedPhrase,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Private keys

static PRIVATE_KEY_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)private[\s_-]*key|priv[\s_-]*key|secret[\s_-]*key|개인\s*키|프라이빗\s*키|비밀\s*키|私钥|私鑰|秘密鍵|秘密キー|プライベートキー",
    )
    .expect("valid regex")
});

/// How far after a label its value may start, in characters.
const LABEL_REACH: usize = 40;

fn is_hex_key(run: &str) -> bool {
    let hex = run
        .strip_prefix("0x")
        .or_else(|| run.strip_prefix("0X"))
        .unwrap_or(run);
    hex.len() == 64 && is_hex(hex)
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

fn private_keys(text: &str, out: &mut Vec<Span>) {
    let is_key = |run: &str| is_hex_key(run) || is_wif(run);
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
    // WIF keys are secret whatever their label.
    for run in alnum_runs(text) {
        if is_wif(&text[run.clone()]) {
            out.push(Span {
                start: run.start,
                end: run.end,
                kind: SecretKind::PrivateKey,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers: resident registration numbers, cards, PINs, OTP codes

/// Digit groups joined by single spaces or dashes ("4111 1111 1111 1111", "900101-1234568").
static DIGIT_GROUPS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]+(?:[ \-][0-9]+)*").expect("valid regex"));
/// A number as written: digit groups joined by separators that make it a date, time, amount...
static NUMBER_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]+(?:[\-.,:/][0-9]+)*").expect("valid regex"));

/// True when a number starting at `start` and ending at `end` stands alone: not glued to letters
/// or digits, not a ticket (`#`), phone (`+`) or money (`$`, `₩`) number, not a decimal.
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let before_c = prev_char(text, start);
    let after_c = next_char(text, end);
    let glued_before =
        is_alnum(before_c) || matches!(before_c, Some('#' | '+' | '$' | '₩' | '¥' | '€'));
    let decimal_before = matches!(before_c, Some('.' | ',' | '-' | ':' | '/'))
        && is_digit(prev_char(text, start - before_c.map_or(0, char::len_utf8)));
    let decimal_after = matches!(after_c, Some('.' | ',' | '-' | ':' | '/'))
        && is_digit(char_after_next(text, end));
    !glued_before && !is_alnum(after_c) && !decimal_before && !decimal_after
}

fn digits_of(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

/// Validates a Korean resident registration number (13 digits): date part, gender digit,
/// checksum with weights 2,3,4,5,6,7,8,9,2,3,4,5.
pub(crate) fn is_resident_number(d: &[u8]) -> bool {
    if d.len() != 13 {
        return false;
    }
    let month = d[2] * 10 + d[3];
    let day = d[4] * 10 + d[5];
    let max_day = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => 29,
        _ => return false,
    };
    if day == 0 || day > max_day || !(1..=8).contains(&d[6]) {
        return false;
    }
    const WEIGHTS: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = d.iter().zip(WEIGHTS).map(|(&x, w)| u32::from(x) * w).sum();
    (11 - sum % 11) % 10 == u32::from(d[12])
}

/// The Luhn check used by payment cards.
pub(crate) fn passes_luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                if x * 2 > 9 { x * 2 - 9 } else { x * 2 }
            } else {
                x
            }
        })
        .sum();
    !d.is_empty() && sum.is_multiple_of(10)
}

static RRN_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)주민\s*(?:등록\s*)?번호|주민번호|(?-u:\b)rrn(?-u:\b)|resident\s+(?:registration\s+)?number")
        .expect("valid regex")
});

/// A run of 1–5 digit groups cut out of a longer token ("5678 4111 1111 1111 1111").
struct Window {
    start: usize,
    end: usize,
    lens: [usize; 5],
    count: usize,
}

impl Window {
    fn lens(&self) -> &[usize] {
        &self.lens[..self.count]
    }
}

/// Runs of 1–5 digit groups inside a token of groups joined by spaces or dashes, all joined by
/// the same separator: the ways a card or resident number can be cut out of a longer token.
fn group_windows(token_start: usize, token: &str) -> Vec<Window> {
    let groups: Vec<Range<usize>> = runs(token, |c| c.is_ascii_digit()).collect();
    let mut windows = Vec::new();
    for i in 0..groups.len() {
        for count in (1..=5.min(groups.len() - i)).rev() {
            let window = &groups[i..i + count];
            let separator = |k: usize| token.as_bytes()[window[k].end];
            if (1..count - 1).any(|k| separator(k) != separator(0)) {
                continue;
            }
            let mut lens = [0; 5];
            for (len, group) in lens.iter_mut().zip(window) {
                *len = group.len();
            }
            windows.push(Window {
                start: token_start + window[0].start,
                end: token_start + window[count - 1].end,
                lens,
                count,
            });
        }
    }
    windows
}

fn resident_numbers(text: &str, out: &mut Vec<Span>) {
    for m in DIGIT_GROUPS.find_iter(text) {
        for Window { start, end, .. } in group_windows(m.start(), m.as_str())
            .into_iter()
            .filter(|w| matches!(w.lens(), [6, 7] | [13]))
        {
            let written = &text[start..end];
            let shaped = match written.len() {
                14 => written.contains('-'),
                13 => RRN_LABEL.is_match(before(text, start, 20)),
                _ => false,
            };
            if shaped && stands_alone(text, start, end) && is_resident_number(&digits_of(written)) {
                out.push(Span {
                    start,
                    end,
                    kind: SecretKind::ResidentNumber,
                });
            }
        }
    }
}

static NOT_A_CARD_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:order|ticket|case|withdraw[a-z]*|account|id|no\.)|주문|티켓|문의|출금|계좌|订单|訂單|注文|提币|提幣|出金|口座|账户|帳戶|번호")
        .expect("valid regex")
});
static CARD_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)card|카드|卡|カード").expect("valid regex"));

fn card_numbers(text: &str, out: &mut Vec<Span>) {
    for m in DIGIT_GROUPS.find_iter(text) {
        let mut covered = 0;
        for window in group_windows(m.start(), m.as_str()) {
            let (start, end) = (window.start, window.end);
            let total: usize = window.lens().iter().sum();
            if start < covered || !(13..=19).contains(&total) {
                continue;
            }
            let written = &text[start..end];
            let digits = digits_of(written);
            let grouped = match window.lens() {
                [_] | [4, 6, 4 | 5] => true,
                [init @ .., last] => init.iter().all(|&l| l == 4) && (1..=4).contains(last),
                [] => false,
            };
            let valid = grouped
                && matches!(digits[0], 2..=6 | 9)
                && stands_alone(text, start, end)
                && passes_luhn(&digits);
            if !valid {
                continue;
            }
            let context = before(text, start, 20);
            if NOT_A_CARD_LABEL.is_match(context) && !CARD_LABEL.is_match(context) {
                continue;
            }
            out.push(Span {
                start,
                end,
                kind: SecretKind::CardNumber,
            });
            covered = end;
        }
    }
}

/// Words right after a number that make it a date, time, count, amount or percentage.
const UNIT_SUFFIXES: &[&str] = &[
    "년", "월", "일", "시", "분", "초", "원", "개", "번", "회", "차", "명", "%", "年", "月", "日",
    "時", "分", "秒", "点", "點", "円", "元", "块", "個", "个", "件", "回", "次", "万", "萬", "億",
    "亿", "만", "억", "천",
];

/// A code of `min..=max` digits near a label: the first number standing alone within
/// [`LABEL_REACH`] characters after the label, or just before it ("123456 is my OTP").
fn code_near_label(
    text: &str,
    label_start: usize,
    label_end: usize,
    min: usize,
    max: usize,
) -> Option<(usize, usize)> {
    let ok = |start: usize, end: usize, token: &str| {
        let digits = token.bytes().filter(u8::is_ascii_digit).count();
        let glued_to_label = start == label_end && !is_digit(next_char(text, end));
        let rest = &text[end..];
        (min..=max).contains(&digits)
            && (glued_to_label || stands_alone(text, start, end))
            && !UNIT_SUFFIXES
                .iter()
                .any(|u| rest.trim_start().starts_with(u))
    };
    let window_end = label_end + after(text, label_end, LABEL_REACH).len();
    let tokens: Vec<regex::Match<'_>> = NUMBER_TOKEN
        .find_iter(&text[label_end..window_end])
        .collect();
    let mut i = 0;
    while i < tokens.len() {
        let first = &tokens[i];
        let start = label_end + first.start();
        let mut end = label_end + first.end();
        let mut digits: String = first
            .as_str()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let groups: Vec<usize> = first.as_str().split('-').map(str::len).collect();
        let pure = first.as_str().bytes().all(|b| b.is_ascii_digit());
        i += 1;
        if pure && (2..=4).contains(&digits.len()) {
            // "123 456", "12 34 56", "1234 5678": one code written in groups
            let mut j = i;
            let mut joined = digits.clone();
            let mut joined_end = end;
            while let Some(next) = tokens.get(j)
                && label_end + next.start() == joined_end + 1
                && text[joined_end..].starts_with(' ')
                && next.as_str().bytes().all(|b| b.is_ascii_digit())
                && (2..=4).contains(&next.len())
                && joined.len() + next.len() <= 8
            {
                joined.push_str(next.as_str());
                joined_end = label_end + next.end();
                j += 1;
            }
            if j > i && joined.len() >= 6 {
                digits = joined;
                end = joined_end;
                i = j;
            }
        } else if !pure && groups == [3, 3] && first.as_str().contains('-') {
            // "123-456"
        } else if !pure {
            continue; // a date, time, amount or phone number: keep looking
        }
        if ok(start, end, &digits) {
            return Some((start, end));
        }
    }
    // "123456 is my OTP", "123456이 인증번호예요"
    let head = before(text, label_start, 16);
    let head_start = label_start - head.len();
    let last = NUMBER_TOKEN.find_iter(head).last()?;
    let between = head[last.end()..].trim();
    let connector = [
        "", "is my", "is the", "is", "=", ":", "이", "가", "은", "는", "是", "は", "が",
    ]
    .iter()
    .any(|c| between.eq_ignore_ascii_case(c));
    let (start, end) = (head_start + last.start(), head_start + last.end());
    (connector
        && last.as_str().bytes().all(|b| b.is_ascii_digit())
        && ok(start, end, last.as_str()))
    .then_some((start, end))
}

/// True when a label is not part of a longer ASCII word or code: nothing alphanumeric before an
/// ASCII start, no letter after an ASCII end (digits may follow: "OTP482913").
fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let first_ascii = next_char(text, start).is_some_and(|c| c.is_ascii_alphanumeric());
    let last_ascii = prev_char(text, end).is_some_and(|c| c.is_ascii_alphanumeric());
    let glued_before = first_ascii && is_alnum(prev_char(text, start));
    let glued_after = last_ascii && next_char(text, end).is_some_and(|c| c.is_ascii_alphabetic());
    !glued_before && !glued_after
}

static PIN_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)pin(?:\s*(?:code|number|no\.?|#))?|핀\s*(?:번호|코드)|(?:계좌|통장|카드|출금)\s*비밀\s*번호|暗証番号|(?:取款|支付|提款)密[码碼]",
    )
    .expect("valid regex")
});

fn bank_pins(text: &str, out: &mut Vec<Span>) {
    for label in PIN_LABEL.find_iter(text) {
        if !is_whole_word(text, label.start(), label.end()) {
            continue;
        }
        if let Some((start, end)) = code_near_label(text, label.start(), label.end(), 4, 6) {
            out.push(Span {
                start,
                end,
                kind: SecretKind::BankPin,
            });
        }
    }
}

static OTP_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)otp|2fa|mfa|one[\s-]?time\s+(?:password|code|pin)|authenticator|code|인증\s*(?:번호|코드)|보안\s*코드|验证码|驗證碼|校验码|校驗碼|认证码|認證碼|动态码|動態碼|認証(?:コード|番号)|確認コード|セキュリティコード|ワンタイム(?:パスワード)?",
    )
    .expect("valid regex")
});

/// Words before "code" that make it something other than a one-time code.
const NOT_OTP_CODE: &[&str] = &[
    "error",
    "promo",
    "promotion",
    "referral",
    "invite",
    "invitation",
    "country",
    "zip",
    "post",
    "postal",
    "bank",
    "swift",
    "area",
    "source",
    "status",
    "reason",
    "qr",
    "discount",
    "coupon",
    "voucher",
    "event",
    "branch",
    "tax",
    "product",
    "ticket",
    "order",
    "response",
    "exit",
    "bar",
];

fn otp_codes(text: &str, out: &mut Vec<Span>) {
    for label in OTP_LABEL.find_iter(text) {
        if !is_whole_word(text, label.start(), label.end()) {
            continue;
        }
        if label.as_str().eq_ignore_ascii_case("code") {
            let previous_word = before(text, label.start(), 16)
                .trim_end()
                .rsplit(|c: char| !c.is_ascii_alphabetic())
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if NOT_OTP_CODE.contains(&previous_word.as_str()) {
                continue;
            }
        }
        if let Some((start, end)) = code_near_label(text, label.start(), label.end(), 4, 8) {
            out.push(Span {
                start,
                end,
                kind: SecretKind::OtpCode,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Passwords

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

fn passwords(text: &str, out: &mut Vec<Span>) {
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
        let connector = PASSWORD_CONNECTOR.find(rest).map_or("", |m| m.as_str());
        let skipped = connector.len();
        let explicit = connector.contains([
            ':', '：', '=', '＝', '>', '是', '为', '為', 'は', '「', '『', '“', '‘', '\'', '"',
        ]);
        if label.as_str().eq_ignore_ascii_case("pass") && !explicit {
            continue;
        }
        let Some(value) = PASSWORD_VALUE.find(&rest[skipped..]) else {
            continue;
        };
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
        if plausible {
            let start = label.end() + skipped;
            out.push(Span {
                start,
                end: start + trimmed.len(),
                kind: SecretKind::Password,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN_SEED: &str =
        "abandon ability able about above absent absorb abstract absurd abuse access accident";
    const TXID: &str = "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

    fn masked(text: &str) -> String {
        mask(text).text
    }

    fn kinds(text: &str) -> Vec<SecretKind> {
        mask(text).secrets
    }

    fn survives(text: &str) {
        let m = mask(text);
        assert_eq!(m.text, text, "should survive: {text}");
        assert!(m.secrets.is_empty());
    }

    #[test]
    fn passwords_in_four_languages() {
        assert_eq!(
            masked("my password is Hunter2!"),
            "my password is [masked:password]"
        );
        assert_eq!(masked("pw: abc123"), "pw: [masked:password]");
        assert_eq!(masked("password: hunter"), "password: [masked:password]");
        assert_eq!(
            masked("비밀번호는 qwer1234! 입니다"),
            "비밀번호는 [masked:password] 입니다"
        );
        assert_eq!(masked("비번 asdf1234"), "비번 [masked:password]");
        assert_eq!(masked("密码是abc12345"), "密码是[masked:password]");
        assert_eq!(
            masked("密碼：Abc!2345，謝謝"),
            "密碼：[masked:password]，謝謝"
        );
        assert_eq!(
            masked("パスワードは pass1234です"),
            "パスワードは [masked:password]です"
        );
        assert_eq!(
            masked("パスワードは「Secret」です"),
            "パスワードは「[masked:password]」です"
        );
    }

    #[test]
    fn password_word_without_value_survives() {
        survives("I forgot my password");
        survives("my password is wrong, please reset it");
        survives("password reset link not arriving");
        survives("비밀번호를 잊어버렸어요");
        survives("암호화폐 출금 문의");
        survives("密码忘了怎么办");
        survives("パスワードを忘れました");
        survives("I passed KYC yesterday");
    }

    #[test]
    fn otp_codes_in_four_languages() {
        assert_eq!(masked("OTP 482913"), "OTP [masked:otp_code]");
        assert_eq!(
            masked("my 2FA code is 482 913"),
            "my 2FA code is [masked:otp_code]"
        );
        assert_eq!(
            masked("2FA code: 12 34 56, thanks"),
            "2FA code: [masked:otp_code], thanks"
        );
        assert_eq!(masked("OTP 482-913"), "OTP [masked:otp_code]");
        assert_eq!(masked("OTP 1234 5678"), "OTP [masked:otp_code]");
        assert_eq!(
            masked("the verification code I got was 5521"),
            "the verification code I got was [masked:otp_code]"
        );
        assert_eq!(
            masked("인증번호 123456 입력했는데 안돼요"),
            "인증번호 [masked:otp_code] 입력했는데 안돼요"
        );
        assert_eq!(
            masked("인증 코드는 987654예요"),
            "인증 코드는 [masked:otp_code]예요"
        );
        assert_eq!(masked("验证码是734562"), "验证码是[masked:otp_code]");
        assert_eq!(masked("驗證碼：734562"), "驗證碼：[masked:otp_code]");
        assert_eq!(
            masked("認証コードは 734562 です"),
            "認証コードは [masked:otp_code] です"
        );
        assert_eq!(masked("ワンタイム 1234"), "ワンタイム [masked:otp_code]");
        assert_eq!(masked("482913 is my OTP"), "[masked:otp_code] is my OTP");
        assert_eq!(kinds("OTP482913"), vec![SecretKind::OtpCode]);
    }

    #[test]
    fn otp_without_code_survives() {
        survives("OTP doesn't work");
        survives("인증번호가 안와요");
        survives("OTP 6자리가 안 와요");
        survives("error code 1005 when I withdraw");
        survives("인증번호 문자가 010-1234-5678에서 왔어요");
        survives("인증번호가 1588-1234에서 왔어요");
        survives("OTP 12 34");
        survives("OTP expired at 2026-11-20 14:30");
        survives("promo code 2024 doesn't work");
        survives("验证码收不到，2026年11月20日开始的");
    }

    #[test]
    fn seed_phrases_english() {
        assert_eq!(
            masked(&format!("my seed is {EN_SEED}")),
            "my seed is [masked:seed_phrase]"
        );
        let numbered = "1. abandon 2. ability 3. able 4. about 5. above 6. absent\n7. absorb 8. abstract 9. absurd 10. abuse 11. access 12. accident";
        assert_eq!(kinds(numbered), vec![SecretKind::SeedPhrase]);
        let words24 = bip39::Language::English.word_list()[500..524].join(" ");
        assert_eq!(
            masked(&format!("recovery phrase:\n{words24}\nthanks")),
            "recovery phrase:\n[masked:seed_phrase]\nthanks"
        );
        let commas = EN_SEED.replace(' ', ", ");
        assert_eq!(masked(&commas), "[masked:seed_phrase]");
        let lines = EN_SEED.replace(' ', "\n").to_uppercase();
        assert_eq!(masked(&lines), "[masked:seed_phrase]");
    }

    #[test]
    fn ordinary_english_with_bip39_words_survives() {
        survives(
            "I want to withdraw all my bitcoin today because the price is high and I need cash",
        );
        survives(
            "You can just tell me when there is any way to move all that money again before the end of the month",
        );
        // eleven list words in a row are not a phrase
        survives("abandon ability able about above absent absorb abstract absurd abuse access");
    }

    #[test]
    fn seed_phrases_korean_japanese_chinese() {
        let ko: Vec<String> = bip39::Language::Korean.word_list()[..12]
            .iter()
            .map(|w| compose(w))
            .collect();
        let text = format!("시드는 {}", ko.join(" "));
        assert_eq!(masked(&text), "시드는 [masked:seed_phrase]");

        // typed decomposed (NFD), as some keyboards do
        let nfd = bip39::Language::Korean.word_list()[..12].join(" ");
        assert_eq!(masked(&nfd), "[masked:seed_phrase]");

        let ja: Vec<String> = bip39::Language::Japanese.word_list()[100..112]
            .iter()
            .map(|w| compose(w))
            .collect();
        let text = format!("シードフレーズは {} です", ja.join("\u{3000}"));
        assert_eq!(masked(&text), "シードフレーズは [masked:seed_phrase] です");

        let zh: Vec<&str> = bip39::Language::SimplifiedChinese.word_list()[200..212].to_vec();
        assert_eq!(
            masked(&format!("我的助记词是 {}", zh.join(" "))),
            "我的助记词是 [masked:seed_phrase]"
        );
        assert_eq!(
            masked(&format!("助记词：{}", zh.concat())),
            "助记词：[masked:seed_phrase]"
        );
        let zh_tw: Vec<&str> = bip39::Language::TraditionalChinese.word_list()[300..315].to_vec();
        assert_eq!(
            kinds(&format!("助記詞 {}", zh_tw.join(" "))),
            vec![SecretKind::SeedPhrase]
        );
    }

    #[test]
    fn chinese_text_without_label_or_sentence_survives() {
        survives("我的比特币提现到账了吗为什么还没有到我的钱包里面");
        survives("我的助记词丢了怎么办");
        survives("我的助记词被盗了，我的钱包里所有的币都没了是不是你们平台的问题");
    }

    #[test]
    fn private_keys() {
        assert_eq!(
            masked(&format!("private key: {TXID}")),
            "private key: [masked:private_key]"
        );
        assert_eq!(
            masked(&format!("개인키는 0x{TXID} 입니다")),
            "개인키는 [masked:private_key] 입니다"
        );
        assert_eq!(masked(&format!("私钥{TXID}")), "私钥[masked:private_key]");
        assert_eq!(
            masked(&format!("秘密鍵は{TXID}です")),
            "秘密鍵は[masked:private_key]です"
        );
        assert_eq!(
            masked(&format!("프라이빗키: {TXID}")),
            "프라이빗키: [masked:private_key]"
        );
        assert_eq!(
            masked(&format!("私鑰是 0x{TXID}")),
            "私鑰是 [masked:private_key]"
        );
        assert_eq!(
            masked(&format!("秘密キー {TXID}")),
            "秘密キー [masked:private_key]"
        );
        assert_eq!(
            masked(&format!("0x{TXID} is my private key")),
            "[masked:private_key] is my private key"
        );
        let wif = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";
        assert_eq!(masked(&format!("key {wif}")), "key [masked:private_key]");
    }

    #[test]
    fn txids_and_addresses_survive() {
        survives(&format!("TXID: {TXID}"));
        survives(&format!("tx hash 0x{TXID}"));
        survives("address 0x742d35Cc6634C0532925a3b844Bc454e4438f44e");
        survives(
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq and 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        );
        survives("TRON TN3W4H6rK2ce4vX9YnFQHwKENnHjoxb3m9");
    }

    #[test]
    fn card_numbers() {
        assert_eq!(
            masked("card 4111 1111 1111 1111 please"),
            "card [masked:card_number] please"
        );
        assert_eq!(
            masked("카드번호 4111-1111-1111-1111"),
            "카드번호 [masked:card_number]"
        );
        assert_eq!(masked("5500000000000004"), "[masked:card_number]");
        assert_eq!(
            masked("Amex 3782 822463 10005"),
            "Amex [masked:card_number]"
        );
        survives("card 4111 1111 1111 1112"); // fails Luhn
        assert_eq!(
            masked("010-1234-5678 4111 1111 1111 1111 900101-1234568"),
            "010-1234-5678 [masked:card_number] [masked:resident_number]"
        );
        survives("order id 4111111111111111");
        survives("주문번호 2024112012345678");
    }

    #[test]
    fn resident_numbers() {
        // 900101-1234568: weighted sum 124, (11 - 124 % 11) % 10 = 8
        assert_eq!(
            masked("주민번호 900101-1234568 입니다"),
            "주민번호 [masked:resident_number] 입니다"
        );
        assert_eq!(
            masked("주민등록번호는 9001011234568"),
            "주민등록번호는 [masked:resident_number]"
        );
        survives("900101-1234567"); // checksum fails
        survives("901301-1234568"); // month 13
        survives("9001011234568"); // no label, no dash
    }

    #[test]
    fn bank_pins() {
        assert_eq!(masked("PIN 4821"), "PIN [masked:bank_pin]");
        assert_eq!(
            masked("계좌 비밀번호 4821"),
            "계좌 비밀번호 [masked:bank_pin]"
        );
        assert_eq!(masked("핀번호는 123456"), "핀번호는 [masked:bank_pin]");
        assert_eq!(
            masked("暗証番号は4821です"),
            "暗証番号は[masked:bank_pin]です"
        );
        assert_eq!(masked("取款密码是482193"), "取款密码是[masked:bank_pin]");
        survives("I pinned 1234 posts");
        survives("PIN doesn't work");
    }

    #[test]
    fn public_details_survive() {
        survives("1,000,000원 출금했는데 0.5 BTC 아직 안 들어왔어요");
        survives("ticket #1234 and ticket 88213");
        survives("주문번호 A-20261120-0001, 출금 번호 88213");
        survives("2026-11-20 14:30, 11/20, 어제 밤 11시");
        survives("010-1234-5678, +82 10-1234-5678, 1588-1234");
        survives("email me at kim.minsu@example.com");
        survives("I sent 1000000 won and the OTP doesn't work");
        survives("");
    }

    #[test]
    fn several_secrets_in_order() {
        let m = mask("OTP 482913, pw: abc123, and PIN 4821, OTP 112233");
        assert_eq!(
            m.text,
            "OTP [masked:otp_code], pw: [masked:password], and PIN [masked:bank_pin], OTP [masked:otp_code]"
        );
        assert_eq!(
            m.secrets,
            vec![
                SecretKind::OtpCode,
                SecretKind::Password,
                SecretKind::BankPin
            ]
        );
        assert_eq!(
            serde_json::to_string(&m.secrets).unwrap(),
            r#"["otp_code","password","bank_pin"]"#
        );
    }

    #[test]
    fn weird_input_does_not_panic() {
        for t in [
            "비밀번호",
            "pw:",
            "OTP",
            "助记词",
            "私钥",
            "PIN",
            "#",
            "\u{0}",
            "̈́",
            "pw: \u{FFFF}",
        ] {
            let _ = mask(t);
        }
        let huge = format!(
            "{} {}",
            "password: x1y2z3 ".repeat(500),
            [EN_SEED; 50].join(" ")
        );
        let m = mask(&huge);
        assert!(m.secrets.contains(&SecretKind::SeedPhrase));
    }
}
