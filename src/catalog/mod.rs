//! The intent catalog: `intents/*.toml` (one file per intent) and
//! `intents/messages.toml` (the bot's fixed sentences), loaded into a
//! validated [`Catalog`]: routes, priorities, answers and detail questions in
//! four languages, and the training phrases.
//!
//! Loading and validation live in [`load`]; the types below are what the
//! rest of the crate (policy, training, service) reads.

mod detail_keys;
pub mod load;

pub use detail_keys::{DETAIL_KEYS, DetailKey, detail_key, detail_key_names};

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::nlu::Lang;

/// The languages every text of the catalog is written in.
pub const LANGUAGES: [Lang; 4] = [Lang::Ko, Lang::En, Lang::Zh, Lang::Ja];

/// What the bot does with an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Answer from the FAQ, then ask whether it helped.
    Answer,
    /// Ask for the listed details one at a time, then open a ticket.
    Collect,
    /// Hand over to a person at once.
    Escalate,
    /// A short friendly reply, no ticket.
    Smalltalk,
    /// A polite refusal saying what the bot can help with.
    Reject,
}

/// Ticket priority, lowest first (the derived order is used for sorting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Route {
    /// Every route, in the order the files' documentation lists them.
    pub const ALL: [Route; 5] = [
        Route::Answer,
        Route::Collect,
        Route::Escalate,
        Route::Smalltalk,
        Route::Reject,
    ];

    /// The route's name as written in the catalog files and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Answer => "answer",
            Route::Collect => "collect",
            Route::Escalate => "escalate",
            Route::Smalltalk => "smalltalk",
            Route::Reject => "reject",
        }
    }

    /// The route named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    /// The priority's name as written in the catalog files and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// The priority named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The number the store keeps (0 low .. 3 urgent), so that SQL can sort by it.
    pub fn number(self) -> i32 {
        self as i32
    }

    /// The priority of a stored number (the inverse of [`Priority::number`]), if any.
    pub fn from_number(number: i64) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| i64::from(p.number()) == number)
    }
}

/// A text in the four catalog languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    pub ko: String,
    pub en: String,
    pub zh: String,
    pub ja: String,
}

impl Localized {
    /// The text in `lang`'s reply language (English for other languages).
    pub fn get(&self, lang: Lang) -> &str {
        match lang.reply_language() {
            Lang::Ko => &self.ko,
            Lang::Zh => &self.zh,
            Lang::Ja => &self.ja,
            _ => &self.en,
        }
    }
}

/// One detail a `collect` intent asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailSpec {
    /// One of the detail keys documented in `intents/README.md` (`coin`, `txid`...).
    pub key: String,
    pub question: Localized,
}

/// One intent of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub id: String,
    pub route: Route,
    /// Set for `collect` and `escalate` intents.
    pub priority: Option<Priority>,
    pub description: String,
    /// The answer (answer, smalltalk, reject), the preface said before the
    /// hand-over (escalate), or the self-help answer offered first at peak
    /// load (collect, optional).
    pub answer: Option<Localized>,
    /// Details to collect, in the order asked (collect only).
    pub details: Vec<DetailSpec>,
    /// Training phrases by language code (`ko`, `en`, `zh`, `ja`).
    pub phrases: BTreeMap<String, Vec<String>>,
    /// The file it was read from.
    pub file: PathBuf,
}

/// The bot's fixed sentences (`messages.toml`), by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Messages {
    pub entries: BTreeMap<String, Localized>,
}

impl Messages {
    /// The sentence `key` in `lang`, with `{name}` placeholders filled from
    /// `args`. A missing key yields the key itself (validated at load, so this
    /// only happens for keys the code invents).
    pub fn render(&self, key: &str, lang: Lang, args: &[(&str, String)]) -> String {
        let mut text = match self.entries.get(key) {
            Some(l) => l.get(lang).to_string(),
            None => return key.to_string(),
        };
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

/// The whole validated catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub intents: BTreeMap<String, Intent>,
    pub messages: Messages,
    /// sha256 over every catalog file (names and contents, sorted by name):
    /// a classifier records it to detect a catalog changed since training.
    pub sha256: String,
    pub dir: PathBuf,
}

/// One training row taken from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhraseRow {
    pub text: String,
    pub intent: String,
    pub lang: String,
}

impl Catalog {
    pub fn intent(&self, id: &str) -> Option<&Intent> {
        self.intents.get(id)
    }

    /// Every training phrase with its intent and language, in a stable order.
    pub fn phrase_rows(&self) -> Vec<PhraseRow> {
        let mut rows = Vec::new();
        for intent in self.intents.values() {
            for (lang, phrases) in &intent.phrases {
                for p in phrases {
                    rows.push(PhraseRow {
                        text: p.clone(),
                        intent: intent.id.clone(),
                        lang: lang.clone(),
                    });
                }
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_and_priority_names_are_their_json_names() {
        for route in Route::ALL {
            assert_eq!(serde_json::to_value(route).unwrap(), route.as_str());
            assert_eq!(Route::parse(route.as_str()), Some(route));
        }
        for p in Priority::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
            assert_eq!(Priority::parse(p.as_str()), Some(p));
            assert_eq!(Priority::from_number(p.number().into()), Some(p));
        }
        assert_eq!(Route::parse("Answer"), None);
        assert_eq!(Priority::from_number(-4), None);
        assert_eq!(Priority::from_number(9), None);
        assert!(
            Priority::Low < Priority::Urgent,
            "sorting relies on the order"
        );
    }
}
