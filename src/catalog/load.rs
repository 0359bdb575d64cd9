//! Reading and validating the intent catalog directory (`intents/*.toml` and `messages.toml`) into a [`Catalog`], reporting every problem at once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{
    Catalog, DetailSpec, Intent, LANGUAGES, Localized, Messages, Priority, Route, detail_key,
    detail_key_names,
};

/// The minimum phrase count per language the shipped catalog keeps (checked by a test, not by load).
pub const SHIPPED_MIN_PHRASES: usize = 40;

/// The file holding the bot's fixed sentences; every other `*.toml` is one intent.
pub const MESSAGES_FILE: &str = "messages.toml";

/// The keys `messages.toml` must define (the code renders them).
pub const REQUIRED_MESSAGES: [&str; 25] = [
    "rephrase",
    "rephrase_no_guess",
    "handoff_after_misses",
    "handoff_requested",
    "handoff_not_helped",
    "ticket_opened",
    "queue_update",
    "did_it_help",
    "choice_yes",
    "choice_no",
    "glad_it_helped",
    "secret_warning",
    "agent_joined",
    "ticket_resolved",
    "rate_request",
    "thanks_for_rating",
    "ticket_status_none",
    "ticket_status_live",
    "ticket_status_last_reply",
    "peak_self_help_intro",
    "peak_open_ticket_offer",
    "detail_ack",
    "agent_busy_silence",
    "message_too_long",
    "correction_ack",
];

static ID_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]*$").expect("id regex"));
static PLACEHOLDER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("placeholder regex"));
static PUNCT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\p{P}").expect("punctuation regex"));

/// One problem found in the catalog: the file, the intent (if any) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub intent: Option<String>,
    pub message: String,
}

