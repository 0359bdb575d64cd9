//! Masking of secrets (passwords, OTP codes, seed phrases, private keys, API secrets, card
//! numbers, Korean resident registration numbers, bank PINs) before a message is stored or shown to a model.
//!
//! Each secret is replaced by `[masked:<kind>]`. Public identifiers (TXIDs, addresses, amounts,
//! order and ticket ids, dates, phone numbers, e-mail addresses) are left untouched.

mod key;
pub mod measure;
mod number;
mod password;
mod seed;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::scan::{is_alnum, next_char, prev_char};

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
    /// An exchange API secret: a long mixed-case letters-and-digits string.
    ApiSecret,
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
            SecretKind::ApiSecret => "api_secret",
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

/// How far after a label its value may start, in characters.
const LABEL_REACH: usize = 40;

/// Most passes [`mask`] makes before it stops (each pass after the first only adds masks,
/// and in practice the second finds nothing).
const MAX_PASSES: usize = 4;

/// Masks every secret in `text`, to a fixed point: a pass that still finds something (a
/// code that reads as one only once the key typed right after it is masked) is followed by
/// another, so masking the output again changes nothing.
pub fn mask(text: &str) -> Masked {
    let mut masked = mask_once(text);
    for _ in 1..MAX_PASSES {
        let again = mask_once(&masked.text);
        if again.text == masked.text {
            break;
        }
        for kind in again.secrets {
            if !masked.secrets.contains(&kind) {
                masked.secrets.push(kind);
            }
        }
        masked.text = again.text;
    }
    masked
}

/// One masking pass.
///
/// Finders read a folded copy of the text ([`Scan`]): full-width digits and letters
/// (`０４８２６１`, common in Japanese and Chinese input) are matched as ASCII, and the
/// placeholders of an earlier masking are blank. The output is the original text with each
/// secret span replaced.
fn mask_once(text: &str) -> Masked {
    let scan = Scan::new(text);
    // Finders run in priority order: a later span keeps only its parts outside earlier ones.
    // Accepted spans never overlap, so ordered by start they are ordered by end too.
    let mut accepted: BTreeMap<usize, Span> = BTreeMap::new();
    let finders: [fn(&str, &mut Vec<Span>); 13] = [
        seed::seed_phrases,
        key::private_keys,
        key::api_secrets,
        number::resident_numbers,
        number::card_numbers,
        number::bank_pins,
        number::otp_codes,
        password::passwords,
        password::login_pairs,
        password::typed_passwords,
        password::set_passwords,
        password::tried_passwords,
        password::values_before_verbs,
    ];
    let mut found = Vec::new();
    for find in finders {
        found.clear();
        find(&scan.text, &mut found);
        for span in &found {
            if span.start < span.end && !scan.text[span.start..span.end].contains(BLANK) {
                accept(&mut accepted, &scan.text, *span);
            }
        }
    }

    let mut out = String::with_capacity(text.len());
    let mut secrets = Vec::new();
    let mut pos = 0;
    for span in accepted.values() {
        let (start, end) = (scan.origin(span.start), scan.origin(span.end));
        out.push_str(&text[pos..start]);
        out.push_str("[masked:");
        out.push_str(span.kind.as_str());
        out.push(']');
        pos = end;
        if !secrets.contains(&span.kind) {
            secrets.push(span.kind);
        }
    }
    out.push_str(&text[pos..]);
    Masked { text: out, secrets }
}

/// Adds `span` to the accepted spans. Where it overlaps spans of higher priority, the parts
/// outside them that hold a letter or digit are accepted on their own: what one finder took as a
/// secret is never left half-visible because another finder masked the rest (and a second
/// masking then finds nothing new).
fn accept(accepted: &mut BTreeMap<usize, Span>, text: &str, span: Span) {
    let mut pieces = Vec::new();
    let mut pos = span.start;
    let first = accepted
        .range(..span.start)
        .next_back()
        .map(|(_, s)| *s)
        .filter(|s| s.end > span.start);
    let overlapping = first
        .into_iter()
        .chain(accepted.range(span.start..span.end).map(|(_, s)| *s));
    for taken in overlapping {
        if taken.start > pos {
            pieces.push((pos, taken.start));
        }
        pos = pos.max(taken.end);
    }
    if pos < span.end {
        pieces.push((pos, span.end));
    }
    for (start, end) in pieces {
        if text[start..end].chars().any(char::is_alphanumeric) {
            accepted.insert(start, Span { start, end, ..span });
        }
    }
}

/// What a placeholder of an earlier masking reads as: no finder matches it, and a label followed
/// by one has had its value masked already.
const BLANK: char = '\u{1}';

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[masked:[a-z_]+\]").expect("valid regex"));

/// The text as the finders read it.
struct Scan {
    /// Full-width ASCII forms (U+FF01–U+FF5E but the comma) and the ideographic space folded to ASCII,
    /// placeholders replaced by [`BLANK`] bytes.
    text: String,
    /// For each byte offset of `text` (and its end), the offset in the original text of the
    /// character it came from; `None` when nothing was folded (the offsets are the same).
    origin: Option<Vec<usize>>,
}

impl Scan {
    fn new(original: &str) -> Scan {
        // The full-width comma is CJK punctuation, never a thousands separator: "１１８２０４，5分钟"
        // is a code and a duration, not one number.
        let folds = |c: char| matches!(c, '\u{FF01}'..='\u{FF5E}' | '\u{3000}') && c != '\u{FF0C}';
        let mut text = PLACEHOLDER
            .replace_all(original, |m: &regex::Captures<'_>| {
                BLANK.to_string().repeat(m[0].len())
            })
            .into_owned();
        if !text.contains(folds) {
            return Scan { text, origin: None };
        }
        let blanked = std::mem::take(&mut text);
        let mut origin = Vec::with_capacity(blanked.len() + 1);
        for (i, c) in blanked.char_indices() {
            let folded = match c {
                '\u{3000}' => ' ',
                c if folds(c) => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                c => c,
            };
            text.push(folded);
            origin.extend(std::iter::repeat_n(i, folded.len_utf8()));
        }
        origin.push(blanked.len());
        Scan {
            text,
            origin: Some(origin),
        }
    }

    /// The offset in the original text of byte offset `pos` of the folded text.
    fn origin(&self, pos: usize) -> usize {
        self.origin.as_ref().map_or(pos, |o| o[pos])
    }
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
