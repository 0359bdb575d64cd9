//! Amounts for `details`: numbers as written ("1,000.5", "100만원", "1.2억", "2万円", "2.5k")
//! turned into plain decimal strings, preferring numbers attached to a coin or currency.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::chain::{coin_word_at_start, ends_with_coin_word};
use super::scan::{after, before, char_after_next, is_digit, next_char, prev_char};

/// An exact decimal: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    mantissa: u128,
    scale: u32,
}

impl Decimal {
    const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };
    const ONE: Decimal = Decimal {
        mantissa: 1,
        scale: 0,
    };

    /// Parses "1,000.50" (commas are thousands separators, already validated by the regex).
    fn parse(s: &str) -> Option<Decimal> {
        let digits: String = s.chars().filter(|c| *c != ',').collect();
        let (int, frac) = digits.split_once('.').unwrap_or((&digits, ""));
        let scale = u32::try_from(frac.len()).ok().filter(|s| *s <= 30)?;
        let mantissa = format!("{int}{frac}").parse::<u128>().ok()?;
        Some(Decimal { mantissa, scale })
    }

    /// Multiplies by `10^power`.
    fn shift(self, power: u32) -> Option<Decimal> {
        if self.scale >= power {
            return Some(Decimal {
                mantissa: self.mantissa,
                scale: self.scale - power,
            });
        }
        let factor = 10u128.checked_pow(power - self.scale)?;
        Some(Decimal {
            mantissa: self.mantissa.checked_mul(factor)?,
            scale: 0,
        })
    }

    fn add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let a = self
            .mantissa
            .checked_mul(10u128.checked_pow(scale - self.scale)?)?;
        let b = other
            .mantissa
            .checked_mul(10u128.checked_pow(scale - other.scale)?)?;
        Some(Decimal {
            mantissa: a.checked_add(b)?,
            scale,
        })
    }

    fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// Plain decimal text without thousands separators or trailing fractional zeros.
    fn render(self) -> String {
        let digits = self.mantissa.to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return digits;
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            int.to_owned()
        } else {
            format!("{int}.{frac}")
        }
    }
}

/// A number with its multipliers: "1,000.5", "100만", "1억 5천만", "2万", "2.5k".
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:(?:(?:US)?\$|₩|￦|¥|￥|€|£)\ ?)?
        [0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?
        (?:\ ?(?:[0-9]+(?:\.[0-9]+)?\ ?)?(?:조|兆|억|亿|億|만|万|萬|천|千|백|百|[kK](?-u:\b)))*
        ",
    )
    .expect("amount regex is valid")
});
static PART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?|조|兆|억|亿|億|만|万|萬|천|千|백|百|[kK]")
        .expect("valid regex")
});

/// Power of ten of a multiplier, and whether it closes a section (만, 억, 조 are "big" units:
/// "5천만" is 5×1000×10000).
fn multiplier(unit: &str) -> Option<(u32, bool)> {
    Some(match unit {
        "백" | "百" => (2, false),
        "천" | "千" | "k" | "K" => (3, false),
        "만" | "万" | "萬" => (4, true),
        "억" | "亿" | "億" => (8, true),
        "조" | "兆" => (12, true),
        _ => return None,
    })
}

/// The value of a number with multipliers.
fn evaluate(written: &str) -> Option<Decimal> {
    let mut total = Decimal::ZERO;
    let mut section = Decimal::ZERO;
    let mut pending: Option<Decimal> = None;
    for part in PART.find_iter(written) {
        match multiplier(part.as_str()) {
            None => pending = Some(Decimal::parse(part.as_str())?),
            Some((power, false)) => {
                section = section.add(pending.take().unwrap_or(Decimal::ONE).shift(power)?)?;
            }
            Some((power, true)) => {
                let mut s = section.add(pending.take().unwrap_or(Decimal::ZERO))?;
                if s.is_zero() {
                    s = Decimal::ONE;
                }
                total = total.add(s.shift(power)?)?;
                section = Decimal::ZERO;
            }
        }
    }
    total.add(section)?.add(pending.unwrap_or(Decimal::ZERO))
}