impl Problem {
    fn new(file: &Path, intent: Option<&str>, message: impl Into<String>) -> Self {
        Problem {
            file: file.to_path_buf(),
            intent: intent.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(intent) = &self.intent {
            write!(f, "intent {intent}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// All problems of a catalog at once (a support lead fixes them in one go).
#[derive(Debug, Clone, thiserror::Error)]
#[error("catalog {} has {}:{}", .dir.display(), count(.problems.len()), list(.problems))]
pub struct CatalogError {
    pub dir: PathBuf,
    pub problems: Vec<Problem>,
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 problem".to_string()
    } else {
        format!("{n} problems")
    }
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

/// Loads and validates the catalog in `dir`: every `*.toml` file but
/// `messages.toml` is one intent; other files (README.md) and dot-files are ignored.
pub fn load(dir: &Path) -> Result<Catalog, CatalogError> {
    let fail = |message: String| CatalogError {
        dir: dir.to_path_buf(),
        problems: vec![Problem::new(dir, None, message)],
    };
    if !dir.exists() {
        return Err(fail("the catalog directory does not exist".into()));
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| fail(format!("cannot read the directory: {e}")))?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                problems.push(Problem::new(
                    dir,
                    None,
                    format!("cannot list the directory: {e}"),
                ));
                continue;
            }
        };
        let path = entry.path();
        if !is_catalog_file(&path) || path.is_dir() {
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((path, text)),
            Err(e) => problems.push(Problem::new(
                &path,
                None,
                format!("cannot read the file: {e}"),
            )),
        }
    }
    match from_files(dir, &files) {
        Ok(catalog) if problems.is_empty() => Ok(catalog),
        Ok(_) => Err(finish(dir, problems)),
        Err(mut err) => {
            problems.append(&mut err.problems);
            Err(finish(dir, problems))
        }
    }
}

/// Validates a catalog given as (path, contents) pairs, as if read from `dir`
/// (for tests, and for callers that read the files themselves).
pub fn from_files(dir: &Path, files: &[(PathBuf, String)]) -> Result<Catalog, CatalogError> {
    let mut files: Vec<&(PathBuf, String)> =
        files.iter().filter(|(p, _)| is_catalog_file(p)).collect();
    files.sort_by(|a, b| {
        file_name(&a.0)
            .cmp(file_name(&b.0))
            .then_with(|| a.0.cmp(&b.0))
    });

    let mut problems = Vec::new();
    let intent_files: Vec<_> = files
        .iter()
        .filter(|(p, _)| file_name(p) != MESSAGES_FILE)
        .collect();
    if intent_files.is_empty() {
        let what = if files.is_empty() {
            "the directory has no *.toml files"
        } else {
            "the directory has no intent files"
        };
        problems.push(Problem::new(dir, None, what));
    }

    let mut intents = BTreeMap::new();
    let mut phrase_owner: HashMap<String, PhraseSeen> = HashMap::new();
    for (path, text) in &intent_files {
        if let Some(intent) = check_intent(path, text, &mut phrase_owner, &mut problems) {
            intents.insert(intent.id.clone(), intent);
        }
    }

    let messages = match files.iter().find(|(p, _)| file_name(p) == MESSAGES_FILE) {
        Some((path, text)) => check_messages(path, text, &mut problems),
        None => {
            problems.push(Problem::new(
                &dir.join(MESSAGES_FILE),
                None,
                "messages.toml is missing",
            ));
            Messages::default()
        }
    };

    if !problems.is_empty() {
        return Err(finish(dir, problems));
    }
    Ok(Catalog {
        intents,
        messages,
        sha256: catalog_sha256(files.iter().map(|(p, t)| (file_name(p), t.as_str()))),
        dir: dir.to_path_buf(),
    })
}

/// The key two phrases are compared by: Unicode lower-case, without
/// whitespace and punctuation (`"Hello, World!"` and `"helloworld"` are the same phrase).
pub fn phrase_key(phrase: &str) -> String {
    let lower = phrase.to_lowercase();
    let no_punct = PUNCT_RE.replace_all(&lower, "");
    no_punct
        .chars()
        .filter(|c| {
            !c.is_whitespace() && !c.is_ascii_punctuation() && !is_fullwidth_ascii_punctuation(*c)
        })
        .collect()
}

fn is_fullwidth_ascii_punctuation(c: char) -> bool {
    let u = c as u32;
    (0xFF01..=0xFF5E).contains(&u)
        && char::from_u32(u - 0xFEE0).is_some_and(|a| a.is_ascii_punctuation())
}

/// sha256 over (file name, NUL, contents, NUL) of every file, sorted by file name.
fn catalog_sha256<'a>(files: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut files: Vec<_> = files.collect();
    files.sort();
    let mut hasher = Sha256::new();
    for (name, text) in files {
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update(text.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

fn finish(dir: &Path, mut problems: Vec<Problem>) -> CatalogError {
    problems.sort_by(|a, b| a.file.cmp(&b.file));
    CatalogError {
        dir: dir.to_path_buf(),
        problems,
    }
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

fn is_catalog_file(path: &Path) -> bool {
    let name = file_name(path);
    !name.starts_with('.') && path.extension().is_some_and(|e| e == "toml")
}

// ---------------------------------------------------------------- raw file shapes

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntent {
    id: Option<String>,
    route: Option<String>,
    priority: Option<String>,
    description: Option<String>,
    answer: Option<RawLocalized>,
    details: Option<Vec<RawDetail>>,
    phrases: Option<RawPhrases>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocalized {
    ko: Option<String>,
    en: Option<String>,
    zh: Option<String>,
    ja: Option<String>,
}

impl RawLocalized {
    fn get(&self, code: &str) -> Option<&String> {
        match code {
            "ko" => self.ko.as_ref(),
            "en" => self.en.as_ref(),
            "zh" => self.zh.as_ref(),
            "ja" => self.ja.as_ref(),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetail {
    key: Option<String>,
    question: Option<RawLocalized>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhrases {
    ko: Option<Vec<String>>,
    en: Option<Vec<String>>,
    zh: Option<Vec<String>>,
    ja: Option<Vec<String>>,
}

impl RawPhrases {
    fn get(&self, code: &str) -> Option<&Vec<String>> {
        match code {
            "ko" => self.ko.as_ref(),
            "en" => self.en.as_ref(),
            "zh" => self.zh.as_ref(),
            "ja" => self.ja.as_ref(),
            _ => None,
        }
    }
}

/// Where a phrase key was first seen.
struct PhraseSeen {
    intent: String,
    file: PathBuf,
    lang: &'static str,
    phrase: String,
}

// ---------------------------------------------------------------- checks

/// "TOML error at line 3, column 7: ..." from a toml error and the text it came from.
fn toml_problem(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim();
    match err.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let before = &text[..floor_char_boundary(text, start)];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("invalid TOML at line {line}, column {column}: {message}")
        }
        None => format!("invalid TOML: {message}"),
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Checks a localized text: every language present and non-empty after trim.
fn check_localized(
    raw: &RawLocalized,
    field: &str,
    mut report: impl FnMut(String),
) -> Option<Localized> {
    let mut ok = true;
    for lang in LANGUAGES {
        let code = lang.code();
        match raw.get(code) {
            None => {
                report(format!("{field}.{code} is missing"));
                ok = false;
            }
            Some(text) if text.trim().is_empty() => {
                report(format!("{field}.{code} is empty"));
                ok = false;
            }
            Some(_) => {}
        }
    }
    let text = |code: &str| raw.get(code).cloned().unwrap_or_default();
    ok.then(|| Localized {
        ko: text("ko"),
        en: text("en"),
        zh: text("zh"),
        ja: text("ja"),
    })
}

/// "answer, collect, ..." for error messages.
fn route_names() -> String {
    Route::ALL.map(Route::as_str).join(", ")
}

/// "low, normal, ..." for error messages.
fn priority_names() -> String {
    Priority::ALL.map(Priority::as_str).join(", ")
}

/// Checks one intent file; returns the intent when it has no problem of its own
/// (cross-intent duplicates are reported against the later intent).
fn check_intent(
    path: &Path,
    text: &str,
    phrase_owner: &mut HashMap<String, PhraseSeen>,
    problems: &mut Vec<Problem>,
) -> Option<Intent> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let raw: RawIntent = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            problems.push(Problem::new(path, None, toml_problem(text, &err)));
            return None;
        }
    };
    let name = raw
        .id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| stem.to_string());
    let before = problems.len();
    let mut report = |message: String| problems.push(Problem::new(path, Some(&name), message));

    check_id(raw.id.as_deref(), stem, &mut report);
    match &raw.description {
        None => report("description is missing".into()),
        Some(d) if d.trim().is_empty() => report("description is empty".into()),
        Some(_) => {}
    }
    let route = check_route(raw.route.as_deref(), &mut report);
    let priority = check_priority(route, raw.priority.as_deref(), &mut report);
    let answer = match &raw.answer {
        None => {
            if let Some(route) = route.filter(|r| *r != Route::Collect) {
                report(format!(
                    "answer is missing (required for route {})",
                    route.as_str()
                ));
            }
            None
        }
        Some(a) => check_localized(a, "answer", &mut report),
    };
    let details = check_details(route, raw.details.as_deref(), &mut report);
    let owner = PhraseOwner {
        path,
        name: &name,
        seen: phrase_owner,
    };
    let phrases = check_phrases(raw.phrases.as_ref(), owner, &mut report);

    if problems.len() != before {
        return None;
    }
    Some(Intent {
        id: raw.id?,
        route: route?,
        priority,
        description: raw.description?,
        answer,
        details,
        phrases,
        file: path.to_path_buf(),
    })
}

/// The id: present, well-formed and equal to the file's stem.
fn check_id(id: Option<&str>, stem: &str, report: &mut impl FnMut(String)) {
    let Some(id) = id else {
        return report("id is missing".into());
    };
    if !ID_RE.is_match(id) {
        report(format!("id {id:?} must match ^[a-z][a-z0-9_]*$"));
    }
    if id != stem {
        report(format!(
            "id {id:?} does not match the file name {:?}",
            format!("{stem}.toml")
        ));
    }
}

/// The route: present and one of the known names.
fn check_route(route: Option<&str>, report: &mut impl FnMut(String)) -> Option<Route> {
    let Some(r) = route else {
        report(format!(
            "route is missing; expected one of {}",
            route_names()
        ));
        return None;
    };
    let route = Route::parse(r);
    if route.is_none() {
        report(format!(
            "unknown route {r:?}; expected one of {}",
            route_names()
        ));
    }
    route
}

/// The priority: a known name, required for collect and escalate and allowed only there.
fn check_priority(
    route: Option<Route>,
    priority: Option<&str>,
    report: &mut impl FnMut(String),
) -> Option<Priority> {
    let parsed = priority.and_then(|p| {
        let parsed = Priority::parse(p);
        if parsed.is_none() {
            report(format!(
                "unknown priority {p:?}; expected one of {}",
                priority_names()
            ));
        }
        parsed
    });
    if let Some(route) = route {
        let r = route.as_str();
        let needs_priority = matches!(route, Route::Collect | Route::Escalate);
        if needs_priority && priority.is_none() {
            report(format!(
                "priority is missing (required for route {r}; one of {})",
                priority_names()
            ));
        }
        if !needs_priority && priority.is_some() {
            report(format!(
                "priority is not allowed for route {r} (only for collect and escalate)"
            ));
        }
    }
    parsed
}

/// The details a collect intent asks for: known keys, each once, each with a question in
/// every language; none for other routes.
fn check_details(
    route: Option<Route>,
    raw: Option<&[RawDetail]>,
    report: &mut impl FnMut(String),
) -> Vec<DetailSpec> {
    match (raw, route) {
        (Some(_), Some(route)) if route != Route::Collect => report(format!(
            "details are only allowed for route collect, not {}",
            route.as_str()
        )),
        (None, Some(Route::Collect)) => {
            report("details are missing (a collect intent asks for at least one)".into())
        }
        (Some([]), Some(Route::Collect)) => {
            report("details are empty (a collect intent asks for at least one)".into())
        }
        _ => {}
    }
    let mut details = Vec::new();
    let mut seen_keys = HashSet::new();
    for (i, d) in raw.unwrap_or_default().iter().enumerate() {
        let field = match &d.key {
            Some(k) => format!("details[{i}] ({k})"),
            None => format!("details[{i}]"),
        };
        match &d.key {
            None => report(format!("{field}.key is missing")),
            Some(k) if detail_key(k).is_none() => report(format!(
                "{field}: unknown detail key {k:?}; expected one of {}",
                detail_key_names().join(", ")
            )),
            Some(k) if !seen_keys.insert(k.clone()) => {
                report(format!("{field}: detail key {k:?} appears twice"))
            }
            Some(_) => {}
        }
        let question = match &d.question {
            None => {
                report(format!("{field}.question is missing"));
                None
            }
            Some(q) => check_localized(q, &format!("{field}.question"), &mut *report),
        };
        if let (Some(key), Some(question)) = (&d.key, question) {
            details.push(DetailSpec {
                key: key.clone(),
                question,
            });
        }
    }
    details
}

/// Whose phrases are being checked, and the phrases every earlier intent claimed.
struct PhraseOwner<'a> {
    path: &'a Path,
    name: &'a str,
    seen: &'a mut HashMap<String, PhraseSeen>,
}

/// The training phrases: every language present and non-empty, no empty phrase, no
/// phrase twice in this intent, none that belongs to another intent.
fn check_phrases(
    raw: Option<&RawPhrases>,
    owner: PhraseOwner<'_>,
    report: &mut impl FnMut(String),
) -> BTreeMap<String, Vec<String>> {
    let mut phrases = BTreeMap::new();
    let Some(raw) = raw else {
        report("phrases are missing".into());
        return phrases;
    };
    let mut own: HashMap<String, (&'static str, &str)> = HashMap::new();
    for lang in LANGUAGES {
        let code = lang.code();
        let Some(list) = raw.get(code) else {
            report(format!("phrases.{code} is missing"));
            continue;
        };
        if list.is_empty() {
            report(format!("phrases.{code} is empty"));
        }
        for (i, phrase) in list.iter().enumerate() {
            if phrase.trim().is_empty() {
                report(format!("phrases.{code}[{i}] is an empty phrase"));
                continue;
            }
            let key = phrase_key(phrase);
            if let Some((other_lang, other)) = own.get(&key) {
                report(format!(
                    "phrases.{code}: {phrase:?} appears twice in this intent (also phrases.{other_lang}: {other:?})"
                ));
                continue;
            }
            own.insert(key.clone(), (code, phrase));
            match owner.seen.get(&key) {
                Some(seen) if seen.intent != owner.name => report(format!(
                    "phrases.{code}: {phrase:?} is also a phrase of intent {} ({}, phrases.{}: {:?}); a phrase may belong to one intent only",
                    seen.intent,
                    seen.file.display(),
                    seen.lang,
                    seen.phrase
                )),
                Some(_) => {}
                None => {
                    let seen = PhraseSeen {
                        intent: owner.name.to_string(),
                        file: owner.path.to_path_buf(),
                        lang: code,
                        phrase: phrase.clone(),
                    };
                    owner.seen.insert(key, seen);
                }
            }
        }
        phrases.insert(code.to_string(), list.clone());
    }
    phrases
}

/// Checks `messages.toml`: each key a table of four non-empty languages with
/// the English placeholders, and every required key present.
fn check_messages(path: &Path, text: &str, problems: &mut Vec<Problem>) -> Messages {
    let table: toml::Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(err) => {
            problems.push(Problem::new(path, None, toml_problem(text, &err)));
            return Messages::default();
        }
    };
    let mut report = |message: String| problems.push(Problem::new(path, None, message));
    let mut entries = BTreeMap::new();
    for (key, value) in &table {
        if let Some(localized) = check_message(key, value, &mut report) {
            entries.insert(key.clone(), localized);
        }
    }
    for required in REQUIRED_MESSAGES {
        if !table.contains_key(required) {
            report(format!("message {required} is missing"));
        }
    }
    Messages { entries }
}

/// One message of `messages.toml`: four non-empty texts with the English text's
/// placeholders; `None` (after reporting why) when anything is wrong.
fn check_message(
    key: &str,
    value: &toml::Value,
    report: &mut dyn FnMut(String),
) -> Option<Localized> {
    let Some(fields) = value.as_table() else {
        report(format!("{key} must be a table with ko, en, zh and ja"));
        return None;
    };
    let mut ok = true;
    for field in fields.keys() {
        if !LANGUAGES.iter().any(|l| l.code() == field) {
            report(format!(
                "{key}: unknown field `{field}`; expected ko, en, zh, ja"
            ));
            ok = false;
        }
    }
    let mut texts: BTreeMap<&str, &str> = BTreeMap::new();
    for lang in LANGUAGES {
        let code = lang.code();
        match fields.get(code) {
            None => report(format!("{key}.{code} is missing")),
            Some(v) => match v.as_str() {
                None => report(format!("{key}.{code} must be a string")),
                Some(s) if s.trim().is_empty() => report(format!("{key}.{code} is empty")),
                Some(s) => {
                    texts.insert(code, s);
                    continue;
                }
            },
        }
        ok = false;
    }
    ok &= same_placeholders(key, &texts, report);
    let text = |code: &str| texts.get(code).map(|s| s.to_string()).unwrap_or_default();
    ok.then(|| Localized {
        ko: text("ko"),
        en: text("en"),
        zh: text("zh"),
        ja: text("ja"),
    })
}

/// Whether every translation of message `key` has exactly the English text's placeholders
/// (each difference reported).
fn same_placeholders(
    key: &str,
    texts: &BTreeMap<&str, &str>,
    report: &mut dyn FnMut(String),
) -> bool {
    let Some(en) = texts.get("en") else {
        return true;
    };
    let want = placeholders(en);
    let mut ok = true;
    for (code, text) in texts {
        if *code == "en" {
            continue;
        }
        let got = placeholders(text);
        for missing in want.difference(&got) {
            report(format!(
                "{key}.{code} lacks the placeholder {{{missing}}} of {key}.en"
            ));
            ok = false;
        }
        for extra in got.difference(&want) {
            report(format!(
                "{key}.{code} has the placeholder {{{extra}}}, which {key}.en does not"
            ));
            ok = false;
        }
    }
    ok
}

fn placeholders(text: &str) -> BTreeSet<&str> {
    PLACEHOLDER_RE
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = "intents";

    fn messages_toml() -> String {
        let mut s = String::new();
        for key in REQUIRED_MESSAGES {
            s.push_str(&format!("[{key}]\nko = \"가 {{n}}\"\nen = \"a {{n}}\"\nzh = \"甲 {{n}}\"\nja = \"あ {{n}}\"\n\n"));
        }
        s
    }

    fn answer_intent(id: &str, phrase: &str) -> String {
        format!(
            r#"id = "{id}"
route = "answer"
description = "test intent {id}"

[answer]
ko = "답"
en = "answer"
zh = "答"
ja = "答え"

[phrases]
ko = ["{phrase} 한국어"]
en = ["{phrase} english"]
zh = ["{phrase} 中文"]
ja = ["{phrase} 日本語"]
"#
        )
    }

    fn collect_intent(id: &str) -> String {
        format!(
            r#"id = "{id}"
route = "collect"
priority = "high"
description = "test collect {id}"

[[details]]
key = "coin"
[details.question]
ko = "코인?"
en = "Which coin?"
zh = "哪个币?"
ja = "どの通貨?"

[phrases]
ko = ["{id} 입금"]
en = ["{id} deposit"]
zh = ["{id} 充值"]
ja = ["{id} 入金"]
"#
        )
    }

    fn file(name: &str, text: impl Into<String>) -> (PathBuf, String) {
        (Path::new(DIR).join(name), text.into())
    }

    fn base() -> Vec<(PathBuf, String)> {
        vec![
            file("messages.toml", messages_toml()),
            file("faq.toml", answer_intent("faq", "faq")),
            file("deposit.toml", collect_intent("deposit")),
            file("README.md", "# not a catalog file [[[ ="),
        ]
    }

    fn with(name: &str, text: impl Into<String>) -> Vec<(PathBuf, String)> {
        let mut files = base();
        files.retain(|(p, _)| file_name(p) != name);
        files.push(file(name, text));
        files
    }

    fn problems(files: &[(PathBuf, String)]) -> Vec<Problem> {
        match from_files(Path::new(DIR), files) {
            Ok(_) => panic!("expected problems"),
            Err(e) => e.problems,
        }
    }

    /// Exactly one problem, in `name`, for `intent`, whose message contains every `needles`.
    fn assert_one(files: &[(PathBuf, String)], name: &str, intent: Option<&str>, needles: &[&str]) {
        let ps = problems(files);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        let p = &ps[0];
        assert_eq!(p.file, Path::new(DIR).join(name), "{p}");
        assert_eq!(p.intent.as_deref(), intent, "{p}");
        for n in needles {
            assert!(p.message.contains(n), "{p:?} does not contain {n:?}");
            assert!(p.to_string().contains(n));
        }
    }

    #[test]
    fn a_valid_catalog_loads() {
        let cat = from_files(Path::new(DIR), &base()).expect("valid");
        assert_eq!(cat.intents.len(), 2);
        let faq = cat.intent("faq").unwrap();
        assert_eq!(faq.route, Route::Answer);
        assert_eq!(faq.priority, None);
        assert_eq!(faq.file, Path::new("intents/faq.toml"));
        assert_eq!(faq.phrases["ja"], vec!["faq 日本語".to_string()]);
        let dep = cat.intent("deposit").unwrap();
        assert_eq!(dep.route, Route::Collect);
        assert_eq!(dep.priority, Some(Priority::High));
        assert_eq!(dep.details[0].key, "coin");
        assert!(dep.answer.is_none());
        assert_eq!(cat.messages.entries.len(), REQUIRED_MESSAGES.len());
        assert_eq!(cat.sha256.len(), 64);
        assert_eq!(cat.dir, Path::new(DIR));
    }

    #[test]
    fn problem_and_error_display() {
        let p = Problem::new(
            Path::new("intents/foo.toml"),
            Some("foo"),
            "answer.ja is missing",
        );
        assert_eq!(
            p.to_string(),
            "intents/foo.toml: intent foo: answer.ja is missing"
        );
        let q = Problem::new(
            Path::new("intents/messages.toml"),
            None,
            "rephrase.ja is missing",
        );
        assert_eq!(
            q.to_string(),
            "intents/messages.toml: rephrase.ja is missing"
        );
        let e = CatalogError {
            dir: DIR.into(),
            problems: vec![p.clone(), q],
        };
        assert_eq!(
            e.to_string(),
            "catalog intents has 2 problems:\n  intents/foo.toml: intent foo: answer.ja is missing\n  intents/messages.toml: rephrase.ja is missing"
        );
        let one = CatalogError {
            dir: DIR.into(),
            problems: vec![p],
        };
        assert!(
            one.to_string()
                .starts_with("catalog intents has 1 problem:\n  ")
        );
    }

    #[test]
    fn invalid_toml_names_line_and_column() {
        let files = with("faq.toml", "id = \"faq\"\nroute = \"answer\nx = 1\n");
        assert_one(
            &files,
            "faq.toml",
            None,
            &["invalid TOML at line 2, column"],
        );
    }

    #[test]
    fn id_must_equal_file_stem() {
        let files = with("faq.toml", answer_intent("faq_other", "faq"));
        assert_one(
            &files,
            "faq.toml",
            Some("faq_other"),
            &["\"faq_other\"", "file name", "faq.toml"],
        );
    }

    #[test]
    fn id_must_match_the_pattern() {
        let files = with("Faq-1.toml", answer_intent("Faq-1", "faq1"));
        assert_one(
            &files,
            "Faq-1.toml",
            Some("Faq-1"),
            &["\"Faq-1\"", "^[a-z][a-z0-9_]*$"],
        );
        let files = with(
            "faq.toml",
            answer_intent("faq", "faq").replace("id = \"faq\"\n", ""),
        );
        assert_one(&files, "faq.toml", Some("faq"), &["id is missing"]);
    }

    #[test]
    fn unknown_fields_are_named() {
        let text = answer_intent("faq", "faq")
            .replace("route = \"answer\"", "route = \"answer\"\ncolour = \"red\"");
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            None,
            &["colour", "line 3"],
        );
        let text =
            answer_intent("faq", "faq").replace("ja = \"答え\"", "ja = \"答え\"\nfr = \"réponse\"");
        assert_one(&with("faq.toml", text), "faq.toml", None, &["`fr`"]);
        let text =
            collect_intent("deposit").replace("key = \"coin\"", "key = \"coin\"\nhint = \"x\"");
        assert_one(
            &with("deposit.toml", text),
            "deposit.toml",
            None,
            &["`hint`"],
        );
    }

    #[test]
    fn unknown_route_is_named() {
        let text = answer_intent("faq", "faq").replace("route = \"answer\"", "route = \"foo\"");
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &[
                "unknown route \"foo\"; expected one of answer, collect, escalate, smalltalk, reject",
            ],
        );
        let text = answer_intent("faq", "faq").replace("route = \"answer\"\n", "");
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["route is missing"],
        );
    }

    #[test]
    fn priority_rules() {
        let text = collect_intent("deposit").replace("priority = \"high\"", "priority = \"asap\"");
        assert_one(
            &with("deposit.toml", text),
            "deposit.toml",
            Some("deposit"),
            &["unknown priority \"asap\""],
        );
        let text = collect_intent("deposit").replace("priority = \"high\"\n", "");
        assert_one(
            &with("deposit.toml", text),
            "deposit.toml",
            Some("deposit"),
            &["priority is missing", "collect"],
        );
        let text = answer_intent("faq", "faq").replace(
            "route = \"answer\"",
            "route = \"answer\"\npriority = \"low\"",
        );
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["priority is not allowed for route answer"],
        );
        let text =
            answer_intent("faq", "faq").replace("route = \"answer\"", "route = \"escalate\"");
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["priority is missing", "escalate"],
        );
    }

