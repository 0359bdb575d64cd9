//! Language detection for one customer message: Korean, English, Chinese, Japanese or another script.
//!
//! The detector looks at scripts first (Hangul, kana, Han, Latin, Cyrillic, ...), ignores text that
//! carries no language (numbers, tickers, TXIDs, addresses, URLs, e-mails, emoji, masked secrets)
//! and tells kanji-only Japanese from Chinese by characters and words typical of each.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A language the bot can recognise. Serialises as its code (`"ko"`, `"en"`, `"ru"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Korean.
    Ko,
    /// English.
    En,
    /// Chinese, simplified or traditional.
    Zh,
    /// Japanese.
    Ja,
    /// Any other language, by its code (`"ru"`, `"th"`, `"ar"`, `"vi"`, `"und"` for unknown, ...).
    Other(&'static str),
}

/// Codes that [`Lang::Other`] can carry.
const OTHER_CODES: &[&str] = &[
    "und", "ru", "th", "ar", "vi", "he", "hi", "el", "es", "fr", "de", "pt", "it", "id", "tr", "uk",
];

impl Lang {
    /// The language code (ISO 639-1 where there is one, `"und"` for unknown).
    pub fn code(&self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
            Lang::Zh => "zh",
            Lang::Ja => "ja",
            Lang::Other(code) => code,
        }
    }

    /// Parses a code such as `"ko"`, `"zh-TW"`, `"ja_JP"` or `"RU"`; `None` for an unknown code.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ko" => Some(Lang::Ko),
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            "ja" => Some(Lang::Ja),
            other => OTHER_CODES
                .iter()
                .find(|c| **c == other)
                .map(|c| Lang::Other(c)),
        }
    }

    /// The language the bot replies in: one of its four languages, English for any other.
    pub fn reply_language(&self) -> Lang {
        match self {
            Lang::Other(_) => Lang::En,
            lang => *lang,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Lang {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Lang::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown language code {code:?}")))
    }
}

/// The result of detecting one message's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// The detected language (English when there is no evidence at all).
    pub lang: Lang,
    /// False when the text carries no real evidence (only digits, tickers, TXIDs, URLs, emoji,
    /// "ok", one short token): a conversation then keeps its previous language.
    pub confident: bool,
}

/// Detects the language of one message.
pub fn detect(text: &str) -> Detection {
    read_scripts(text).detection
}

/// Detection with the conversation's previous language as the prior: an unconfident detection
/// keeps `previous`, and so does a close call between Chinese and Japanese on kanji-only text
/// when the conversation was already in one of them. Otherwise the customer may switch.
pub fn detect_in_conversation(text: &str, previous: Option<Lang>) -> Lang {
    let analysis = read_scripts(text);
    let Some(previous) = previous else {
        return analysis.detection.lang;
    };
    if !analysis.detection.confident {
        return previous;
    }
    let close_han_call = analysis.han_margin.is_some_and(|margin| margin.abs() <= 1);
    if close_han_call && matches!(previous, Lang::Zh | Lang::Ja) {
        return previous;
    }
    analysis.detection.lang
}

/// A detection plus what the conversation prior needs to know.
struct ScriptReading {
    detection: Detection,
    /// For kanji/hanzi-only text: Chinese score minus Japanese score.
    han_margin: Option<i32>,
}

/// Parts of a message that are no evidence of any language.
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
          \[masked:[a-z_]+\]                                  # secrets masked by super::mask
        | (?:https?://|www\.)\S+                              # URLs
        | [a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}             # e-mail addresses
        | [a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:com|net|org|io|co|kr|jp|cn|tw|hk|xyz|app|me|info|biz)(?-u:\b)\S*
        | 0x[0-9a-f]+                                         # hex: TXIDs, EVM addresses
        | [a-z0-9]{20,}                                       # long tokens: addresses, TXIDs
        | [¯\\_]*\(ツ\)[_/¯]*                                  # the shrug emoticon
        ",
    )
    .expect("NOISE regex is valid")
});

