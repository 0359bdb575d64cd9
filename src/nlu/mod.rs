//! Per-message understanding before the model runs: secret masking, language detection and
//! detail extraction. Pure Rust, no I/O; self-contained (std, regex, serde, bip39 only).

mod amount;
mod chain;
pub mod details;
pub mod language;
pub mod mask;
mod scan;
mod when;

use serde::Serialize;

pub use chain::native_network;
pub use details::{Details, amount_as_answer, extract};
pub use language::{Detection, Lang, detect, detect_in_conversation};
pub use mask::{Masked, SecretKind, mask};

/// Everything the bot knows from one message before the model runs.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The message with its secrets masked; the only form of the text that may be stored.
    pub masked: Masked,
    /// The message's language.
    pub detection: Detection,
    /// Details stated in the message.
    pub details: Details,
}

/// Analyses one message. Secrets are masked first; language and details come from the masked
/// text, so a secret never becomes a detail.
pub fn analyse(text: &str) -> Analysis {
    let masked = mask(text);
    let detection = detect(&masked.text);
    let details = extract(&masked.text);
    Analysis {
        masked,
        detection,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_become_details() {
        let a = analyse("비밀번호는 qwer1234! 이고 OTP 482913, USDT 500개 출금해주세요");
        assert_eq!(
            a.masked.secrets,
            vec![SecretKind::Password, SecretKind::OtpCode]
        );
        assert!(!a.masked.text.contains("482913"));
        assert_eq!(a.detection.lang, Lang::Ko);
        assert_eq!(a.details.coin.as_deref(), Some("USDT"));
        assert_eq!(a.details.amount.as_deref(), Some("500"));
    }

    #[test]
    fn private_key_is_not_a_txid() {
        let key = "5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
        let a = analyse(&format!("my private key is {key}"));
        assert_eq!(a.masked.secrets, vec![SecretKind::PrivateKey]);
        assert_eq!(a.details.txid, None);
        let a = analyse(&format!("TXID {key}"));
        assert_eq!(a.details.txid.as_deref(), Some(key));
        assert!(a.masked.secrets.is_empty());
    }

    #[test]
    fn masked_placeholders_are_no_language_evidence() {
        let a = analyse("pw: abc123");
        assert!(!a.detection.confident || a.detection.lang == Lang::En);
        let a = analyse("密码是abc12345");
        assert_eq!(a.detection.lang, Lang::Zh);
    }

    #[test]
    fn serialises() {
        let a = analyse("BTC 0.5 출금");
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["detection"]["lang"], "ko");
        assert_eq!(json["details"]["coin"], "BTC");
        assert_eq!(json["masked"]["secrets"], serde_json::json!([]));
    }

    #[test]
    fn fast_on_long_messages() {
        let unit = "어제 밤 11시에 USDT 1,000.5개를 트론 네트워크로 출금했는데 OTP 123456 my password is Hunter2! 比特币提现到账了吗 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 ";
        let text: String = unit.chars().cycle().take(4000).collect();
        let _ = analyse(&text); // compile the regexes
        let start = std::time::Instant::now();
        let runs = 20;
        for _ in 0..runs {
            let _ = analyse(&text);
        }
        let per_call = start.elapsed() / runs;
        // generous bound: debug builds are ~10x slower than release
        assert!(per_call.as_millis() < 50, "analyse took {per_call:?}");
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            String::new(),
            " ".repeat(10_000),
            "\u{0}\u{1}\u{FFFF}\u{10FFFF}".repeat(100),
            "́̈̈̈́".repeat(100),
            "🏳️‍🌈👨‍👩‍👧".repeat(200),
            "0".repeat(5000),
            "a1".repeat(5000),
            "가".repeat(5000),
            "pw: ".repeat(1000),
            "OTP ".repeat(1000),
            "1,".repeat(1000),
            "助记词".repeat(1000),
            "\r\n\t".repeat(1000),
        ];
        for input in &inputs {
            let _ = analyse(input);
        }
    }
}
