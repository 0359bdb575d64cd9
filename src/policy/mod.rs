//! The dialogue policy: one pure function, [`decide`], from (catalog, config, conversation state,
//! message analysis, prediction, queue state) to a [`Decision`], the bot's replies and the new
//! conversation state. No I/O, no clock, no randomness: everything comes in as arguments.
//!
//! Rules, in the order they apply to a message:
//! 1. a human agent owns the conversation → [`Decision::Silent`];
//! 2. an explicit request for a person (intent `human_agent`, or the `human` choice) → hand over;
//! 3. a detail collection in progress → the message answers the question asked (structured
//!    details and corrections first), unless it is confidently another intent (switch);
//! 4. an answer given just before → "did it help?": a no hands over, a yes is acknowledged;
//!    at peak load a self-help answer was offered → a no starts the ticket path;
//! 5. otherwise a new message: clarify on a miss (hand over at the second miss in a row),
//!    refuse out-of-scope politely, and follow the intent's route;
//! 6. incident notices ([`notice`]): a new message whose intent (and coin, network, keywords
//!    where the notice narrows them) matches an active notice not yet shown in the conversation
//!    gets the notice first, with "did this solve your problem?": a yes ends it, a no (or the
//!    same intent again) continues the intent's usual route. Security intents are never held
//!    back: they get the notice as information and their route at once.
//!
//! Whatever the decision, masked secrets add the secret warning to the replies.

pub mod facts;
pub mod feedback;
pub mod notice;
pub mod state;

#[cfg(test)]
mod notice_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, DetailSpec, Intent, Priority, Route};
use crate::model::prediction::{Prediction, Rejection, is_oos_label};
use crate::nlu::{Analysis, Lang, detect_in_conversation};

pub use feedback::{YesNo, wants_no_more_questions, yes_no};
pub use notice::{ActiveNotice, NoticeEffect, NoticeOffer};
pub use state::{Collecting, ConversationState, PeakOffer};

/// Intents that are never delayed by the peak-load self-help offer.
pub const SECURITY_INTENTS: [&str; 3] =
    ["account_compromised", "phishing_report", "two_factor_reset"];

/// The intent of an explicit request for a person.
pub const HUMAN_AGENT: &str = "human_agent";
/// The catalog intent whose answer is the polite out-of-scope refusal.
pub const OUT_OF_SCOPE: &str = "out_of_scope";
/// The intent answered from the live queue state.
pub const TICKET_STATUS: &str = "ticket_status";
/// The intent of a complaint (after an answer it means the answer did not help).
pub const COMPLAINT: &str = "complaint";
/// The smalltalk intent reported when the customer confirms an answer helped.
pub const THANKS_GOODBYE: &str = "thanks_goodbye";

/// Choice id (what the widget sends back) of the "talk to a person" button.
pub const HUMAN_CHOICE: &str = "human";
/// Choice id of the "yes" button under "did this help?".
pub const YES_CHOICE: &str = "yes";
/// Choice id of the "no" button under "did this help?".
pub const NO_CHOICE: &str = "no";

/// The policy's tunables.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyConfig {
    /// Above this estimated wait (minutes) collect intents first get their self-help answer.
    pub peak_wait_minutes: u32,
    /// While collecting, a message switches intent only above this confidence.
    pub collect_switch_confidence: f32,
    /// While collecting, a message that holds the detail asked for (a TXID when the TXID was
    /// asked...) is that answer, whatever intent the model gives it.
    pub collect_keep_asked_detail: bool,
    /// While collecting, a message may switch only to an intent that also goes to a person
    /// (collect or escalate). An answer-only, smalltalk or refusal reading of a short answer
    /// ("ETH yeah", "says wrong password") would otherwise end the collection with no ticket
    /// and lose every detail given; such questions are answered once the ticket is open.
    pub collect_switch_only_to_handover: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            peak_wait_minutes: 15,
            // Chosen on the multi-turn scripts in tests/data/dialogues (README, "Answer or
            // change of subject during a collection"): 0.80 to any intent kept 90.6 % of
            // answers and 87.5 % of details; 0.95 to a handover intent keeps 98.0 % and
            // 94.6 % and follows as many changes of subject (95.5 %).
            collect_switch_confidence: 0.95,
            collect_keep_asked_detail: false,
            collect_switch_only_to_handover: true,
        }
    }
}

