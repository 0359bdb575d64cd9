//! The hook that caps how many tickets one client may hold open. The service knows no
//! transport and so no clients; the transport installs a [`TicketGate`] that does. When
//! the gate says no, the customer is told, in their language, which of their tickets is
//! already open, instead of a new ticket being queued. (A conversation never holds more
//! than one open ticket: a second escalation re-tells the first one's queue position.)

use std::sync::Arc;

use super::{ChatService, EventBody};
use crate::error::Result;
use crate::nlu::Lang;
use crate::store::{Ticket, Turn};

/// Decides whether a conversation may open a new ticket, given every open ticket.
pub trait TicketGate: Send + Sync + 'static {
    /// `None`: open it. `Some(ticket_id)`: refused; the customer is pointed to that open
    /// ticket of theirs.
    fn refuse(&self, conversation_id: &str, open: &[Ticket]) -> Option<String>;
}

impl ChatService {
    /// Installs the gate consulted before every new ticket (once; later calls are ignored).
    pub fn set_ticket_gate(&self, gate: Arc<dyn TicketGate>) {
        let _ = self.ticket_gate.set(gate);
    }

    /// When the gate refuses a new ticket: the bot message telling the customer which of
    /// their tickets is open (written into the turn like any reply). The open tickets are
    /// read inside the turn's transaction.
    pub(super) async fn refusal_in(
        &self,
        turn: &mut Turn,
        lang: Lang,
    ) -> Result<Option<EventBody>> {
        let Some(gate) = self.ticket_gate.get() else {
            return Ok(None);
        };
        let open = turn.open_tickets().await?;
        let Some(existing) = gate.refuse(&turn.conversation().id, &open) else {
            return Ok(None);
        };
        metrics::counter!("intentdesk_tickets_capped_total").increment(1);
        tracing::info!("ticket refused: the client's open-ticket cap is reached");
        Ok(Some(EventBody::BotMessage {
            text: capped_text(lang, &existing),
            choices: Vec::new(),
            did_this_help: false,
        }))
    }
}

/// What a capped customer reads: the ticket that is already open for them.
pub fn capped_text(lang: Lang, ticket_id: &str) -> String {
    match lang.reply_language() {
        Lang::Ko => format!(
            "이미 접수된 문의({ticket_id})가 상담원을 기다리고 있어요. 상담원이 그 문의로 답변드릴게요. 공정한 대기열을 위해 그 문의가 처리될 때까지 새 문의는 접수할 수 없어요."
        ),
        Lang::Zh => format!(
            "您已有一个工单({ticket_id})正在等待客服处理,客服会在该工单中回复您。为保证排队公平,在它处理完之前无法再新建工单。"
        ),
        Lang::Ja => format!(
            "すでにお問い合わせ({ticket_id})を受け付けており、担当者の対応をお待ちいただいています。担当者はそちらでご連絡します。順番を公平に保つため、それが完了するまで新しいお問い合わせは受け付けられません。"
        ),
        _ => format!(
            "You already have an open request ({ticket_id}) waiting for our team; an agent will answer you there. To keep the queue fair, a new request cannot be opened until that one is handled."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capped_text_names_the_open_ticket_in_every_language() {
        for lang in [Lang::En, Lang::Ko, Lang::Zh, Lang::Ja, Lang::Other("ru")] {
            let text = capped_text(lang, "T-000042");
            assert!(text.contains("T-000042"), "{lang:?}: {text}");
        }
        assert!(capped_text(Lang::Ko, "T-1").contains("문의"));
        assert!(capped_text(Lang::Ja, "T-1").contains("お問い合わせ"));
        assert!(capped_text(Lang::Zh, "T-1").contains("工单"));
    }
}
