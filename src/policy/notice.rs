//! Incident notices as the policy sees them: which active notice a message matches (intent,
//! then coin / network / keywords where the notice narrows them), its text in the customer's
//! language, and what the turn did with it (shown, answered, still asked for a person).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::nlu::Lang;

/// The language every notice must have, and the fallback for the others.
pub const FALLBACK_LANGUAGE: &str = "en";

/// An active notice: its scope and texts, nothing the policy does not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveNotice {
    pub id: String,
    /// Catalog intent ids.
    pub intents: Vec<String>,
    /// Upper-case tickers; empty: any coin.
    pub coins: Vec<String>,
    /// Networks as nlu normalises them (`ERC-20`); empty: any network.
    pub networks: Vec<String>,
    /// Lower-case words or phrases, one of which the message must contain; empty: none needed.
    pub keywords: Vec<String>,
    /// Language code to text; `en` is always there.
    pub texts: BTreeMap<String, String>,
}

impl ActiveNotice {
    /// The text in `lang`'s reply language, else English.
    pub fn text(&self, lang: Lang) -> &str {
        localized(&self.texts, lang)
    }

    /// Whether a message of `intent`, with the conversation's `facts` (nlu names: `coin`,
    /// `network`...) and masked `text`, is what this notice is about.
    ///
    /// A message that names another coin or network is not; one that names none is (the
    /// notice says its scope, and a "no" continues as usual). Keywords, when given, must
    /// appear in the text (case-insensitive).
    pub fn matches(&self, intent: &str, facts: &BTreeMap<String, String>, text: &str) -> bool {
        let within = |allowed: &[String], fact: &str| match facts.get(fact) {
            Some(value) if !allowed.is_empty() => {
                allowed.iter().any(|a| a.eq_ignore_ascii_case(value.trim()))
            }
            _ => true,
        };
        let lower = text.to_lowercase();
        self.intents.iter().any(|i| i == intent)
            && within(&self.coins, "coin")
            && within(&self.networks, "network")
            && (self.keywords.is_empty()
                || self
                    .keywords
                    .iter()
                    .any(|k| lower.contains(&k.to_lowercase())))
    }
}

/// The text for `lang` among `texts` (language code to text), falling back to English,
/// then to any text.
pub fn localized(texts: &BTreeMap<String, String>, lang: Lang) -> &str {
    texts
        .get(lang.reply_language().code())
        .or_else(|| texts.get(FALLBACK_LANGUAGE))
        .or_else(|| texts.values().next())
        .map_or("", String::as_str)
}

/// The first of `notices` (oldest first) that matches and that the conversation has not
/// been shown yet.
pub fn find<'n>(
    notices: &'n [ActiveNotice],
    seen: &BTreeSet<String>,
    intent: &str,
    facts: &BTreeMap<String, String>,
    text: &str,
) -> Option<&'n ActiveNotice> {
    notices
        .iter()
        .find(|n| !seen.contains(&n.id) && n.matches(intent, facts, text))
}

/// What one turn did with a notice; the service counts it on the notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "notice_id", rename_all = "snake_case")]
pub enum NoticeEffect {
    /// The notice was shown, with "did this answer your question?".
    Shown(String),
    /// The customer said yes.
    Answered(String),
    /// The customer said no (or asked for a person) after reading it.
    AskedForPerson(String),
}

/// A notice shown and waiting for the customer's yes or no.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct NoticeOffer {
    pub notice_id: String,
    /// The intent the message was about: a "no" continues its usual route.
    pub intent: String,
    /// Details already known for that intent, kept for the ticket path.
    pub details: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth_notice() -> ActiveNotice {
        ActiveNotice {
            id: "N-000001".into(),
            intents: vec!["withdrawal_delayed".into()],
            coins: vec!["ETH".into()],
            networks: vec!["ERC-20".into()],
            keywords: vec![],
            texts: BTreeMap::from([
                ("en".into(), "ETH delayed".into()),
                ("ko".into(), "ETH 지연".into()),
            ]),
        }
    }

    fn facts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn scope_narrows_by_intent_coin_network_and_keyword() {
        let n = eth_notice();
        assert!(n.matches("withdrawal_delayed", &facts(&[("coin", "ETH")]), "x"));
        assert!(n.matches("withdrawal_delayed", &facts(&[]), "no coin named"));
        assert!(!n.matches("deposit_missing", &facts(&[("coin", "ETH")]), "x"));
        assert!(!n.matches("withdrawal_delayed", &facts(&[("coin", "BTC")]), "x"));
        assert!(!n.matches(
            "withdrawal_delayed",
            &facts(&[("coin", "ETH"), ("network", "Arbitrum")]),
            "x"
        ));
        let k = ActiveNotice {
            keywords: vec!["upbit card".into()],
            ..eth_notice()
        };
        assert!(k.matches("withdrawal_delayed", &facts(&[]), "My UPBIT Card is late"));
        assert!(!k.matches("withdrawal_delayed", &facts(&[]), "my withdrawal is late"));
    }

    #[test]
    fn text_falls_back_to_english() {
        let n = eth_notice();
        assert_eq!(n.text(Lang::Ko), "ETH 지연");
        assert_eq!(n.text(Lang::Ja), "ETH delayed");
        assert_eq!(n.text(Lang::Other("ru")), "ETH delayed");
    }

    #[test]
    fn a_seen_notice_is_not_found_again() {
        let notices = [eth_notice()];
        let seen = BTreeSet::from(["N-000001".to_string()]);
        assert!(
            find(
                &notices,
                &BTreeSet::new(),
                "withdrawal_delayed",
                &facts(&[]),
                ""
            )
            .is_some()
        );
        assert!(find(&notices, &seen, "withdrawal_delayed", &facts(&[]), "").is_none());
    }
}
