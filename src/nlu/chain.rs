//! Crypto vocabulary for `details`: coins (tickers and names in four languages), networks,
//! transaction ids and wallet addresses, each validated by its chain's format.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::language::is_hangul;
use super::scan::{after, alnum_runs, before, is_base58, is_hex, next_char, prev_char, runs};

/// Something found in the text: its byte range and its normalised value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub range: Range<usize>,
    pub value: String,
}

// ---------------------------------------------------------------------------------------------
// Coins

/// A coin: its ticker, whether the ticker is also an ordinary word (then it must be written in
/// upper case, or with `$`, or next to a number), and its names in the four languages.
struct Coin {
    ticker: &'static str,
    ambiguous: bool,
    names: &'static [&'static str],
}

const fn entry(ticker: &'static str, ambiguous: bool, names: &'static [&'static str]) -> Coin {
    Coin {
        ticker,
        ambiguous,
        names,
    }
}

const COINS: &[Coin] = &[
    entry(
        "BTC",
        false,
        &["bitcoin", "비트코인", "比特币", "比特幣", "ビットコイン"],
    ),
    entry(
        "ETH",
        false,
        &[
            "ethereum",
            "ether",
            "이더리움",
            "이더",
            "以太坊",
            "以太币",
            "以太幣",
            "イーサリアム",
            "イーサ",
        ],
    ),
    entry(
        "XRP",
        false,
        &["ripple", "리플", "瑞波币", "瑞波幣", "瑞波", "リップル"],
    ),
    entry(
        "USDT",
        false,
        &[
            "tether",
            "테더",
            "泰达币",
            "泰達幣",
            "泰达",
            "泰達",
            "テザー",
        ],
    ),
    entry("USDC", false, &["usd coin", "usdc코인"]),
    entry(
        "SOL",
        true,
        &["solana", "솔라나", "索拉纳", "索拉納", "ソラナ"],
    ),
    entry(
        "DOGE",
        false,
        &[
            "dogecoin",
            "도지코인",
            "도지",
            "狗狗币",
            "狗狗幣",
            "ドージコイン",
            "ドージ",
        ],
    ),
    entry(
        "ADA",
        true,
        &[
            "cardano",
            "에이다",
            "카르다노",
            "艾达币",
            "艾達幣",
            "カルダノ",
            "エイダ",
        ],
    ),
    entry("TRX", false, &["tron", "트론", "波场", "波場", "トロン"]),
    entry("EOS", false, &["이오스"]),
    entry(
        "XLM",
        false,
        &[
            "stellar lumens",
            "스텔라루멘",
            "스텔라",
            "恒星币",
            "恒星幣",
            "ステラルーメン",
        ],
    ),
    entry("ATOM", true, &["코스모스", "コスモス"]),
    entry("POL", true, &["polygon", "폴리곤", "ポリゴン"]),
    entry("MATIC", false, &["매틱"]),
    entry(
        "AVAX",
        false,
        &["avalanche", "아발란체", "아발란치", "アバランチ"],
    ),
    entry(
        "BCH",
        false,
        &[
            "bitcoin cash",
            "비트코인캐시",
            "비트코인 캐시",
            "比特币现金",
            "比特幣現金",
            "ビットコインキャッシュ",
        ],
    ),
    entry(
        "ETC",
        true,
        &[
            "ethereum classic",
            "이더리움클래식",
            "이더리움 클래식",
            "以太坊经典",
            "以太坊經典",
            "イーサリアムクラシック",
        ],
    ),
    entry(
        "LTC",
        false,
        &["litecoin", "라이트코인", "莱特币", "萊特幣", "ライトコイン"],
    ),
    entry("LINK", true, &["chainlink", "체인링크", "チェーンリンク"]),
    entry(
        "SHIB",
        false,
        &[
            "shiba inu",
            "시바이누",
            "柴犬币",
            "柴犬幣",
            "シバイヌ",
            "柴犬コイン",
        ],
    ),
    entry(
        "BNB",
        false,
        &[
            "binance coin",
            "바이낸스코인",
            "바이낸스 코인",
            "币安币",
            "幣安幣",
            "バイナンスコイン",
        ],
    ),
    entry("ARB", true, &["arbitrum", "아비트럼", "アービトラム"]),
    entry("PEPE", false, &["페페", "佩佩", "ペペ"]),
    entry("SUI", true, &["수이코인"]),
    entry("APT", true, &["aptos", "앱토스", "에이피티", "アプトス"]),
    entry("OP", true, &["optimism", "옵티미즘", "オプティミズム"]),
    entry("DOT", true, &["polkadot", "폴카닷", "波卡", "ポルカドット"]),
    entry("NEAR", true, &["near protocol", "니어프로토콜"]),
    entry("TON", true, &["toncoin", "톤코인", "トンコイン"]),
    entry("ONE", true, &[]),
    entry("HBAR", false, &["hedera", "헤데라"]),
    entry("WLD", false, &["worldcoin", "월드코인"]),
];

/// Every coin name, longest first (so "비트코인캐시" wins over "비트코인"), with its ticker.
static COIN_NAMES: LazyLock<(Regex, Vec<(String, &'static str)>)> = LazyLock::new(|| {
    let mut names: Vec<(String, &'static str)> = COINS
        .iter()
        .flat_map(|c| c.names.iter().map(|n| (n.to_lowercase(), c.ticker)))
        .collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.chars().count()));
    // Case folding only for Latin names keeps the CJK literals fast to search.
    let alternation = names
        .iter()
        .map(|(n, _)| {
            let escaped = regex::escape(n).replace(' ', r"\s*");
            if n.is_ascii() {
                format!("(?i:{escaped})")
            } else {
                escaped
            }
        })
        .collect::<Vec<_>>()
        .join("|");
    let re = Regex::new(&alternation).expect("coin name regex is valid");
    (re, names)
});

