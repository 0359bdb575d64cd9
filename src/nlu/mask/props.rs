//! Property tests of the masker: a generated secret of any kind, in any of its written forms,
//! inserted into chat text in any of the four languages never survives
//! ([`measure::secret_survives`](super::measure::secret_survives)); arbitrary Unicode never
//! panics; masking is idempotent.

use proptest::prelude::*;
use proptest::sample::select;

use super::mask;
use super::measure::secret_survives;

/// Chat sentences per language (en, ko, ja, zh) with no secret and no transaction word.
const CHAT: [&[&str]; 4] = [
    &[
        "hi, I need help with my account",
        "I withdrew 0.5 BTC yesterday and it still has not arrived",
        "please check it quickly, thanks",
        "the app keeps logging me out since the update on 2026-11-20",
        "my order id is A-20261120-0001",
        "sent 1,000 USDT on TRC-20 about an hour ago",
        "is there any problem with deposits today?",
        "ok",
    ],
    &[
        "안녕하세요 계정 문제로 문의드려요",
        "어제 USDT 500개 출금했는데 아직 안 들어왔어요",
        "빨리 확인 부탁드립니다",
        "앱 업데이트 후로 계속 로그아웃돼요",
        "주문번호 2024112012345678 확인해주세요",
        "1,000,000원 입금했어요",
        "감사합니다",
        "네",
    ],
    &[
        "こんにちは、アカウントについて質問があります",
        "昨日0.5BTCを出金しましたがまだ届いていません",
        "至急確認をお願いします",
        "アプリを更新してからログアウトされます",
        "注文番号は20261120-0001です",
        "よろしくお願いします",
        "はい",
    ],
    &[
        "你好，我的账户有问题",
        "昨天提了500 USDT，到现在还没到账",
        "麻烦尽快帮我查一下",
        "更新App以后一直被登出",
        "工单号 4111111111111111",
        "谢谢",
        "好的",
    ],
];

/// Contexts per kind and language: `{}` is where the secret goes.
const OTP_CONTEXTS: [&[&str]; 4] = [
    &[
        "my OTP is {}",
        "2FA code: {}",
        "the verification code I got was {}",
        "{} is the code from google authenticator",
    ],
    &[
        "인증번호 {} 입력했는데 안돼요",
        "OTP {}",
        "인증 코드는 {}예요",
    ],
    &[
        "認証コードは{}です",
        "ワンタイムパスワード {}",
        "確認コード：{}",
    ],
    &["验证码是{}", "动态码：{}", "谷歌验证码 {} 一直提示错误"],
];
const PASSWORD_CONTEXTS: [&[&str]; 4] = [
    &[
        "password: {}",
        "my usual pass {}",
        "the new password I set ({})",
        "my password for the exchange is {}",
        "pw {} if you need it",
    ],
    &["비번 {}", "비밀번호는 {}입니다", "패스워드 {} 로 바꿨어요"],
    &[
        "パスワードは{}",
        "パスワード：{}",
        "新しいパスワード「{}」で入れません",
    ],
    &["密码是{}", "我的密码 {}", "登录密码：{}"],
];
const PIN_CONTEXTS: [&[&str]; 4] = [
    &[
        "PIN {}",
        "it asked for my account password, I typed {}",
        "my card pin is {}",
    ],
    &["계좌 비밀번호 {}", "핀번호는 {}", "출금 비밀번호 {} 맞아요"],
    &["暗証番号は{}です", "暗証番号 {}"],
    &["取款密码是{}", "资金密码 {}"],
];
const SEED_CONTEXTS: [&[&str]; 4] = [
    &["my seed phrase is {}", "recovery phrase:\n{}", "{}"],
    &["시드 구문 {}", "{}"],
    &["シードフレーズは {} です", "{}"],
    &["助记词是 {}", "我的助记词：{}"],
];
const KEY_CONTEXTS: [&[&str]; 4] = [
    &[
        "my private key is {}",
        "private key: {}",
        "{} is my private key",
    ],
    &["개인키 {}", "프라이빗 키는 {} 입니다"],
    &["秘密鍵は{}です", "秘密鍵：{}"],
    &["私钥是{}", "我的私钥 {}"],
];
const CARD_CONTEXTS: [&[&str]; 4] = [
    &["card {}", "my card number is {}", "{}"],
    &["카드번호 {}", "{}"],
    &["カード番号は{}です", "{}"],
    &["卡号 {}", "{}"],
];
const RRN_CONTEXTS: [&[&str]; 4] = [
    &["resident number {}"],
    &["주민번호 {}", "주민등록번호는 {} 입니다"],
    &["住民番号 {}"],
    &["韩国身份证号 {}"],
];

