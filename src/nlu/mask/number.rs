//! Secrets written as numbers: Korean resident registration numbers, payment cards, bank PINs
//! and one-time codes; dates, amounts, phone numbers and order or ticket numbers are kept.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::super::scan::{
    after, before, char_after_next, is_alnum, is_digit, next_char, prev_char, runs,
};
use super::{LABEL_REACH, SecretKind, Span, is_whole_word};

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
    // "T-000042", "ORD_123456": a number after letters and a hyphen or underscore is an id.
    let id_prefix = matches!(before_c, Some('-' | '_'))
        && prev_char(text, start - 1).is_some_and(|c| c.is_ascii_alphabetic());
    let glued_before = is_alnum(before_c)
        || id_prefix
        || matches!(before_c, Some('#' | '+' | '$' | '₩' | '¥' | '€'));
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
    Regex::new(r"(?i)주민\s*(?:등록\s*)?번호|주민번호|(?-u:\b)rrn(?-u:\b)|resident\s+(?:registration\s+)?(?:number|no)|住民(?:登録)?番号|身份证|身份證|身分證|居民(?:登记|登記|登录|登錄)")
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

pub(super) fn resident_numbers(text: &str, out: &mut Vec<Span>) {
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
    Regex::new(r"(?i)(?-u:\b)(?:order|ticket|case|ref|reference|invoice|tracking|request|inquiry|withdraw[a-z]*|id|no\.)|주문|티켓|문의|접수|출금|订单|訂單|工单|工單|单号|單號|编号|編號|注文|受付|問い合わせ|問合せ|チケット|申請|提币|提幣|出金|번호")
        .expect("valid regex")
});
static CARD_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)card|카드|卡|カード").expect("valid regex"));

/// True when the text just before a number introduces it as an order, ticket, account or
/// withdrawal id ("order id", "工单号", "주문번호", "注文番号") and not as a card: the last such
/// word comes after any card word, and only a connector stands between it and the number.
fn introduced_as_id(context: &str) -> bool {
    let Some(id_word) = NOT_A_CARD_LABEL.find_iter(context).last() else {
        return false;
    };
    let card_after = CARD_LABEL
        .find_iter(context)
        .last()
        .is_some_and(|card| card.end() + 1 >= id_word.start());
    !card_after && ID_CONNECTOR.is_match(&context[id_word.end()..])
}

/// What may stand between an order or ticket word and its number ("order id: ", "주문번호는 ",
/// "工单号是", "注文番号は").
static ID_CONNECTOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:\s|[:：#=.\-]|id(?-u:\b)|no(?-u:\b)|number|num(?-u:\b)|is(?-u:\b)|번호|는|은|이|가|是|为|為|は|号|號|番号)*$")
        .expect("valid regex")
});

pub(super) fn card_numbers(text: &str, out: &mut Vec<Span>) {
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
            if introduced_as_id(before(text, start, 20)) {
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
    "亿", "만", "억", "천", "桁", "자리", "digit", "位",
];

/// The code starting at the first of `tokens` (number tokens of `text`, in order): its end,
/// digit count and how many tokens it spans. A code is one run of digits; groups of 1–4 digits
/// joined by single spaces ("482 913", "4 8 2 9 1 3", "1234 5678") when they make 6 digits or
/// more, or at least `min` single digits; or equal groups of 1–4 digits joined by hyphens
/// ("482-913", "48-29-13", "1234-5678"). Dates, times, amounts and phone numbers are not codes.
fn grouped_code(text: &str, tokens: &[Range<usize>], min: usize) -> Option<(usize, usize, usize)> {
    let first = tokens.first()?;
    let token = &text[first.clone()];
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        let groups: Vec<usize> = token.split('-').map(str::len).collect();
        let hyphenated = groups.len() >= 2
            && groups
                .iter()
                .all(|&g| (1..=4).contains(&g) && g == groups[0])
            && token.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        return hyphenated.then(|| (first.end, groups.iter().sum(), 1));
    }
    if token.len() > 4 {
        return Some((first.end, token.len(), 1));
    }
    let mut end = first.end;
    let mut digits = token.len();
    let mut singles = token.len() == 1;
    let mut used = 1;
    for next in &tokens[1..] {
        let group = &text[next.clone()];
        let joined = next.start == end + 1
            && text[end..].starts_with(' ')
            && group.bytes().all(|b| b.is_ascii_digit())
            && group.len() <= 4
            && digits + group.len() <= 8;
        if !joined {
            break;
        }
        singles &= group.len() == 1;
        digits += group.len();
        end = next.end;
        used += 1;
    }
    if used > 1 && (digits >= 6 || (singles && digits >= min)) {
        Some((end, digits, used))
    } else {
        Some((first.end, token.len(), 1))
    }
}