/// The live support queue as the service sees it for this conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueState {
    /// Current estimated wait for a new ticket, in minutes.
    pub estimated_wait_minutes: u32,
    /// This conversation's open ticket, if any.
    pub open_ticket: Option<TicketView>,
}

/// What the customer may know about their open ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketView {
    pub id: String,
    /// Human-readable state ("waiting", "in progress"...), shown as is.
    pub state: String,
    /// Place in the queue, when waiting.
    pub position: Option<u32>,
    /// Estimated wait in minutes, when waiting.
    pub wait_minutes: Option<u32>,
    /// The agent's last reply (already meant for the customer).
    pub last_agent_reply: Option<String>,
}

/// A button under a reply: the widget shows `label` and sends `id` back as the message text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

/// One bot message (one chat bubble), with optional choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    pub choices: Vec<Choice>,
}

impl Reply {
    fn text(text: String) -> Reply {
        Reply {
            text,
            choices: Vec::new(),
        }
    }
}

/// Why the conversation is handed over to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    /// The customer asked for a person.
    Requested,
    /// The bot did not understand two messages in a row.
    AfterMisses,
    /// The customer said the answer did not help.
    NotHelped,
    /// The intent's route is `escalate` (hacked account, complaint...).
    EscalateIntent,
}

/// What the bot does with one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    /// The FAQ answer was given (or, at peak load, a collect intent's self-help answer).
    Answer { intent: String },
    /// The question for detail `key` of `intent` was asked.
    #[serde(rename = "collect")]
    CollectDetail { intent: String, key: String },
    /// Open a ticket with these details (the service then tells [`ticket_opened_text`]).
    OpenTicket {
        intent: String,
        priority: Priority,
        details: BTreeMap<String, String>,
    },
    /// Hand over to a person now. `details` holds the collected details and the known facts
    /// (under their nlu names when no detail key covers them).
    #[serde(rename = "escalate")]
    EscalateNow {
        intent: String,
        priority: Priority,
        reason: HandoffReason,
        details: BTreeMap<String, String>,
    },
    /// A short friendly reply, no ticket.
    #[serde(rename = "smalltalk")]
    SmallTalk { intent: String },
    /// A polite refusal saying what the bot can help with.
    Reject { intent: String },
    /// Ask to rephrase, offering the best guesses (intent ids) as choices.
    Clarify { choices: Vec<String> },
    /// A human agent owns the conversation: the bot says nothing, the message is passed on.
    Silent,
}

impl Decision {
    /// A short stable name for logs and metrics (equal to the JSON `kind`).
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Answer { .. } => "answer",
            Decision::CollectDetail { .. } => "collect",
            Decision::OpenTicket { .. } => "open_ticket",
            Decision::EscalateNow { .. } => "escalate",
            Decision::SmallTalk { .. } => "smalltalk",
            Decision::Reject { .. } => "reject",
            Decision::Clarify { .. } => "clarify",
            Decision::Silent => "silent",
        }
    }
}

/// The policy's verdict on one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub decision: Decision,
    /// What the bot says, in order, in the customer's reply language. Empty for
    /// [`Decision::Silent`] and [`Decision::OpenTicket`] (the service adds
    /// [`ticket_opened_text`]) unless a secret warning or a correction is due.
    pub replies: Vec<Reply>,
    /// The customer's language for this message.
    pub lang: Lang,
    /// The conversation state to store for the next message.
    pub state: ConversationState,
    /// What this turn did with an incident notice, for the notice's counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<NoticeEffect>,
}

/// The sentence told when a ticket opens (the service knows the ticket number only after
/// creating it).
pub fn ticket_opened_text(
    catalog: &Catalog,
    lang: Lang,
    ticket: &str,
    position: u32,
    wait_minutes: u32,
) -> String {
    catalog.messages.render(
        "ticket_opened",
        lang,
        &[
            ("ticket", ticket.to_string()),
            ("position", position.to_string()),
            ("wait_minutes", wait_minutes.to_string()),
        ],
    )
}