/// Coin names without spaces, lower case, to their tickers.
static TICKER_BY_NAME: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    COIN_NAMES
        .1
        .iter()
        .map(|(n, t)| (n.replace(' ', ""), *t))
        .collect()
});

/// The ticker for a name as written ("비트코인" → "BTC", "Bitcoin  Cash" → "BCH").
fn ticker_of_name(written: &str) -> Option<&'static str> {
    let key: String = written.to_lowercase().split_whitespace().collect();
    TICKER_BY_NAME.get(&key).copied()
}

static COIN_NAME_AT_START: LazyLock<Regex> = LazyLock::new(|| {
    let source = format!("^(?:{})", COIN_NAMES.0.as_str());
    Regex::new(&source).expect("anchored coin name regex is valid")
});
static COIN_NAME_AT_END: LazyLock<Regex> = LazyLock::new(|| {
    let source = format!("(?:{})$", COIN_NAMES.0.as_str());
    Regex::new(&source).expect("anchored coin name regex is valid")
});
static LETTERS_AT_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z]+").expect("valid regex"));
static LETTERS_AT_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$?[A-Za-z]+$").expect("valid regex"));

fn is_ticker(word: &str) -> bool {
    let word = word.trim_start_matches('$');
    COINS.iter().any(|c| c.ticker.eq_ignore_ascii_case(word))
}

/// The length in bytes of a coin ticker or name at the start of `s` ("USDT", "비트코인", "テザー").
pub(crate) fn coin_word_at_start(s: &str) -> Option<usize> {
    if let Some(m) = LETTERS_AT_START.find(s) {
        return is_ticker(m.as_str()).then_some(m.end());
    }
    COIN_NAME_AT_START.find(s).map(|m| m.end())
}

/// True when `s` ends with a coin ticker or name ("... USDT" before "500").
pub(crate) fn ends_with_coin_word(s: &str) -> bool {
    match LETTERS_AT_END.find(s) {
        Some(m) => {
            is_ticker(m.as_str())
                && !prev_char(s, m.start()).is_some_and(|c| c.is_ascii_alphanumeric())
        }
        None => COIN_NAME_AT_END.is_match(s),
    }
}