/// Words right after a number that make it the sender of a message ("인증번호가 1588-1234에서
/// 왔어요"), not the code.
const SENDER_SUFFIXES: &[&str] = &[
    "에서",
    "로 왔",
    "으로 왔",
    "から",
    "より",
    "发来",
    "發來",
    "来的",
    "來的",
];

/// A code of `min..=max` digits near a label: the first number standing alone within
/// [`LABEL_REACH`] characters after the label, or just before it ("123456 is my OTP"). A masked
/// value between the label and the number means the label's value is already masked.
fn code_near_label(
    text: &str,
    label_start: usize,
    label_end: usize,
    min: usize,
    max: usize,
    reach: usize,
) -> Option<(usize, usize)> {
    let ok = |start: usize, end: usize, digits: usize| {
        let between = &text[label_end.min(start)..start];
        let glued_to_label =
            matches!(between, "" | "-" | "_" | ":" | "#" | "=") && !is_digit(next_char(text, end));
        let rest = &text[end..];
        (min..=max).contains(&digits)
            && !PHONE_ENDING.is_match(between)
            && !PHONE_ENDING.is_match(before(text, start, 6))
            && !ID_WORD.is_match(between)
            && (glued_to_label || stands_alone(text, start, end))
            && !UNIT_SUFFIXES
                .iter()
                .chain(SENDER_SUFFIXES)
                .any(|u| rest.trim_start().starts_with(u))
    };
    let window_end = label_end + after(text, label_end, reach).len();
    let window = &text[label_end..window_end];
    let tokens: Vec<Range<usize>> = NUMBER_TOKEN
        .find_iter(window)
        .map(|m| label_end + m.start()..label_end + m.end())
        .collect();
    let mut i = 0;
    while i < tokens.len() {
        if text[label_end..tokens[i].start].contains(super::BLANK) {
            return None;
        }
        let Some((end, digits, used)) = grouped_code(text, &tokens[i..], min) else {
            i += 1;
            continue; // a date, time, amount or phone number: keep looking
        };
        let start = tokens[i].start;
        i += used;
        if ok(start, end, digits) {
            return Some((start, end));
        }
    }
    if window.contains(super::BLANK) {
        return None; // the label's code is masked already
    }
    code_before_label(text, label_start, min).filter(|&(start, end)| {
        let digits = text[start..end].bytes().filter(u8::is_ascii_digit).count();
        ok(start, end, digits)
    })
}

/// "123456 is my OTP", "482 913 이 인증번호예요": a code ending just before a label, with at most
/// a short connector between them.
fn code_before_label(text: &str, label_start: usize, min: usize) -> Option<(usize, usize)> {
    let head = before(text, label_start, 32);
    let head_start = label_start - head.len();
    let tokens: Vec<Range<usize>> = NUMBER_TOKEN
        .find_iter(head)
        .map(|m| head_start + m.start()..head_start + m.end())
        .collect();
    let last_end = tokens.last()?.end;
    let between = text[last_end..label_start].trim();
    let connector = [
        "", "is my", "is the", "is", "from", "=", ":", "이", "가", "은", "는", "是", "は", "が",
    ]
    .iter()
    .any(|c| between.eq_ignore_ascii_case(c));
    if !connector {
        return None;
    }
    // the earliest token from which one code runs up to the last
    (0..tokens.len()).find_map(|i| {
        let (end, _, _) = grouped_code(text, &tokens[i..], min)?;
        (end == last_end).then_some((tokens[i].start, end))
    })
}

