//! Time expressions for `details`: dates, clock times and relative times in four languages
//! ("어제 밤 11시", "3 hours ago", "昨天晚上", "今朝", "2026-11-20 14:30", "11/20"), kept as written.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::scan::{next_char, prev_char};

/// Expressions that name a time on their own.
static ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
          [0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}(?:[\ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?
        | [0-9]{4}\s*년\s*[0-9]{1,2}\s*월(?:\s*[0-9]{1,2}\s*일)?
        | [0-9]{1,2}\s*월\s*[0-9]{1,2}\s*일
        | (?:[0-9]{4}\s*年\s*)?[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*[日号號]
        | [0-9]{1,2}/[0-9]{1,2}(?:/[0-9]{2,4})?
        | [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\s*(?:am|pm|a\.m\.|p\.m\.))?
        | [0-9]{1,2}\s*(?:am|pm|a\.m\.|p\.m\.)(?-u:\b)
        # Korean
        | [0-9]+\s*(?:시간|분|초|일|주일?|개월|달|년)\s*(?:전|후|째|동안|넘게|이상|가량|정도|지났|이\ 지났|가\ 지났)
        | [0-9]{1,2}\s*시(?:\s*[0-9]{1,2}\s*분|\s*반)?
        | 어젯밤|오늘\s*밤|엊그제|그저께|그제|어제|오늘|내일|모레|아까|방금|조금\s*전|좀\s*전|지난\s*(?:주|달|번)|이번\s*주|저번\s*주|새벽|주말
        | [월화수목금토일]요일
        # English
        | (?-u:\b)(?:
              yesterday|today|tonight|last\s+night|this\s+(?:morning|afternoon|evening|week)
            | last\s+(?:week|month|(?:mon|tues|wednes|thurs|fri|satur|sun)day)
            | (?:[0-9]+|an?|one|two|three|four|five|six|(?:a\s+)?few|(?:a\s+)?couple\s+(?:of\s+)?|several)\s*
              (?:seconds?|secs?|minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?)\s+ago
            | for\s+(?:[0-9]+|an?|two|three|(?:a\s+)?few|several)\s+(?:minutes?|mins?|hours?|hrs?|days?|weeks?)
            | since\s+(?:yesterday|this\s+morning|last\s+\w+)
            | (?:mon|tues|wednes|thurs|fri|satur|sun)day
          )(?-u:\b)
        # Chinese
        | 昨天|今天|前天|明天|昨晚|今晚|今早|刚才|剛才|刚刚|剛剛|上周|上週|上个月|上個月|凌晨
        | [0-9]+\s*(?:个|個)?\s*(?:小时|小時|分钟|分鐘|天|周|週|个月|個月)\s*(?:前|了|以前|之前)
        | [0-9]{1,2}\s*[点點](?:\s*[0-9]{1,2}\s*分|半)?
        # Japanese
        | 一昨日|昨日|今日|今朝|昨夜|先ほど|さっき|先程|今夜|本日|先週|先月
        | [0-9]+\s*(?:時間|分|日|週間|ヶ月|か月|カ月)\s*(?:前|以上|経っ|たっ)
        | [0-9]{1,2}\s*時(?:\s*[0-9]{1,2}\s*分|半)?
        ",
    )
    .expect("time anchor regex is valid")
});

/// Words that sharpen a time next to an anchor ("어제 밤", "昨天晚上", "yesterday morning").
static MODIFIER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)밤|낮|저녁|아침|오전|오후|점심|쯤|晚上|早上|上午|下午|中午|夜|朝|午前|午後|夕方|深夜|頃|ごろ|左右|(?-u:\b)(?:morning|evening|night|afternoon|noon)(?-u:\b)",
    )
    .expect("time modifier regex is valid")
});

