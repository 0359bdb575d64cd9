//! Reading short customer replies in four languages: yes / no ("did this help?") and
//! "stop asking, just open the ticket".

use serde::{Deserialize, Serialize};

/// A yes or a no, as read from a customer's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YesNo {
    Yes,
    No,
}

/// Phrases that say "it did not help" anywhere in the message (checked first).
#[rustfmt::skip]
const NO_PHRASES: &[&str] = &[
    // en
    "didn't help", "didnt help", "did not help", "doesn't help", "does not help", "not helpful",
    "no help", "not solved", "didn't work", "didnt work", "did not work", "doesn't work",
    "does not work", "still not", "still doesn't", "still don't", "still can't", "still cannot",
    "useless",
    // ko
    "도움이 안", "도움 안", "도움이 되지 않", "도움이 전혀", "해결이 안", "해결 안", "해결되지 않",
    "해결이 되지 않", "소용없", "소용 없", "여전히 안", "아직도 안", "그래도 안", "안 됐", "안됐",
    "안 되었", "안되었",
    // zh
    "没用", "沒用", "没有用", "沒有用", "没帮助", "沒幫助", "没有帮助", "沒有幫助", "没解决", "沒解決",
    "没有解决", "沒有解決", "还是不行", "還是不行", "还是没", "還是沒", "不管用", "没办法", "沒辦法",
    // ja
    "解決しない", "解決しません", "解決していない", "解決してない", "解決できない", "解決できません",
    "役に立たない", "役に立ちません", "役に立たなかった", "まだできない", "まだできません", "まだダメ",
    "まだだめ", "だめでした", "ダメでした", "大丈夫じゃない", "大丈夫ではない",
];

/// Positive phrases that would otherwise start like a "no".
#[rustfmt::skip]
const YES_EXCEPTIONS: &[&str] = &["no problem", "no worries", "no prob"];

/// Words that say "no" as the whole message or its first word.
#[rustfmt::skip]
const NO_WORDS: &[&str] = &[
    "no", "nope", "nah", "not really", "not yet", "not at all", "n",
    "아니요", "아뇨", "아니오", "아니", "아니에요", "아닙니다", "안돼요", "안 돼요", "안돼", "안 돼",
    "안되네요", "안 되네요", "안됩니다", "안 됩니다", "노",
    "不是", "没有", "沒有", "不行", "否", "不", "没", "沒", "不对", "不對", "不能", "并没有", "並沒有",
    "いいえ", "違う", "違います", "ちがう", "ちがいます", "ダメ", "だめ", "駄目", "いや", "全然",
];

/// Phrases that say "it helped" anywhere in the message.
#[rustfmt::skip]
const YES_PHRASES: &[&str] = &[
    // en
    "thank", "thx", "solved", "it worked", "that worked", "works now", "working now", "helpful",
    "that helped", "it helped", "perfect", "got it", "all good",
    // ko
    "감사", "고마", "고맙", "해결됐", "해결되었", "해결했", "해결 됐", "도움이 됐", "도움이 되었",
    "도움 됐", "도움됐", "됐어요", "됐습니다", "덕분",
    // zh
    "谢谢", "謝謝", "多谢", "多謝", "感谢", "感謝", "解决了", "解決了", "有用", "可以了", "好了",
    "明白了", "有帮助", "有幫助",
    // ja
    "ありがとう", "解決しました", "解決した", "できました", "助かりました", "助かった", "わかりました",
    "分かりました", "了解",
];

/// Words that say "yes" as the whole message or its first word.
#[rustfmt::skip]
const YES_WORDS: &[&str] = &[
    "yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "great", "good", "fine", "cool",
    "네", "넵", "넹", "네네", "예", "응", "웅", "ㅇㅇ", "좋아요", "오케이",
    "是", "是的", "对", "對", "好", "好的", "嗯", "行", "可以", "没问题", "沒問題",
    "はい", "うん", "ええ", "大丈夫", "大丈夫です", "オッケー", "そうです",
];

/// Phrases asking the bot to stop asking questions and just open the ticket.
#[rustfmt::skip]
const NO_MORE_QUESTIONS: &[&str] = &[
    // en
    "just open", "open a ticket", "open the ticket", "open ticket", "create a ticket",
    "no more questions", "stop asking", "enough questions",
    // ko
    "그냥 접수", "접수해 주세요", "접수해주세요", "접수해줘", "그만 물어", "질문 그만", "그만 좀 물어",
    "티켓 열어", "문의 접수해",
    // zh
    "直接提交", "直接建单", "直接開單", "直接开单", "直接创建", "直接建立", "别再问", "別再問",
    "不要再问", "不要再問", "帮我开工单", "幫我開工單", "直接转工单",
    // ja
    "もう質問しないで", "質問はもういい", "そのまま受け付け", "受け付けてください", "受付してください",
    "チケットを作",
];

/// Lower-cases and trims spaces, punctuation and Korean emoticon letters (ㅠ, ㅋ...) at both ends.
fn normalise(text: &str) -> String {
    text.trim_matches(is_filler).to_lowercase()
}

/// Characters that carry no meaning at the edges of a short reply.
fn is_filler(c: char) -> bool {
    !c.is_alphanumeric() || matches!(c, 'ㅠ' | 'ㅜ' | 'ㅋ' | 'ㅎ' | 'ㅡ')
}