/// True when a number stands right before or after `range` ("0.5 SOL", "LINK 100").
fn next_to_number(text: &str, range: &Range<usize>) -> bool {
    let head = before(text, range.start, 2).trim_end();
    let tail = after(text, range.end, 2).trim_start();
    head.ends_with(|c: char| c.is_ascii_digit()) || tail.starts_with(|c: char| c.is_ascii_digit())
}

/// Every coin mention, in text order.
pub(crate) fn coin_mentions(text: &str) -> Vec<Found> {
    // All-caps Latin text ("I NEED ONE MORE DAY") says nothing by its case.
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let upper = text.bytes().filter(u8::is_ascii_uppercase).count();
    let shouting =
        !text.bytes().any(|b| b.is_ascii_lowercase()) && upper * 2 > letters && upper >= 8;
    let mut found = Vec::new();
    let long = long_runs(text);
    let mut long_iter = long.iter().peekable();
    for letters in runs(text, |c| c.is_ascii_alphabetic()) {
        let word = &text[letters.clone()];
        let dollar = prev_char(text, letters.start) == Some('$');
        let range = if dollar {
            letters.start - 1..letters.end
        } else {
            letters.clone()
        };
        // "500USDT" is fine; "BTC2" and anything inside a hash or address are not.
        let glued = next_char(text, letters.end).is_some_and(|c| c.is_ascii_digit());
        while long_iter.next_if(|r| r.end <= letters.start).is_some() {}
        let in_long_run = long_iter
            .peek()
            .is_some_and(|r| r.start <= letters.start && letters.end <= r.end);
        if glued || in_long_run || word.len() > 5 {
            continue;
        }
        let Some(coin) = COINS.iter().find(|c| c.ticker.eq_ignore_ascii_case(word)) else {
            continue;
        };
        let ok = !coin.ambiguous
            || dollar
            || next_to_number(text, &range)
            || (word == coin.ticker && !shouting);
        if ok {
            found.push(Found {
                range,
                value: coin.ticker.to_owned(),
            });
        }
    }
    for m in COIN_NAMES.0.find_iter(text) {
        let name = m.as_str();
        let ascii = name.is_ascii();
        if ascii
            && (prev_char(text, m.start()).is_some_and(|c| c.is_ascii_alphanumeric())
                || next_char(text, m.end()).is_some_and(|c| c.is_ascii_alphanumeric()))
        {
            continue;
        }
        // Short Korean names hide inside other words: 라이더 (rider), 트리플 (triple), 바이오스.
        if name.chars().count() <= 2
            && name.chars().all(is_hangul)
            && prev_char(text, m.start()).is_some_and(is_hangul)
        {
            continue;
        }
        if let Some(ticker) = ticker_of_name(name) {
            found.push(Found {
                range: m.range(),
                value: ticker.to_owned(),
            });
        }
    }
    found.sort_by_key(|f| f.range.start);
    found
}

/// The coin of a message: the first mention outside a network name ("USDT on the Tron network"
/// is USDT), else the first mention.
pub(crate) fn coin(mentions: &[Found], networks: &[Found]) -> Option<String> {
    let inside_network = |f: &Found| {
        networks
            .iter()
            .any(|n| n.range.start <= f.range.start && f.range.end <= n.range.end)
    };
    mentions
        .iter()
        .find(|f| !inside_network(f))
        .or_else(|| mentions.first())
        .map(|f| f.value.clone())
}

