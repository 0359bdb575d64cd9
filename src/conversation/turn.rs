//! One customer turn, all or nothing: the model runs first, outside any lock; then one
//! store transaction ([`Turn`]) holds the customer's message and its event, the bot's
//! replies, a ticket and its event, and the dialogue state; only after it commits do
//! automatic assignment and queue updates run. [`ChatService::handle_detached`] runs the
//! turn on its own task, so a client that goes away (or a request timeout) never cuts it
//! short, and a client message id makes a retry return the first outcome.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{
    ChatService, EventBody, OutgoingEvent, QueueSnapshot, TicketRequest, silent_prediction, texts,
};
use crate::error::{Error, Result};
use crate::model::prediction::Prediction;
use crate::nlu::{self, Analysis, Lang};
use crate::policy::{self, ConversationState, Decision, Outcome, QueueState, TicketView};
use crate::queue::AgentLoad;
use crate::store::{Event, NewTicket, Sender, Ticket, TicketState, Turn, check_client_message_id};

/// What a committed turn did, for the in-process bookkeeping that follows the commit.
struct Committed {
    events: Vec<OutgoingEvent>,
    first_message: bool,
    /// The ticket the turn opened.
    opened: Option<Ticket>,
    /// The queue position and wait the customer was told, by ticket id.
    told: Option<(String, (u32, u32))>,
}

/// How one attempt at the turn's transaction ended.
enum Attempt {
    Done(Box<Committed>),
    /// The same client message id was committed before: its events.
    Replay(Vec<OutgoingEvent>),
    /// The model was spared (an agent owned the conversation) but no longer is.
    NeedsModel,
}

/// A ticket opened (or a waiting one's place told) inside the turn.
#[derive(Default)]
struct TicketStep {
    events: Vec<OutgoingEvent>,
    opened: Option<Ticket>,
    told: Option<(String, (u32, u32))>,
}

fn replay(events: &[Event]) -> Result<Vec<OutgoingEvent>> {
    events.iter().map(OutgoingEvent::from_stored).collect()
}

impl ChatService {
    /// One customer message: everything the customer is told in return, already stored.
    /// See [`ChatService::handle_message`].
    pub async fn handle(&self, conversation_id: &str, text: &str) -> Result<Vec<OutgoingEvent>> {
        self.handle_message(conversation_id, text, None).await
    }

    /// [`ChatService::handle_message`] on a task of its own: dropping the returned future
    /// (the client went away, the request timed out) does not stop the turn, which
    /// commits or rolls back as a whole.
    pub async fn handle_detached(
        self: &Arc<Self>,
        conversation_id: &str,
        text: &str,
        client_message_id: Option<&str>,
    ) -> Result<Vec<OutgoingEvent>> {
        let (id, text) = (conversation_id.to_string(), text.to_string());
        let client_id = client_message_id.map(str::to_string);
        self.detached(move |service| async move {
            service
                .handle_message(&id, &text, client_id.as_deref())
                .await
        })
        .await
    }

