//! Details extracted from a customer's free text: coin, network, TXID, amount, e-mail, ids,
//! address, URL, phone, time and the channel a (possibly fraudulent) contact came through.
//!
//! Crypto formats live in `chain`, amounts in `amount`, time expressions in `when`; this file
//! holds the [`Details`] record, contact data, labelled ids and the orchestration.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::language::is_hangul;
use super::scan::{after, before, next_char, prev_char};
use super::{amount, chain, when};

/// What the bot learned from one message (or, merged, from a conversation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// Upper-case ticker: "BTC", "USDT".
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub coin: Option<String>,
    /// Normalised network: "ERC-20", "TRC-20", "BEP-20", "Arbitrum", "Bitcoin", ...
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub network: Option<String>,
    /// A transaction id valid for some chain.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub txid: Option<String>,
    /// Plain decimal string: "1000.5", "1000000".
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub amount: Option<String>,
    /// An e-mail address.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
    /// A withdrawal id, when labelled as such.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub withdrawal_id: Option<String>,
    /// An order id, when labelled as such.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_id: Option<String>,
    /// A wallet address (without XRP destination tag or memo).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address: Option<String>,
    /// A URL or a (labelled or pathed) bare domain.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// A phone number as written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub phone: Option<String>,
    /// A time expression as written: "어제 밤 11시", "3 hours ago", "2026-11-20 14:30".
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time: Option<String>,
    /// How someone contacted the customer: "phone", "sms", "kakaotalk", "telegram", "email",
    /// "website", "app" or "social".
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub contact_channel: Option<String>,
}

impl Details {
    fn fields(&self) -> [&Option<String>; 12] {
        [
            &self.coin,
            &self.network,
            &self.txid,
            &self.amount,
            &self.email,
            &self.withdrawal_id,
            &self.order_id,
            &self.address,
            &self.url,
            &self.phone,
            &self.time,
            &self.contact_channel,
        ]
    }

    fn fields_mut(&mut self) -> [&mut Option<String>; 12] {
        [
            &mut self.coin,
            &mut self.network,
            &mut self.txid,
            &mut self.amount,
            &mut self.email,
            &mut self.withdrawal_id,
            &mut self.order_id,
            &mut self.address,
            &mut self.url,
            &mut self.phone,
            &mut self.time,
            &mut self.contact_channel,
        ]
    }

    /// Fields of `newer` that are `Some` replace ours (the customer corrects or adds details).
    pub fn merge(&mut self, newer: &Details) {
        for (ours, theirs) in self.fields_mut().into_iter().zip(newer.fields()) {
            if theirs.is_some() {
                ours.clone_from(theirs);
            }
        }
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|f| f.is_none())
    }
}

/// Extracts every detail the text states.
pub fn extract(text: &str) -> Details {
    let emails = emails(text);
    let urls = urls(text, &emails);
    let phones = phones(text);
    let withdrawal_ids = labelled_ids(text, &WITHDRAWAL_LABEL);
    let order_ids = labelled_ids(text, &ORDER_LABEL);
    let times = when::find_all(text);
    let networks = chain::networks(text);
    let mentions = chain::coin_mentions(text);
    let (txid, address) = chain::txid_and_address(text);

    let mut protected: Vec<Range<usize>> = chain::long_runs(text);
    protected.extend(emails.iter().cloned());
    protected.extend(urls.iter().cloned());
    protected.extend(phones.iter().cloned());
    protected.extend(withdrawal_ids.iter().map(|f| f.range.clone()));
    protected.extend(order_ids.iter().map(|f| f.range.clone()));
    protected.extend(times.iter().cloned());
    protected.extend(TAG.find_iter(text).map(|m| m.range()));

    let slice = |r: &Range<usize>| text[r.clone()].to_owned();
    Details {
        coin: chain::coin(&mentions, &networks),
        network: networks.first().map(|f| f.value.clone()),
        txid: txid.map(|f| f.value),
        amount: amount::find(text, &protected, !mentions.is_empty()),
        email: emails.first().map(slice),
        withdrawal_id: withdrawal_ids.into_iter().next().map(|f| f.value),
        order_id: order_ids.into_iter().next().map(|f| f.value),
        address: address.map(|f| f.value),
        url: urls.first().map(slice),
        phone: phones.first().map(slice),
        time: times.first().map(|r| text[r.clone()].trim().to_owned()),
        contact_channel: contact_channel(text).map(str::to_owned),
    }
}

