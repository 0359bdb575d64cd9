//! Passwords: the value after a password word in four languages, labelled (`pw: X`) or in
//! context ("my usual pass X", "비번 X", "パスワードはX").

use std::sync::LazyLock;

use regex::Regex;

use super::super::scan::{is_alnum, next_char};
use super::{SecretKind, Span, is_whole_word};

static PASSWORD_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)password|passwd|passcode|pwd|pw|pass|비밀\s*번호|비번|패스워드|암호|密码|密碼|口令|パスワード|暗証コード|パス",
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
const CONTEXT_WORDS: usize = 8;

/// Network and token names that look like passwords (letters and digits) but are public.
static PUBLIC_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:[a-z]{2,6}[-_]?)?(?:erc|trc|bep|brc|spl|omni)[-_]?\d{1,3}$|^\d+(?:\.\d+)?[a-z]{1,5}$|^v?\d+(?:\.\d+)+$|^[a-z]{2,6}[-/_][a-z]{2,6}$")
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
        if label.as_str() == "パス" && next_char(text, label.end()).is_some_and(is_katakana) {
            continue; // パスポート (passport), パスキー (passkey)
        }
        let values = match labelled_value(text, label.as_str(), label.end()) {
            Some(value) => vec![value],
            None => values_in_context(text, label.end()),
        };
        let before = value_before_label(text, label.start());
        let values: Vec<_> = values.into_iter().chain(before).collect();
        let alternatives: Vec<_> = values
            .iter()
            .flat_map(|v| alternatives(text, v.1))
            .collect();
        for (start, end) in values.into_iter().chain(alternatives) {
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
        r"(?i)([\x21-\x7E]+)\s*(?:←|<-|<--|=|:)?\s*(?:(?:is|was|my|the|current|new|old|usual)\s+)*[^\x21-\x7E。！？\n]{0,8}$",
    )
    .expect("valid regex")
});

fn value_before_label(text: &str, label_start: usize) -> Option<(usize, usize)> {
    let head = super::super::scan::before(text, label_start, 40);
    let head_start = label_start - head.len();
    let value = VALUE_BEFORE.captures(head)?.get(1)?;
    let trimmed = value.as_str().trim_end_matches(CLOSING);
    let lead = trimmed.len() - trimmed.trim_start_matches(OPENING).len();
    let id = ID_PREFIXED.is_match(&trimmed[lead..]);
    (!id && looks_like_password(&trimmed[lead..])).then(|| {
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
    if (label.eq_ignore_ascii_case("pass") || label == "パス") && !explicit {
        return None;
    }
    if let Some(quoted) = quoted_value(connector, &rest[skipped..]) {
        return Some((label_end + skipped, label_end + skipped + quoted));
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

/// The length of a quoted value when the connector ends with an opening quote: everything up
/// to the closing one, spaces and any script included ("비밀번호를 \"우리집 강아지 2015\"로",
/// "パスワードは「hana 2019 mame」").
fn quoted_value(connector: &str, value: &str) -> Option<usize> {
    let close = match connector.trim_end().chars().next_back()? {
        '「' => '」',
        '『' => '』',
        '“' => '”',
        '‘' => '’',
        q @ ('\'' | '"') => q,
        _ => return None,
    };
    let end = value.find(close)?;
    let inner = &value[..end];
    let n = inner.chars().count();
    ((1..=64).contains(&n) && !inner.contains('\n') && !inner.contains(super::BLANK)).then_some(end)
}

/// A value that only its shape marks as a password, among the next few words of the sentence
/// after a password word: "my usual pass X", "the new password I set (X)", "I typed X as the
/// password"; or a quoted value with a digit or symbol ("it has a space: 'blue sky 42'"). The
/// shape: 6–64 printable ASCII characters with a letter and a digit or symbol, not a URL,
/// e-mail address, network name, amount or version, not an address or hash (25+ letters and
/// digits only). When the password word's own sentence is short and holds no value ("パスワード
/// 忘れた。たぶん X だったと思う"), the next sentence is read too, up to an id word.
fn values_in_context(text: &str, label_end: usize) -> Vec<(usize, usize)> {
    let (sentence, next) = sentence_at(text, label_end);
    let found = context_values(text, label_end, sentence);
    if !found.is_empty() || sentence.chars().count() > SHORT_SENTENCE {
        return found;
    }
    let Some(next_start) = next else {
        return found;
    };
    let (following, _) = sentence_at(text, next_start);
    let following = &following[..ID_OR_TX_WORD
        .find(following)
        .map_or(following.len(), |m| m.start())];
    context_values(text, next_start, following)
}

/// A password word's sentence shorter than this many characters ("忘れた", "forgot it") may have
/// its value in the next sentence.
const SHORT_SENTENCE: usize = 10;

/// Words that make a value after them an id or a transaction, not a password.
static ID_OR_TX_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:uid|id|order|ticket|tx|txid|hash|address)(?-u:\b)|번호|주소|해시|订单|工单|地址|哈希|番号|アドレス|ハッシュ")
        .expect("valid regex")
});

/// An id written with its label glued on ("UID30291847", "ORD-88213"): never a password.
static ID_PREFIXED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i:^(?:uid|id|order|ord|ticket|tx|txid|no)[-_#:.]?\d+$)|^[A-Z]{1,4}[-_#]\d{3,}$")
        .expect("valid regex")
});

