//! Multi-turn scripts (`tests/data/dialogues/*.jsonl`, ko / en / zh / ja, written
//! independently of the policy) played through the real service (real model, SQLite store):
//! during a detail collection an answer stays an answer, a true change of subject is
//! followed, and every detail the customer gave anywhere is on the ticket. The candidate
//! rules for "answer or change of subject" are swept on the scripts and printed; the shipped
//! rule (`PolicyConfig::default()`) is held to floors.
//!
//! A script: `opening` (the first message, about `intent`); `answers` (what the customer
//! says when asked for a detail key; a key not listed gets "I don't know" in the
//! script's language); optionally `change` = `{at, text, intent}`: instead of answering the
//! `at`-th question (1-based) the customer says `text`, a change of subject to `intent`;
//! `details`: the values the customer gives (coins, amounts, TXIDs, addresses, e-mails...),
//! each required on the ticket when a message actually sent contains it.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;
use intentdesk::conversation::{ChatService, ServiceConfig};
use intentdesk::policy::{ConversationState, PolicyConfig};
use intentdesk::store::Store;
use serde::Deserialize;

use super::harness::{catalog, engine, root};

/// Longest conversation played (a script that loops is cut there).
const MAX_MESSAGES: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Script {
    id: String,
    lang: String,
    opening: String,
    intent: String,
    #[serde(default)]
    answers: BTreeMap<String, String>,
    #[serde(default)]
    change: Option<Change>,
    #[serde(default)]
    details: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    at: usize,
    text: String,
    intent: String,
}

fn load_scripts() -> Vec<Script> {
    let dir = root().join("tests/data/dialogues");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let catalog = super::harness::catalog();
    let mut scripts = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let s: Script = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), n + 1));
            for intent in std::iter::once(&s.intent).chain(s.change.as_ref().map(|c| &c.intent)) {
                assert!(
                    catalog.intent(intent).is_some(),
                    "{}:{}: unknown intent {intent}",
                    file.display(),
                    n + 1
                );
            }
            scripts.push(s);
        }
    }
    scripts
}

/// What one customer message did to the intent the conversation is about.
#[derive(Debug)]
enum Step {
    /// An answer to a question of the collection of `from`; `to` is the intent after it.
    Answer { from: String, to: Option<String> },
    /// The scripted change of subject away from `from`.
    Change {
        from: String,
        to: Option<String>,
        expected: String,
    },
}

/// One script played.
#[derive(Debug)]
struct Played {
    id: String,
    steps: Vec<Step>,
    /// The intent after the opening.
    opened_as: Option<String>,
    /// The ticket at the end (intent, details).
    ticket: Option<(String, BTreeMap<String, String>)>,
    expected_intent: String,
    /// Required values missing from the ticket.
    dropped: Vec<String>,
    required: usize,
    sent: Vec<String>,
}

fn dont_know(lang: &str) -> &'static str {
    match lang {
        "ko" => "잘 모르겠어요",
        "zh" => "不太清楚",
        "ja" => "ちょっとわかりません",
        _ => "not sure tbh",
    }
}

/// Letters and digits only, lower case: "1,200" ~ "1200", "TRC-20" ~ "trc20".
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a ticket value holds `value`: a long value (TXID, address, e-mail) anywhere in it,
/// a short one (coin, amount) as one of its words.
fn holds(ticket_value: &str, value: &str) -> bool {
    let value = norm(value);
    if value.chars().count() > 6 {
        return norm(ticket_value).contains(&value);
    }
    ticket_value.split_whitespace().any(|w| norm(w) == value)
}

struct Probe {
    state: ConversationState,
    ticket: Option<(String, BTreeMap<String, String>)>,
}

impl Probe {
    /// The intent the conversation is about: its ticket's, else the collection's, else the
    /// intent answered or offered.
    fn intent(&self) -> Option<String> {
        if let Some((intent, _)) = &self.ticket {
            return Some(intent.clone());
        }
        let s = &self.state;
        s.collecting
            .as_ref()
            .map(|c| c.intent.clone())
            .or_else(|| s.awaiting_feedback.clone())
            .or_else(|| s.peak_offer.as_ref().map(|o| o.intent.clone()))
            .or_else(|| s.notice_offer.as_ref().map(|o| o.intent.clone()))
    }
}

async fn probe(service: &ChatService, id: &str) -> Probe {
    let conversation = service.conversation(id).await.unwrap();
    let state: ConversationState = serde_json::from_str(&conversation.state_json).unwrap();
    let ticket = service
        .store()
        .open_ticket_for_conversation(id)
        .await
        .unwrap()
        .map(|t| (t.intent, t.details));
    Probe { state, ticket }
}