/// The amount of a message that answers "how much?": a number is an amount there even with
/// no coin or money word beside it ("0.0042です", "4,300개요").
pub fn amount_as_answer(text: &str) -> Option<String> {
    let mut protected: Vec<Range<usize>> = chain::long_runs(text);
    protected.extend(emails(text));
    protected.extend(phones(text));
    protected.extend(when::find_all(text));
    amount::find(text, &protected, true)
}

// ---------------------------------------------------------------------------------------------
// E-mail, URL, phone

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .expect("valid regex")
});

fn emails(text: &str) -> Vec<Range<usize>> {
    EMAIL.find_iter(text).map(|m| m.range()).collect()
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:https?://|www\.)[^\s<>"'()\[\]{}，。、！？「」]+"#).expect("valid regex")
});
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?-u:\b)(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:com|net|org|io|co|kr|jp|cn|tw|hk|xyz|app|me|info|biz|site|online|top|vip|shop|cc|pro|club|live|link|exchange|finance|support)(?-u:\b)(?:/[^\s<>"'，。、！？「」]*)?"#,
    )
    .expect("valid regex")
});
static URL_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)url|link|site|domain|page|visit|go\s+to|접속|사이트|링크|홈페이지|도메인|주소|网站|网址|網站|網址|链接|連結|域名|サイト|リンク|ドメイン|ページ")
        .expect("valid regex")
});

fn trim_url(s: &str) -> &str {
    s.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"'])
}

fn urls(text: &str, emails: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut found: Vec<Range<usize>> = URL
        .find_iter(text)
        .map(|m| m.start()..m.start() + trim_url(m.as_str()).len())
        .collect();
    for m in DOMAIN.find_iter(text) {
        let overlaps = |r: &Range<usize>| r.start < m.end() && m.start() < r.end;
        if emails.iter().any(overlaps)
            || found.iter().any(overlaps)
            || prev_char(text, m.start()) == Some('@')
        {
            continue;
        }
        let pathed = m.as_str().contains('/');
        let labelled = URL_LABEL.is_match(before(text, m.start(), 25))
            || URL_LABEL.is_match(after(text, m.end(), 12));
        if pathed || labelled {
            found.push(m.start()..m.start() + trim_url(m.as_str()).len());
        }
    }
    found.sort_by_key(|r| r.start);
    found
}

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
          \+[0-9]{1,3}[\ .\-]?(?:\(0?[0-9]{1,4}\)|[0-9]{1,4})(?:[\ .\-]?[0-9]{2,4}){2,3}
        | 0[0-9]{1,2}[\ .\-][0-9]{3,4}[\ .\-][0-9]{4}
        | 01[016789][0-9]{7,8}
        | 0[789]0[0-9]{8}
        | 1[5-9][0-9]{2}[\ \-][0-9]{4}
        | 1[3-9][0-9]{9}
        ",
    )
    .expect("phone regex is valid")
});
static PHONE_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)phone|tel|mobile|call|电话|電話|手机|手機|号码|號碼|携帯|番号|연락처|번호")
        .expect("valid regex")
});

fn phones(text: &str) -> Vec<Range<usize>> {
    PHONE
        .find_iter(text)
        .filter(|m| {
            let s = m.as_str();
            let digits = s.bytes().filter(u8::is_ascii_digit).count();
            let free = !prev_char(text, m.start())
                .is_some_and(|c| c.is_ascii_alphanumeric() || "+-.,/".contains(c))
                && !next_char(text, m.end()).is_some_and(|c| c.is_ascii_alphanumeric());
            let chinese_mobile =
                s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit());
            free && (8..=15).contains(&digits)
                && (!chinese_mobile || PHONE_LABEL.is_match(before(text, m.start(), 16)))
        })
        .map(|m| m.range())
        .collect()
}

/// XRP destination tags and memos: numbers that are neither amounts nor ids.
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:destination\s*tag|dest\.?\s*tag|tag|memo|태그|메모|标签|標籤|备注|備註|タグ|メモ)\s*[:：#=]?\s*[0-9]+",
    )
    .expect("valid regex")
});

// ---------------------------------------------------------------------------------------------
// Labelled ids