/// The sentence starting at `start` (at most [`CONTEXT_REACH`] characters), and where the next
/// one starts when a sentence end was found. A sentence ends at a full stop, question or
/// exclamation mark followed by a space (not inside a value: "v1.2", "a!#A~0a"), at a CJK one,
/// or at a line break.
fn sentence_at(text: &str, start: usize) -> (&str, Option<usize>) {
    let reach = super::super::scan::after(text, start, CONTEXT_REACH);
    let end = reach.char_indices().find(|&(i, c)| {
        let spaced =
            super::super::scan::next_char(reach, i + c.len_utf8()).is_none_or(char::is_whitespace);
        let ellipsis = c == '.' && i > 0 && reach.as_bytes()[i - 1] == b'.';
        "。？！\n".contains(c) || (".?!".contains(c) && spaced && !ellipsis)
    });
    match end {
        Some((i, c)) => (&reach[..i], Some(start + i + c.len_utf8())),
        None => (reach, None),
    }
}

/// Password-shaped words and quoted values of `sentence` (which starts at `offset` in `text`),
/// up to a masked value (the label's value is masked already).
fn context_values(text: &str, offset: usize, sentence: &str) -> Vec<(usize, usize)> {
    let unmasked = &sentence[..sentence.find(super::BLANK).unwrap_or(sentence.len())];
    debug_assert!(text[offset..].starts_with(unmasked));
    let quoted = QUOTED.captures_iter(unmasked).filter_map(|caps| {
        let value = caps.iter().skip(1).flatten().next()?;
        let v = value.as_str();
        let shaped = (4..=64).contains(&v.chars().count())
            && v.chars()
                .any(|c| c.is_ascii_digit() || c.is_ascii_punctuation())
            && v.chars().all(|c| c.is_ascii_graphic() || c == ' ')
            && !v.contains("://")
            && !EMAIL_LIKE.is_match(v);
        shaped.then(|| (offset + value.start(), offset + value.end()))
    });
    let words = PASSWORD_VALUE_ANYWHERE
        .find_iter(unmasked)
        .take(CONTEXT_WORDS)
        .filter_map(|word| {
            let lead = word.as_str().len() - word.as_str().trim_start_matches(OPENING).len();
            let value = word.as_str()[lead..].trim_end_matches(CLOSING);
            looks_like_password(value).then(|| {
                let start = offset + word.start() + lead;
                (start, start + value.len())
            })
        });
    quoted.chain(words).collect()
}

/// A value in quotes, opened after a space, colon or bracket (not an apostrophe inside a word:
/// "can't").
static QUOTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[^A-Za-z0-9])(?:'([^'\n]+)'|"([^"\n]+)"|“([^”\n]+)”|‘([^’\n]+)’)|「([^」\n]+)」|『([^』\n]+)』"#)
        .expect("valid regex")
});

