//! Incident notices in the service: what a lead may post (catalog intents, texts per language
//! with English as the fallback, nothing that asks for a secret, bounded expiry), posting,
//! editing, resolving, the short cache of active notices every turn reads (so every replica
//! sees a new notice within [`CACHE_TTL_MS`]), the counters, and pushing a notice, and later
//! its closing text, into the chats of customers whose open ticket it concerns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use super::{ChatService, EventBody, OutgoingEvent};
use crate::error::{Error, Result};
use crate::nlu::{self, Lang};
use crate::policy::{self, ActiveNotice, NoticeEffect};
use crate::store::{Notice, NoticeCounter, NoticeScope, Sender, Severity, Ticket};

/// Expiry when the lead gives none: long enough for a night's incident, short enough that a
/// forgotten notice does not answer customers the next morning.
pub const DEFAULT_EXPIRY_MINUTES: u32 = 120;
/// Longest expiry (7 days); extend a longer incident with an edit.
pub const MAX_EXPIRY_MINUTES: u32 = 7 * 24 * 60;
/// Longest text of one language, in characters.
pub const MAX_NOTICE_CHARS: usize = 1000;
/// The languages a notice may be written in, in the order forms show them.
pub const NOTICE_LANGUAGES: [&str; 4] = ["ko", "en", "zh", "ja"];
/// How long a replica reuses the active notices it read.
pub const CACHE_TTL_MS: i64 = 2_000;
/// How far back `GET /v1/notices` lists ended notices.
pub const RECENT_MS: i64 = 24 * 60 * 60 * 1000;

/// A notice as a lead posts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeDraft {
    pub intents: Vec<String>,
    pub coins: Vec<String>,
    pub networks: Vec<String>,
    pub keywords: Vec<String>,
    /// Language code to text.
    pub texts: BTreeMap<String, String>,
    /// Default `medium` (no banner).
    pub severity: Option<Severity>,
    /// Default [`DEFAULT_EXPIRY_MINUTES`].
    pub expires_in_minutes: Option<i64>,
}

/// An edit: every field given replaces the notice's; `texts` merges by language (an empty
/// text removes that language); `expires_in_minutes` sets the expiry from now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeEdit {
    pub intents: Option<Vec<String>>,
    pub coins: Option<Vec<String>>,
    pub networks: Option<Vec<String>>,
    pub keywords: Option<Vec<String>>,
    pub texts: BTreeMap<String, String>,
    pub severity: Option<Severity>,
    pub expires_in_minutes: Option<i64>,
}

/// A notice with what a lead reads beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeView {
    #[serde(flatten)]
    pub notice: Notice,
    /// `active`, `expired` or `resolved`.
    pub status: &'static str,
    /// Of ko, en, zh, ja, those without a text (customers there read English).
    pub missing_languages: Vec<&'static str>,
    /// Customers with an open ticket told by this action (post or resolve); 0 otherwise.
    pub pushed_to: usize,
}

impl NoticeView {
    fn new(notice: Notice, now_ms: i64, pushed_to: usize) -> NoticeView {
        let status = match (notice.resolved_at_ms, notice.is_active(now_ms)) {
            (Some(_), _) => "resolved",
            (None, true) => "active",
            (None, false) => "expired",
        };
        let missing_languages = NOTICE_LANGUAGES
            .into_iter()
            .filter(|l| !notice.scope.texts.contains_key(*l))
            .collect();
        NoticeView {
            notice,
            status,
            missing_languages,
            pushed_to,
        }
    }
}

/// The active notices one replica read last, and when.
#[derive(Default)]
pub(super) struct NoticeCache {
    cached: tokio::sync::Mutex<Option<(i64, Arc<Vec<ActiveNotice>>)>>,
}

impl ChatService {
    /// The notices active now (read from the store at most every [`CACHE_TTL_MS`]).
    pub async fn active_notices(&self) -> Result<Arc<Vec<ActiveNotice>>> {
        let now = self.now();
        let mut cached = self.notice_cache.cached.lock().await;
        if let Some((at, notices)) = cached.as_ref()
            && (0..CACHE_TTL_MS).contains(&(now - at))
        {
            return Ok(notices.clone());
        }
        let notices: Arc<Vec<ActiveNotice>> = Arc::new(
            self.store
                .active_notices(now)
                .await?
                .into_iter()
                .map(active)
                .collect(),
        );
        *cached = Some((now, notices.clone()));
        Ok(notices)
    }

