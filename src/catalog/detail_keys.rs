//! The detail keys a `collect` intent may ask for (see `intents/README.md`): each key's name,
//! the nlu facts its value is read from, whether the customer's own words can be its value,
//! and its name in the four languages. The one home of these facts.

/// One detail key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetailKey {
    pub key: &'static str,
    /// The nlu facts (`nlu::Details` field names) its value is taken from, the first found.
    pub from_facts: &'static [&'static str],
    /// Whether the customer's own answer is its value when nothing structured was found in
    /// it (an account with no e-mail, an error message, what changed...).
    pub free_text: bool,
    /// Its name in Korean, English, Chinese and Japanese ("I've updated {detail}").
    pub names: [&'static str; 4],
}

/// Every detail key, in the order `intents/README.md` lists them.
pub const DETAIL_KEYS: [DetailKey; 15] = [
    DetailKey {
        key: "account",
        from_facts: &["email"],
        free_text: true,
        names: ["계정", "the account", "账户", "アカウント"],
    },
    DetailKey {
        key: "error_shown",
        from_facts: &[],
        free_text: true,
        names: [
            "오류 메시지",
            "the error message",
            "错误信息",
            "エラーメッセージ",
        ],
    },
    DetailKey {
        key: "since_when",
        from_facts: &["time"],
        free_text: true,
        names: [
            "문제 발생 시점",
            "since when it happens",
            "问题开始时间",
            "発生時期",
        ],
    },
    DetailKey {
        key: "what_changed",
        from_facts: &[],
        free_text: true,
        names: ["변경 사항", "what changed", "变更情况", "変更内容"],
    },
    DetailKey {
        key: "contact_channel",
        from_facts: &["contact_channel"],
        free_text: true,
        names: [
            "연락 경로",
            "how they contacted you",
            "联系方式",
            "連絡手段",
        ],
    },
    DetailKey {
        key: "scam_contact",
        from_facts: &["url", "phone"],
        free_text: true,
        names: [
            "사기 연락처",
            "the scam contact",
            "诈骗联系方式",
            "詐欺の連絡先",
        ],
    },
    DetailKey {
        key: "coin",
        from_facts: &["coin"],
        free_text: false,
        names: ["코인", "the coin", "币种", "コイン"],
    },
    DetailKey {
        key: "network",
        from_facts: &["network"],
        free_text: false,
        names: ["네트워크", "the network", "网络", "ネットワーク"],
    },
    DetailKey {
        key: "txid",
        from_facts: &["txid"],
        free_text: false,
        names: ["TXID", "the TXID", "TXID", "TXID"],
    },
    DetailKey {
        key: "amount",
        from_facts: &["amount"],
        free_text: false,
        names: ["금액(수량)", "the amount", "数量", "数量"],
    },
    DetailKey {
        key: "time_sent",
        from_facts: &["time"],
        free_text: false,
        names: ["보낸 시간", "the time it was sent", "发送时间", "送金日時"],
    },
    DetailKey {
        key: "time_requested",
        from_facts: &["time"],
        free_text: false,
        names: [
            "출금 신청 시간",
            "the time of the request",
            "申请时间",
            "申請日時",
        ],
    },
    DetailKey {
        key: "withdrawal_ref",
        from_facts: &["withdrawal_id", "txid"],
        free_text: false,
        names: [
            "출금 번호(TXID)",
            "the withdrawal reference",
            "提币编号(TXID)",
            "出金番号(TXID)",
        ],
    },
    DetailKey {
        key: "destination_address",
        from_facts: &["address"],
        free_text: false,
        names: [
            "받는 주소",
            "the destination address",
            "收款地址",
            "送金先アドレス",
        ],
    },
    DetailKey {
        key: "balances_withdrawn",
        from_facts: &[],
        free_text: true,
        names: [
            "잔고 출금 여부",
            "the balance withdrawal",
            "余额提取情况",
            "残高の出金状況",
        ],
    },
];

/// The detail key named `key`, if there is one.
pub fn detail_key(key: &str) -> Option<&'static DetailKey> {
    DETAIL_KEYS.iter().find(|d| d.key == key)
}

/// The names of every detail key, for error messages.
pub fn detail_key_names() -> Vec<&'static str> {
    DETAIL_KEYS.iter().map(|d| d.key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_each_has_a_source_or_takes_free_text() {
        let names = detail_key_names();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{names:?}");
        for d in DETAIL_KEYS {
            assert!(!d.from_facts.is_empty() || d.free_text, "{}", d.key);
            assert!(
                d.names.iter().all(|n| !n.is_empty() && *n != d.key),
                "{}",
                d.key
            );
        }
        assert_eq!(
            detail_key("coin").map(|d| d.from_facts),
            Some(&["coin"][..])
        );
        assert!(detail_key("colour").is_none());
    }
}