/// Latin words that say nothing about the language: tickers, acronyms, fillers.
const NEUTRAL_WORDS: &[&str] = &[
    // tickers and currencies
    "btc", "eth", "xrp", "usdt", "usdc", "sol", "doge", "ada", "trx", "eos", "xlm", "atom", "matic",
    "pol", "avax", "bch", "etc", "ltc", "link", "shib", "bnb", "arb", "pepe", "sui", "apt", "op",
    "dot", "near", "ton", "krw", "usd", "jpy", "cny", "rmb", "won",
    "yen", // acronyms and product words used in every language
    "otp", "kyc", "aml", "api", "id", "pw", "pin", "sms", "tx", "txid", "hash", "erc", "trc",
    "bep", "bsc", "nft", "defi", "app", "url", "qr", "vpn", "ip", "fa", "upbit", "bithumb",
    "binance", "metamask", "kakao", "google", "naver", // fillers and greetings
    "ok", "okay", "okey", "oke", "okie", "k", "kk", "hi", "hello", "hey", "yes", "no", "yeah",
    "yep", "nope", "lol", "thx", "ty", "pls", "plz", "bye", "hmm", "um", "uh",
];

/// Frequent English words, used to confirm English and to weigh it against other Latin languages.
const ENGLISH_WORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "i",
    "my",
    "me",
    "you",
    "your",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "to",
    "of",
    "and",
    "or",
    "in",
    "on",
    "at",
    "for",
    "with",
    "from",
    "it",
    "this",
    "that",
    "what",
    "why",
    "how",
    "when",
    "where",
    "can",
    "could",
    "would",
    "will",
    "do",
    "does",
    "did",
    "not",
    "dont",
    "don",
    "didn",
    "doesn",
    "cant",
    "haven",
    "have",
    "has",
    "had",
    "please",
    "help",
    "account",
    "withdrawal",
    "withdraw",
    "deposit",
    "still",
    "yet",
    "money",
    "wallet",
    "sent",
    "send",
    "received",
    "receive",
    "got",
    "get",
    "need",
    "want",
    "wrong",
    "there",
    "just",
    "already",
    "hours",
    "days",
    "ago",
    "today",
    "yesterday",
    "but",
    "so",
    "if",
    "we",
    "they",
    "he",
    "she",
    "its",
    "im",
    "ive",
    "u",
    "ur",
    "wont",
    "pending",
    "stuck",
];

/// Distinctive function words of other Latin-script languages: (code, words).
const OTHER_LATIN_WORDS: &[(&str, &[&str])] = &[
    (
        "es",
        &[
            "el", "los", "las", "que", "por", "para", "una", "pero", "mi", "es", "está", "dinero",
            "retiro", "cuenta", "hola", "gracias", "cuando", "porque", "tengo", "del", "muy",
        ],
    ),
    (
        "fr",
        &[
            "le", "les", "des", "est", "pas", "je", "mon", "ma", "mes", "vous", "une", "pour",
            "avec", "retrait", "compte", "bonjour", "merci", "pourquoi", "toujours", "du", "et",
        ],
    ),
    (
        "de",
        &[
            "der",
            "das",
            "und",
            "ist",
            "nicht",
            "ich",
            "mein",
            "meine",
            "sie",
            "ein",
            "eine",
            "mit",
            "auszahlung",
            "konto",
            "hallo",
            "danke",
            "warum",
            "noch",
            "bitte",
            "habe",
        ],
    ),
    (
        "pt",
        &[
            "não", "nao", "os", "meu", "minha", "você", "voce", "uma", "com", "saque", "conta",
            "olá", "obrigado", "porque", "ainda", "tenho", "isso", "está", "dinheiro",
        ],
    ),
    (
        "id",
        &[
            "saya", "tidak", "ini", "itu", "dan", "yang", "akun", "belum", "sudah", "bisa",
            "tolong", "kenapa", "dengan", "untuk", "masuk", "terima", "kasih", "dana",
        ],
    ),
];

static NEUTRAL_SET: LazyLock<std::collections::HashSet<&'static str>> =
    LazyLock::new(|| NEUTRAL_WORDS.iter().copied().collect());
static ENGLISH_SET: LazyLock<std::collections::HashSet<&'static str>> =
    LazyLock::new(|| ENGLISH_WORDS.iter().copied().collect());