    async fn forget_notices(&self) {
        *self.notice_cache.cached.lock().await = None;
    }

    /// The notice a first message would get: its id and text in `lang`.
    pub async fn notice_for(
        &self,
        intent: &str,
        details: &nlu::Details,
        masked: &str,
        lang: Lang,
    ) -> Result<Option<(String, String)>> {
        let facts = policy::facts::from_details(details);
        let notices = self.active_notices().await?;
        Ok(
            policy::notice::find(&notices, &BTreeSet::new(), intent, &facts, masked)
                .map(|n| (n.id.clone(), n.text(lang).to_string())),
        )
    }

    /// Counts what a turn did with a notice. A failure is logged, never fails the turn.
    pub(super) async fn count_notice_effect(&self, effect: &NoticeEffect) {
        let (id, counter) = match effect {
            NoticeEffect::Shown(id) => (id, NoticeCounter::Shown),
            NoticeEffect::Answered(id) => (id, NoticeCounter::Answered),
            NoticeEffect::AskedForPerson(id) => (id, NoticeCounter::AskedForPerson),
        };
        if let Err(e) = self.store.count_notice(id, counter).await {
            tracing::warn!(notice = %id, error = %e, "notice counter not updated");
        }
        metrics::counter!("intentdesk_notice_effects_total", "effect" => effect_name(effect))
            .increment(1);
    }

    /// Posts a notice and tells the customers whose open ticket it concerns.
    pub async fn post_notice(&self, agent: &str, draft: NoticeDraft) -> Result<NoticeView> {
        let scope = NoticeScope {
            intents: self.check_intents(draft.intents)?,
            coins: clean_list("coins", draft.coins, true)?,
            networks: clean_list("networks", draft.networks, false)?,
            keywords: clean_list("keywords", draft.keywords, false)?
                .into_iter()
                .map(|k| k.to_lowercase())
                .collect(),
            texts: check_texts("text", draft.texts)?,
            severity: draft.severity.unwrap_or(Severity::Medium),
        };
        let minutes = check_expiry(draft.expires_in_minutes)?;
        let now = self.now();
        let notice = self
            .store
            .create_notice(&scope, agent, now + minutes_ms(minutes), now)
            .await?;
        self.forget_notices().await;
        tracing::info!(notice = %notice.id, agent, intents = ?notice.scope.intents, "notice posted");
        let pushed = self
            .push_to_open_tickets(&notice, &notice.scope.texts)
            .await?;
        Ok(NoticeView::new(notice, now, pushed))
    }