/// True when an anchor match is really a time (not "3시간" read as "3시", not "1/2" of a pizza).
fn valid_anchor(text: &str, m: &regex::Match<'_>) -> bool {
    let s = m.as_str();
    let after_c = next_char(text, m.end());
    let before_c = prev_char(text, m.start());
    let starts_ascii = s.starts_with(|c: char| c.is_ascii_alphanumeric());
    let ends_digit = s.ends_with(|c: char| c.is_ascii_digit());
    if (starts_ascii && before_c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == ':'))
        || (ends_digit && after_c.is_some_and(|c| c.is_ascii_digit() || c == '/'))
    {
        return false;
    }
    if (s.ends_with('시') && after_c == Some('간')) || (s.ends_with('時') && after_c == Some('間'))
    {
        return false;
    }
    if s == "아까" && after_c.is_some_and(|c| "워운웠".contains(c)) {
        return false;
    }
    if let Some((a, b)) = s.split_once('/') {
        let b = b.split('/').next().unwrap_or(b);
        let (Ok(month), Ok(day)) = (a.parse::<u32>(), b.parse::<u32>()) else {
            return false;
        };
        return (1..=12).contains(&month) && (1..=31).contains(&day);
    }
    true
}

/// Every time expression, as byte ranges in text order: anchors merged with the modifiers and
/// anchors right next to them.
pub(crate) fn find_all(text: &str) -> Vec<Range<usize>> {
    let anchors: Vec<Range<usize>> = ANCHOR
        .find_iter(text)
        .filter(|m| valid_anchor(text, m))
        .map(|m| m.range())
        .collect();
    if anchors.is_empty() {
        return Vec::new();
    }
    let mut atoms: Vec<(Range<usize>, bool)> = anchors.iter().map(|r| (r.clone(), true)).collect();
    atoms.extend(
        MODIFIER
            .find_iter(text)
            .map(|m| m.range())
            .filter(|r| !anchors.iter().any(|a| a.start < r.end && r.start < a.end))
            .map(|r| (r, false)),
    );
    atoms.sort_by_key(|(r, _)| r.start);

    let mut groups: Vec<(Range<usize>, bool)> = Vec::new();
    for (range, anchor) in atoms {
        if let Some((last, has_anchor)) = groups.last_mut()
            && range.start >= last.end
            && text[last.end..range.start]
                .chars()
                .all(|c| c.is_whitespace() || c == ',')
            && text[last.end..range.start].chars().count() <= 2
        {
            last.end = range.end;
            *has_anchor |= anchor;
            continue;
        }
        groups.push((range, anchor));
    }
    groups
        .into_iter()
        .filter(|(_, anchor)| *anchor)
        .map(|(r, _)| r)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str) -> Option<&str> {
        find_all(text).first().map(|r| &text[r.clone()])
    }

    #[test]
    fn time_expressions_as_written() {
        for (text, expected) in [
            ("어제 밤 11시에 출금했는데", "어제 밤 11시"),
            ("2시간 전에 보냈어요", "2시간 전"),
            ("sent it 3 hours ago", "3 hours ago"),
            ("yesterday 10pm I withdrew", "yesterday 10pm"),
            ("昨天晚上提的币", "昨天晚上"),
            ("今朝送金しました", "今朝"),
            ("at 2026-11-20 14:30 KST", "2026-11-20 14:30"),
            ("since 11/20", "11/20"),
            ("오후 3시쯤", "오후 3시쯤"),
            ("3시간째 안 와요", "3시간째"),
            ("11月20日に", "11月20日"),
            ("下午3点", "下午3点"),
            ("for 2 hours now", "for 2 hours"),
        ] {
            assert_eq!(first(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn not_time_expressions() {
        for text in [
            "3시간 기다렸어요",
            "13/40 of my balance",
            "아까워요",
            "밤새",
            "0.5 BTC",
            "version 1.2.3",
            "어제경",
        ] {
            assert_eq!(first(text).filter(|f| *f != "어제"), None, "{text}");
        }
    }
}