/// Script counts gathered from one message.
#[derive(Default)]
struct Counts {
    hangul: usize,
    kana: usize,
    han: usize,
    vietnamese: usize,
    others: [usize; 6],
}

/// Non-Latin, non-CJK scripts, in the order of `Counts::others`.
const OTHER_SCRIPTS: [&str; 6] = ["ru", "th", "ar", "he", "hi", "el"];

fn other_script_index(c: char) -> Option<usize> {
    match c {
        '\u{0400}'..='\u{04FF}' | '\u{0500}'..='\u{052F}' => Some(0),
        '\u{0E00}'..='\u{0E7F}' => Some(1),
        '\u{0600}'..='\u{06FF}'
        | '\u{0750}'..='\u{077F}'
        | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}' => Some(2),
        '\u{0590}'..='\u{05FF}' => Some(3),
        '\u{0900}'..='\u{097F}' => Some(4),
        '\u{0370}'..='\u{03FF}' => Some(5),
        _ => None,
    }
}

/// Hangul syllables and jamo (compatibility jamo such as ㅋㅋ included).
pub(crate) fn is_hangul(c: char) -> bool {
    matches!(c,
        '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}'
        | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}')
}

/// Hiragana and katakana, full and half width.
pub(crate) fn is_kana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{309F}' | '\u{30A1}'..='\u{30FA}' | '\u{30FC}'..='\u{30FF}'
        | '\u{31F0}'..='\u{31FF}' | '\u{FF66}'..='\u{FF9D}')
}

/// CJK ideographs (kanji / hanzi) and the Japanese iteration mark 々.
pub(crate) fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FFFF}' | '々')
}

fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}') && c != '×' && c != '÷')
}

/// Letters only Vietnamese uses (ă đ ơ ư and the stacked tone marks of Latin Extended Additional).
fn is_vietnamese_letter(c: char) -> bool {
    matches!(
        c,
        'ă' | 'Ă' | 'đ' | 'Đ' | 'ơ' | 'Ơ' | 'ư' | 'Ư' | '\u{1EA0}'..='\u{1EF9}'
    )
}

fn read_scripts(text: &str) -> ScriptReading {
    let cleaned = NOISE.replace_all(text, " ");
    let (counts, evidence) = count_scripts(&cleaned);
    let plain = |lang, confident| ScriptReading {
        detection: Detection { lang, confident },
        han_margin: None,
    };

    if counts.hangul > 0 && counts.hangul >= counts.kana {
        return plain(Lang::Ko, counts.hangul >= 2);
    }
    if counts.kana > 0 {
        return plain(Lang::Ja, counts.kana + counts.han >= 2);
    }
    if counts.han > 0 && counts.han * 2 >= evidence.len() {
        let (zh, ja) = han_scores(&cleaned);
        let lang = if ja > zh { Lang::Ja } else { Lang::Zh };
        let confident = zh.max(ja) >= 2 || counts.han >= 4;
        return ScriptReading {
            detection: Detection { lang, confident },
            han_margin: Some(zh - ja),
        };
    }
    read_latin(&counts, &evidence)
}