/// Joiners of alternatives ("X or Y", "X 아니면 Y", "X还是Y", "XかY").
static ALTERNATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:,|/|\bor\b|\band\b|\bnot\b|maybe|또는|아니면|아니고|아니라|이나|或者|或是|还是|還是|或|不是|而是|か|または|とか|それか|じゃなくて|ではなく|も)\s*")
        .expect("valid regex")
});

/// Passwords offered as alternatives after one ("the password is A or B", "A 아니면 B"), up
/// to three.
fn alternatives(text: &str, mut end: usize) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for _ in 0..3 {
        // A masked first value reads as blanks and the alternatives follow it.
        let rest = text[end..].trim_start_matches(super::BLANK);
        let skipped = text.len() - end - rest.len();
        let Some(joiner) = ALTERNATIVE.find(rest) else {
            break;
        };
        let Some(word) = PASSWORD_VALUE_ANYWHERE.find(&rest[joiner.end()..]) else {
            break;
        };
        if word.start() != 0 {
            break;
        }
        let value = word.as_str().trim_end_matches(CLOSING);
        let lead = value.len() - value.trim_start_matches(OPENING).len();
        if !looks_like_password(&value[lead..]) {
            break;
        }
        let start = end + skipped + joiner.end() + lead;
        end = start + value.len() - lead;
        found.push((start, end));
    }
    found
}

/// Verbs of setting a password without naming it ("i set it to X", "changed it to X", "改成X").
static SET_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:set|changed?|reset|updated?|switched|made)\s+(?:it|mine|that|this|them)\s+(?:to|as|into)\s+|改成了?|改为|改為|设成|設成|设置为|設置為|设置成|設置成|设为|設為")
        .expect("valid regex")
});

/// A password-shaped value after a verb of setting it: "i set it to summer2023".
pub(super) fn set_passwords(text: &str, out: &mut Vec<Span>) {
    for verb in SET_TO.find_iter(text) {
        let rest = &text[verb.end()..];
        let Some(word) = PASSWORD_VALUE_ANYWHERE.find(rest) else {
            continue;
        };
        if !rest[..word.start()].trim().is_empty() {
            continue;
        }
        let value = word.as_str().trim_end_matches(CLOSING);
        let lead = value.len() - value.trim_start_matches(OPENING).len();
        if looks_like_password(&value[lead..]) {
            let start = verb.end() + word.start() + lead;
            out.push(Span {
                start,
                end: verb.end() + word.start() + value.len(),
                kind: SecretKind::Password,
            });
        }
    }
}

fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | '\u{30FC}')
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
        && !ID_PREFIXED.is_match(value)
}

/// Verbs after which customers list what they typed ("tried X and Y", "试了X和Y").
static TRIED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:tried|trying|try|typed|entered|put\s+in|used|using)(?-u:\b)|试了|試了|试过|試過|尝试了?|嘗試了?|输入了?|輸入了?|用了|填了")
        .expect("valid regex")
});

/// Words of a failing sign-in, which make quoted values after "tried" passwords.
static LOGIN_TROUBLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)fail|wrong|incorrect|locked|log\s*-?in|sign\s*-?in|password|pw(?-u:\b)|비번|비밀번호|로그인|안\s*돼|密码|密碼|登录|登錄|不对|不對|パスワード|ログイン|ダメ|だめ")
        .expect("valid regex")
});

/// Joiners inside a list of values ("X, Y and Z", "X和Y", "XとY", "X랑 Y").
static LIST_JOINER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:,|/|、|，|(?-u:\b)(?:and|or)(?-u:\b)|和|跟|或|と|や|か|랑|이랑|하고|이나|나)\s*(?:(?-u:\b)(?:and|or)(?-u:\b)\s*)?")
        .expect("valid regex")
});