static WITHDRAWAL_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)withdrawal\s*(?:id|no\.?|number|#)|withdraw\s*id|출금\s*(?:신청\s*)?(?:번호|id|아이디)|提[币幣現现]\s*(?:id|单号|單號|编号|編號)|出金\s*(?:申請\s*)?(?:id|番号)",
    )
    .expect("valid regex")
});
static ORDER_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)order\s*(?:id|no\.?|number|#)|주문\s*(?:번호|id|아이디)|订单\s*(?:号|编号|id)?|訂單\s*(?:號|編號|id)?|注文\s*(?:番号|id)")
        .expect("valid regex")
});
static ID_CONNECTOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:\s+|[:：#=＝]|is(?-u:\b)|는|은|이|가|是|は)*").expect("valid regex")
});
static ID_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9](?:[A-Za-z0-9_\-]*[A-Za-z0-9])?").expect("valid regex")
});

fn labelled_ids(text: &str, label: &Regex) -> Vec<chain::Found> {
    label
        .find_iter(text)
        .filter_map(|l| {
            let rest = &text[l.end()..];
            let skip = ID_CONNECTOR.find(rest).map_or(0, |m| m.end());
            let value = ID_VALUE.find(&rest[skip..])?;
            let ok = (3..=64).contains(&value.len())
                && value.as_str().bytes().any(|b| b.is_ascii_digit());
            let start = l.end() + skip;
            ok.then(|| chain::Found {
                range: start..start + value.len(),
                value: value.as_str().to_owned(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Contact channel

/// A way of saying how someone got in touch.
struct ChannelPattern {
    channel: &'static str,
    pattern: &'static str,
    /// Words right after the match that make it a product term ("전화번호", "短信验证码").
    reject_after: &'static [&'static str],
    /// Words right before the match that make it a product term ("인증 문자").
    reject_before: &'static [&'static str],
    /// Must not be glued to a preceding Hangul syllable ("특수문자", "대문자").
    standalone: bool,
}

const fn channel(
    channel: &'static str,
    pattern: &'static str,
    reject_after: &'static [&'static str],
    reject_before: &'static [&'static str],
    standalone: bool,
) -> ChannelPattern {
    ChannelPattern {
        channel,
        pattern,
        reject_after,
        reject_before,
        standalone,
    }
}

const VERIFICATION: &[&str] = &[
    "인증",
    "認証",
    "验证",
    "驗證",
    "verification",
    "verify",
    "otp",
    "code",
    "코드",
];

const CHANNELS: &[ChannelPattern] = &[
    channel(
        "phone",
        r"전화|통화(?:했|를\s*했|하)|보이스\s*피싱",
        &["번호", "기", "요금", "인증"],
        &[],
        false,
    ),
    channel(
        "phone",
        r"(?i)(?-u:\b)(?:phone\s*call|called\s+me|call(?:ed|ing)?\s+from|(?:got|received|had|getting)\s+(?:a\s+|an\s+)?(?:phone\s+|strange\s+|weird\s+|suspicious\s+)?calls?|on\s+the\s+phone|by\s+phone|over\s+the\s+phone|phoned|vishing|voice\s*phishing)(?-u:\b)",
        &[],
        &[],
        false,
    ),
    channel(
        "phone",
        r"来电|來電|打电话|打電話|打来|打來|电话|電話|着信|かかってき",
        &["号码", "號碼", "番号", "番號", "号", "號"],
        &[],
        false,
    ),
    channel("sms", r"문자", &["인증", "열"], &["인증"], true),
    channel(
        "sms",
        r"(?i)(?-u:\b)sms(?-u:\b)",
        VERIFICATION,
        &["인증", "認証", "验证", "驗證", "verification"],
        false,
    ),
    channel(
        "sms",
        r"(?i)(?-u:\b)(?:text\s+messages?|texted|texts?\s+from|(?:got|received)\s+(?:a|an)\s+(?:text|sms))(?-u:\b)",
        &[],
        &[],
        false,
    ),
    channel(
        "sms",
        r"短信|簡訊|短訊|ショートメッセージ|ショートメール",
        &["验证", "驗證"],
        &["验证", "驗證"],
        false,
    ),
    channel(
        "kakaotalk",
        r"(?i)카카오톡|카톡|kakao\s*talk",
        &[],
        &[],
        false,
    ),
    channel(
        "telegram",
        r"(?i)텔레그램|telegram|电报|電報|テレグラム",
        &[],
        &[],
        false,
    ),
    channel(
        "email",
        r"(?:이메일|메일)(?:이|을|를|로)?\s*(?:왔|옴|받았|받은|와서)",
        &[],
        &["인증"],
        false,
    ),
    channel(
        "email",
        r"(?i)(?-u:\b)(?:emailed\s+me|e-?mail\s+(?:from|saying|claiming|that\s+said)|(?:got|received)\s+(?:an?\s+|this\s+)?(?:strange\s+|weird\s+|suspicious\s+|phishing\s+)?e-?mails?)(?-u:\b)",
        &[],
        &[],
        false,
    ),
    channel(
        "email",
        r"收到(?:了)?(?:一封|一个|一個)?(?:邮件|郵件|电子邮件|電子郵件)|(?:邮件|郵件)(?:里|裡|中|说|說|称|稱)|メール(?:が(?:来|届き|届い)|で連絡|のリンク)",
        &[],
        &[],
        false,
    ),
    channel(
        "website",
        r"(?:가짜|피싱|사기|이상한)\s*(?:사이트|링크|홈페이지)|(?:사이트|홈페이지|링크)(?:에서|에|로|를|을)?\s*(?:접속|들어가|들어갔|로그인|입력|눌|클릭)|링크(?:가|를)?\s*(?:보내|왔|받)",
        &[],
        &[],
        false,
    ),
    channel(
        "website",
        r"(?i)(?-u:\b)(?:(?:fake|phishing|scam|suspicious|fraudulent)\s+(?:site|website|link|page|url)|(?:clicked|opened)\s+(?:on\s+)?(?:a|the|this|that)?\s*link|(?:visited|logged\s+in(?:to)?)\s+(?:on\s+)?(?:a|the|this|that)?\s*(?:site|website|page))(?-u:\b)",
        &[],
        &[],
        false,
    ),
    channel(
        "website",
        r"(?:钓鱼|釣魚|假|诈骗|詐騙)(?:网站|網站|链接|連結)|[点點](?:了|击|擊)(?:了)?(?:一个|一個)?(?:链接|連結)|(?:偽|フィッシング|詐欺)(?:の)?(?:サイト|リンク)|リンクを(?:クリック|押|開)|サイト(?:で|に)(?:ログイン|入力)",
        &[],
        &[],
        false,
    ),
    channel(
        "app",
        r"(?i)(?:앱|어플)(?:을|를)?\s*(?:설치하라|깔라|깔아\s*달라|설치해\s*달라|다운받으라|받으라)|원격\s*(?:앱|제어|프로그램)|팀뷰어|애니데스크|(?-u:\b)(?:(?:asked|told)\s+me\s+to\s+(?:install|download)|remote\s+(?:access|desktop|control)|anydesk|teamviewer|fake\s+app)(?-u:\b)",
        &[],
        &[],
        false,
    ),
    channel(
        "app",
        r"远程控制|遠端控制|遠程控制|让我(?:下载|安装)|讓我(?:下載|安裝)|(?:假|诈骗|詐騙)(?:app|APP|软件|軟體|应用|應用)|遠隔操作|アプリを(?:入れ|インストール)(?:させ|するよう|して(?:ください|と))|偽(?:の)?アプリ",
        &[],
        &[],
        false,
    ),
    channel(
        "social",
        r"인스타(?:그램)?|페이스북|트위터|유튜브|디스코드|왓츠앱|오픈\s*채팅|오픈톡|단톡방|리딩방|디엠|(?i:(?-u:\b)(?:instagram|facebook|twitter|youtube|discord|whatsapp|wechat|open\s*chat)(?-u:\b))|微信|微博|小红书|小紅書|(?-u:\b)(?:LINE|DM)(?-u:\b)|ツイッター|インスタ|フェイスブック|オープンチャット",
        &[],
        &[],
        false,
    ),
];

static CHANNEL_PATTERNS: LazyLock<Vec<(&'static ChannelPattern, Regex)>> = LazyLock::new(|| {
    CHANNELS
        .iter()
        .map(|c| (c, Regex::new(c.pattern).expect("channel regex is valid")))
        .collect()
});

/// The first channel through which the text says someone made contact.
fn contact_channel(text: &str) -> Option<&'static str> {
    CHANNEL_PATTERNS
        .iter()
        .filter_map(|(c, re)| {
            re.find_iter(text)
                .find(|m| {
                    let tail = after(text, m.end(), 12).trim_start().to_lowercase();
                    let head = before(text, m.start(), 12).trim_end().to_lowercase();
                    let product_term = c.reject_after.iter().any(|w| tail.starts_with(w))
                        || c.reject_before.iter().any(|w| head.ends_with(w));
                    let inside_word =
                        c.standalone && prev_char(text, m.start()).is_some_and(is_hangul);
                    !product_term && !inside_word
                })
                .map(|m| (m.start(), c.channel))
        })
        .min_by_key(|(start, _)| *start)
        .map(|(_, channel)| channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX64: &str = "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

    #[test]
    fn full_korean_message() {
        let d = extract(&format!(
            "어제 밤 11시에 USDT 1,000.5개를 트론 네트워크로 출금했는데 아직 안 들어왔어요. TXID: {HEX64} 출금 번호 WD-20261120-77 입니다"
        ));
        assert_eq!(d.coin.as_deref(), Some("USDT"));
        assert_eq!(d.network.as_deref(), Some("TRC-20"));
        assert_eq!(d.txid.as_deref(), Some(HEX64));
        assert_eq!(d.amount.as_deref(), Some("1000.5"));
        assert_eq!(d.time.as_deref(), Some("어제 밤 11시"));
        assert_eq!(d.withdrawal_id.as_deref(), Some("WD-20261120-77"));
    }

    #[test]
    fn full_english_message() {
        let d = extract(
            "I sent 500 USDT on BSC 3 hours ago to 0x742d35Cc6634C0532925a3b844Bc454e4438f44e, order id 88123-A. Reach me at kim@example.com or +82 10-1234-5678",
        );
        assert_eq!(d.coin.as_deref(), Some("USDT"));
        assert_eq!(d.network.as_deref(), Some("BEP-20"));
        assert_eq!(d.amount.as_deref(), Some("500"));
        assert_eq!(d.time.as_deref(), Some("3 hours ago"));
        assert_eq!(
            d.address.as_deref(),
            Some("0x742d35Cc6634C0532925a3b844Bc454e4438f44e")
        );
        assert_eq!(d.order_id.as_deref(), Some("88123-A"));
        assert_eq!(d.email.as_deref(), Some("kim@example.com"));
        assert_eq!(d.phone.as_deref(), Some("+82 10-1234-5678"));
        assert_eq!(d.txid, None);
    }

    #[test]
    fn chinese_and_japanese_messages() {
        let d = extract(
            "昨天晚上提币0.5个比特币到地址 bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq，订单号 20261120123",
        );
        assert_eq!(d.coin.as_deref(), Some("BTC"));
        assert_eq!(d.amount.as_deref(), Some("0.5"));
        assert_eq!(d.time.as_deref(), Some("昨天晚上"));
        assert_eq!(
            d.address.as_deref(),
            Some("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
        );
        assert_eq!(d.order_id.as_deref(), Some("20261120123"));

        let d = extract("今朝2万円を入金しましたが、注文番号 A12345 が反映されません");
        assert_eq!(d.amount.as_deref(), Some("20000"));
        assert_eq!(d.time.as_deref(), Some("今朝"));
        assert_eq!(d.order_id.as_deref(), Some("A12345"));
    }

    #[test]
    fn amounts_skip_ids_dates_phones_and_hashes() {
        let d = extract(&format!(
            "2026-11-20 14:30에 010-1234-5678로 연락, 주문번호 778812, txid {HEX64}"
        ));
        assert_eq!(d.amount, None);
        assert_eq!(d.phone.as_deref(), Some("010-1234-5678"));
        assert_eq!(d.time.as_deref(), Some("2026-11-20 14:30"));
        let d = extract("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh tag 12345 으로 100 XRP 보냈어요");
        assert_eq!(
            d.address.as_deref(),
            Some("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh")
        );
        assert_eq!(d.amount.as_deref(), Some("100"));
        let d = extract("100만원 입금");
        assert_eq!(d.amount.as_deref(), Some("1000000"));
    }

    #[test]
    fn labelled_txids_in_four_languages() {
        for text in [
            format!("TXID:{HEX64}"),
            format!("tx hash 0x{HEX64}"),
            format!("해시 {HEX64} 입니다"),
            format!("哈希：{HEX64}"),
            format!("トランザクションID：{HEX64}です"),
        ] {
            let d = extract(&text);
            assert!(
                d.txid.as_deref().is_some_and(|t| t.ends_with(HEX64)),
                "{text}"
            );
            assert_eq!(d.amount, None, "{text}");
        }
        // a labelled hash of another chain's format is kept too
        let other = "8f3kq9vLmN2pQrStUvWxYz1234567890abcdefGHJKLmnpq";
        assert_eq!(
            extract(&format!("TXID: {other}")).txid.as_deref(),
            Some(other)
        );
        assert_eq!(extract(other).txid, None);
    }

    #[test]
    fn urls() {
        assert_eq!(
            extract("https://upbit-support.co/login?x=1.")
                .url
                .as_deref(),
            Some("https://upbit-support.co/login?x=1")
        );
        assert_eq!(
            extract("이 사이트 upbit-support.co 진짜인가요?")
                .url
                .as_deref(),
            Some("upbit-support.co")
        );
        assert_eq!(
            extract("fake-site.com/verify 에 들어갔어요").url.as_deref(),
            Some("fake-site.com/verify")
        );
        assert_eq!(extract("I like example.com").url, None);
        assert_eq!(extract("mail kim@fake-site.com").url, None);
    }

    #[test]
    fn phones() {
        for (text, phone) in [
            ("02-123-4567로 전화 왔어요", "02-123-4567"),
            ("1588-1234", "1588-1234"),
            ("01012345678", "01012345678"),
            ("call +1 (415) 555-2671", "+1 (415) 555-2671"),
            ("手机号码 13812345678", "13812345678"),
            ("090-1234-5678から電話", "090-1234-5678"),
        ] {
            assert_eq!(extract(text).phone.as_deref(), Some(phone), "{text}");
        }
        assert_eq!(extract("13812345678").phone, None);
        assert_eq!(extract("2026-11-20").phone, None);
    }

    #[test]
    fn ids_need_labels() {
        let uuid = "3f2a9c1e-8b4d-4e2f-9a1b-2c3d4e5f6a7b";
        assert_eq!(
            extract(&format!("withdrawal id: {uuid}"))
                .withdrawal_id
                .as_deref(),
            Some(uuid)
        );
        assert_eq!(
            extract("提币ID 99812").withdrawal_id.as_deref(),
            Some("99812")
        );
        assert_eq!(
            extract("出金ID：A-771").withdrawal_id.as_deref(),
            Some("A-771")
        );
        assert_eq!(
            extract("주문번호는 1234567입니다").order_id.as_deref(),
            Some("1234567")
        );
        assert_eq!(
            extract("訂單號 TW-8812").order_id.as_deref(),
            Some("TW-8812")
        );
        assert_eq!(extract("my order id is missing").order_id, None);
        assert_eq!(extract("ticket 88213").order_id, None);
    }

    #[test]
    fn contact_channels() {
        for (text, expected) in [
            ("업비트라고 전화가 왔어요", "phone"),
            ("someone called me pretending to be support", "phone"),
            ("客服来电说我的账户有问题", "phone"),
            ("取引所を名乗る電話がありました", "phone"),
            ("이상한 문자가 왔어요", "sms"),
            ("收到短信说要验证", "sms"),
            ("ショートメッセージが届いた", "sms"),
            ("I got a text message from your team", "sms"),
            ("카톡으로 연락이 왔어요", "kakaotalk"),
            ("텔레그램으로 상담해 준다고", "telegram"),
            ("I received an email from upbit", "email"),
            ("피싱 사이트에 로그인했어요", "website"),
            ("I clicked a link", "website"),
            ("they told me to install AnyDesk", "app"),
            ("微信上有人加我", "social"),
            ("LINEで連絡が来ました", "social"),
        ] {
            assert_eq!(
                extract(text).contact_channel.as_deref(),
                Some(expected),
                "{text}"
            );
        }
        for text in [
            "전화번호를 바꿨어요",
            "인증 문자가 안 와요",
            "비밀번호에 특수문자 넣어야 하나요",
            "收不到短信验证码",
            "SMS 인증이 안돼요",
            "I didn't get the verification email",
            "電話番号を変更したい",
        ] {
            assert_eq!(extract(text).contact_channel, None, "{text}");
        }
    }

    #[test]
    fn merge_replaces_with_newer() {
        let mut d = extract("BTC 0.5");
        d.merge(&extract("아 죄송해요 ETH예요"));
        assert_eq!(d.coin.as_deref(), Some("ETH"));
        assert_eq!(d.amount.as_deref(), Some("0.5"));
        assert!(!d.is_empty());
        assert!(Details::default().is_empty());
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, r#"{"coin":"ETH","amount":"0.5"}"#);
        assert_eq!(serde_json::from_str::<Details>(&json).unwrap(), d);
    }

    #[test]
    fn empty_and_weird_input() {
        assert!(extract("").is_empty());
        assert!(extract("안녕하세요").is_empty());
        let _ = extract(
            "\u{0}\u{FFFF}💸💸 0x 0x0 ₩ $ 1,,000 1e999 99999999999999999999999999999999999999999999999999 원",
        );
    }
}