/// The network whose native coin is `coin` ("TRX" → "TRC-20"): what a customer means by a chain
/// name alone ("トロン使った", "폴리곤요") when asked for the network.
pub fn native_network(coin: &str) -> Option<&'static str> {
    Some(match coin {
        "ETH" => "ERC-20",
        "TRX" => "TRC-20",
        "BNB" => "BEP-20",
        "ARB" => "Arbitrum",
        "OP" => "Optimism",
        "POL" | "MATIC" => "Polygon",
        "SOL" => "Solana",
        "BCH" => "Bitcoin Cash",
        "ETC" => "Ethereum Classic",
        "BTC" => "Bitcoin",
        "AVAX" => "Avalanche C-Chain",
        "XRP" => "XRP Ledger",
        "LTC" => "Litecoin",
        "DOGE" => "Dogecoin",
        "TON" => "TON",
        "ATOM" => "Cosmos",
        "XLM" => "Stellar",
        "ADA" => "Cardano",
        "APT" => "Aptos",
        "SUI" => "Sui",
        "EOS" => "EOS",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Networks

/// Words that turn a coin or chain name into a network ("Tron network", "이더리움 네트워크").
const NETWORK_WORD: &str = r"\s*(?:network|chain|mainnet|main\s*net|네트워크|체인|메인넷|망으로|망에서|网络|網絡|網路|链|鏈|主网|主網|ネットワーク|チェーン|メインネット)";
/// ASCII word boundary (Hangul and kana are not word characters here: "ERC20으로").
const B: &str = r"(?-u:\b)";

/// (canonical network, patterns). `{N}` is replaced by [`NETWORK_WORD`], `{B}` by [`B`].
const NETWORKS: &[(&str, &str)] = &[
    (
        "ERC-20",
        r"{B}erc[\s-]?20{B}|(?:{B}ethereum|{B}eth{B}|이더리움|이더|以太坊|イーサリアム){N}",
    ),
    (
        "TRC-20",
        r"{B}trc[\s-]?20{B}|(?:{B}tron|{B}trx{B}|트론|波场|波場|トロン){N}",
    ),
    (
        "BEP-20",
        r"{B}bep[\s-]?20{B}|{B}bsc{B}|{B}(?:bnb|binance)\s*smart\s*chain|바이낸스\s*스마트\s*체인|币安智能链|幣安智能鏈|バイナンススマートチェーン|(?:{B}bnb{B}|바이낸스){N}",
    ),
    ("BEP-2", r"{B}bep[\s-]?2{B}"),
    (
        "Arbitrum",
        r"{B}arbitrum(?:\s*one)?{B}|아비트럼(?:\s*원)?|アービトラム|{B}arb{B}{N}",
    ),
    (
        "Optimism",
        r"{B}optimism{B}|옵티미즘|オプティミズム|{B}op\s*mainnet|{B}op{B}{N}",
    ),
    (
        "Polygon",
        r"(?:{B}polygon|{B}matic|{B}pol{B}|폴리곤|ポリゴン){N}|{B}polygon\s*pos{B}",
    ),
    (
        "Solana",
        r"(?:{B}solana|{B}sol{B}|솔라나|索拉纳|索拉納|ソラナ){N}|{B}spl{B}",
    ),
    (
        "Bitcoin Cash",
        r"(?:{B}bitcoin\s*cash|{B}bch{B}|비트코인\s*캐시|比特币现金|比特幣現金|ビットコインキャッシュ){N}",
    ),
    (
        "Ethereum Classic",
        r"(?:{B}ethereum\s*classic|{B}etc{B}|이더리움\s*클래식|以太坊经典|以太坊經典){N}",
    ),
    (
        "Bitcoin",
        r"(?:{B}bitcoin|{B}btc{B}|비트코인|比特币|比特幣|ビットコイン){N}",
    ),
    (
        "Base",
        r"{B}base{N}|베이스\s*(?:체인|네트워크|메인넷)|ベース(?:チェーン|ネットワーク)",
    ),
    (
        "Avalanche C-Chain",
        r"{B}c[\s-]?chain{B}|(?:{B}avalanche|{B}avax{B}|아발란체|아발란치|アバランチ){N}",
    ),
    (
        "XRP Ledger",
        r"{B}xrp\s*ledger{B}|{B}xrpl{B}|(?:{B}xrp{B}|{B}ripple|리플|瑞波|リップル){N}",
    ),
    (
        "Lightning",
        r"{B}lightning(?:\s*network)?{B}|라이트닝|闪电网络|閃電網絡|ライトニング",
    ),
    (
        "Litecoin",
        r"(?:{B}litecoin|{B}ltc{B}|라이트코인|莱特币|萊特幣|ライトコイン){N}",
    ),
    (
        "Dogecoin",
        r"(?:{B}dogecoin|{B}doge{B}|도지코인|도지|狗狗币|狗狗幣|ドージコイン){N}",
    ),
    ("TON", r"(?:{B}ton{B}|{B}toncoin|톤코인){N}"),
    ("Cosmos", r"(?:{B}cosmos|{B}atom{B}|코스모스|コスモス){N}"),
    ("Stellar", r"(?:{B}stellar|{B}xlm{B}|스텔라|ステラ){N}"),
    (
        "Cardano",
        r"(?:{B}cardano|{B}ada{B}|에이다|카르다노|カルダノ){N}",
    ),
    ("Aptos", r"(?:{B}aptos|{B}apt{B}|앱토스){N}"),
    ("Sui", r"{B}sui{B}{N}"),
    ("EOS", r"(?:{B}eos{B}|이오스){N}"),
];

static NETWORK_PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    NETWORKS
        .iter()
        .map(|(name, pattern)| {
            let source = format!(
                "(?i){}",
                pattern.replace("{N}", NETWORK_WORD).replace("{B}", B)
            );
            (*name, Regex::new(&source).expect("network regex is valid"))
        })
        .collect()
});