/// Currency and counter words that make a number an amount.
const CURRENCY_SUFFIXES: &[&str] = &[
    "원",
    "won",
    "krw",
    "円",
    "엔",
    "yen",
    "jpy",
    "元",
    "块",
    "塊",
    "人民币",
    "人民幣",
    "rmb",
    "cny",
    "달러",
    "dollars",
    "dollar",
    "usd",
    "美元",
    "ドル",
    "eur",
    "euro",
    "유로",
    "sats",
    "사토시",
    "코인",
    "coins",
    "coin",
    "u",
];
/// Counters ("0.5개"): an amount only for decimals or when the message names a coin.
const COUNTERS: &[&str] = &["개", "个", "個", "枚"];
/// Words after a number that make it a time, date, count or rank, not an amount.
const NOT_AMOUNT_SUFFIXES: &[&str] = &[
    "시", "분", "초", "일", "월", "년", "주", "번", "회", "층", "살", "세", "명", "위", "등", "차",
    "점", "자리", "글자", "건", "달", "時", "分", "秒", "日", "月", "年", "号", "號", "點", "点",
    "次", "天", "周", "週", "回", "件", "桁", "人", "位", "%", "％", "hour", "hr", "day", "minute",
    "min", "sec", "week", "month", "year", "time", "hours", "hrs", "days", "minutes", "mins",
    "secs", "weeks", "months", "years", "times", "st", "nd", "rd", "th", "am", "pm", "x",
];
/// Words before a number that make it an id or a step.
static ID_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:ticket|case|no\.?|number|id|step|번호|티켓|문의|단계|주문|order|单号|單號|番号)\s*[:：#]?\s*$")
        .expect("valid regex")
});
/// Words that make a bare number an amount.
static AMOUNT_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)send|sent|withdr|deposit|transfer|amount|balance|receiv|bought|sold|lost|paid|보냈|보낸|출금|입금|송금|금액|잔고|잔액|전송|충전|이체|提|充|转|轉|金额|金額|余额|餘額|出金|入金|送金|残高|着金")
        .expect("valid regex")
});

/// True when `lower` (the lower-cased start of the text after a number) starts with one of
/// `words`; an ASCII word must end there.
fn starts_with_word(lower: &str, words: &[&str]) -> bool {
    words
        .iter()
        .filter(|w| lower.starts_with(**w))
        .map(|w| w.len())
        .max()
        .is_some_and(|len| {
            let ascii_word = lower.as_bytes()[..len].iter().all(u8::is_ascii_alphabetic);
            !(ascii_word && next_char(lower, len).is_some_and(|c| c.is_ascii_alphabetic()))
        })
}

/// Sorted, non-overlapping union of `ranges`.
fn merge_ranges(ranges: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut sorted = ranges.to_vec();
    sorted.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// How strongly a number reads as an amount: lower is stronger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    /// Attached to a currency or coin: "500 USDT", "₩1,000".
    Unit,
    /// With a multiplier, a counter or after a ticker: "1.2억", "0.5개", "USDT 500".
    Implied,
    /// A bare number in a message about sending money.
    Bare,
}