static PIN_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)pin(?:\s*(?:code|number|no\.?|#))?|(?:account|bank|atm|card|debit|withdrawal|trading|fund|transaction)\s+(?:password|passcode|pw)|핀\s*(?:번호|코드)|(?:계좌|통장|카드|출금|거래|결제|은행)\s*비밀\s*번호|(?:계좌|통장|카드|출금|거래|결제|은행)\s*비번|(?:출금|거래|결제)\s*핀|핀\s*(?:번호|코드)|(?:出金|取引|資金)パスワード|暗証番号|(?:取款|支付|提款|提现|提現|交易|资金|資金|银行卡|銀行卡|卡)密[码碼]",
    )
    .expect("valid regex")
});

pub(super) fn bank_pins(text: &str, out: &mut Vec<Span>) {
    for label in PIN_LABEL.find_iter(text) {
        if !is_whole_word(text, label.start(), label.end()) {
            continue;
        }
        if let Some((start, end)) =
            code_near_label(text, label.start(), label.end(), 4, 6, PIN_REACH)
        {
            out.push(Span {
                start,
                end,
                kind: SecretKind::BankPin,
            });
            if let Some((start, end)) = corrected_code(text, end, 4, 6) {
                out.push(Span {
                    start,
                    end,
                    kind: SecretKind::BankPin,
                });
            }
        }
    }
}

static OTP_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)otp|2fa|mfa|one[\s-]?time\s+(?:password|code|pin)|authenticator|code|sms|문자(?:로|에)(?:\s*(?:온|받은))?|문자\s*(?:온|받은|메시지)|코드|短信|簡訊|ショートメール|authy|인증\s*(?:번호|코드|문자)|인증|認証|コード|보안\s*코드|验证码|驗證碼|校验码|校驗碼|认证码|認證碼|动态码|動態碼|認証の?(?:コード|番号)|確認コード|セキュリティコード|ワンタイム(?:パスワード)?",
    )
    .expect("valid regex")
});

/// Words between a code label and digits that make the digits an account, member, order or
/// ticket id ("OTP 분실했어요. 회원번호 9012233", "2FA reset, ticket 482913").
static ID_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:uid|user\s*id|member|account\s*(?:id|no|number)|order|ticket|case|ref|reference|request|inquiry|tracking|invoice)(?-u:\b)|회원\s*번호|고객\s*번호|주문|문의\s*번호|접수\s*번호|티켓|계정\s*번호|订单|訂單|工单|工單|单号|單號|会员|會員|用户\s*id|账户\s*id|注文|受付|問い合わせ|問合せ|会員番号|チケット|ユーザー\s*id")
        .expect("valid regex")
});

/// Words between a code label and digits that make the digits the end of a phone number ("sends
/// the code to my phone ending 5521").
static PHONE_ENDING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)phone|ending|끝\s*(?:자리|번호)|뒷\s*(?:자리|번호)|뒤\s*\d?\s*자리|휴대폰|핸드폰|전화|携帯|ケータイ|尾号|尾號|手机|手機|末尾|下\d桁|電話")
        .expect("valid regex")
});

/// Six single digits separated by single spaces or hyphens ("4 8 2 6 1 0"): a code read out
/// digit by digit, the way no date, amount or id is written.
static SPACED_SIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)\d(?:[ \-]\d){5}(?-u:\b)").expect("valid regex"));

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