async fn play(service: &ChatService, script: &Script) -> Played {
    let id = service.start_conversation(None).await.unwrap().id;
    let mut sent = vec![script.opening.clone()];
    service.handle(&id, &script.opening).await.unwrap();
    let mut now = probe(service, &id).await;
    let opened_as = now.intent();
    let (mut steps, mut questions) = (Vec::new(), 0);
    let mut answered = std::collections::BTreeSet::new();
    while sent.len() < MAX_MESSAGES && now.ticket.is_none() {
        let Some(collecting) = now.state.collecting.clone() else {
            break;
        };
        questions += 1;
        let change = script.change.as_ref().filter(|c| c.at == questions);
        let asked = collecting.asked.clone().unwrap_or_default();
        let first_time = answered.insert((collecting.intent.clone(), asked.clone()));
        let text = match (change, script.answers.get(&asked)) {
            (Some(c), _) => c.text.clone(),
            // Asked again (the answer did not hold the detail): the customer does not know.
            (None, Some(answer)) if first_time => answer.clone(),
            (None, _) => dont_know(&script.lang).to_string(),
        };
        service.handle(&id, &text).await.unwrap();
        sent.push(text);
        now = probe(service, &id).await;
        let (from, to) = (collecting.intent, now.intent());
        steps.push(match change {
            Some(c) => Step::Change {
                from,
                to,
                expected: c.intent.clone(),
            },
            None => Step::Answer { from, to },
        });
    }
    // Where the conversation opened a ticket, the details must be on it; where it ended without
    // one (the opening was answered or clarified, so no collection started), in the
    // conversation's state, ready for the next turn.
    let ticket_values: Vec<&String> = match &now.ticket {
        Some((_, details)) => details.values().collect(),
        None => now
            .state
            .facts
            .values()
            .chain(now.state.collecting.iter().flat_map(|c| c.details.values()))
            .collect(),
    };
    let required: Vec<&String> = script
        .details
        .iter()
        .filter(|v| sent.iter().any(|t| holds_token(t, v)))
        .collect();
    let dropped = required
        .iter()
        .filter(|v| !ticket_values.iter().any(|t| holds(t, v)))
        .map(|v| v.to_string())
        .collect();
    let expected_intent = script
        .change
        .as_ref()
        .map_or(script.intent.clone(), |c| c.intent.clone());
    Played {
        id: script.id.clone(),
        steps,
        opened_as,
        ticket: now.ticket,
        expected_intent,
        dropped,
        required: required.len(),
        sent,
    }
}

/// True when `text` holds `value` as a whole token (case-insensitive), not inside a longer run
/// of letters and digits: "99" is not given by "chen_yu199080@163.com".
fn holds_token(text: &str, value: &str) -> bool {
    let (text, value) = (text.to_lowercase(), value.to_lowercase());
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(&value).any(|(i, _)| {
        !alnum(text[..i].chars().next_back()) && !alnum(text[i + value.len()..].chars().next())
    })
}

/// The figures of one rule on the scripts.
#[derive(Debug, Default, Clone, Copy)]
struct Score {
    answers: usize,
    answers_kept: usize,
    changes: usize,
    changes_followed: usize,
    changes_landed: usize,
    required: usize,
    details_kept: usize,
    tickets: usize,
    tickets_right: usize,
    dialogues: usize,
    openings_right: usize,
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        100.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

impl Score {
    fn of(played: &[Played], scripts: &[Script]) -> Score {
        let mut s = Score::default();
        for (p, script) in played.iter().zip(scripts) {
            s.dialogues += 1;
            s.openings_right += usize::from(p.opened_as.as_deref() == Some(&script.intent));
            for step in &p.steps {
                match step {
                    Step::Answer { from, to } => {
                        s.answers += 1;
                        s.answers_kept += usize::from(to.as_deref() == Some(from));
                    }
                    Step::Change { from, to, expected } => {
                        s.changes += 1;
                        s.changes_followed += usize::from(to.as_deref() != Some(from));
                        s.changes_landed += usize::from(to.as_deref() == Some(expected));
                    }
                }
            }
            s.required += p.required;
            s.details_kept += p.required - p.dropped.len();
            if p.ticket.is_some() {
                s.tickets += 1;
            }
            s.tickets_right += usize::from(
                p.ticket
                    .as_ref()
                    .is_some_and(|(intent, _)| *intent == p.expected_intent),
            );
        }
        s
    }

