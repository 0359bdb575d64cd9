//! Small text-scanning helpers shared by the `nlu` sub-modules (windows, neighbours, alphabets).
//!
//! All offsets are byte offsets that lie on `char` boundaries; every helper is total (no panics).

use std::ops::Range;

/// The character just before byte offset `pos`, if any.
pub(crate) fn prev_char(text: &str, pos: usize) -> Option<char> {
    text.get(..pos)?.chars().next_back()
}

/// The character at byte offset `pos`, if any.
pub(crate) fn next_char(text: &str, pos: usize) -> Option<char> {
    text.get(pos..)?.chars().next()
}

/// The character after the one at `pos` (two characters ahead), if any.
pub(crate) fn char_after_next(text: &str, pos: usize) -> Option<char> {
    text.get(pos..)?.chars().nth(1)
}

/// Up to `n` characters ending at byte offset `pos`.
pub(crate) fn before(text: &str, pos: usize, n: usize) -> &str {
    let Some(head) = text.get(..pos) else {
        return "";
    };
    let start = head
        .char_indices()
        .rev()
        .take(n)
        .last()
        .map_or(pos, |(i, _)| i);
    &head[start..]
}

/// Up to `n` characters starting at byte offset `pos`.
pub(crate) fn after(text: &str, pos: usize, n: usize) -> &str {
    let Some(tail) = text.get(pos..) else {
        return "";
    };
    let end = tail.char_indices().nth(n).map_or(tail.len(), |(i, _)| i);
    &tail[..end]
}

/// True for ASCII letters and digits, the characters of addresses, hashes and codes.
pub(crate) fn is_alnum(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// True for ASCII digits.
pub(crate) fn is_digit(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

/// True when every character is in the Bitcoin base58 alphabet (no 0, O, I, l).
pub(crate) fn is_base58(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

/// True when every character is a hexadecimal digit.
pub(crate) fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Maximal runs of characters satisfying `pred`, as byte ranges; a fast stand-in for regexes
/// like `[A-Za-z]+` that are searched for thousands of times in one message.
pub(crate) fn runs(text: &str, pred: impl Fn(char) -> bool) -> impl Iterator<Item = Range<usize>> {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = chars.by_ref().find(|(_, c)| pred(*c))?;
        let mut end = text.len();
        while let Some(&(i, c)) = chars.peek() {
            if !pred(c) {
                end = i;
                break;
            }
            chars.next();
        }
        Some(start..end)
    })
}

/// Maximal runs of ASCII letters and digits: hashes, addresses, keys, codes.
pub(crate) fn alnum_runs(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    runs(text, |c| c.is_ascii_alphanumeric())
}

/// Composes conjoining Hangul jamo into syllables and kana + (han)dakuten marks into voiced kana,
/// which is all of NFC that the BIP-39 Korean and Japanese word lists (stored decomposed) need.
pub(crate) fn compose(s: &str) -> String {
    const S_BASE: u32 = 0xAC00;
    const L_BASE: u32 = 0x1100;
    const V_BASE: u32 = 0x1161;
    const T_BASE: u32 = 0x11A7;
    let mut out: Vec<char> = Vec::with_capacity(s.len());
    for c in s.chars() {
        let code = c as u32;
        let composed = out.last().and_then(|&last| {
            let last = last as u32;
            if (V_BASE..V_BASE + 21).contains(&code) && (L_BASE..L_BASE + 19).contains(&last) {
                char::from_u32(S_BASE + ((last - L_BASE) * 21 + (code - V_BASE)) * 28)
            } else if (T_BASE + 1..T_BASE + 28).contains(&code)
                && (S_BASE..S_BASE + 11172).contains(&last)
                && (last - S_BASE).is_multiple_of(28)
            {
                char::from_u32(last + code - T_BASE)
            } else if c == '\u{3099}' {
                voiced(last, 1)
            } else if c == '\u{309A}' {
                voiced(last, 2)
            } else {
                None
            }
        });
        match composed {
            Some(k) => {
                if let Some(last) = out.last_mut() {
                    *last = k;
                }
            }
            None => out.push(c),
        }
    }
    out.into_iter().collect()
}

/// The voiced (`step` 1) or semi-voiced (`step` 2) form of a hiragana or katakana.
fn voiced(base: u32, step: u32) -> Option<char> {
    // ka..to rows take dakuten; ha row takes both; u and the iteration mark are special.
    const DAKUTEN: &[u32] = &[
        0x304B, 0x304D, 0x304F, 0x3051, 0x3053, 0x3055, 0x3057, 0x3059, 0x305B, 0x305D, 0x305F,
        0x3061, 0x3064, 0x3066, 0x3068,
    ];
    const HA_ROW: &[u32] = &[0x306F, 0x3072, 0x3075, 0x3078, 0x307B];
    let (hira, katakana) = if (0x30A1..=0x30FA).contains(&base) {
        (base - 0x60, true)
    } else {
        (base, false)
    };
    let result = match (hira, step) {
        (0x3046, 1) => 0x3094,
        (0x309D, 1) => 0x309E,
        (h, 1) if DAKUTEN.contains(&h) || HA_ROW.contains(&h) => h + 1,
        (h, 2) if HA_ROW.contains(&h) => h + 2,
        _ => return None,
    };
    char::from_u32(if katakana { result + 0x60 } else { result })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_respect_char_boundaries() {
        let t = "가나다abc";
        assert_eq!(before(t, 9, 2), "나다");
        assert_eq!(after(t, 3, 3), "나다a");
        assert_eq!(after(t, 100, 3), "");
        assert_eq!(before(t, 1, 3), "");
        assert_eq!(prev_char(t, 3), Some('가'));
        assert_eq!(next_char(t, 9), Some('a'));
        assert_eq!(char_after_next(t, 9), Some('b'));
    }

    #[test]
    fn composes_hangul_and_kana() {
        assert_eq!(compose("\u{1100}\u{1161}\u{11A8}"), "각");
        assert_eq!(compose("\u{304B}\u{3099}"), "が");
        assert_eq!(compose("\u{306F}\u{309A}"), "ぱ");
        assert_eq!(compose("\u{30CF}\u{3099}"), "バ");
        assert_eq!(compose("abc"), "abc");
        assert_eq!(compose("\u{3099}"), "\u{3099}");
    }

    #[test]
    fn runs_of_a_class() {
        let t = "ab1 가c-0x12";
        let found: Vec<&str> = alnum_runs(t).map(|r| &t[r]).collect();
        assert_eq!(found, ["ab1", "c", "0x12"]);
        assert_eq!(alnum_runs("").count(), 0);
        assert_eq!(
            runs("가나 a 다", |c| c == '가' || c == '나' || c == '다').count(),
            2
        );
    }

    #[test]
    fn alphabets() {
        assert!(is_base58("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        assert!(!is_base58("0OIl"));
        assert!(is_hex("deadBEEF09"));
        assert!(!is_hex("xyz"));
    }
}