/// Whether a Han or kana character (Chinese and Japanese need no space after a word).
fn is_han_or_kana(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Whether `text` is `word` or starts with it as a word of its own. Multi-character Chinese and
/// Japanese words may be followed directly by more text; anything else needs a separator.
fn starts_with_word(text: &str, word: &str) -> bool {
    let Some(rest) = text.strip_prefix(word) else {
        return false;
    };
    match rest.chars().next() {
        None => true,
        Some(next) if is_filler(next) => true,
        Some(_) => word.chars().count() >= 2 && word.chars().all(is_han_or_kana),
    }
}

/// Reads a reply to "did this help?" (or to a yes/no question) in Korean, English, Chinese or
/// Japanese: the widget's choice ids (`yes`, `no`), the choice_yes / choice_no button texts,
/// short words (no, nope, 아니요, 不是, いいえ...; yes, 네, 是的, はい...), thanks, and phrases
/// such as "didn't help" / "도움이 안 돼요" / "没用" / "解決しない". `None` when the message is
/// neither (it is then handled as a new message).
pub fn yes_no(text: &str) -> Option<YesNo> {
    let t = normalise(text);
    if t.is_empty() {
        return None;
    }
    if NO_PHRASES.iter().any(|p| t.contains(p)) {
        return Some(YesNo::No);
    }
    if YES_EXCEPTIONS.iter().any(|w| starts_with_word(&t, w)) {
        return Some(YesNo::Yes);
    }
    if NO_WORDS.iter().any(|w| starts_with_word(&t, w)) {
        return Some(YesNo::No);
    }
    if YES_PHRASES.iter().any(|p| t.contains(p))
        || YES_WORDS.iter().any(|w| starts_with_word(&t, w))
    {
        return Some(YesNo::Yes);
    }
    None
}

/// Whether the customer asks to stop the questions and open the ticket with what was given.
pub fn wants_no_more_questions(text: &str) -> bool {
    let t = normalise(text);
    NO_MORE_QUESTIONS.iter().any(|p| t.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(texts: &[&str], expected: Option<YesNo>) {
        for t in texts {
            assert_eq!(yes_no(t), expected, "{t:?}");
        }
    }

    #[test]
    fn negatives_in_four_languages() {
        all(
            &[
                "no",
                "No.",
                "nope",
                "Nah",
                "no, it still does not work",
                "It didn't help at all",
                "that was useless",
            ],
            Some(YesNo::No),
        );
        all(
            &[
                "아니요",
                "아뇨ㅠㅠ",
                "안돼요",
                "안 돼요",
                "아니요 여전히 출금이 안 돼요",
                "도움이 안 됐어요",
                "해결 안 됐어요",
            ],
            Some(YesNo::No),
        );
        all(
            &[
                "不是",
                "没有",
                "沒有",
                "不行",
                "不行啊",
                "否",
                "没用",
                "还是不行",
                "沒解決",
            ],
            Some(YesNo::No),
        );
        all(
            &[
                "いいえ",
                "違う",
                "違います",
                "ダメ",
                "だめです",
                "解決しません",
                "役に立たない",
            ],
            Some(YesNo::No),
        );
    }

    #[test]
    fn positives_in_four_languages() {
        all(
            &[
                "yes",
                "Yes!",
                "yep",
                "ok",
                "thanks",
                "Thank you, that worked",
                "no problem",
            ],
            Some(YesNo::Yes),
        );
        all(
            &["네", "넵", "네 감사합니다", "해결됐어요", "고마워요 ㅎㅎ"],
            Some(YesNo::Yes),
        );
        all(
            &["是", "是的", "好的", "谢谢", "謝謝", "解决了"],
            Some(YesNo::Yes),
        );
        all(
            &["はい", "ありがとうございます", "解決しました", "大丈夫です"],
            Some(YesNo::Yes),
        );
    }

    #[test]
    fn the_choice_buttons_are_read() {
        // Choice ids the widget sends and the button texts of messages.toml (choice_yes / choice_no).
        all(&["yes", "Yes", "네", "是", "はい"], Some(YesNo::Yes));
        all(&["no", "No", "아니요", "否", "いいえ"], Some(YesNo::No));
    }

    #[test]
    fn other_messages_are_neither() {
        all(
            &[
                "",
                "네트워크를 잘못 선택했어요",
                "nothing arrived",
                "yesterday I sent BTC",
                "出金はいつ反映されますか",
                "0x9f3c2ab17e",
                "how do I reset my password?",
                "是不是要等很久",
            ],
            None,
        );
        // "不" alone is a no, but not a prefix of any Chinese sentence.
        assert_eq!(yes_no("不"), Some(YesNo::No));
    }

    #[test]
    fn stop_asking_is_recognised_in_four_languages() {
        for t in [
            "Just open a ticket please",
            "그냥 접수해 주세요",
            "别再问了,直接提交",
            "もう質問しないでください",
        ] {
            assert!(wants_no_more_questions(t), "{t:?}");
        }
        for t in ["TRC-20", "어제 오후 3시", "USDT", "昨日です"] {
            assert!(!wants_no_more_questions(t), "{t:?}");
        }
    }
}