    /// Edits a notice that is not resolved (`Conflict` once resolved).
    pub async fn edit_notice(&self, id: &str, edit: NoticeEdit) -> Result<NoticeView> {
        let old = self
            .store
            .notice(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "notice",
                id: id.to_string(),
            })?;
        let mut texts = old.scope.texts.clone();
        for (lang, text) in edit.texts {
            if text.trim().is_empty() {
                texts.remove(&lang);
            } else {
                texts.insert(lang, text);
            }
        }
        let scope = NoticeScope {
            intents: match edit.intents {
                Some(v) => self.check_intents(v)?,
                None => old.scope.intents,
            },
            coins: edit
                .coins
                .map_or(Ok(old.scope.coins), |v| clean_list("coins", v, true))?,
            networks: edit
                .networks
                .map_or(Ok(old.scope.networks), |v| clean_list("networks", v, false))?,
            keywords: match edit.keywords {
                Some(v) => clean_list("keywords", v, false)?
                    .into_iter()
                    .map(|k| k.to_lowercase())
                    .collect(),
                None => old.scope.keywords,
            },
            texts: check_texts("text", texts)?,
            severity: edit.severity.unwrap_or(old.scope.severity),
        };
        let now = self.now();
        let expires = match edit.expires_in_minutes {
            Some(m) => now + minutes_ms(check_expiry(Some(m))?),
            None => old.expires_at_ms,
        };
        let notice = self.store.update_notice(id, &scope, expires, now).await?;
        self.forget_notices().await;
        Ok(NoticeView::new(notice, now, 0))
    }

    /// Resolves a notice with its closing text, which reaches the customers still waiting
    /// on a ticket it concerns.
    pub async fn resolve_notice(
        &self,
        id: &str,
        closing: BTreeMap<String, String>,
    ) -> Result<NoticeView> {
        let closing = check_texts("closing text", closing)?;
        let now = self.now();
        let notice = self.store.resolve_notice(id, &closing, now).await?;
        self.forget_notices().await;
        tracing::info!(notice = %notice.id, "notice resolved");
        let pushed = self.push_to_open_tickets(&notice, &closing).await?;
        Ok(NoticeView::new(notice, now, pushed))
    }

    /// Active notices and those that ended in the last 24 hours, newest first.
    pub async fn notices(&self) -> Result<Vec<NoticeView>> {
        let now = self.now();
        Ok(self
            .store
            .recent_notices(now, now - RECENT_MS)
            .await?
            .into_iter()
            .map(|n| NoticeView::new(n, now, 0))
            .collect())
    }

    /// The banner: active `high` notices as (id, text in `lang`, expires_at_ms).
    pub async fn banner_notices(&self, lang: Lang) -> Result<Vec<(String, String, i64)>> {
        let now = self.now();
        Ok(self
            .store
            .active_notices(now)
            .await?
            .into_iter()
            .filter(|n| n.scope.severity == Severity::High)
            .map(|n| {
                let text = policy::notice::localized(&n.scope.texts, lang).to_string();
                (n.id, text, n.expires_at_ms)
            })
            .collect())
    }

    /// Tells every customer whose open ticket `notice` concerns `texts` (in their language).
    async fn push_to_open_tickets(
        &self,
        notice: &Notice,
        texts: &BTreeMap<String, String>,
    ) -> Result<usize> {
        let scope = active(notice.clone());
        let mut told = 0;
        for ticket in self.store.open_tickets().await? {
            if !ticket_matches(&scope, &ticket) {
                continue;
            }
            let lang = Lang::from_code(&ticket.language).unwrap_or(Lang::En);
            let text = policy::notice::localized(texts, lang).to_string();
            let _: OutgoingEvent = self
                .bot_says(
                    &ticket.conversation_id,
                    Some(&ticket.id),
                    EventBody::BotMessage {
                        text,
                        choices: Vec::new(),
                        did_this_help: false,
                    },
                )
                .await?;
            told += 1;
        }
        Ok(told)
    }

    /// Catalog intents, distinct; `human_agent` refused (a request for a person is always
    /// honoured).
    fn check_intents(&self, intents: Vec<String>) -> Result<Vec<String>> {
        let intents = clean_list("intents", intents, false)?;
        if intents.is_empty() {
            return Err(Error::InvalidInput(
                "intents is empty: name at least one intent of the catalog (e.g. withdrawal_delayed)"
                    .into(),
            ));
        }
        for id in &intents {
            if self.catalog.intent(id).is_none() {
                return Err(Error::InvalidInput(format!(
                    "intent {id:?} is not in the catalog (known: {})",
                    self.catalog
                        .intents
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if id == policy::HUMAN_AGENT {
                return Err(Error::InvalidInput(format!(
                    "intent {id:?} cannot carry a notice: a request for a person is always honoured"
                )));
            }
        }
        Ok(intents)
    }
}

fn effect_name(effect: &NoticeEffect) -> &'static str {
    match effect {
        NoticeEffect::Shown(_) => "shown",
        NoticeEffect::Answered(_) => "answered",
        NoticeEffect::AskedForPerson(_) => "asked_for_person",
    }
}

fn minutes_ms(minutes: u32) -> i64 {
    i64::from(minutes) * 60_000
}

/// The notice as the policy reads it.
fn active(n: Notice) -> ActiveNotice {
    ActiveNotice {
        id: n.id,
        intents: n.scope.intents,
        coins: n.scope.coins,
        networks: n.scope.networks,
        keywords: n.scope.keywords,
        texts: n.scope.texts,
    }
}

/// Whether an open ticket is about `notice`: its intent, its details (coin, network) and,
/// for keywords, what the customer wrote before the hand-over.
fn ticket_matches(notice: &ActiveNotice, ticket: &Ticket) -> bool {
    let customer_text: String = ticket
        .transcript
        .iter()
        .filter(|m| m.sender == Sender::Customer)
        .map(|m| m.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    notice.matches(&ticket.intent, &ticket.details, &customer_text)
}

/// Expiry minutes within 1..=[`MAX_EXPIRY_MINUTES`], default [`DEFAULT_EXPIRY_MINUTES`].
pub fn check_expiry(minutes: Option<i64>) -> Result<u32> {
    let minutes = minutes.unwrap_or(i64::from(DEFAULT_EXPIRY_MINUTES));
    if !(1..=i64::from(MAX_EXPIRY_MINUTES)).contains(&minutes) {
        return Err(Error::InvalidInput(format!(
            "expires_in_minutes {minutes} is outside 1..={MAX_EXPIRY_MINUTES} (7 days); extend a longer incident later"
        )));
    }
    Ok(minutes as u32)
}

/// Trimmed, distinct, non-empty entries (upper-cased for coins), each at most 64 characters.
fn clean_list(field: &str, values: Vec<String>, upper: bool) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let v = v.trim();
        if v.is_empty() {
            return Err(Error::InvalidInput(format!("{field} has an empty entry")));
        }
        if v.chars().count() > 64 {
            return Err(Error::InvalidInput(format!(
                "{field} entry {v:?} is longer than 64 characters"
            )));
        }
        let v = if upper {
            v.to_uppercase()
        } else {
            v.to_string()
        };
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Texts per language: known languages only, blank ones dropped, English required, none too
/// long, none containing or asking for a secret.
pub fn check_texts(
    field: &str,
    texts: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (lang, text) in texts {
        if !NOTICE_LANGUAGES.contains(&lang.as_str()) {
            return Err(Error::InvalidInput(format!(
                "{field} language {lang:?} is not one of ko, en, zh, ja"
            )));
        }
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let chars = text.chars().count();
        if chars > MAX_NOTICE_CHARS {
            return Err(Error::InvalidInput(format!(
                "{field}.{lang} has {chars} characters; the limit is {MAX_NOTICE_CHARS}"
            )));
        }
        check_no_secret(&format!("{field}.{lang}"), text)?;
        out.insert(lang, text.to_string());
    }
    if out.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{field} is empty: give at least {field}.en (and ko, zh, ja where you can)"
        )));
    }
    if !out.contains_key(policy::notice::FALLBACK_LANGUAGE) {
        return Err(Error::InvalidInput(format!(
            "{field}.en is missing: English is what customers read when their language has no text"
        )));
    }
    Ok(out)
}