/// Every network named in the text, in text order (for the same start, the longest first).
pub(crate) fn networks(text: &str) -> Vec<Found> {
    let mut found: Vec<Found> = NETWORK_PATTERNS
        .iter()
        .flat_map(|(name, re)| {
            re.find_iter(text).map(|m| Found {
                range: m.range(),
                value: (*name).to_owned(),
            })
        })
        .collect();
    found.sort_by_key(|f| (f.range.start, std::cmp::Reverse(f.range.end)));
    found
}

// ---------------------------------------------------------------------------------------------
// Transaction ids and addresses

static TXID_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)txid|tx\s*id|tx\s*hash|transaction\s*(?:id|hash)|hash|해시|트랜잭션|거래\s*id|哈希|交易\s*id|トランザクション\s*id|トランザクション|ハッシュ")
        .expect("valid regex")
});
static ADDRESS_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)address|addr|wallet|주소|지갑|地址|钱包|錢包|アドレス|ウォレット")
        .expect("valid regex")
});

/// How an alphanumeric run reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunKind {
    Txid,
    Address,
    /// Long enough to be a hash or address of some other format: only taken when labelled.
    Other,
}

const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn is_bech32_btc(run: &str) -> bool {
    let lower = run.to_ascii_lowercase();
    let same_case = run == lower || run == run.to_ascii_uppercase();
    same_case
        && (42..=62).contains(&run.len())
        && lower
            .strip_prefix("bc1")
            .is_some_and(|data| data.chars().all(|c| BECH32.contains(c)))
}

fn classify(run: &str) -> Option<RunKind> {
    let len = run.len();
    if let Some(hex) = run.strip_prefix("0x").or_else(|| run.strip_prefix("0X")) {
        return match (is_hex(hex), hex.len()) {
            (true, 64) => Some(RunKind::Txid),
            (true, 40) => Some(RunKind::Address),
            _ => None,
        };
    }
    if is_hex(run) {
        return match len {
            64 => Some(RunKind::Txid),
            _ => None, // 63 or 65 hex digits: a broken hash, not something else
        };
    }
    let has_letter = run.bytes().any(|b| b.is_ascii_alphabetic());
    let has_digit = run.bytes().any(|b| b.is_ascii_digit());
    let has_upper = run.bytes().any(|b| b.is_ascii_uppercase());
    let base58 = is_base58(run);
    if base58 && (86..=88).contains(&len) {
        return Some(RunKind::Txid); // Solana signature
    }
    if is_bech32_btc(run)
        || base58 && run.starts_with(['1', '3']) && (26..=35).contains(&len) && has_letter
        || base58 && run.starts_with('T') && len == 34 && has_digit
        || base58 && run.starts_with('r') && (25..=35).contains(&len) && has_upper && has_digit
    {
        return Some(RunKind::Address);
    }
    (len >= 25 && has_letter && has_digit).then_some(RunKind::Other)
}