    #[test]
    fn answer_rules() {
        let text = answer_intent("faq", "faq").replace("ja = \"答え\"\n", "");
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["answer.ja is missing"],
        );
        let text = answer_intent("faq", "faq").replace("zh = \"答\"", "zh = \"  \"");
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["answer.zh is empty"],
        );
        let text = answer_intent("faq", "faq").replace("route = \"answer\"", "route = \"reject\"");
        let text = text.replace(
            "[answer]\nko = \"답\"\nen = \"answer\"\nzh = \"答\"\nja = \"答え\"\n",
            "",
        );
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["answer is missing", "reject"],
        );
        // optional for collect, but complete when given
        let text = collect_intent("deposit").replace(
            "[[details]]",
            "[answer]\nko = \"a\"\nen = \"b\"\nzh = \"c\"\n\n[[details]]",
        );
        assert_one(
            &with("deposit.toml", text),
            "deposit.toml",
            Some("deposit"),
            &["answer.ja is missing"],
        );
    }

    #[test]
    fn details_rules() {
        let details = "\n[[details]]\nkey = \"coin\"\n[details.question]\nko = \"a\"\nen = \"b\"\nzh = \"c\"\nja = \"d\"\n";
        let text = answer_intent("faq", "faq") + details;
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["details are only allowed for route collect"],
        );

        let text = collect_intent("deposit");
        let start = text.find("[[details]]").unwrap();
        let end = text.find("[phrases]").unwrap();
        let without = format!("{}{}", &text[..start], &text[end..]);
        assert_one(
            &with("deposit.toml", without.clone()),
            "deposit.toml",
            Some("deposit"),
            &["details are missing"],
        );
        let empty = without.replace("description", "details = []\ndescription");
        assert_one(
            &with("deposit.toml", empty),
            "deposit.toml",
            Some("deposit"),
            &["details are empty"],
        );

        let text = collect_intent("deposit").replace("key = \"coin\"", "key = \"colour\"");
        assert_one(
            &with("deposit.toml", text),
            "deposit.toml",
            Some("deposit"),
            &["unknown detail key \"colour\"", "coin"],
        );

        let text = collect_intent("deposit")
            .replace("[phrases]", &format!("{}\n[phrases]", details.trim_start()));
        assert_one(
            &with("deposit.toml", text),
            "deposit.toml",
            Some("deposit"),
            &["details[1] (coin)", "appears twice"],
        );

        let text = collect_intent("deposit").replace("ja = \"どの通貨?\"\n", "");
        assert_one(
            &with("deposit.toml", text),
            "deposit.toml",
            Some("deposit"),
            &["details[0] (coin).question.ja is missing"],
        );
        let text = collect_intent("deposit").replace("en = \"Which coin?\"", "en = \"\"");
        assert_one(
            &with("deposit.toml", text),
            "deposit.toml",
            Some("deposit"),
            &["details[0] (coin).question.en is empty"],
        );
    }

    #[test]
    fn phrase_languages_must_be_present_and_non_empty() {
        let text = answer_intent("faq", "faq").replace("ja = [\"faq 日本語\"]\n", "");
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["phrases.ja is missing"],
        );
        let text = answer_intent("faq", "faq").replace("zh = [\"faq 中文\"]", "zh = []");
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["phrases.zh is empty"],
        );
        let text = answer_intent("faq", "faq")
            .replace("en = [\"faq english\"]", "en = [\"faq english\", \" \"]");
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["phrases.en[1] is an empty phrase"],
        );
        let text = answer_intent("faq", "faq");
        let start = text.find("[phrases]").unwrap();
        assert_one(
            &with("faq.toml", &text[..start]),
            "faq.toml",
            Some("faq"),
            &["phrases are missing"],
        );
    }

    #[test]
    fn a_phrase_under_two_intents_names_both() {
        let mut files = base();
        files.push(file(
            "other.toml",
            answer_intent("other", "other").replace("other english", "FAQ,  English!"),
        ));
        let ps = problems(&files);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        // reported against the later file, naming the earlier intent and phrase
        assert_eq!(ps[0].file, Path::new("intents/other.toml"));
        assert_eq!(ps[0].intent.as_deref(), Some("other"));
        let m = &ps[0].message;
        assert!(
            m.contains("\"FAQ,  English!\"")
                && m.contains("intent faq")
                && m.contains("\"faq english\""),
            "{m}"
        );
    }

    #[test]
    fn a_duplicate_inside_one_intent_is_reported() {
        let text = answer_intent("faq", "faq").replace(
            "en = [\"faq english\"]",
            "en = [\"faq english\", \"Faq English?\"]",
        );
        assert_one(
            &with("faq.toml", text),
            "faq.toml",
            Some("faq"),
            &["\"Faq English?\"", "appears twice"],
        );
    }

    #[test]
    fn phrase_key_ignores_case_space_and_punctuation() {
        assert_eq!(phrase_key("Where's my  withdrawal?"), "wheresmywithdrawal");
        assert_eq!(phrase_key("提币一直没到。"), "提币一直没到");
        assert_eq!(phrase_key("出金、まだ？"), "出金まだ");
        assert_eq!(phrase_key("하이요~"), "하이요");
        assert_eq!(phrase_key("ÉTAT"), "état");
    }

    #[test]
    fn messages_rules() {
        let m = messages_toml().replacen("ja = \"あ {n}\"\n", "", 1);
        assert_one(
            &with("messages.toml", m),
            "messages.toml",
            None,
            &["rephrase.ja is missing"],
        );
        let m = messages_toml().replacen("zh = \"甲 {n}\"", "zh = \"\"", 1);
        assert_one(
            &with("messages.toml", m),
            "messages.toml",
            None,
            &["rephrase.zh is empty"],
        );
        let m = messages_toml().replacen("ko = \"가 {n}\"", "ko = \"가 {m}\"", 1);
        let ps = problems(&with("messages.toml", m));
        assert_eq!(ps.len(), 2, "{ps:#?}");
        assert!(
            ps.iter()
                .all(|p| p.file == Path::new("intents/messages.toml") && p.intent.is_none())
        );
        assert!(
            ps[0]
                .message
                .contains("rephrase.ko lacks the placeholder {n}"),
            "{}",
            ps[0]
        );
        assert!(
            ps[1]
                .message
                .contains("rephrase.ko has the placeholder {m}"),
            "{}",
            ps[1]
        );
        let m = messages_toml().replacen("[rephrase]", "[rephrase_gone]", 1);
        assert_one(
            &with("messages.toml", m),
            "messages.toml",
            None,
            &["message rephrase is missing"],
        );
        let m = format!("extra = \"x\"\n{}", messages_toml());
        assert_one(
            &with("messages.toml", m),
            "messages.toml",
            None,
            &["extra must be a table"],
        );
        let m = messages_toml().replacen("[rephrase]\n", "[rephrase]\nfr = \"x\"\n", 1);
        assert_one(
            &with("messages.toml", m),
            "messages.toml",
            None,
            &["rephrase: unknown field `fr`"],
        );
        let m = "[rephrase\n";
        assert_one(
            &with("messages.toml", m),
            "messages.toml",
            None,
            &["invalid TOML at line 1"],
        );
    }

    #[test]
    fn missing_messages_file_is_a_problem() {
        let mut files = base();
        files.retain(|(p, _)| file_name(p) != MESSAGES_FILE);
        assert_one(&files, "messages.toml", None, &["messages.toml is missing"]);
    }

    #[test]
    fn empty_and_missing_directories_are_named() {
        let err = from_files(Path::new(DIR), &[file("README.md", "hi")]).unwrap_err();
        assert!(
            err.problems
                .iter()
                .any(|p| p.file == Path::new(DIR) && p.message.contains("no *.toml"))
        );

        let tmp = tempfile::tempdir().unwrap();
        let err = load(tmp.path()).unwrap_err();
        assert_eq!(err.dir, tmp.path());
        assert!(
            err.problems
                .iter()
                .any(|p| p.file == tmp.path() && p.message.contains("no *.toml"))
        );
        assert!(err.to_string().contains(&tmp.path().display().to_string()));

        let gone = tmp.path().join("nope");
        let err = load(&gone).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].file, gone);
        assert!(err.problems[0].message.contains("does not exist"));
    }

    #[test]
    fn all_problems_are_collected_and_sorted_by_file() {
        let mut files = base();
        files.retain(|(p, _)| file_name(p) != MESSAGES_FILE);
        files.push(file(
            "zeta.toml",
            answer_intent("zeta", "zeta").replace("ja = \"答え\"\n", ""),
        ));
        files.push(file(
            "alpha.toml",
            answer_intent("alpha", "alpha").replace("route = \"answer\"", "route = \"x\""),
        ));
        files.push(file("beta.toml", "not toml ="));
        let ps = problems(&files);
        let names: Vec<_> = ps.iter().map(|p| file_name(&p.file).to_string()).collect();
        assert_eq!(
            names,
            ["alpha.toml", "beta.toml", "messages.toml", "zeta.toml"],
            "{ps:#?}"
        );
    }

    #[test]
    fn load_reads_the_directory_and_hashes_every_toml_file() {
        let tmp = tempfile::tempdir().unwrap();
        for (path, text) in base() {
            std::fs::write(tmp.path().join(file_name(&path)), text).unwrap();
        }
        let a = load(tmp.path()).expect("valid");
        assert_eq!(a.intents["faq"].file, tmp.path().join("faq.toml"));
        assert_eq!(a.dir, tmp.path());
        // the same contents give the same hash wherever they are
        let b = from_files(Path::new(DIR), &base()).unwrap();
        assert_eq!(a.sha256, b.sha256);
        // README.md is not part of the hash
        std::fs::write(tmp.path().join("README.md"), "changed").unwrap();
        assert_eq!(load(tmp.path()).unwrap().sha256, a.sha256);
        // any edit of a .toml file changes it
        let faq = tmp.path().join("faq.toml");
        let text = std::fs::read_to_string(&faq).unwrap();
        std::fs::write(&faq, text + "\n# comment\n").unwrap();
        assert_ne!(load(tmp.path()).unwrap().sha256, a.sha256);
        let msg = tmp.path().join("messages.toml");
        let text = std::fs::read_to_string(&msg).unwrap();
        std::fs::write(&msg, text + " ").unwrap();
        let c = load(tmp.path()).unwrap();
        assert_ne!(c.sha256, a.sha256);
    }

    const FIXED_IDS: [&str; 27] = [
        "account_signup",
        "identity_verification",
        "password_reset",
        "login_problem",
        "two_factor_reset",
        "account_compromised",
        "phishing_report",
        "deposit_missing",
        "krw_deposit",
        "withdrawal_delayed",
        "withdrawal_limits",
        "wrong_address_or_network",
        "trading_fees",
        "order_problem",
        "api_keys",
        "coin_listing",
        "transaction_history",
        "contact_support",
        "language_support",
        "ticket_status",
        "account_closure",
        "human_agent",
        "complaint",
        "investment_advice",
        "greeting",
        "thanks_goodbye",
        "out_of_scope",
    ];

    fn repo_intents() -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
        if dir.exists() {
            dir
        } else {
            PathBuf::from("/work/main/intents")
        }
    }

    #[test]
    fn the_shipped_catalog_loads_cleanly() {
        let cat = match load(&repo_intents()) {
            Ok(cat) => cat,
            Err(e) => panic!("{e}"),
        };
        let ids: BTreeSet<&str> = cat.intents.keys().map(String::as_str).collect();
        assert_eq!(ids, FIXED_IDS.into_iter().collect::<BTreeSet<_>>());
        for intent in cat.intents.values() {
            for lang in LANGUAGES {
                let n = intent.phrases.get(lang.code()).map_or(0, Vec::len);
                assert!(
                    n >= SHIPPED_MIN_PHRASES,
                    "{}: {} phrases in {}, want >= {SHIPPED_MIN_PHRASES}",
                    intent.id,
                    n,
                    lang.code()
                );
            }
        }
        for key in REQUIRED_MESSAGES {
            assert!(cat.messages.entries.contains_key(key), "{key}");
        }
    }
}