/// Letters counted by script, and the Latin words that are evidence of a language
/// (lower-cased, neutral words such as brand names and units left out).
fn count_scripts(cleaned: &str) -> (Counts, Vec<String>) {
    let mut counts = Counts::default();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in cleaned.chars() {
        if is_latin_letter(c) || (c == '\'' || c == '’') && !word.is_empty() {
            if c != '\'' && c != '’' {
                word.push(c);
            }
            if is_vietnamese_letter(c) {
                counts.vietnamese += 1;
            }
            continue;
        }
        if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if is_hangul(c) {
            counts.hangul += 1;
        } else if is_kana(c) {
            counts.kana += 1;
        } else if is_han(c) {
            counts.han += 1;
        } else if let Some(i) = other_script_index(c) {
            counts.others[i] += 1;
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let evidence = words
        .into_iter()
        .map(|w| w.to_lowercase())
        .filter(|w| !NEUTRAL_SET.contains(w.as_str()))
        .collect();
    (counts, evidence)
}

/// The reading of a text with no Hangul, kana or (dominant) Han: another script,
/// Vietnamese, a Latin-script language by its words, or English.
fn read_latin(counts: &Counts, evidence: &[String]) -> ScriptReading {
    let plain = |lang, confident| ScriptReading {
        detection: Detection { lang, confident },
        han_margin: None,
    };
    let latin_letters: usize = evidence.iter().map(|w| w.chars().count()).sum();
    if let Some((i, &n)) = counts.others.iter().enumerate().max_by_key(|(_, n)| **n)
        && n >= 2
        && n * 2 >= latin_letters
    {
        return plain(Lang::Other(OTHER_SCRIPTS[i]), n >= 3);
    }
    if evidence.is_empty() {
        return plain(Lang::En, false);
    }
    if counts.vietnamese >= 2 || (counts.vietnamese == 1 && evidence.len() <= 4) {
        return plain(Lang::Other("vi"), true);
    }
    let english = evidence
        .iter()
        .filter(|w| ENGLISH_SET.contains(w.as_str()))
        .count();
    let best_other = OTHER_LATIN_WORDS
        .iter()
        .map(|(code, list)| {
            (
                *code,
                evidence
                    .iter()
                    .filter(|w| list.contains(&w.as_str()))
                    .count(),
            )
        })
        .max_by_key(|(_, hits)| *hits);
    if let Some((code, hits)) = best_other
        && hits >= 2
        && hits > english * 2
    {
        return plain(Lang::from_code(code).unwrap_or(Lang::Other("und")), true);
    }
    let longest = evidence
        .iter()
        .map(|w| w.chars().count())
        .max()
        .unwrap_or(0);
    let confident = english >= 1 && evidence.len() >= 2
        || evidence.len() >= 2 && latin_letters >= 6
        || longest >= 5;
    plain(Lang::En, confident)
}

/// Characters and words that tell kanji-only Japanese from Chinese: (text, zh weight, ja weight).
const HAN_MARKERS: &[(&str, i32, i32)] = &[
    // Japanese vocabulary written in kanji only (Chinese says it differently)
    ("出金", 0, 3),
    ("入金", 0, 3),
    ("口座", 0, 3),
    ("手数料", 0, 4),
    ("送金", 0, 3),
    ("着金", 0, 3),
    ("残高", 0, 3),
    ("取引", 0, 3),
    ("仮想通貨", 0, 3),
    ("暗号資産", 0, 4),
    ("振込", 0, 3),
    ("本人確認", 0, 3),
    ("未着", 0, 3),
    ("入庫", 0, 3),
    ("出庫", 0, 3),
    ("為替", 0, 4),
    ("遅延", 0, 3),
    ("認証", 0, 3),
    ("番号", 0, 3),
    ("今朝", 0, 3),
    ("昨日", 0, 2),
    ("今日", 0, 2),
    ("本日", 0, 3),
    ("先程", 0, 3),
    ("大丈夫", 0, 2),
    ("承知", 0, 3),
    ("了承", 0, 3),
    ("確認", 0, 2),
    ("完了", 0, 1),
    ("終了", 0, 2),
    ("了解", 0, 0),
    ("午前", 0, 2),
    ("午後", 0, 2),
    ("何度", 0, 3),
    ("何回", 0, 3),
    ("受信", 0, 3),
    ("返信", 0, 3),
    ("返金", 0, 2),
    ("問合", 0, 3),
    ("連絡", 0, 2),
    ("不具合", 0, 3),
    ("引出", 0, 3),
    ("送信", 0, 2),
    ("現在", 0, 0),
    ("凍結", 0, 0),
    ("問題", 0, 0),
    ("自己", 0, 0),
    ("多少", 1, 1),
    // Chinese words and function-word pairs
    ("到账", 3, 0),
    ("到帳", 3, 0),
    ("充值", 3, 0),
    ("提币", 3, 0),
    ("提幣", 3, 0),
    ("提现", 3, 0),
    ("提現", 3, 0),
    ("提款", 3, 0),
    ("账户", 3, 0),
    ("帳戶", 3, 0),
    ("账号", 3, 0),
    ("帳號", 3, 0),
    ("钱包", 3, 0),
    ("錢包", 3, 0),
    ("地址", 3, 0),
    ("请问", 3, 0),
    ("請問", 3, 0),
    ("谢谢", 3, 0),
    ("謝謝", 3, 0),
    ("多久", 3, 0),
    ("为什么", 3, 0),
    ("為什麼", 3, 0),
    ("没有", 3, 0),
    ("沒有", 3, 0),
    ("怎么", 3, 0),
    ("怎麼", 3, 0),
    ("什么", 3, 0),
    ("什麼", 3, 0),
    ("客服", 2, 0),
    ("已经", 3, 0),
    ("已經", 3, 0),
    ("可以", 3, 0),
    ("转账", 3, 0),
    ("轉帳", 3, 0),
    ("手续费", 3, 0),
    ("手續費", 3, 0),
    ("交易所", 2, 0),
    ("美元", 2, 0),
    ("昨天", 3, 0),
    ("今天", 3, 0),
    ("明天", 3, 0),
    ("晚上", 3, 0),
    ("早上", 3, 0),
    ("下午", 2, 0),
    ("上午", 2, 0),
    ("刚才", 3, 0),
    ("剛才", 3, 0),
    ("一下", 3, 0),
    ("帮我", 3, 0),
    ("幫我", 3, 0),
    ("麻烦", 3, 0),
    ("麻煩", 3, 0),
    ("因为", 3, 0),
    ("因為", 3, 0),
    ("所以", 3, 0),
    ("但是", 3, 0),
    ("如果", 3, 0),
    ("好的", 3, 0),
    ("就是", 3, 0),
    ("不是", 2, 0),
    ("不能", 2, 0),
    ("一直", 2, 0),
    ("收到", 3, 0),
];

/// Single characters: Japanese shinjitai and kokuji that Chinese writes differently (ja 3),
/// Chinese simplified/traditional forms and function characters (zh 1–3).
const JA_CHARS: &str = "済払円証遅駅図売読広対応変関発続総帰戻気歳実楽険検験転伝価両様込働枠畑峠匂塩営覧絵経軽単戦労悪覚権効黒雑収従処専銭増蔵帯択沢団弾庁聴鉄闘脳廃髪抜辺豊毎満訳薬頼緑録拡駆斎剤説戸値圧囲縁仮勧歓観犠拠狭暁恵掲継鶏県剣圏顕厳砕歯児釈渋獣縦奨焼畳縄譲触寝粋酔穂瀬斉摂繊荘捜挿巣騒臓滝鋳徴鎮逓徳悩弐仏塀舗黙揺謡竜猟涙塁隷霊齢渓倹桟粛壌嬢醸髄勲歩渉陥隠乗剰浄穏稲郷響歴暦姉壊懐絶晩々";
const ZH_STRONG_CHARS: &str = "这们为币钱账户现吗么没时间说请给让从过还问题码网络对转个无经发处办费验证认确错误额显进击连线开关门见视觉东车长马鸟鱼应该谢谁话语读识记单冻结绑资产务块链区体帐汇种样师动员业电邮银兑买卖达这們嗎麼沒錢戶說讓從對轉經發處辦驗證覺應讀單綁產鏈區體號碼會氣來國學數實當關變鐵點擇續總歲樂險檢傳價兩樣營覽輕戰勞惡權黑雜收專增藏帶團彈廳聽鬥腦廢邊豐每滿譯藥賴綠錄擴驅齊劑值壓圍緣假勸歡觀據惠繼縣劍圈顯嚴齒兒釋縱獎燒觸寢醉穩歷壞絕晚乘步隱鄉吗呢吧啊哪您你她怎很么";
const ZH_MEDIUM_CHARS: &str = "的是我也已什把為后据";
const ZH_WEAK_CHARS: &str = "了在不有和就都要能到他還給幣帳提里那被";
const JA_MEDIUM_CHARS: &str = "届弁";

static HAN_WORDS: LazyLock<HashMap<&'static str, (i32, i32)>> = LazyLock::new(|| {
    HAN_MARKERS
        .iter()
        .map(|&(w, zh, ja)| (w, (zh, ja)))
        .collect()
});