pub(super) fn otp_codes(text: &str, out: &mut Vec<Span>) {
    for label in OTP_LABEL.find_iter(text) {
        if !is_whole_word(text, label.start(), label.end()) {
            continue;
        }
        if matches!(label.as_str(), "コード" | "코드")
            && NOT_OTP_CODE_JA
                .iter()
                .chain(NOT_OTP_CODE_KO)
                .any(|w| before(text, label.start(), 6).trim_end().ends_with(w))
        {
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
        if let Some((start, end)) =
            code_near_label(text, label.start(), label.end(), 4, 8, LABEL_REACH)
        {
            out.push(Span {
                start,
                end,
                kind: SecretKind::OtpCode,
            });
            for (start, end) in more_codes(text, end)
                .into_iter()
                .chain(corrected_code(text, end, 4, 8))
            {
                out.push(Span {
                    start,
                    end,
                    kind: SecretKind::OtpCode,
                });
            }
        }
    }
    lone_codes(text, out);
    three_three_codes(text, out);
    for m in SPACED_SIX.find_iter(text) {
        if !is_digit(
            next_char(text, m.end() + 1)
                .filter(|_| matches!(next_char(text, m.end()), Some(' ' | '-'))),
        ) {
            out.push(Span {
                start: m.start(),
                end: m.end(),
                kind: SecretKind::OtpCode,
            });
        }
    }
}

/// Words before コード that make it something other than a one-time code.
const NOT_OTP_CODE_JA: &[&str] = &[
    "エラー",
    "招待",
    "紹介",
    "QR",
    "プロモ",
    "クーポン",
    "郵便",
    "国",
    "銀行",
    "支店",
    "商品",
    "注文",
    "ステータス",
    "理由",
    "割引",
    "ソース",
];

/// Words before 코드 that make it something other than a one-time code.
const NOT_OTP_CODE_KO: &[&str] = &[
    "에러",
    "오류",
    "추천",
    "초대",
    "프로모션",
    "QR",
    "국가",
    "우편",
    "쿠폰",
    "할인",
    "이벤트",
    "상품",
    "주문",
    "은행",
    "지점",
];

/// How far after a PIN word its digits may come ("withdrawal password, is that the 6 digit one?
/// I think mine's 204816").
const PIN_REACH: usize = 64;

/// Words of a customer correcting the code just given ("wait no that's my old one. 1067",
/// "아 잘못봤다 371904", "不对，应该是882310", "じゃなくて 339128").
static CORRECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:wait|sorry|no|not|actually|i\s+mean|wrong|typo)(?-u:\b)|잘못|아니|아니고|오타|정정|不对|不對|不是|应该是|應該是|打错|打錯|じゃなくて|ではなく|間違|訂正|すみません")
        .expect("valid regex")
});

/// A code correcting the one ending at `end`: a correction word within the next 40 characters,
/// then the first number standing alone with `min..=max` digits.
fn corrected_code(text: &str, end: usize, min: usize, max: usize) -> Option<(usize, usize)> {
    let window = after(text, end, 48);
    let word = CORRECTION.find(window)?;
    if window[..word.start()].chars().count() > 16 {
        return None;
    }
    let from = end + word.end();
    let tokens: Vec<Range<usize>> = NUMBER_TOKEN
        .find_iter(&text[from..end + window.len()])
        .map(|m| from + m.start()..from + m.end())
        .collect();
    let (code_end, digits, _) = grouped_code(text, &tokens, 6)?;
    let start = tokens[0].start;
    let between = &text[from..start];
    if ID_WORD.is_match(between) || PHONE_ENDING.is_match(between) {
        return None;
    }
    let rest = text[code_end..].trim_start();
    let unit = UNIT_SUFFIXES.iter().any(|u| rest.starts_with(u));
    ((min..=max).contains(&digits) && !unit && stands_alone(text, start, code_end))
        .then_some((start, code_end))
}

/// Joiners of a second code after the first ("gave X and then Y", "验证码X和Y", "X랑 Y").
static CODE_JOINER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:,|/|、|，|(?-u:\b)(?:and(?:\s+then)?|then|or)(?-u:\b)|和|跟|及|或|还有|還有|と|や|랑|하고|이랑|그리고)\s*")
        .expect("valid regex")
});