/// Digits as typed: ASCII, full-width, spaced one by one, in two spaced or hyphenated halves.
fn written_digits(digits: String) -> impl Strategy<Value = String> {
    let full: String = digits
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c))
        .collect();
    let spaced = digits
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ");
    let full_spaced = full.chars().map(String::from).collect::<Vec<_>>().join(" ");
    let half = digits.len() / 2;
    let halves = format!("{} {}", &digits[..half], &digits[half..]);
    let hyphen = format!("{}-{}", &digits[..half], &digits[half..]);
    select(vec![digits, full, spaced, full_spaced, halves, hyphen])
}

fn digit_string(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, len)
        .prop_map(|d| d.iter().map(|x| char::from(b'0' + x)).collect())
}

fn otp() -> impl Strategy<Value = String> {
    prop_oneof![digit_string(6..=6), digit_string(8..=8)].prop_flat_map(written_digits)
}

fn pin() -> impl Strategy<Value = String> {
    digit_string(4..=6).prop_flat_map(|d| {
        let full: String = d
            .chars()
            .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c))
            .collect();
        select(vec![d, full])
    })
}

/// A password: a letter, then letters, digits and symbols with at least one digit.
fn password() -> impl Strategy<Value = String> {
    (
        "[A-Za-z]",
        "[A-Za-z0-9!@#$%^&*_+=~]{4,14}",
        "[0-9]",
        "[A-Za-z0-9]",
    )
        .prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}"))
}

/// 12 or 24 words of a BIP-39 list (en, ko, ja, zh), joined as typed.
fn seed(lang: usize) -> impl Strategy<Value = String> {
    let list = match lang {
        0 => bip39::Language::English,
        1 => bip39::Language::Korean,
        2 => bip39::Language::Japanese,
        _ => bip39::Language::SimplifiedChinese,
    };
    (
        proptest::collection::vec(0usize..2048, 12..=12),
        any::<bool>(),
    )
        .prop_map(move |(idx, long)| {
            let n = if long { 24 } else { 12 };
            let words: Vec<String> = idx
                .iter()
                .cycle()
                .take(n)
                .enumerate()
                .map(|(i, &k)| super::super::scan::compose(list.word_list()[(k + i * 7) % 2048]))
                .collect();
            words.join(" ")
        })
}

const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58(
    len: std::ops::RangeInclusive<usize>,
    first: &'static [u8],
) -> impl Strategy<Value = String> {
    (
        select(first.to_vec()),
        proptest::collection::vec(select(BASE58.to_vec()), len),
    )
        .prop_map(|(f, rest)| std::iter::once(f).chain(rest).map(char::from).collect())
}

/// A 64-digit hex key (with or without `0x`), a WIF key, or a Phantom (base58, 87–88) key.
fn private_key() -> impl Strategy<Value = String> {
    prop_oneof![
        ("(0x)?", "[0-9a-f]{64}").prop_map(|(p, h)| format!("{p}{h}")),
        base58(50..=50, b"5"),
        base58(51..=51, b"KL"),
        base58(86..=87, BASE58),
    ]
}