static HAN_CHARS: LazyLock<HashMap<char, (i32, i32)>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for (chars, weight) in [
        (ZH_WEAK_CHARS, (1, 0)),
        (ZH_MEDIUM_CHARS, (2, 0)),
        (ZH_STRONG_CHARS, (3, 0)),
        (JA_MEDIUM_CHARS, (0, 2)),
        (JA_CHARS, (0, 3)),
    ] {
        for c in chars.chars() {
            map.insert(c, weight);
        }
    }
    map
});

/// Longest word in `HAN_MARKERS`, in characters.
const MAX_HAN_WORD: usize = 4;

/// Chinese and Japanese scores of the Han characters in `text` (greedy longest word first).
fn han_scores(text: &str) -> (i32, i32) {
    let (mut zh, mut ja) = (0, 0);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut buf = String::new();
    while i < chars.len() {
        if !is_han(chars[i]) {
            i += 1;
            continue;
        }
        let mut matched = 0;
        for len in (2..=MAX_HAN_WORD).rev() {
            if i + len > chars.len() || !chars[i..i + len].iter().all(|c| is_han(*c)) {
                continue;
            }
            buf.clear();
            buf.extend(&chars[i..i + len]);
            if let Some(&(z, j)) = HAN_WORDS.get(buf.as_str()) {
                zh += z;
                ja += j;
                matched = len;
                break;
            }
        }
        if matched == 0 {
            if let Some(&(z, j)) = HAN_CHARS.get(&chars[i]) {
                zh += z;
                ja += j;
            }
            matched = 1;
        }
        i += matched;
    }
    (zh, ja)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(text: &str) -> Lang {
        detect(text).lang
    }

    #[test]
    fn codes_round_trip() {
        for l in [
            Lang::Ko,
            Lang::En,
            Lang::Zh,
            Lang::Ja,
            Lang::Other("ru"),
            Lang::Other("und"),
        ] {
            assert_eq!(Lang::from_code(l.code()), Some(l));
        }
        assert_eq!(Lang::from_code("zh-TW"), Some(Lang::Zh));
        assert_eq!(Lang::from_code("ja_JP"), Some(Lang::Ja));
        assert_eq!(Lang::from_code("KO"), Some(Lang::Ko));
        assert_eq!(Lang::from_code("xx"), None);
        assert_eq!(Lang::from_code(""), None);
    }

    #[test]
    fn reply_language_falls_back_to_english() {
        assert_eq!(Lang::Other("ru").reply_language(), Lang::En);
        assert_eq!(Lang::Ja.reply_language(), Lang::Ja);
    }

    #[test]
    fn serialises_as_code() {
        assert_eq!(serde_json::to_string(&Lang::Zh).unwrap(), "\"zh\"");
        assert_eq!(serde_json::to_string(&Lang::Other("vi")).unwrap(), "\"vi\"");
        assert_eq!(
            serde_json::from_str::<Lang>("\"th\"").unwrap(),
            Lang::Other("th")
        );
        assert!(serde_json::from_str::<Lang>("\"klingon\"").is_err());
        let d = detect("안녕하세요");
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"lang":"ko","confident":true}"#
        );
    }

    #[test]
    fn hangul_is_korean_even_code_mixed() {
        assert_eq!(lang("OTP 인증번호가 안와요"), Lang::Ko);
        assert_eq!(lang("BTC withdrawal 언제 돼요?"), Lang::Ko);
        assert_eq!(lang("출금이 안 돼요"), Lang::Ko);
        assert_eq!(lang("ㅋㅋㅋ"), Lang::Ko);
        assert!(detect("BTC withdrawal 언제 돼요?").confident);
    }

    #[test]
    fn identifiers_and_emoji_are_no_evidence() {
        let txid = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
        assert_eq!(lang(&format!("{txid} 확인 부탁드려요")), Lang::Ko);
        assert_eq!(lang(&format!("{txid} 这个到账了吗")), Lang::Zh);
        assert_eq!(
            lang("TN3W4H6rK2ce4vX9YnFQHwKENnHjoxb3m9 주소로 보냈어요 🙏🙏"),
            Lang::Ko
        );
        assert_eq!(
            lang("😭😭 出金まだ？ https://upbit.com/wallet kim@example.com"),
            Lang::Ja
        );
        assert!(!detect("🙏 0.5 BTC → TN3W4H6rK2ce4vX9YnFQHwKENnHjoxb3m9").confident);
    }

    #[test]
    fn kana_is_japanese_even_mostly_kanji() {
        assert_eq!(lang("出金が遅延しています"), Lang::Ja);
        assert_eq!(lang("本人確認書類提出済みなのに口座凍結中"), Lang::Ja);
        assert_eq!(lang("ビットコイン"), Lang::Ja);
        assert_eq!(lang("USDTの入金はまだですか"), Lang::Ja);
    }

    #[test]
    fn kanji_only_japanese() {
        for t in [
            "出金遅延",
            "入金未反映",
            "認証不可",
            "口座凍結",
            "手数料確認",
            "本人確認済",
            "2万円入金",
        ] {
            assert_eq!(lang(t), Lang::Ja, "{t}");
        }
    }

    #[test]
    fn simplified_and_traditional_chinese() {
        for t in [
            "比特币提现到账了吗",
            "我的USDT充值还没到账",
            "为什么我的账户被冻结了",
            "請問我的帳戶為什麼被凍結了",
            "比特幣提幣什麼時候到帳",
            "確認一下我的錢包地址",
            "提现",
            "你好",
        ] {
            assert_eq!(lang(t), Lang::Zh, "{t}");
        }
    }

    #[test]
    fn english_with_typos_and_slang() {
        for t in [
            "my withdrawl is stuck for 3 hrs wtf",
            "hey can u check my deposit pls",
            "Why hasn't my BTC arrived yet?",
            "gonna need help w my acct asap",
            "withdrawal",
        ] {
            let d = detect(t);
            assert_eq!(d.lang, Lang::En, "{t}");
            assert!(d.confident, "{t}");
        }
    }

    #[test]
    fn other_scripts() {
        assert_eq!(lang("Привет, где мой вывод?"), Lang::Other("ru"));
        assert_eq!(lang("สวัสดีครับ ถอนเงินไม่ได้"), Lang::Other("th"));
        assert_eq!(lang("مرحبا لم يصل السحب"), Lang::Other("ar"));
        assert_eq!(lang("Tôi không rút được tiền"), Lang::Other("vi"));
        assert_eq!(
            lang("hola, mi retiro no llega, por favor ayuda"),
            Lang::Other("es")
        );
    }

    #[test]
    fn no_evidence_is_not_confident() {
        for t in [
            "",
            "   ",
            "12345",
            "BTC",
            "USDT 500",
            "ok",
            "👍🙏",
            "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
            "https://example.com/tx/123",
            "hi",
            "[masked:password]",
        ] {
            assert!(!detect(t).confident, "{t:?}");
        }
    }

    #[test]
    fn conversation_keeps_language_on_weak_evidence() {
        assert_eq!(detect_in_conversation("ok", Some(Lang::Ko)), Lang::Ko);
        assert_eq!(detect_in_conversation("12345", Some(Lang::Ja)), Lang::Ja);
        assert_eq!(detect_in_conversation("BTC", None), Lang::En);
        assert_eq!(
            detect_in_conversation("I want to write in English now", Some(Lang::Ko)),
            Lang::En
        );
        assert_eq!(
            detect_in_conversation("출금 언제 돼요", Some(Lang::En)),
            Lang::Ko
        );
        // a close kanji-only call follows the conversation
        assert_eq!(detect_in_conversation("問題", Some(Lang::Ja)), Lang::Ja);
        assert_eq!(detect_in_conversation("問題", Some(Lang::Zh)), Lang::Zh);
    }

    #[test]
    fn weird_input_does_not_panic() {
        let huge = "가".repeat(100_000) + &"\u{0}\u{FFFF}\u{10FFFF}".repeat(1000);
        assert_eq!(lang(&huge), Lang::Ko);
        let _ = detect("\u{200B}\u{FEFF}̈́̈́̈́");
        let _ = detect("'''’’");
    }
}