    fn row(&self, rule: &str) -> String {
        format!(
            "| {rule} | {:.1} % ({}/{}) | {:.1} % ({}/{}) | {:.1} % | {:.1} % ({}/{}) | {:.1} % |",
            pct(self.answers_kept, self.answers),
            self.answers_kept,
            self.answers,
            pct(self.changes_followed, self.changes),
            self.changes_followed,
            self.changes,
            pct(self.changes_landed, self.changes),
            pct(self.details_kept, self.required),
            self.details_kept,
            self.required,
            pct(self.tickets_right, self.dialogues),
        )
    }
}

async fn run_rule(scripts: &[Script], policy: PolicyConfig) -> Vec<Played> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(dir.path()).await.expect("store");
    let config = ServiceConfig {
        policy: PolicyConfig {
            // Nobody waits long: collect intents go straight to their questions.
            peak_wait_minutes: 1000,
            ..policy
        },
        ..Default::default()
    };
    let service = Arc::new(ChatService::new(engine(), catalog(), store, config));
    join_all(scripts.iter().map(|s| {
        let service = Arc::clone(&service);
        async move { play(&service, s).await }
    }))
    .await
}

fn candidates() -> Vec<(String, PolicyConfig)> {
    // The first sweep (thresholds 0.6-0.95, with and without the asked-detail
    // signal) is in the README; what it left open is swept here: the old default for
    // reference, then switches allowed only to intents that also go to a person.
    let mut rules = vec![(
        "switch > 0.80 (previous default)".to_string(),
        PolicyConfig {
            collect_switch_confidence: 0.80,
            collect_keep_asked_detail: false,
            collect_switch_only_to_handover: false,
            ..PolicyConfig::default()
        },
    )];
    for t in [0.80_f32, 0.90, 0.95] {
        for keep in [false, true] {
            let name = format!(
                "switch > {t:.2} to a handover intent only{}",
                if keep {
                    " + asked detail → answer"
                } else {
                    ""
                }
            );
            let config = PolicyConfig {
                collect_switch_confidence: t,
                collect_keep_asked_detail: keep,
                collect_switch_only_to_handover: true,
                ..PolicyConfig::default()
            };
            rules.push((name, config));
        }
    }
    rules
}

fn print_failures(played: &[Played]) {
    for p in played {
        let wrong_steps: Vec<String> = p
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Answer { from, to } if to.as_deref() != Some(from) => {
                    Some(format!("answer taken as a change {from} → {to:?}"))
                }
                Step::Change { from, to, .. } if to.as_deref() == Some(from) => {
                    Some(format!("change not followed (stayed {from})"))
                }
                _ => None,
            })
            .collect();
        if !wrong_steps.is_empty() || !p.dropped.is_empty() {
            eprintln!(
                "  {}: {} dropped {:?} ticket {:?} sent {:?}",
                p.id,
                wrong_steps.join("; "),
                p.dropped,
                p.ticket.as_ref().map(|t| &t.0),
                p.sent
            );
        }
    }
}

fn header() {
    println!(
        "| rule | answers kept | changes followed | landed on the intent | details kept | ticket intent right |"
    );
    println!("|---|---|---|---|---|---|");
}

/// The shipped rule on every script: the floors of issue 11 (answers kept, changes followed,
/// every detail kept).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialogues_keep_answers_follow_changes_and_drop_no_detail() {
    let scripts = load_scripts();
    for lang in ["ko", "en", "zh", "ja"] {
        let n = scripts.iter().filter(|s| s.lang == lang).count();
        assert!(n >= 40, "{n} {lang} scripts; at least 40 per language");
    }
    let played = run_rule(&scripts, PolicyConfig::default()).await;
    let score = Score::of(&played, &scripts);
    header();
    println!("{}", score.row("shipped rule"));
    eprintln!("failures of the shipped rule:");
    print_failures(&played);
    println!(
        "openings routed to the script's intent: {}/{}",
        score.openings_right, score.dialogues
    );
    assert!(
        pct(score.answers_kept, score.answers) >= 95.0,
        "answers kept {}/{}",
        score.answers_kept,
        score.answers
    );
    assert!(
        pct(score.changes_followed, score.changes) >= 90.0,
        "changes followed {}/{}",
        score.changes_followed,
        score.changes
    );
    assert_eq!(
        score.details_kept, score.required,
        "every detail given is on the ticket (or, with no ticket, in the conversation)"
    );
    assert!(score.changes >= 40 && score.answers >= 200, "{score:?}");
}

/// The sweep of candidate rules behind the README's table (several minutes: every rule plays
/// every script). `cargo test --test it dialogue_rule_sweep -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for the README (every candidate rule on every script), not a check"]
async fn dialogue_rule_sweep() {
    let scripts = load_scripts();
    let shipped = PolicyConfig::default();
    header();
    for (name, policy) in candidates() {
        let played = run_rule(&scripts, policy).await;
        let score = Score::of(&played, &scripts);
        let marker = if policy == shipped { " (shipped)" } else { "" };
        println!("{}", score.row(&format!("{name}{marker}")));
    }
}
