//! The facts of a message for the collection and the ticket: facts extracted by nlu mapped onto
//! the catalog's detail keys (whose sources, free-text rule and names live in
//! `catalog::detail_keys`), answers to the detail asked, hand-over details, "only a TXID".

use std::collections::BTreeMap;

use crate::catalog::detail_key;
use crate::nlu::{self, Details, Lang};

/// The structured facts of one message, by nlu field name (`coin`, `email`, `time`...).
pub fn from_details(details: &Details) -> BTreeMap<String, String> {
    let fields: [(&str, &Option<String>); 12] = [
        ("coin", &details.coin),
        ("network", &details.network),
        ("txid", &details.txid),
        ("amount", &details.amount),
        ("email", &details.email),
        ("withdrawal_id", &details.withdrawal_id),
        ("order_id", &details.order_id),
        ("address", &details.address),
        ("url", &details.url),
        ("phone", &details.phone),
        ("time", &details.time),
        ("contact_channel", &details.contact_channel),
    ];
    fields
        .into_iter()
        .filter_map(|(name, value)| {
            let value = value.as_deref()?.trim();
            (!value.is_empty()).then(|| (name.to_string(), value.to_string()))
        })
        .collect()
}

/// The value of detail `key` found among `facts`: the first of the key's
/// [`DetailKey::from_facts`](crate::catalog::DetailKey::from_facts) present (an account from an e-mail, a withdrawal reference
/// from a withdrawal id or else a TXID...).
pub fn value_for(key: &str, facts: &BTreeMap<String, String>) -> Option<String> {
    let sources = detail_key(key).map_or(&[][..], |d| d.from_facts);
    sources.iter().find_map(|s| facts.get(*s).cloned())
}

/// Whether the customer's own answer is the value of `key` when nothing structured was found
/// in it ([`DetailKey::free_text`](crate::catalog::DetailKey::free_text)). For the other keys the answer is kept only when the
/// message gave no structured detail at all (so the collection never loops on one question).
pub fn is_free_text(key: &str) -> bool {
    detail_key(key).is_some_and(|d| d.free_text)
}

/// The facts of a message read as the answer to the detail `asked`. A chain named alone answers
/// "which network?" ("トロン使った", "폴리곤요"), and the chain's own coin named with its network
/// does not replace a token given before ("USDT", then "ethereum": USDT on ERC-20). A bare
/// number answers "how much?" ("0.0042です", "4,300개요").
pub fn as_answer(
    asked: Option<&str>,
    facts: &BTreeMap<String, String>,
    collected: &BTreeMap<String, String>,
    text: &str,
) -> BTreeMap<String, String> {
    let mut facts = facts.clone();
    if let Some(network) = facts.get("coin").and_then(|c| nlu::native_network(c)) {
        if asked == Some("network") && !facts.contains_key("network") {
            facts.insert("network".to_string(), network.to_string());
        }
        let names_the_chain = facts.get("network").is_some_and(|n| n == network);
        // A ticker given before that is no chain's own coin (USDT, USDC): not the customer's
        // own words ("大饼"), which the chain's coin should replace.
        let token_given = collected.get("coin").is_some_and(|c| {
            c.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && nlu::native_network(c).is_none()
        });
        if names_the_chain && token_given {
            facts.remove("coin");
        }
    }
    if asked == Some("amount")
        && !facts.contains_key("amount")
        && let Some(amount) = nlu::amount_as_answer(text)
    {
        facts.insert("amount".to_string(), amount);
    }
    facts
}

/// Details for a ticket or a hand-over: those collected so far, plus every other fact the
/// conversation gave under its nlu name (unless a collected detail has that name or already
/// holds that value, as `time_sent` holds the `time`), so nothing the customer said is lost.
pub fn handover_details(
    collected: &BTreeMap<String, String>,
    facts: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut details = collected.clone();
    for (name, value) in facts {
        if !collected.values().any(|v| same_value(v, value)) {
            details.entry(name.clone()).or_insert_with(|| value.clone());
        }
    }
    details
}