/// Words naming a secret, by language (ASCII ones match whole words).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passcode",
    "otp",
    "one-time code",
    "verification code",
    "2fa code",
    "authenticator code",
    "security code",
    "seed phrase",
    "recovery phrase",
    "mnemonic",
    "private key",
    "pin",
    "secret key",
    "api secret",
    "비밀번호",
    "인증번호",
    "인증 번호",
    "인증코드",
    "인증 코드",
    "시드",
    "복구 문구",
    "니모닉",
    "개인키",
    "개인 키",
    "프라이빗 키",
    "密码",
    "验证码",
    "驗證碼",
    "助记词",
    "助記詞",
    "私钥",
    "私鑰",
    "动态码",
    "パスワード",
    "認証コード",
    "確認コード",
    "ワンタイム",
    "シードフレーズ",
    "秘密鍵",
    "リカバリーフレーズ",
    "暗証番号",
];

/// Words that make a sentence naming a secret a warning rather than a request.
const NEGATIONS: &[&str] = &[
    "never",
    "not",
    "don't",
    "do not",
    "won't",
    "will not",
    "no one",
    "nobody",
    "절대",
    "않",
    "마세요",
    "말아",
    "말고",
    "不会",
    "不要",
    "绝不",
    "切勿",
    "请勿",
    "勿",
    "決して",
    "絶対に",
    "ません",
    "しない",
    "ないで",
];