/// Long alphanumeric runs (hashes, addresses, keys) that a number inside must not be taken from.
pub(crate) fn long_runs(text: &str) -> Vec<Range<usize>> {
    alnum_runs(text).filter(|r| r.len() >= 16).collect()
}

/// True when a label of `re` ends at most 12 characters before `start`.
fn labelled(text: &str, start: usize, re: &Regex) -> bool {
    let head = before(text, start, 24);
    re.find_iter(head)
        .last()
        .is_some_and(|label| head[label.end()..].chars().count() <= 12)
}

/// The transaction id and the wallet address of a message, each the first labelled one if
/// any, else the first valid one.
pub(crate) fn txid_and_address(text: &str) -> (Option<Found>, Option<Found>) {
    let mut txids: Vec<(bool, Found)> = Vec::new();
    let mut addresses: Vec<(bool, Found)> = Vec::new();
    for range in alnum_runs(text).filter(|r| r.len() >= 25) {
        let run = &text[range.clone()];
        let Some(kind) = classify(run) else { continue };
        let txid_label = labelled(text, range.start, &TXID_LABEL);
        let address_label = labelled(text, range.start, &ADDRESS_LABEL);
        let solana_length = is_base58(run) && (32..=44).contains(&run.len());
        let found = Found {
            range,
            value: run.to_owned(),
        };
        match kind {
            RunKind::Txid => txids.push((txid_label, found)),
            RunKind::Address => addresses.push((address_label, found)),
            RunKind::Other if txid_label && !address_label && run.len() >= 40 => {
                txids.push((true, found))
            }
            RunKind::Other if address_label && (solana_length || run.len() <= 110) => {
                addresses.push((true, found))
            }
            RunKind::Other => {}
        }
    }
    let pick = |list: Vec<(bool, Found)>| {
        let first_labelled = list.iter().position(|(l, _)| *l);
        list.into_iter()
            .nth(first_labelled.unwrap_or(0))
            .map(|(_, f)| f)
    };
    (pick(txids), pick(addresses))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX64: &str = "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

    fn coin_of(text: &str) -> Option<String> {
        coin(&coin_mentions(text), &networks(text))
    }

    fn network_of(text: &str) -> Option<String> {
        networks(text).first().map(|f| f.value.clone())
    }

    #[test]
    fn coins_from_tickers_and_names() {
        for (text, ticker) in [
            ("btc withdrawal", "BTC"),
            ("$ETH pumped", "ETH"),
            ("usdt 출금", "USDT"),
            ("비트코인 출금이요", "BTC"),
            ("比特币提现", "BTC"),
            ("比特幣", "BTC"),
            ("ビットコインの送金", "BTC"),
            ("이더리움 입금", "ETH"),
            ("이더 보냈어요", "ETH"),
            ("以太坊", "ETH"),
            ("イーサリアム", "ETH"),
            ("리플 출금", "XRP"),
            ("瑞波", "XRP"),
            ("テザー", "USDT"),
            ("泰达币", "USDT"),
            ("테더", "USDT"),
            ("솔라나", "SOL"),
            ("狗狗币", "DOGE"),
            ("도지 샀어요", "DOGE"),
            ("비트코인캐시 입금", "BCH"),
            ("이더리움클래식", "ETC"),
            ("트론", "TRX"),
            ("I sent 100 LINK", "LINK"),
            ("my SOL is gone", "SOL"),
            ("0.5 sol", "SOL"),
            ("SOL 스테이킹 보상이 안들어와요", "SOL"),
            ("我昨天充值了500USDT", "USDT"),
        ] {
            assert_eq!(coin_of(text).as_deref(), Some(ticker), "{text}");
        }
    }

    #[test]
    fn ordinary_words_are_not_coins() {
        for text in [
            "ethics of the solution",
            "I need one more day",
            "link my bank account",
            "the apt is near the station",
            "라이더가 왔어요",
            "트리플 A",
            "my solution etc.",
            "I NEED ONE MORE DAY TO LINK MY BANK",
            "TRC20",
            "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b2ada 1",
        ] {
            assert_eq!(coin_of(text), None, "{text}");
        }
    }

    #[test]
    fn coin_outside_network_name_wins() {
        assert_eq!(
            coin_of("트론 네트워크로 USDT 보냈어요").as_deref(),
            Some("USDT")
        );
        assert_eq!(
            coin_of("sent over the bitcoin network").as_deref(),
            Some("BTC")
        );
    }

    #[test]
    fn networks_normalised() {
        for (text, network) in [
            ("erc20", "ERC-20"),
            ("ERC 20", "ERC-20"),
            ("ERC-20으로 보냈어요", "ERC-20"),
            ("이더리움 네트워크", "ERC-20"),
            ("Ethereum network", "ERC-20"),
            ("trc20", "TRC-20"),
            ("트론 네트워크", "TRC-20"),
            ("波场链", "TRC-20"),
            ("bep20", "BEP-20"),
            ("via BSC", "BEP-20"),
            ("BNB Smart Chain", "BEP-20"),
            ("바이낸스 스마트체인", "BEP-20"),
            ("arbitrum one", "Arbitrum"),
            ("아비트럼으로", "Arbitrum"),
            ("optimism", "Optimism"),
            ("polygon network", "Polygon"),
            ("solana chain", "Solana"),
            ("bitcoin network", "Bitcoin"),
            ("BTC 네트워크", "Bitcoin"),
            ("base chain", "Base"),
            ("avalanche c-chain", "Avalanche C-Chain"),
            ("XRP Ledger", "XRP Ledger"),
            ("lightning", "Lightning"),
            ("비트코인 캐시 네트워크", "Bitcoin Cash"),
        ] {
            assert_eq!(network_of(text).as_deref(), Some(network), "{text}");
        }
    }

    #[test]
    fn coin_alone_is_no_network() {
        for text in [
            "BTC 출금",
            "이더리움 입금했어요",
            "USDT",
            "based on my balance",
            "solana",
        ] {
            assert_eq!(network_of(text), None, "{text}");
        }
    }

    #[test]
    fn txids_validated() {
        let (t, _) = txid_and_address(&format!("0x{HEX64}"));
        assert_eq!(t.map(|f| f.value), Some(format!("0x{HEX64}")));
        let (t, _) = txid_and_address(&format!("txid {HEX64}를 확인해 주세요"));
        assert_eq!(t.map(|f| f.value).as_deref(), Some(HEX64));
        assert_eq!(txid_and_address(&HEX64[..63]).0, None);
        assert_eq!(txid_and_address(&format!("{HEX64}a")).0, None);
        assert_eq!(txid_and_address(&format!("{}g", &HEX64[..63])).0, None);
        let sol = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";
        assert_eq!(
            txid_and_address(sol).0.map(|f| f.value).as_deref(),
            Some(sol)
        );
    }

    #[test]
    fn addresses_validated() {
        let evm = "0x742d35Cc6634C0532925a3b844Bc454e4438f44e";
        let (t, a) = txid_and_address(&format!("address {evm}"));
        assert_eq!((t, a.map(|f| f.value)), (None, Some(evm.to_owned())));
        for addr in [
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "TN3W4H6rK2ce4vX9YnFQHwKENnHjoxb3m9",
            "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
        ] {
            assert_eq!(
                txid_and_address(&format!("보낸 곳 {addr}로"))
                    .1
                    .map(|f| f.value)
                    .as_deref(),
                Some(addr),
                "{addr}"
            );
        }
        let solana = "7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV";
        assert_eq!(txid_and_address(solana).1, None);
        assert_eq!(
            txid_and_address(&format!("지갑 주소: {solana}"))
                .1
                .map(|f| f.value)
                .as_deref(),
            Some(solana)
        );
        let tagged = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh?dt=12345";
        assert_eq!(
            txid_and_address(tagged).1.map(|f| f.value).as_deref(),
            Some("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh")
        );
    }
}