/// Whether two values of one detail are the same (case and surrounding spaces ignored).
pub fn same_value(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Label words that may stand beside a bare TXID or number ("TXID 0x...", "#12345").
const VALUE_LABELS: &[&str] = &["txid", "tx", "hash", "txhash", "id", "no", "#"];

/// Whether a message is only a TXID, an id or a number (possibly with a label word): such a
/// message answers the question asked, whatever the classifier thinks it is.
pub fn is_bare_value(text: &str) -> bool {
    let mut values = 0;
    for token in text.split_whitespace() {
        let token = token.trim_matches(|c: char| !c.is_alphanumeric());
        if token.is_empty() || VALUE_LABELS.contains(&token.to_lowercase().as_str()) {
            continue;
        }
        if !token.chars().any(|c| c.is_ascii_digit()) {
            return false;
        }
        values += 1;
    }
    values > 0
}

/// The name of a detail key in the customer's language, for correction_ack ("I've updated
/// {detail}"); an unknown key is named as it is.
pub fn label(key: &str, lang: Lang) -> String {
    let Some(d) = detail_key(key) else {
        return key.to_string();
    };
    let [ko, en, zh, ja] = d.names;
    match lang.reply_language() {
        Lang::Ko => ko,
        Lang::Zh => zh,
        Lang::Ja => ja,
        _ => en,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::DETAIL_KEYS;

    fn facts_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_chain_named_alone_answers_the_network_and_keeps_the_token() {
        let usdt = facts_of(&[("coin", "USDT")]);
        let said = |text: &str| from_details(&nlu::extract(text));
        assert_eq!(
            as_answer(
                Some("network"),
                &said("トロン使った"),
                &usdt,
                "トロン使った"
            ),
            facts_of(&[("network", "TRC-20")])
        );
        assert_eq!(
            as_answer(
                Some("network"),
                &said("이더리움 네트워크"),
                &usdt,
                "이더리움 네트워크"
            ),
            facts_of(&[("network", "ERC-20")])
        );
        // A coin correction with a different network is kept.
        let text = "sorry it was ETH on arbitrum";
        assert_eq!(
            as_answer(Some("network"), &said(text), &usdt, text).get("coin"),
            Some(&"ETH".to_string())
        );
        // A coin given in the customer's own words is replaced by the chain's.
        let slang = facts_of(&[("coin", "大饼")]);
        let text = "BTC网络吧";
        assert_eq!(
            as_answer(Some("network"), &said(text), &slang, text).get("coin"),
            Some(&"BTC".to_string())
        );
        // Without a token before, the chain's coin stands.
        let text = "ビットコイン";
        assert_eq!(
            as_answer(Some("coin"), &said(text), &BTreeMap::new(), text).get("coin"),
            Some(&"BTC".to_string())
        );
    }

    #[test]
    fn a_bare_number_answers_the_amount() {
        let none = BTreeMap::new();
        for (text, amount) in [
            ("0.0042です", "0.0042"),
            ("4,300개요", "4300"),
            ("about 250", "250"),
        ] {
            let got = as_answer(
                Some("amount"),
                &from_details(&nlu::extract(text)),
                &none,
                text,
            );
            assert_eq!(
                got.get("amount").map(String::as_str),
                Some(amount),
                "{text}"
            );
        }
        let text = "0.0042です";
        assert!(
            !as_answer(
                Some("txid"),
                &from_details(&nlu::extract(text)),
                &none,
                text
            )
            .contains_key("amount")
        );
    }

    #[test]
    fn nlu_details_become_facts_by_field_name() {
        let d = Details {
            coin: Some("USDT".into()),
            email: Some("a@b.com".into()),
            time: Some(" ".into()),
            ..Default::default()
        };
        assert_eq!(
            from_details(&d),
            facts_of(&[("coin", "USDT"), ("email", "a@b.com")])
        );
    }

    #[test]
    fn facts_map_onto_detail_keys() {
        let f = facts_of(&[
            ("coin", "ETH"),
            ("network", "ERC-20"),
            ("txid", "0xabc"),
            ("amount", "0.5 ETH"),
            ("email", "a@b.com"),
            ("time", "yesterday 3pm"),
            ("address", "0xdef"),
            ("contact_channel", "telegram"),
            ("phone", "010-1234-5678"),
        ]);
        let v = |k| value_for(k, &f);
        assert_eq!(v("coin").as_deref(), Some("ETH"));
        assert_eq!(v("network").as_deref(), Some("ERC-20"));
        assert_eq!(v("txid").as_deref(), Some("0xabc"));
        assert_eq!(v("amount").as_deref(), Some("0.5 ETH"));
        assert_eq!(v("account").as_deref(), Some("a@b.com"));
        for k in ["time_sent", "time_requested", "since_when"] {
            assert_eq!(v(k).as_deref(), Some("yesterday 3pm"), "{k}");
        }
        assert_eq!(
            v("withdrawal_ref").as_deref(),
            Some("0xabc"),
            "a TXID when no withdrawal id"
        );
        assert_eq!(v("destination_address").as_deref(), Some("0xdef"));
        assert_eq!(v("contact_channel").as_deref(), Some("telegram"));
        assert_eq!(v("scam_contact").as_deref(), Some("010-1234-5678"));
        assert_eq!(v("error_shown"), None);
        assert_eq!(v("what_changed"), None);
        let mut f2 = f.clone();
        f2.insert("withdrawal_id".into(), "W-123".into());
        f2.insert("url".into(), "http://fake.example".into());
        assert_eq!(value_for("withdrawal_ref", &f2).as_deref(), Some("W-123"));
        assert_eq!(
            value_for("scam_contact", &f2).as_deref(),
            Some("http://fake.example")
        );
    }

    #[test]
    fn free_text_keys() {
        for k in [
            "account",
            "error_shown",
            "since_when",
            "what_changed",
            "balances_withdrawn",
            "contact_channel",
            "scam_contact",
        ] {
            assert!(is_free_text(k), "{k}");
        }
        for k in [
            "coin",
            "network",
            "txid",
            "amount",
            "withdrawal_ref",
            "destination_address",
        ] {
            assert!(!is_free_text(k), "{k}");
        }
    }

    #[test]
    fn bare_values() {
        for t in [
            "0x9f3c2ab17e44",
            "TXID: 0x9f3c2ab17e44",
            "12345",
            "#W-2024-118",
            "0.5",
        ] {
            assert!(is_bare_value(t), "{t:?}");
        }
        for t in ["", "I sent 0.5 ETH", "해킹당했어요", "USDT"] {
            assert!(!is_bare_value(t), "{t:?}");
        }
    }

    #[test]
    fn hand_over_details_keep_collected_values_first() {
        let collected = facts_of(&[("coin", "BTC")]);
        let f = facts_of(&[("coin", "ETH"), ("email", "a@b.com")]);
        assert_eq!(
            handover_details(&collected, &f),
            facts_of(&[("coin", "BTC"), ("email", "a@b.com")])
        );
    }

    #[test]
    fn every_detail_key_is_either_extracted_or_free_text_and_has_labels() {
        let all = facts_of(&[
            ("coin", "c"),
            ("network", "n"),
            ("txid", "t"),
            ("amount", "a"),
            ("email", "e"),
            ("address", "ad"),
            ("url", "u"),
            ("time", "ti"),
            ("contact_channel", "cc"),
        ]);
        for key in DETAIL_KEYS.map(|d| d.key) {
            assert!(value_for(key, &all).is_some() || is_free_text(key), "{key}");
            for lang in [Lang::Ko, Lang::En, Lang::Zh, Lang::Ja] {
                assert_ne!(label(key, lang), key, "{key} has a {lang} label");
            }
        }
    }

    #[test]
    fn labels_follow_the_reply_language() {
        assert_eq!(label("coin", Lang::Ko), "코인");
        assert_eq!(label("coin", Lang::Other("ru")), "the coin");
        assert_eq!(label("network", Lang::Ja), "ネットワーク");
        assert_eq!(label("what_changed", Lang::Zh), "变更情况");
    }
}