/// The values of a list starting at `pos`: password-shaped words, or quoted values when
/// `quotes_count`, joined by commas, "and", 和, と; each as (start, end).
fn listed_values(text: &str, mut pos: usize, quotes_count: bool) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for _ in 0..4 {
        let rest = &text[pos..];
        let lead = rest.len() - rest.trim_start().len();
        let rest = &rest[lead..];
        let value = match quoted_value(rest.get(..1).unwrap_or(""), rest.get(1..).unwrap_or("")) {
            Some(len) if quotes_count => Some((1, 1 + len, 2 + len)),
            _ => PASSWORD_VALUE_ANYWHERE
                .find(rest)
                .filter(|w| w.start() == 0)
                .and_then(|w| {
                    let v = w.as_str().trim_end_matches(CLOSING);
                    looks_like_password(v).then_some((0, v.len(), v.len()))
                }),
        };
        let Some((start, end, consumed)) = value else {
            break;
        };
        found.push((pos + lead + start, pos + lead + end));
        pos += lead + consumed;
        match LIST_JOINER.find(&text[pos..]) {
            Some(joiner) => pos += joiner.end(),
            None => break,
        }
    }
    found
}

/// Values listed after a verb of trying or typing ("tried Bluebird#77 and bluebird77",
/// "我试了password1，Password1!").
pub(super) fn tried_passwords(text: &str, out: &mut Vec<Span>) {
    let trouble = LOGIN_TROUBLE.is_match(text);
    for verb in TRIED.find_iter(text) {
        for (start, end) in listed_values(text, verb.end(), trouble) {
            out.push(Span {
                start,
                end,
                kind: SecretKind::Password,
            });
        }
    }
}

/// What follows a value that a customer set, typed, tried or remembers, in Japanese and Korean
/// word order ("Xを入力してしまいました", "Xにしてた", "XとY、両方試しました", "X로 설정했", "X였나").
static VERB_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:を|に|で|と|は|로|으로|를|을|이라고|라고)?\s*(?:[、,，]\s*)?(?:도|も|也)?\s*(?:両方|どちらも|둘\s*다)?\s*(?:入力|試し|試した|設定|して|した|しま|する|変え|変更|打っ|입력|설정|바꿨|바꾸|변경|쳤|넣었|넣어|눌렀|해놨|해봤|해 봤|해보|써봤|했|试|試)")
        .expect("valid regex")
});

/// What follows a remembered value ("Xだったと思う", "X였나", "X였던 것 같"): only in a message
/// that talks about a password.
static WAS_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:だった|でした|だと思|じゃなかった|였|이었|였던|인가|是不是)")
        .expect("valid regex")
});

/// Values before a verb of setting, typing or trying them, and remembered values in a message
/// about a password; with the values listed before them ("XとY、両方試し").
pub(super) fn values_before_verbs(text: &str, out: &mut Vec<Span>) {
    let about_password = PASSWORD_LABEL.is_match(text);
    let mut pending: Vec<(usize, usize)> = Vec::new();
    let mut last_end = None;
    for word in PASSWORD_VALUE_ANYWHERE.find_iter(text) {
        let lead = word.as_str().len() - word.as_str().trim_start_matches(OPENING).len();
        let v = word.as_str()[lead..].trim_end_matches(CLOSING);
        let (start, end) = (word.start() + lead, word.start() + lead + v.len());
        let rest = &text[end..];
        let remembered = about_password
            && WAS_AFTER.is_match(rest)
            && (6..=64).contains(&v.len())
            && v.bytes().any(|b| b.is_ascii_alphabetic())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation());
        if !(looks_like_password(v) || remembered) {
            pending.clear();
            last_end = None;
            continue;
        }
        let joined = last_end.is_some_and(|e: usize| {
            LIST_JOINER
                .find(&text[e..start])
                .is_some_and(|j| j.end() == start - e)
        });
        if !joined {
            pending.clear();
        }
        pending.push((start, end));
        last_end = Some(end);
        if VERB_AFTER.is_match(rest) || remembered {
            for &(start, end) in &pending {
                out.push(Span {
                    start,
                    end,
                    kind: SecretKind::Password,
                });
            }
            pending.clear();
        }
    }
}
