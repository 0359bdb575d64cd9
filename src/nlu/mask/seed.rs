//! BIP-39 seed phrases: runs of 12+ words of the English, Korean or Japanese list, and
//! labelled Chinese mnemonics (one character a word, frequent in any Chinese text).

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::super::scan::{compose, runs};
use super::{SecretKind, Span};

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
        // A whole run of a mnemonic's length is the mnemonic, even when its first word is one
        // of the label words ("secret", "key" are BIP-39 words too).
        let mnemonic_length = |n: usize| [12, 15, 18, 21, 24].contains(&n);
        while !mnemonic_length(run.len() - first)
            && run.len() - first > MIN_SEED_WORDS
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
            if count == 24 {
                if separated == Some(true) {
                    break; // a 24-word mnemonic followed by ordinary text
                }
                return None; // longer than any mnemonic
            }
            count += 1;
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

/// A word count between a Chinese seed label and its words ("助记词24个：").
static WORD_COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[（(][^）)\n]{1,12}[）)])?\s*(?:(?:12|15|18|21|24)\s*(?:个|個|词|詞|字)?)?(?:\s*[）)])?").expect("valid regex")
});

/// Endings glued to the last word of a phrase ("…かんしゃです", "…사과입니다"): tried in order,
/// the longest first.
const JAPANESE_PARTICLES: &[&str] = &[
    "でした",
    "です",
    "だよ",
    "だ",
    "を",
    "は",
    "が",
    "と",
    "の",
    "も",
    "で",
    "に",
    "ね",
    "よ",
];
const KOREAN_PARTICLES: &[&str] = &[
    "입니다",
    "이에요",
    "예요",
    "이요",
    "이고",
    "이랑",
    "랑",
    "요",
    "을",
    "를",
    "은",
    "는",
    "이",
    "가",
    "와",
    "과",
];

/// The word of a run with a particle glued to its end cut off, when the run is not a word of
/// the list but what is left is.
fn without_particle(
    text: &str,
    run: Range<usize>,
    particles: &[&str],
    in_list: impl Fn(&str) -> bool,
) -> Range<usize> {
    let word = &text[run.clone()];
    if in_list(word) {
        return run;
    }
    particles
        .iter()
        .filter_map(|p| word.strip_suffix(p))
        .find(|stem| !stem.is_empty() && in_list(stem))
        .map_or(run.clone(), |stem| run.start..run.start + stem.len())
}

/// A number and a Chinese word of a numbered list ("1.秩 2.竟 3.屏").
static NUMBERED_HAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d{1,2})\s*[.)、．]\s*(\p{Han})").expect("valid regex"));

/// A Chinese mnemonic written as a numbered list, 1 to 12 (or 15, 18, 21, 24), with no label:
/// the numbering says what it is.
fn numbered_chinese(text: &str, out: &mut Vec<Span>) {
    let mut run: Vec<(usize, usize)> = Vec::new();
    let mut flush = |run: &mut Vec<(usize, usize)>| {
        if [12, 15, 18, 21, 24].contains(&run.len()) {
            out.push(Span {
                start: run[0].0,
                end: run[run.len() - 1].1,
                kind: SecretKind::SeedPhrase,
            });
        }
        run.clear();
    };
    for caps in NUMBERED_HAN.captures_iter(text) {
        let (whole, n, word) = (&caps[0], &caps[1], &caps[2]);
        let start = caps.get(0).map_or(0, |m| m.start());
        let end = start + whole.len();
        let in_list = word
            .chars()
            .next()
            .is_some_and(|c| CHINESE_CHARS.contains(&c));
        let next = n.parse::<usize>().ok() == Some(run.len() + 1);
        let adjacent = run.last().is_none_or(|&(_, last_end)| {
            text[last_end..start]
                .chars()
                .all(|c| c.is_whitespace() || ",，、".contains(c))
        });
        if !(in_list && next && adjacent) {
            flush(&mut run);
            if !(in_list && n == "1") {
                continue;
            }
        }
        run.push((start, end));
    }
    flush(&mut run);
}

pub(super) fn seed_phrases(text: &str, out: &mut Vec<Span>) {
    numbered_chinese(text, out);
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
    let korean = |w: &str| in_list(&KOREAN_WORDS, w);
    let japanese = |w: &str| in_list(&JAPANESE_WORDS, w);
    word_runs(
        text,
        runs(text, hangul).map(|r| without_particle(text, r, KOREAN_PARTICLES, korean)),
        korean,
        out,
    );
    word_runs(
        text,
        runs(text, hiragana).map(|r| without_particle(text, r, JAPANESE_PARTICLES, japanese)),
        japanese,
        out,
    );
    // Chinese words are single characters, frequent in any Chinese text: require a label.
    for label in SEED_LABEL.find_iter(text) {
        let skip = |s: &str| {
            s.find(|c: char| !(c.is_whitespace() || ":：=\"'「『“".contains(c)))
                .unwrap_or(s.len())
        };
        let counted = WORD_COUNT
            .find(&text[label.end()..])
            .map_or(label.end(), |m| label.end() + m.end());
        let p0 = counted + skip(&text[counted..]);
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