/// Codes given one after the other after the first (up to three more): digits of the first
/// code's kind of length (4–8) joined to it by "and", "or", a comma, 和, と, 랑.
fn more_codes(text: &str, mut end: usize) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for _ in 0..3 {
        let rest = text[end..].trim_start_matches(super::BLANK);
        let skipped = text.len() - end - rest.len();
        let Some(joiner) = CODE_JOINER.find(rest) else {
            break;
        };
        let start = end + skipped + joiner.end();
        let tokens: Vec<Range<usize>> = NUMBER_TOKEN
            .find_iter(&text[start..])
            .map(|m| start + m.start()..start + m.end())
            .take_while(|t| t.start - start <= 8)
            .collect();
        if tokens.first().is_none_or(|t| t.start != start) {
            break;
        }
        let Some((code_end, digits, _)) = grouped_code(text, &tokens, 6) else {
            break;
        };
        let rest = text[code_end..].trim_start();
        let unit = UNIT_SUFFIXES.iter().any(|u| rest.starts_with(u));
        if !(4..=8).contains(&digits) || unit || !stands_alone(text, start, code_end) {
            break;
        }
        found.push((start, code_end));
        end = code_end;
    }
    found
}

/// Two groups of three digits ("557 031", "１２０ ４５５"): how authenticator apps show a code,
/// and no date, amount, phone or id is written that way.
static THREE_THREE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)\d{3} \d{3}(?-u:\b)").expect("valid regex"));

/// Words after a number that make it an amount.
static CURRENCY_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:(?:krw|usd|usdt|usdc|jpy|cny|rmb|twd|hkd|eur|won|yen|eth|btc|sol|xrp|trx|bnb|ada|doge|coins?|tokens?|sats?|dollars?)(?-u:\b)|원|円|元|块|塊|ドル|달러|만|万|萬|千|천|%)")
        .expect("valid regex")
});

/// Words just before a number that make it an error, postal or phone number.
static NOT_A_CODE_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)error|status|zip|postal|phone|tel(?-u:\b)|fax|エラー|郵便|電話|에러|오류|우편|전화|错误|錯誤|邮编|郵編|电话")
        .expect("valid regex")
});

fn three_three_codes(text: &str, out: &mut Vec<Span>) {
    for m in THREE_THREE.find_iter(text) {
        let before_c = prev_char(text, m.start());
        let grouped_before = matches!(before_c, Some(' ' | '-' | ',' | '.'))
            && is_digit(prev_char(text, m.start() - 1));
        let grouped_after = matches!(next_char(text, m.end()), Some(' ' | '-' | ',' | '.'))
            && is_digit(char_after_next(text, m.end()));
        let amount = CURRENCY_AFTER.is_match(&text[m.end()..])
            || UNIT_SUFFIXES
                .iter()
                .any(|u| text[m.end()..].trim_start().starts_with(u));
        let not_a_code = NOT_A_CODE_BEFORE.is_match(before(text, m.start(), 12));
        if !grouped_before
            && !grouped_after
            && !amount
            && !not_a_code
            && stands_alone(text, m.start(), m.end())
        {
            out.push(Span {
                start: m.start(),
                end: m.end(),
                kind: SecretKind::OtpCode,
            });
        }
    }
}

/// Digits of a code typed alone on its line, as customers answer "please enter the code".
const LONE_CODE_DIGITS: usize = 6;

/// A line that is nothing but a 6-digit code ("482913", "482 913", "４８２ ９１３") is an OTP:
/// the usual answer to a code prompt, and no date, amount or id is written that way.
fn lone_codes(text: &str, out: &mut Vec<Span>) {
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(|c: char| c.is_whitespace() || ".!。".contains(c));
        let lead = trimmed.len() - trimmed.trim_start().len();
        let (start, end) = (line_start + lead, line_start + trimmed.len());
        line_start += line.len();
        let tokens: Vec<Range<usize>> = NUMBER_TOKEN
            .find_iter(&text[start..end])
            .map(|m| start + m.start()..start + m.end())
            .collect();
        if tokens.first().is_some_and(|t| t.start == start)
            && let Some((code_end, digits, _)) = grouped_code(text, &tokens, LONE_CODE_DIGITS)
            && code_end == end
            && digits == LONE_CODE_DIGITS
        {
            out.push(Span {
                start,
                end,
                kind: SecretKind::OtpCode,
            });
        }
    }
}