/// Decides what the bot does with one customer message.
///
/// Reads only the masked text of `analysis`; `state` is the state returned for the previous
/// message (default for a new conversation); the new state is in the [`Outcome`].
pub fn decide(
    catalog: &Catalog,
    config: &PolicyConfig,
    state: &ConversationState,
    analysis: &Analysis,
    prediction: &Prediction,
    queue: &QueueState,
) -> Outcome {
    decide_with_notices(catalog, config, state, analysis, prediction, queue, &[])
}

/// The language of a turn's replies, decided here once for the whole turn (the service's
/// queue texts use it too): the message's language in the light of the conversation's
/// (`previous`), except that a choice id sent by the widget says nothing about it.
pub fn turn_language(catalog: &Catalog, previous: Option<Lang>, text: &str) -> Lang {
    let text = text.trim();
    let is_choice =
        clicked_intent(catalog, text).is_some() || text == YES_CHOICE || text == NO_CHOICE;
    match previous {
        Some(previous) if is_choice => previous,
        previous => detect_in_conversation(text, previous),
    }
}

/// [`decide`] with the active incident notices (oldest first; see rule 6).
pub fn decide_with_notices(
    catalog: &Catalog,
    config: &PolicyConfig,
    state: &ConversationState,
    analysis: &Analysis,
    prediction: &Prediction,
    queue: &QueueState,
    notices: &[ActiveNotice],
) -> Outcome {
    let text = analysis.masked.text.trim();
    let clicked = clicked_intent(catalog, text);
    let lang = turn_language(catalog, state.lang, text);
    let mut turn = Turn {
        catalog,
        config,
        queue,
        text,
        lang,
        state: state.clone(),
        replies: Vec::new(),
        notices,
        notice_effect: None,
    };
    turn.state.lang = Some(lang);
    let previous_misses = std::mem::take(&mut turn.state.misses_in_a_row);
    if !analysis.masked.secrets.is_empty() {
        let warning = turn.say("secret_warning", &[]);
        turn.push(warning);
    }
    if turn.state.agent_assigned {
        turn.state.misses_in_a_row = previous_misses;
        return turn.finish(Decision::Silent);
    }
    let message_facts = facts::from_details(&analysis.details);
    turn.state.facts.extend(message_facts.clone());
    let understood = understand(prediction, clicked);
    let decision = turn.decide(&understood, prediction, &message_facts, previous_misses);
    turn.finish(decision)
}

/// What the message means, once the prediction and choice clicks are combined.
#[derive(Debug, Clone, PartialEq)]
enum Understood {
    /// A confident intent (a clicked choice counts as certain).
    Intent { id: String, confidence: f32 },
    /// The out-of-scope class itself: a polite refusal, not a miss.
    OutOfScope,
    /// Low confidence or a small margin: the bot did not understand.
    Miss,
}