/// Refuses a text the masker would mask, and a sentence naming a secret without a negation
/// ("send us your OTP" is refused, "we never ask for your OTP" is fine).
fn check_no_secret(field: &str, text: &str) -> Result<()> {
    let masked = nlu::mask(text);
    if let Some(kind) = masked.secrets.first() {
        return Err(Error::InvalidInput(format!(
            "{field} contains what looks like a secret ({}): a notice must never contain or ask for passwords, codes or keys",
            kind.as_str()
        )));
    }
    for sentence in text.split(['.', '!', '?', '。', '！', '？', '\n']) {
        let lower = sentence.to_lowercase();
        let Some(word) = SECRET_WORDS.iter().find(|w| contains_word(&lower, w)) else {
            continue;
        };
        if !NEGATIONS.iter().any(|n| contains_word(&lower, n)) {
            return Err(Error::InvalidInput(format!(
                "{field} mentions {word:?} without saying it is never asked for: a notice must never ask for passwords, codes or keys"
            )));
        }
    }
    Ok(())
}

/// `word` in `text`; an ASCII word must not touch other ASCII letters or digits.
fn contains_word(text: &str, word: &str) -> bool {
    if !word.is_ascii() {
        return text.contains(word);
    }
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en(text: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("en".to_string(), text.to_string())])
    }

    fn refused(texts: BTreeMap<String, String>) -> String {
        match check_texts("text", texts) {
            Err(Error::InvalidInput(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn texts_need_english_and_known_languages() {
        assert!(refused(BTreeMap::new()).contains("text is empty"));
        assert!(refused(en("   ")).contains("text is empty"));
        let ko = BTreeMap::from([("ko".to_string(), "지연".to_string())]);
        assert!(refused(ko).contains("text.en is missing"));
        let mut fr = en("Delayed.");
        fr.insert("fr".into(), "Retard.".into());
        assert!(refused(fr).contains("\"fr\""));
        assert!(refused(en(&"x".repeat(1001))).contains("1001 characters"));
        let mut blank_ko = en("Delayed.");
        blank_ko.insert("ko".into(), " ".into());
        assert_eq!(check_texts("text", blank_ko).unwrap(), en("Delayed."));
    }

    #[test]
    fn texts_never_ask_for_secrets() {
        assert!(refused(en("Please send us your OTP code to speed this up.")).contains("\"otp\""));
        assert!(refused(en("Reply with your password.")).contains("password"));
        assert!(
            refused(BTreeMap::from([
                ("en".to_string(), "Delayed.".to_string()),
                (
                    "ko".to_string(),
                    "빠른 처리를 위해 인증번호를 알려 주세요.".to_string()
                ),
            ]))
            .contains("text.ko")
        );
        assert!(refused(en("My password: hunter2-Secret!")).contains("password"));
        // A warning is fine, and "pin" inside another word is not a PIN.
        for ok in [
            "ETH withdrawals are delayed. We will never ask for your password or OTP.",
            "Shipping is pinned to the next block.",
        ] {
            assert!(check_texts("text", en(ok)).is_ok(), "{ok}");
        }
        let ko = BTreeMap::from([
            ("en".to_string(), "Delayed.".to_string()),
            (
                "ko".to_string(),
                "고객센터는 비밀번호를 절대 묻지 않습니다.".to_string(),
            ),
        ]);
        assert!(check_texts("text", ko).is_ok());
    }

    #[test]
    fn expiry_defaults_and_bounds() {
        assert_eq!(check_expiry(None).unwrap(), DEFAULT_EXPIRY_MINUTES);
        assert_eq!(check_expiry(Some(10080)).unwrap(), MAX_EXPIRY_MINUTES);
        for bad in [0, -5, 10081] {
            let e = check_expiry(Some(bad)).unwrap_err().to_string();
            assert!(e.contains(&bad.to_string()) && e.contains("10080"), "{e}");
        }
    }

    #[test]
    fn lists_are_cleaned() {
        assert_eq!(
            clean_list(
                "coins",
                vec![" eth".into(), "ETH".into(), "usdt".into()],
                true
            )
            .unwrap(),
            ["ETH", "USDT"]
        );
        assert!(clean_list("coins", vec!["".into()], true).is_err());
    }
}
