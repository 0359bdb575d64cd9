//! The few sentences the service says that the catalog's `messages.toml` does not hold
//! (adding keys there would change the catalog hash the shipped classifier is checked
//! against): ticket state names and the hand-back notice, in the four reply languages.

use crate::nlu::Lang;
use crate::store::TicketState;

/// A ticket state as a customer reads it inside `ticket_status_live`.
pub fn ticket_state(state: TicketState, lang: Lang) -> &'static str {
    use TicketState::*;
    match (state, lang.reply_language()) {
        (Waiting, Lang::Ko) => "상담원 연결 대기 중",
        (Waiting, Lang::Zh) => "等待客服接入",
        (Waiting, Lang::Ja) => "担当者の対応待ち",
        (Waiting, _) => "waiting for an agent",
        (Assigned, Lang::Ko) => "상담원이 처리 중",
        (Assigned, Lang::Zh) => "客服处理中",
        (Assigned, Lang::Ja) => "担当者が対応中",
        (Assigned, _) => "being handled by an agent",
        (Resolved, Lang::Ko) => "해결 완료",
        (Resolved, Lang::Zh) => "已解决",
        (Resolved, Lang::Ja) => "解決済み",
        (Resolved, _) => "resolved",
        (BackToBot, Lang::Ko) => "챗봇 상담으로 전환됨",
        (BackToBot, Lang::Zh) => "已转回智能客服",
        (BackToBot, Lang::Ja) => "チャットボットに戻りました",
        (BackToBot, _) => "handed back to the assistant",
    }
}

/// Said when an agent hands the conversation back to the bot.
pub fn handed_back(lang: Lang) -> &'static str {
    match lang.reply_language() {
        Lang::Ko => {
            "상담원이 대화를 챗봇에게 넘겼어요. 더 궁금한 점이 있으면 여기서 계속 물어보세요."
        }
        Lang::Zh => "客服已将对话转回智能客服。如有其他问题,可以继续在这里提问。",
        Lang::Ja => {
            "担当者がチャットボットに対応を戻しました。ほかにご質問があれば、このままお尋ねください。"
        }
        _ => {
            "The agent has handed the conversation back to me. Ask me here if there is anything else."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_four_languages_and_other_languages_get_english() {
        for state in TicketState::ALL {
            let texts: Vec<&str> = [Lang::Ko, Lang::En, Lang::Zh, Lang::Ja]
                .iter()
                .map(|&l| ticket_state(state, l))
                .collect();
            let mut unique = texts.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 4, "{state:?}");
            assert_eq!(
                ticket_state(state, Lang::Other("ru")),
                ticket_state(state, Lang::En)
            );
        }
        assert_eq!(handed_back(Lang::Other("vi")), handed_back(Lang::En));
    }
}