impl Understood {
    fn intent(&self) -> Option<&str> {
        match self {
            Understood::Intent { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// The intent chosen by clicking a choice: the message is exactly an intent id (or `human`).
fn clicked_intent(catalog: &Catalog, text: &str) -> Option<String> {
    if text == HUMAN_CHOICE {
        return Some(HUMAN_AGENT.to_string());
    }
    catalog.intents.contains_key(text).then(|| text.to_string())
}

fn understand(prediction: &Prediction, clicked: Option<String>) -> Understood {
    if let Some(id) = clicked {
        return Understood::Intent {
            id,
            confidence: 1.0,
        };
    }
    match prediction.rejection {
        Some(Rejection::OutOfScopeClass) => Understood::OutOfScope,
        Some(
            Rejection::LowConfidence
            | Rejection::SmallMargin
            | Rejection::LowSimilarity
            | Rejection::LittleEvidence,
        ) => Understood::Miss,
        None if is_oos_label(&prediction.intent) => Understood::OutOfScope,
        None => Understood::Intent {
            id: prediction.intent.clone(),
            confidence: prediction.confidence,
        },
    }
}

/// One message being decided: the inputs plus the state and replies being built.
struct Turn<'a> {
    catalog: &'a Catalog,
    config: &'a PolicyConfig,
    queue: &'a QueueState,
    /// The masked message text, trimmed.
    text: &'a str,
    lang: Lang,
    state: ConversationState,
    replies: Vec<Reply>,
    /// The active incident notices.
    notices: &'a [ActiveNotice],
    /// What this turn did with a notice.
    notice_effect: Option<NoticeEffect>,
}

/// How a message seen during a collection ends.
enum CollectStep {
    Done(Decision),
    /// The customer moved on to another intent; the details collected so far are carried.
    Switch(BTreeMap<String, String>),
}

impl<'a> Turn<'a> {
    fn finish(self, decision: Decision) -> Outcome {
        Outcome {
            decision,
            replies: self.replies,
            lang: self.lang,
            state: self.state,
            notice: self.notice_effect,
        }
    }

    fn say(&self, key: &str, args: &[(&str, String)]) -> String {
        self.catalog.messages.render(key, self.lang, args)
    }

    fn push(&mut self, text: String) {
        self.replies.push(Reply::text(text));
    }

    fn yes_no_choices(&self) -> Vec<Choice> {
        vec![
            Choice {
                id: YES_CHOICE.into(),
                label: self.say("choice_yes", &[]),
            },
            Choice {
                id: NO_CHOICE.into(),
                label: self.say("choice_no", &[]),
            },
        ]
    }

    fn answer_text(&self, intent: &Intent) -> Option<String> {
        intent.answer.as_ref().map(|a| a.get(self.lang).to_string())
    }

    fn decide(
        &mut self,
        understood: &Understood,
        prediction: &Prediction,
        message_facts: &BTreeMap<String, String>,
        previous_misses: u32,
    ) -> Decision {
        if understood.intent() == Some(HUMAN_AGENT) {
            return self.human_requested();
        }
        let mut carried = BTreeMap::new();
        if let Some(collecting) = self.state.collecting.take() {
            match self.collect_answer(collecting, understood, message_facts) {
                CollectStep::Done(decision) => return decision,
                CollectStep::Switch(details) => {
                    // Answers given to the abandoned collection stay known (never dropped).
                    for (key, value) in &details {
                        let fact = self.state.facts.entry(key.clone());
                        fact.or_insert_with(|| value.clone());
                    }
                    carried = details;
                }
            }
        }
        if let Some(answered) = self.state.awaiting_feedback.take()
            && let Some(decision) = self.answer_feedback(&answered, understood)
        {
            return decision;
        }
        if let Some(offer) = self.state.peak_offer.take()
            && let Some(decision) = self.peak_feedback(offer, understood)
        {
            return decision;
        }
        if let Some(offer) = self.state.notice_offer.take()
            && let Some(decision) = self.notice_feedback(offer, understood)
        {
            return decision;
        }
        match understood {
            Understood::Miss => self.miss(prediction, previous_misses),
            Understood::OutOfScope => self.refuse(OUT_OF_SCOPE),
            Understood::Intent { id, .. } => match self.catalog.intent(id) {
                Some(intent) => self.route(intent, &carried),
                None => self.miss(prediction, previous_misses),
            },
        }
    }

    /// Rule 2: a request for a person is always honoured, mid-collection included (the ticket
    /// then keeps the collection's intent, priority and details).
    fn human_requested(&mut self) -> Decision {
        let in_context = self.state.collecting.is_some()
            || self.state.awaiting_feedback.is_some()
            || self.state.peak_offer.is_some()
            || self.state.notice_offer.is_some();
        if let Some(offer) = self.state.notice_offer.take() {
            self.notice_effect = Some(NoticeEffect::AskedForPerson(offer.notice_id));
        }
        let human = self.catalog.intent(HUMAN_AGENT);
        let mut priority = human.and_then(|i| i.priority).unwrap_or(Priority::Normal);
        let (intent, collected) = match self.state.collecting.take() {
            Some(c) => {
                if let Some(p) = self.catalog.intent(&c.intent).and_then(|i| i.priority) {
                    priority = priority.max(p);
                }
                (c.intent, c.details)
            }
            None => (HUMAN_AGENT.to_string(), BTreeMap::new()),
        };
        let text = match human.and_then(|i| self.answer_text(i)) {
            Some(answer) if !in_context => answer,
            _ => self.say("handoff_requested", &[]),
        };
        self.push(text);
        self.hand_over(intent, priority, HandoffReason::Requested, &collected)
    }

    /// Ends the bot's part: clears the flow state and returns the hand-over decision.
    fn hand_over(
        &mut self,
        intent: String,
        priority: Priority,
        reason: HandoffReason,
        collected: &BTreeMap<String, String>,
    ) -> Decision {
        let details = facts::handover_details(collected, &self.state.facts);
        self.state.facts.clear();
        self.state.collecting = None;
        self.state.awaiting_feedback = None;
        self.state.peak_offer = None;
        self.state.notice_offer = None;
        Decision::EscalateNow {
            intent,
            priority,
            reason,
            details,
        }
    }

    /// Rule 3: the message answers the detail asked for, fills any other detail it names and
    /// corrects details given before, unless it is confidently another intent (a bare TXID or
    /// number, or a yes / no to a yes / no question, is always an answer).
    fn collect_answer(
        &mut self,
        mut collecting: Collecting,
        understood: &Understood,
        message_facts: &BTreeMap<String, String>,
    ) -> CollectStep {
        let catalog = self.catalog;
        let Some(intent) = catalog.intent(&collecting.intent) else {
            return CollectStep::Switch(BTreeMap::new());
        };
        if let Understood::Intent { id, confidence } = understood
            && *id != intent.id
            && !is_oos_label(id)
            && *confidence > self.config.collect_switch_confidence
            && catalog.intent(id).is_some_and(|to| {
                !self.config.collect_switch_only_to_handover
                    || matches!(to.route, Route::Collect | Route::Escalate)
            })
            && !facts::is_bare_value(self.text)
            && !(self.config.collect_keep_asked_detail
                && collecting
                    .asked
                    .as_deref()
                    .is_some_and(|asked| facts::value_for(asked, message_facts).is_some()))
            && !(collecting.asked.as_deref() == Some("balances_withdrawn")
                && yes_no(self.text).is_some())
        {
            return CollectStep::Switch(collecting.details);
        }
        let message_facts = &facts::as_answer(
            collecting.asked.as_deref(),
            message_facts,
            &collecting.details,
            self.text,
        );
        let mut corrected = Vec::new();
        let mut recorded = false;
        let mut found_any = false;
        for spec in &intent.details {
            let Some(value) = facts::value_for(&spec.key, message_facts) else {
                continue;
            };
            found_any = true;
            match collecting.details.get(&spec.key) {
                None => recorded = true,
                Some(old) if !facts::same_value(old, &value) => corrected.push(spec.key.clone()),
                Some(_) => continue,
            }
            collecting.details.insert(spec.key.clone(), value);
        }
        let stop = wants_no_more_questions(self.text);
        if !stop
            && !self.text.is_empty()
            && let Some(asked) = collecting.asked.clone()
            && !collecting.details.contains_key(&asked)
            && (facts::is_free_text(&asked) || !found_any)
        {
            let value = match (asked.as_str(), yes_no(self.text)) {
                ("balances_withdrawn", Some(YesNo::Yes)) => "yes".to_string(),
                ("balances_withdrawn", Some(YesNo::No)) => "no".to_string(),
                _ => self.text.to_string(),
            };
            collecting.details.insert(asked, value);
            recorded = true;
        }
        if !corrected.is_empty() {
            let names: Vec<String> = corrected
                .iter()
                .map(|k| facts::label(k, self.lang))
                .collect();
            let ack = self.say("correction_ack", &[("detail", names.join(", "))]);
            self.push(ack);
        } else if recorded && !stop && next_missing(intent, &collecting.details).is_some() {
            let ack = self.say("detail_ack", &[]);
            self.push(ack);
        }
        let decision = if stop {
            self.open_ticket(intent, collecting.details)
        } else {
            self.collect_next(intent, collecting.details)
        };
        CollectStep::Done(decision)
    }

    /// Asks the next missing detail, or opens the ticket when none is missing.
    fn collect_next(&mut self, intent: &Intent, collected: BTreeMap<String, String>) -> Decision {
        match next_missing(intent, &collected) {
            Some(spec) => {
                self.push(spec.question.get(self.lang).to_string());
                self.state.collecting = Some(Collecting {
                    intent: intent.id.clone(),
                    details: collected,
                    asked: Some(spec.key.clone()),
                });
                Decision::CollectDetail {
                    intent: intent.id.clone(),
                    key: spec.key.clone(),
                }
            }
            None => self.open_ticket(intent, collected),
        }
    }

    /// The ticket carries every detail the customer gave in the conversation: the
    /// collection's (latest values) and every other fact found on the way.
    fn open_ticket(&mut self, intent: &Intent, details: BTreeMap<String, String>) -> Decision {
        let details = facts::handover_details(&details, &self.state.facts);
        self.state.collecting = None;
        self.state.facts.clear();
        Decision::OpenTicket {
            intent: intent.id.clone(),
            priority: intent.priority.unwrap_or(Priority::Normal),
            details,
        }
    }

    /// The details of `intent` already known: `base` first, then the conversation's facts.
    fn prefill(
        &self,
        intent: &Intent,
        base: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        intent
            .details
            .iter()
            .filter_map(|spec| {
                let value = base
                    .get(&spec.key)
                    .cloned()
                    .or_else(|| facts::value_for(&spec.key, &self.state.facts))?;
                Some((spec.key.clone(), value))
            })
            .collect()
    }

    /// Whether the customer, beside a yes, clearly brings up something new (a long message
    /// confidently about an answer, collect or escalate intent).
    fn moves_on(&self, understood: &Understood) -> bool {
        self.text.chars().count() > 12
            && understood
                .intent()
                .and_then(|id| self.catalog.intent(id))
                .is_some_and(|i| {
                    matches!(i.route, Route::Answer | Route::Collect | Route::Escalate)
                })
    }

    /// A "no", a complaint or the same intent again.
    fn is_negative(&self, answered: &str, understood: &Understood) -> bool {
        yes_no(self.text) == Some(YesNo::No)
            || matches!(understood.intent(), Some(id) if id == answered || id == COMPLAINT)
    }

    fn is_positive(&self, understood: &Understood) -> bool {
        yes_no(self.text) == Some(YesNo::Yes) && !self.moves_on(understood)
    }

    fn glad_it_helped(&mut self) -> Decision {
        let text = self.say("glad_it_helped", &[]);
        self.push(text);
        Decision::SmallTalk {
            intent: THANKS_GOODBYE.to_string(),
        }
    }

    /// Rule 4: the reply to "did this help?" after an answer.
    fn answer_feedback(&mut self, answered: &str, understood: &Understood) -> Option<Decision> {
        if self.is_negative(answered, understood) {
            let priority = self
                .catalog
                .intent(answered)
                .and_then(|i| i.priority)
                .unwrap_or(Priority::Normal);
            let text = self.say("handoff_not_helped", &[]);
            self.push(text);
            return Some(self.hand_over(
                answered.to_string(),
                priority,
                HandoffReason::NotHelped,
                &BTreeMap::new(),
            ));
        }
        self.is_positive(understood).then(|| self.glad_it_helped())
    }

    /// Rule 4: the reply to the peak-load self-help answer: a no starts the ticket path.
    fn peak_feedback(&mut self, offer: PeakOffer, understood: &Understood) -> Option<Decision> {
        let catalog = self.catalog;
        let intent = catalog.intent(&offer.intent)?;
        if self.is_negative(&offer.intent, understood) {
            let details = self.prefill(intent, &offer.details);
            return Some(self.collect_next(intent, details));
        }
        self.is_positive(understood).then(|| self.glad_it_helped())
    }

    /// Rule 5: clarify with the two best guesses; the second miss in a row hands over.
    fn miss(&mut self, prediction: &Prediction, previous_misses: u32) -> Decision {
        let guesses: Vec<&Intent> = prediction
            .top
            .iter()
            .filter(|s| !is_oos_label(&s.intent))
            .filter_map(|s| self.catalog.intent(&s.intent))
            .take(2)
            .collect();
        let misses = previous_misses + 1;
        if misses >= 2 {
            let text = self.say("handoff_after_misses", &[]);
            self.push(text);
            let intent = guesses
                .first()
                .map_or(OUT_OF_SCOPE.to_string(), |i| i.id.clone());
            return self.hand_over(
                intent,
                Priority::Normal,
                HandoffReason::AfterMisses,
                &BTreeMap::new(),
            );
        }
        self.state.misses_in_a_row = misses;
        let choices: Vec<Choice> = guesses
            .iter()
            .map(|i| Choice {
                id: i.id.clone(),
                label: i.description.clone(),
            })
            .collect();
        let key = if choices.is_empty() {
            "rephrase_no_guess"
        } else {
            "rephrase"
        };
        let text = self.say(key, &[]);
        let ids = choices.iter().map(|c| c.id.clone()).collect();
        self.replies.push(Reply { text, choices });
        Decision::Clarify { choices: ids }
    }

    /// A polite refusal with the intent's answer.
    fn refuse(&mut self, intent: &str) -> Decision {
        let text = self
            .catalog
            .intent(intent)
            .and_then(|i| self.answer_text(i))
            .unwrap_or_else(|| self.say("rephrase_no_guess", &[]));
        self.push(text);
        Decision::Reject {
            intent: intent.to_string(),
        }
    }

    /// A new message with a confident intent: an incident notice first (rule 6), else its
    /// route.
    fn route(&mut self, intent: &Intent, carried: &BTreeMap<String, String>) -> Decision {
        if intent.id == TICKET_STATUS {
            return self.ticket_status();
        }
        if let Some(decision) = self.offer_notice(intent, carried) {
            return decision;
        }
        self.follow_route(intent, carried)
    }

    /// Rule 6: the first matching notice not yet shown. A security intent gets it as
    /// information before its route; any other intent gets it with "did this solve your
    /// problem?" and waits for the answer.
    fn offer_notice(
        &mut self,
        intent: &Intent,
        carried: &BTreeMap<String, String>,
    ) -> Option<Decision> {
        let notice = notice::find(
            self.notices,
            &self.state.notices_seen,
            &intent.id,
            &self.state.facts,
            self.text,
        )?;
        self.state.notices_seen.insert(notice.id.clone());
        self.notice_effect = Some(NoticeEffect::Shown(notice.id.clone()));
        let text = notice.text(self.lang).to_string();
        if SECURITY_INTENTS.contains(&intent.id.as_str()) {
            self.push(text);
            return None;
        }
        self.push(text);
        let question = self.say("did_it_help", &[]);
        let choices = self.yes_no_choices();
        self.replies.push(Reply {
            text: question,
            choices,
        });
        self.state.notice_offer = Some(NoticeOffer {
            notice_id: notice.id.clone(),
            intent: intent.id.clone(),
            details: self.prefill(intent, carried),
        });
        Some(Decision::Answer {
            intent: intent.id.clone(),
        })
    }

    /// Rule 6: the reply to a notice: a yes ends it, a no continues the intent's route.
    fn notice_feedback(&mut self, offer: NoticeOffer, understood: &Understood) -> Option<Decision> {
        let catalog = self.catalog;
        let intent = catalog.intent(&offer.intent)?;
        if self.is_negative(&offer.intent, understood) {
            self.notice_effect = Some(NoticeEffect::AskedForPerson(offer.notice_id));
            return Some(self.follow_route(intent, &offer.details));
        }
        if self.is_positive(understood) {
            self.notice_effect = Some(NoticeEffect::Answered(offer.notice_id));
            return Some(self.glad_it_helped());
        }
        None
    }

    /// The intent's route from the catalog.
    fn follow_route(&mut self, intent: &Intent, carried: &BTreeMap<String, String>) -> Decision {
        match intent.route {
            Route::Answer => {
                if let Some(answer) = self.answer_text(intent) {
                    self.push(answer);
                }
                let question = self.say("did_it_help", &[]);
                let choices = self.yes_no_choices();
                self.replies.push(Reply {
                    text: question,
                    choices,
                });
                self.state.awaiting_feedback = Some(intent.id.clone());
                Decision::Answer {
                    intent: intent.id.clone(),
                }
            }
            Route::Collect => {
                let known = self.prefill(intent, carried);
                let peak = self.queue.estimated_wait_minutes > self.config.peak_wait_minutes;
                match self.answer_text(intent) {
                    Some(answer) if peak && !SECURITY_INTENTS.contains(&intent.id.as_str()) => {
                        let wait = self.queue.estimated_wait_minutes.to_string();
                        let text = [
                            self.say("peak_self_help_intro", &[("wait_minutes", wait)]),
                            answer,
                            self.say("peak_open_ticket_offer", &[]),
                        ]
                        .join("\n\n");
                        let choices = self.yes_no_choices();
                        self.replies.push(Reply { text, choices });
                        self.state.peak_offer = Some(PeakOffer {
                            intent: intent.id.clone(),
                            details: known,
                        });
                        Decision::Answer {
                            intent: intent.id.clone(),
                        }
                    }
                    _ => self.collect_next(intent, known),
                }
            }
            Route::Escalate => {
                let text = self
                    .answer_text(intent)
                    .unwrap_or_else(|| self.say("handoff_requested", &[]));
                self.push(text);
                let priority = intent.priority.unwrap_or(Priority::Normal);
                self.hand_over(
                    intent.id.clone(),
                    priority,
                    HandoffReason::EscalateIntent,
                    carried,
                )
            }
            Route::Smalltalk => {
                if let Some(answer) = self.answer_text(intent) {
                    self.push(answer);
                }
                Decision::SmallTalk {
                    intent: intent.id.clone(),
                }
            }
            Route::Reject => self.refuse(&intent.id),
        }
    }

    /// Rule 5: the ticket's live state, or "no open request".
    fn ticket_status(&mut self) -> Decision {
        let queue = self.queue;
        match &queue.open_ticket {
            Some(ticket) => {
                let text = ticket_status_live(
                    self.catalog,
                    self.lang,
                    ticket,
                    queue.estimated_wait_minutes,
                );
                self.push(text);
                if let Some(reply) = &ticket.last_agent_reply {
                    let text = self.say("ticket_status_last_reply", &[("reply", reply.clone())]);
                    self.push(text);
                }
            }
            None => {
                let text = self.say("ticket_status_none", &[]);
                self.push(text);
            }
        }
        Decision::Answer {
            intent: TICKET_STATUS.to_string(),
        }
    }
}

/// The first detail of `intent` not collected yet.
fn next_missing<'i>(
    intent: &'i Intent,
    collected: &BTreeMap<String, String>,
) -> Option<&'i DetailSpec> {
    intent
        .details
        .iter()
        .find(|spec| !collected.contains_key(&spec.key))
}

/// ticket_status_live for `ticket`. Without a queue position (the ticket is no longer waiting)
/// only its first sentence, up to the state, is said; a missing wait uses the queue's estimate.
fn ticket_status_live(
    catalog: &Catalog,
    lang: Lang,
    ticket: &TicketView,
    estimated_wait: u32,
) -> String {
    let Some(template) = catalog
        .messages
        .entries
        .get("ticket_status_live")
        .map(|l| l.get(lang))
    else {
        return "ticket_status_live".to_string();
    };
    let template = match ticket.position {
        Some(_) => template,
        None => first_sentence_after(template, "{state}"),
    };
    let args = [
        ("ticket", ticket.id.clone()),
        ("state", ticket.state.clone()),
        ("position", ticket.position.unwrap_or_default().to_string()),
        (
            "wait_minutes",
            ticket.wait_minutes.unwrap_or(estimated_wait).to_string(),
        ),
    ];
    args.iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

/// `text` up to and including the first sentence end ('.' or '。') after `marker`.
fn first_sentence_after<'t>(text: &'t str, marker: &str) -> &'t str {
    let Some(start) = text.find(marker) else {
        return text;
    };
    let after = start + marker.len();
    match text[after..].find(['.', '。']) {
        Some(end) => {
            let end = after + end;
            let width = text[end..].chars().next().map_or(0, char::len_utf8);
            &text[..end + width]
        }
        None => text,
    }
}