    /// Runs `work` on a task of its own and waits for it: dropping the returned future
    /// (the client went away, the request timed out) does not stop the work, so a turn
    /// or an agent action commits or rolls back as a whole, never half-way.
    pub async fn detached<T, F, Fut>(self: &Arc<Self>, work: F) -> Result<T>
    where
        F: FnOnce(Arc<Self>) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        tokio::spawn(work(Arc::clone(self)))
            .await
            .map_err(|e| Error::Internal(format!("a detached task failed: {e}")))?
    }

    /// One customer message, all or nothing. With a `client_message_id` (1 to 64
    /// printable characters) a retry of a committed turn returns its events again and
    /// stores nothing new.
    ///
    /// Errors: `EmptyMessage`, `MessageTooLong`, `InvalidInput` (client message id),
    /// `NotFound` (conversation), `Overloaded` (the model's queue is full: nothing was
    /// stored, the client retries).
    pub async fn handle_message(
        &self,
        conversation_id: &str,
        text: &str,
        client_message_id: Option<&str>,
    ) -> Result<Vec<OutgoingEvent>> {
        self.validate(text)?;
        if let Some(id) = client_message_id {
            check_client_message_id(id)?;
        }
        // In-process fast path; the database lock taken by `begin_turn` is the arbiter
        // between replicas.
        let _turn = self.lock_turn(conversation_id).await;
        if let Some(id) = client_message_id
            && let Some(events) = self.store.recorded_turn(conversation_id, id).await?
        {
            return replay(&events);
        }
        self.conversation(conversation_id).await?;
        let analysis = nlu::analyse(text);
        let open = self
            .store
            .open_ticket_for_conversation(conversation_id)
            .await?;
        // The policy is silent while an agent owns the conversation: spare the model.
        let mut prediction = match open {
            Some(t) if t.state == TicketState::Assigned => None,
            _ => Some(self.engine.predict_one(&analysis.masked).await?),
        };
        let committed = loop {
            let attempt = self
                .transact(
                    conversation_id,
                    &analysis,
                    prediction.as_ref(),
                    client_message_id,
                )
                .await?;
            match attempt {
                Attempt::Done(c) => break c,
                Attempt::Replay(events) => return Ok(events),
                Attempt::NeedsModel => {
                    prediction = Some(self.engine.predict_one(&analysis.masked).await?)
                }
            }
        };
        Ok(self.after_commit(conversation_id, *committed).await)
    }

    /// The turn's transaction: reads the state under the conversation's lock, decides,
    /// writes, commits.
    async fn transact(
        &self,
        conversation_id: &str,
        analysis: &Analysis,
        prediction: Option<&Prediction>,
        client_message_id: Option<&str>,
    ) -> Result<Attempt> {
        // Read before the transaction: notices change rarely and are cached per replica.
        let notices = self.active_notices().await?;
        let mut turn = self.store.begin_turn(conversation_id).await?;
        if let Some(id) = client_message_id
            && let Some(events) = turn.recorded(id).await?
        {
            return Ok(Attempt::Replay(replay(&events)?));
        }
        let first_message = turn.conversation().message_count == 0;
        let mut state: ConversationState = serde_json::from_str(&turn.conversation().state_json)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "stored dialogue state unreadable; starting afresh");
                ConversationState::default()
            });
        let open = turn.open_ticket_now().await?;
        state.agent_assigned = open
            .as_ref()
            .is_some_and(|t| t.state == TicketState::Assigned);
        let silent = silent_prediction();
        let prediction = match (state.agent_assigned, prediction) {
            (true, _) => &silent,
            (false, Some(p)) => p,
            (false, None) => return Ok(Attempt::NeedsModel),
        };
        let lang = policy::turn_language(&self.catalog, state.lang, &analysis.masked.text);
        let snapshot = self.snapshot_in(&mut turn).await?;
        let queue_state = self
            .queue_state_in(&mut turn, open.as_ref(), &snapshot, lang)
            .await?;
        let outcome = policy::decide_with_notices(
            &self.catalog,
            &self.config.policy,
            &state,
            analysis,
            prediction,
            &queue_state,
            &notices,
        );
        let notice_effect = outcome.notice.clone();
        let intent = if state.agent_assigned {
            "-"
        } else {
            prediction.intent.as_str()
        };
        self.log_turn(intent, prediction, &outcome, analysis);
        let mut committed = self
            .write_turn(&mut turn, analysis, prediction, intent, outcome, open)
            .await?;
        committed.first_message = first_message;
        turn.commit(client_message_id, self.now()).await?;
        // Counted once the turn is stored, so a failed turn never counts.
        if let Some(effect) = &notice_effect {
            self.count_notice_effect(effect).await;
        }
        Ok(Attempt::Done(Box::new(committed)))
    }

    /// Writes the message, the replies, a ticket and the new state into the turn.
    async fn write_turn(
        &self,
        turn: &mut Turn,
        analysis: &Analysis,
        prediction: &Prediction,
        intent: &str,
        outcome: Outcome,
        open: Option<Ticket>,
    ) -> Result<Committed> {
        let now = self.now();
        let masked = analysis.masked.text.clone();
        let meta = serde_json::json!({
            "intent": intent,
            "confidence": prediction.confidence,
            "decision": outcome.decision.name(),
            "lang": outcome.lang.code(),
            "secrets": analysis.masked.secrets,
        });
        turn.append_message(Sender::Customer, &masked, &meta.to_string(), now)
            .await?;
        let body = EventBody::CustomerMessage { text: masked };
        let payload = serde_json::to_string(&body)
            .map_err(|e| Error::Internal(format!("event does not serialise: {e}")))?;
        let stored = turn.append_event(None, body.kind(), &payload, now).await?;
        let mut events = vec![OutgoingEvent {
            seq: stored.seq,
            at_ms: stored.created_at_ms,
            ticket_id: None,
            body,
        }];
        for reply in &outcome.replies {
            let did_this_help = reply.choices.iter().any(|c| c.id == policy::YES_CHOICE);
            let body = EventBody::BotMessage {
                text: reply.text.clone(),
                choices: reply.choices.clone(),
                did_this_help,
            };
            events.push(say_in(turn, None, body, now).await?);
        }
        let step = match &outcome.decision {
            Decision::OpenTicket {
                intent,
                priority,
                details,
            }
            | Decision::EscalateNow {
                intent,
                priority,
                details,
                ..
            } => {
                let request = TicketRequest {
                    intent,
                    priority: *priority,
                    details,
                    confidence: prediction.confidence,
                    lang: outcome.lang,
                };
                self.ticket_in(turn, request, open, now).await?
            }
            _ => TicketStep::default(),
        };
        events.extend(step.events);
        let mut new_state = outcome.state;
        // Derived from the ticket at every turn, never trusted from storage.
        new_state.agent_assigned = false;
        let state_json = serde_json::to_string(&new_state)
            .map_err(|e| Error::Internal(format!("dialogue state does not serialise: {e}")))?;
        turn.save_state(&state_json, outcome.lang.code(), now)
            .await?;
        Ok(Committed {
            events,
            first_message: false,
            opened: step.opened,
            told: step.told,
        })
    }

    /// Opens the ticket the policy asked for inside the turn (or, when one is already
    /// waiting, tells its place in the queue again).
    async fn ticket_in(
        &self,
        turn: &mut Turn,
        request: TicketRequest<'_>,
        existing: Option<Ticket>,
        now: i64,
    ) -> Result<TicketStep> {
        if let Some(ticket) = existing {
            if ticket.state != TicketState::Waiting {
                return Ok(TicketStep::default());
            }
            let snapshot = self.snapshot_in(turn).await?;
            let position = snapshot.position_of(&ticket.id).unwrap_or(1);
            let wait = snapshot.wait_at(position);
            let body = self.position_body(request.lang, position, wait);
            return Ok(TicketStep {
                events: vec![say_in(turn, Some(&ticket.id), body, now).await?],
                opened: None,
                told: Some((ticket.id, (position, wait))),
            });
        }
        if let Some(body) = self.refusal_in(turn, request.lang).await? {
            return Ok(TicketStep {
                events: vec![say_in(turn, None, body, now).await?],
                opened: None,
                told: None,
            });
        }
        let messages = turn.messages().await?;
        let lines: Vec<super::TranscriptLine> = messages
            .into_iter()
            .map(|m| super::TranscriptLine {
                seq: m.seq,
                sender: m.sender,
                text: m.text,
                at_ms: m.created_at_ms,
            })
            .collect();
        let new = NewTicket {
            conversation_id: turn.conversation().id.clone(),
            intent: request.intent.to_string(),
            confidence: f64::from(request.confidence.clamp(0.0, 1.0)),
            language: request.lang.code().to_string(),
            priority: request.priority,
            details: request.details.clone(),
            transcript: lines,
        };
        let ticket = turn.open_ticket(new, now).await?;
        let snapshot = self.snapshot_in(turn).await?;
        let position = snapshot.position_of(&ticket.id).unwrap_or(1);
        let wait = snapshot.wait_at(position);
        let text =
            policy::ticket_opened_text(&self.catalog, request.lang, &ticket.id, position, wait);
        let body = EventBody::TicketOpened {
            position,
            wait_minutes: wait,
            text,
        };
        Ok(TicketStep {
            events: vec![say_in(turn, Some(&ticket.id), body, now).await?],
            told: Some((ticket.id.clone(), (position, wait))),
            opened: Some(ticket),
        })
    }

    /// The "your place in the queue" bubble.
    pub(super) fn position_body(&self, lang: Lang, position: u32, wait: u32) -> EventBody {
        let text = self.catalog.messages.render(
            "queue_update",
            lang,
            &[
                ("position", position.to_string()),
                ("wait_minutes", wait.to_string()),
            ],
        );
        EventBody::QueuePosition {
            position,
            wait_minutes: wait,
            text,
        }
    }

    /// After the commit: counters, what was told, automatic assignment. The turn is
    /// stored whatever happens here, so a failure is logged, not returned (a retry would
    /// only replay the turn).
    async fn after_commit(&self, conversation_id: &str, c: Committed) -> Vec<OutgoingEvent> {
        if c.first_message {
            self.conversations_started.fetch_add(1, Ordering::Relaxed);
        }
        if let Some((ticket_id, told)) = c.told {
            self.pushed.lock().await.insert(ticket_id, told);
        }
        let mut out = c.events;
        if let Some(ticket) = &c.opened {
            self.tickets_opened.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(
                "intentdesk_tickets_opened_total",
                "intent" => ticket.intent.clone(),
                "priority" => ticket.priority.number().to_string()
            )
            .increment(1);
            tracing::info!(
                ticket = %ticket.id,
                intent = %ticket.intent,
                priority = ticket.priority.as_str(),
                "ticket opened"
            );
            match self.after_queue_change().await {
                Ok(changes) => out.extend(
                    changes
                        .into_iter()
                        .filter(|(c, _)| c == conversation_id)
                        .map(|(_, e)| e),
                ),
                Err(e) => tracing::warn!(error = %e, "queue update after a turn failed"),
            }
        }
        self.update_deflection();
        out
    }

    /// Logs and counts the turn (never the conversation id: logs are not for tracing
    /// one customer).
    fn log_turn(
        &self,
        intent: &str,
        prediction: &Prediction,
        outcome: &Outcome,
        analysis: &Analysis,
    ) {
        let decision = outcome.decision.name();
        tracing::info!(
            intent,
            confidence = prediction.confidence,
            decision,
            lang = outcome.lang.code(),
            secrets = analysis.masked.secrets.len(),
            "customer message"
        );
        metrics::counter!(
            "intentdesk_messages_total",
            "intent" => intent.to_string(),
            "decision" => decision,
            "language" => outcome.lang.code()
        )
        .increment(1);
    }

    /// The live queue as the turn's transaction sees it (its own ticket included).
    async fn snapshot_in(&self, turn: &mut Turn) -> Result<QueueSnapshot> {
        Ok(QueueSnapshot {
            waiting: turn.queue().await?,
            loads: turn.agents().await?.iter().map(AgentLoad::from).collect(),
            handling_ms: turn
                .recent_handling_times(self.config.handling_samples)
                .await?,
            default_handling_minutes: self.config.default_handling_minutes,
        })
    }

    /// The queue as the policy sees it for this conversation.
    async fn queue_state_in(
        &self,
        turn: &mut Turn,
        open: Option<&Ticket>,
        snapshot: &QueueSnapshot,
        lang: Lang,
    ) -> Result<QueueState> {
        let open_ticket = match open {
            None => None,
            Some(t) => {
                let position = match t.state {
                    TicketState::Waiting => Some(snapshot.position_of(&t.id).unwrap_or(1)),
                    _ => None,
                };
                let last_agent_reply = turn
                    .messages()
                    .await?
                    .into_iter()
                    .rev()
                    .find(|m| m.sender == Sender::Agent)
                    .map(|m| m.text);
                Some(TicketView {
                    id: t.id.clone(),
                    state: texts::ticket_state(t.state, lang).to_string(),
                    position,
                    wait_minutes: position.map(|p| snapshot.wait_at(p)),
                    last_agent_reply,
                })
            }
        };
        Ok(QueueState {
            estimated_wait_minutes: snapshot.wait_for_new(),
            open_ticket,
        })
    }
}

/// A bot bubble written into the turn: its transcript line and its event.
async fn say_in(
    turn: &mut Turn,
    ticket_id: Option<&str>,
    body: EventBody,
    now: i64,
) -> Result<OutgoingEvent> {
    let stored = turn.announce(ticket_id, &body.announcement()?, now).await?;
    Ok(OutgoingEvent {
        seq: stored.seq,
        at_ms: stored.created_at_ms,
        ticket_id: stored.ticket_id,
        body,
    })
}