fn luhn_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 0 {
                if x * 2 > 9 { x * 2 - 9 } else { x * 2 }
            } else {
                x
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A 16-digit card number passing Luhn, plain or in groups of four.
fn card() -> impl Strategy<Value = String> {
    (
        select(vec![4u8, 5]),
        proptest::collection::vec(0u8..10, 14),
        select(vec!["", " ", "-"]),
    )
        .prop_map(|(first, rest, sep)| {
            let mut d = vec![first];
            d.extend(rest);
            d.push(luhn_check_digit(&d));
            let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
            s.as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(sep)
        })
}

/// A Korean resident registration number with a valid date and checksum, `YYMMDD-GNNNNNC`.
fn resident_number() -> impl Strategy<Value = String> {
    (
        0u8..100,
        1u8..=12,
        1u8..=28,
        1u8..=4,
        proptest::collection::vec(0u8..10, 5),
        any::<bool>(),
    )
        .prop_map(|(yy, mm, dd, g, rest, dash)| {
            let mut d = vec![yy / 10, yy % 10, mm / 10, mm % 10, dd / 10, dd % 10, g];
            d.extend(rest);
            const WEIGHTS: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
            let sum: u32 = d.iter().zip(WEIGHTS).map(|(&x, w)| u32::from(x) * w).sum();
            d.push(((11 - sum % 11) % 10) as u8);
            let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
            if dash {
                format!("{}-{}", &s[..6], &s[6..])
            } else {
                s
            }
        })
}

/// A secret and the sentence it is written in, for language `lang`.
fn secret_sentence(lang: usize) -> impl Strategy<Value = (String, String)> {
    let with = |contexts: &'static [&'static str], secret: BoxedStrategy<String>| {
        (select(contexts.to_vec()), secret)
            .prop_map(|(c, s)| (c.replace("{}", &s), s))
            .boxed()
    };
    prop_oneof![
        with(OTP_CONTEXTS[lang], otp().boxed()),
        with(PASSWORD_CONTEXTS[lang], password().boxed()),
        with(PIN_CONTEXTS[lang], pin().boxed()),
        with(SEED_CONTEXTS[lang], seed(lang).boxed()),
        with(KEY_CONTEXTS[lang], private_key().boxed()),
        with(CARD_CONTEXTS[lang], card().boxed()),
        with(RRN_CONTEXTS[lang], resident_number().boxed()),
    ]
}

/// A chat message in one language with one secret in it: (message, secret).
fn message_with_secret() -> impl Strategy<Value = (String, String)> {
    (0usize..4).prop_flat_map(|lang| {
        let chat = || proptest::collection::vec(select(CHAT[lang].to_vec()), 0..3);
        (
            chat(),
            secret_sentence(lang),
            chat(),
            select(vec![" ", "\n", ". "]),
        )
            .prop_map(|(before, (sentence, secret), after, sep)| {
                let parts: Vec<&str> = before
                    .iter()
                    .copied()
                    .chain(std::iter::once(sentence.as_str()))
                    .chain(after.iter().copied())
                    .collect();
                (parts.join(sep), secret)
            })
    })
}

/// Arbitrary Unicode mixed with the characters and words the masker looks for.
fn odd_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        any::<char>().prop_map(String::from),
        select(vec![
            "OTP",
            "pw:",
            "비번",
            "パスワードは",
            "密码是",
            "PIN",
            "暗証番号",
            "私钥",
            "助记词",
            "[masked:password]",
            "[masked:",
            "]",
            "１",
            "２",
            "　",
            "-",
            " ",
            "\n",
            "0x",
            "4111",
            "abandon",
            "是",
            "は",
            "code",
            "tx",
            "\u{0}",
            "\u{FEFF}",
            "̈",
            "🏳️‍🌈",
        ])
        .prop_map(String::from),
        "[0-9]{1,8}",
        "[0-9０-９ ]{1,12}",
        "[A-Za-z0-9]{20,90}",
    ];
    proptest::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_inserted_secret_never_survives((text, secret) in message_with_secret()) {
        let out = mask(&text).text;
        prop_assert!(
            !secret_survives(&text, &secret, &out),
            "secret {secret:?} survived\n  in:  {text}\n  out: {out}"
        );
        prop_assert_eq!(mask(&out).text, out);
    }

    #[test]
    fn arbitrary_text_never_panics_and_masking_is_idempotent(text in odd_text()) {
        let once = mask(&text).text;
        prop_assert_eq!(mask(&once).text, once);
    }
}