/// The amount of a message as a plain decimal string; numbers inside `protected` ranges (TXIDs,
/// addresses, phones, ids, dates, times) are never taken.
pub(crate) fn find(text: &str, protected: &[Range<usize>], mentions_coin: bool) -> Option<String> {
    let protected = merge_ranges(protected);
    let mut best: Option<(Tier, Decimal)> = None;
    let context = LazyLock::new(|| mentions_coin || AMOUNT_CONTEXT.is_match(text));
    for m in NUMBER.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        let written = m.as_str();
        // the last protected range starting before our end is the only one that can overlap
        let i = protected.partition_point(|p| p.start < end);
        if i > 0 && protected[i - 1].end > start {
            continue;
        }
        let before_c = prev_char(text, start);
        let after_c = next_char(text, end);
        let glued_before = before_c
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '#' || c == '_')
            || (matches!(before_c, Some('-' | '.' | ',' | '/' | ':' | '+'))
                && prev_char(text, start - 1).is_some_and(|c| c.is_ascii_alphanumeric()));
        let glued_after = matches!(after_c, Some('.' | ',' | '-' | ':' | '/'))
            && is_digit(char_after_next(text, end));
        if glued_before || glued_after || after_c.is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let best_tier = best.map(|(t, _)| t);
        let better = |tier: Tier| best_tier.is_none_or(|b| tier < b);
        let prefixed = !written.starts_with(|c: char| c.is_ascii_digit());
        let has_multiplier = written.trim_end().ends_with(|c: char| !c.is_ascii_digit());
        let rest = &text[end..];
        let rest_word = rest.strip_prefix(' ').unwrap_or(rest);
        // Units and labels are words: skip the word checks when none can follow or precede.
        let word_after = rest_word.starts_with(|c: char| c.is_alphabetic() || "%％".contains(c));
        let head = before(text, start, 24).trim_end();
        let word_before = head.ends_with(|c: char| c.is_alphabetic() || "#:：".contains(c));
        let lower = if word_after {
            after(rest_word, 0, 12).to_lowercase()
        } else {
            String::new()
        };
        let is_decimal = written.contains('.');
        let tier = if prefixed
            || word_after
                && (starts_with_word(&lower, CURRENCY_SUFFIXES)
                    || coin_word_at_start(rest_word).is_some())
        {
            Tier::Unit
        } else if !better(Tier::Implied) {
            continue; // only a currency or coin unit could do better now
        } else if word_after && starts_with_word(&lower, COUNTERS) && (is_decimal || mentions_coin)
        {
            Tier::Implied
        } else if after_c.is_some_and(|c| c.is_ascii_alphabetic()) {
            continue; // "2FA", "3rd", "5kg"
        } else if word_after && starts_with_word(&lower, NOT_AMOUNT_SUFFIXES)
            || word_before && ID_BEFORE.is_match(before(text, start, 16))
        {
            continue;
        } else if has_multiplier || word_before && ends_with_coin_word(head) {
            Tier::Implied
        } else if better(Tier::Bare) && *context {
            Tier::Bare
        } else {
            continue;
        };
        if !better(tier) {
            continue;
        }
        if let Some(value) = evaluate(written) {
            best = Some((tier, value));
            if tier == Tier::Unit {
                break; // the first number with a unit wins
            }
        }
    }
    best.map(|(_, value)| value.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> Option<String> {
        find(
            text,
            &[],
            !super::super::chain::coin_mentions(text).is_empty(),
        )
    }

    #[test]
    fn decimal_arithmetic() {
        assert_eq!(
            evaluate("1,000.5").map(Decimal::render).as_deref(),
            Some("1000.5")
        );
        assert_eq!(
            evaluate("1억 5천만").map(Decimal::render).as_deref(),
            Some("150000000")
        );
        assert_eq!(
            evaluate("5천만").map(Decimal::render).as_deref(),
            Some("50000000")
        );
        assert_eq!(
            evaluate("0.50").map(Decimal::render).as_deref(),
            Some("0.5")
        );
        assert_eq!(
            evaluate("2.5k").map(Decimal::render).as_deref(),
            Some("2500")
        );
        assert_eq!(
            evaluate("99999999999999999999999999999999999999999조"),
            None
        );
    }

    #[test]
    fn amounts_with_units() {
        for (text, value) in [
            ("1,000.5 USDT 보냈어요", "1000.5"),
            ("0.5개 출금", "0.5"),
            ("100만원 입금했는데", "1000000"),
            ("3만 원", "30000"),
            ("1.2억 출금", "120000000"),
            ("500 USDT", "500"),
            ("2万円入金", "20000"),
            ("$1,200", "1200"),
            ("0.5BTC", "0.5"),
            ("0.5 비트코인", "0.5"),
            ("USDT 500 withdrawal", "500"),
            ("withdrew 2.5k usdt", "2500"),
            ("1,000,000원", "1000000"),
            ("金额5000U，已经两个小时了", "5000"),
        ] {
            assert_eq!(amount(text).as_deref(), Some(value), "{text}");
        }
    }

    #[test]
    fn unit_number_wins_over_earlier_bare_one() {
        assert_eq!(
            amount("I sent 3 times, 500 USDT in total").as_deref(),
            Some("500")
        );
        assert_eq!(
            amount("2개 계정에서 0.5 ETH 보냈어요").as_deref(),
            Some("0.5")
        );
    }

    #[test]
    fn numbers_that_are_not_amounts() {
        for text in [
            "2FA 안돼요",
            "3시간째 안 들어와요",
            "ticket 88213",
            "ERC20",
            "#1234 문의",
            "50% 손실",
            "5kg",
            "2 accounts",
            "hello",
        ] {
            assert_eq!(amount(text), None, "{text}");
        }
    }

    #[test]
    fn protected_ranges_are_skipped() {
        let text = "order 12345 and 0.5 BTC";
        let order = 6..11;
        assert_eq!(
            find(text, std::slice::from_ref(&order), true).as_deref(),
            Some("0.5")
        );
        let id = 0..5;
        assert_eq!(find("12345 sent", std::slice::from_ref(&id), false), None);
    }
}
