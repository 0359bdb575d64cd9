//! Incident notices over HTTP: the agent endpoints (bearer token) to post, list, edit and
//! resolve notices, the public banner endpoint the widget polls, and the `notice` field
//! `/v1/classify` adds to each classification.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{AgentAuth, ApiJson};
use crate::conversation::notices::{
    DEFAULT_EXPIRY_MINUTES, MAX_EXPIRY_MINUTES, NOTICE_LANGUAGES, NoticeDraft, NoticeEdit,
};
use crate::error::Error;
use crate::inference::Classification;
use crate::nlu::Lang;
use crate::policy::SECURITY_INTENTS;
use crate::store::Severity;

/// `POST /v1/notices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNoticeBody {
    intents: Vec<String>,
    #[serde(default)]
    coins: Vec<String>,
    #[serde(default)]
    networks: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    /// Language code to text.
    #[serde(default)]
    text: BTreeMap<String, String>,
    severity: Option<String>,
    expires_in_minutes: Option<i64>,
}

/// `PATCH /v1/notices/{id}`: every field optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditNoticeBody {
    intents: Option<Vec<String>>,
    coins: Option<Vec<String>>,
    networks: Option<Vec<String>>,
    keywords: Option<Vec<String>>,
    #[serde(default)]
    text: BTreeMap<String, String>,
    severity: Option<String>,
    expires_in_minutes: Option<i64>,
}

/// `POST /v1/notices/{id}/resolve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    #[serde(default)]
    text: BTreeMap<String, String>,
}

fn severity(value: Option<String>) -> Result<Option<Severity>, ApiError> {
    value
        .map(|s| s.parse::<Severity>().map_err(Error::from))
        .transpose()
        .map_err(ApiError::from)
}

/// `POST /v1/notices`: 201 with the notice, `missing_languages` and `pushed_to` (customers
/// with an open ticket it concerns, told at once).
pub async fn post(
    State(state): State<AppState>,
    agent: AgentAuth,
    ApiJson(body): ApiJson<NewNoticeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let draft = NoticeDraft {
        intents: body.intents,
        coins: body.coins,
        networks: body.networks,
        keywords: body.keywords,
        texts: body.text,
        severity: severity(body.severity)?,
        expires_in_minutes: body.expires_in_minutes,
    };
    let view = state.chat().post_notice(&agent.agent_id, draft).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /v1/notices`: active notices and those ended in the last 24 hours (newest first),
/// with their counters, plus what the form needs (intents, languages, expiry bounds).
pub async fn list(
    State(state): State<AppState>,
    _agent: AgentAuth,
) -> Result<impl IntoResponse, ApiError> {
    let notices = state.chat().notices().await?;
    let intents: Vec<Value> = state
        .chat()
        .catalog()
        .intents
        .values()
        .filter(|i| i.id != crate::policy::HUMAN_AGENT)
        .map(|i| {
            json!({ "id": i.id, "description": i.description,
                "security": SECURITY_INTENTS.contains(&i.id.as_str()) })
        })
        .collect();
    Ok(Json(json!({
        "notices": notices,
        "intents": intents,
        "languages": NOTICE_LANGUAGES,
        "severities": Severity::ALL.map(Severity::as_str),
        "default_expires_in_minutes": DEFAULT_EXPIRY_MINUTES,
        "max_expires_in_minutes": MAX_EXPIRY_MINUTES,
    })))
}

/// `PATCH /v1/notices/{id}`: edit scope, texts (merged by language), severity, or set the
/// expiry `expires_in_minutes` from now (extend). 409 once resolved.
pub async fn edit(
    State(state): State<AppState>,
    _agent: AgentAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditNoticeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let edit = NoticeEdit {
        intents: body.intents,
        coins: body.coins,
        networks: body.networks,
        keywords: body.keywords,
        texts: body.text,
        severity: severity(body.severity)?,
        expires_in_minutes: body.expires_in_minutes,
    };
    Ok(Json(state.chat().edit_notice(&id, edit).await?))
}

/// `POST /v1/notices/{id}/resolve`: the closing text reaches the customers still waiting on
/// a ticket the notice concerns. 409 if already resolved.
pub async fn resolve(
    State(state): State<AppState>,
    _agent: AgentAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.chat().resolve_notice(&id, body.text).await?))
}

#[derive(Debug, Deserialize)]
pub struct BannerQuery {
    lang: Option<String>,
}

/// `GET /v1/notices/active?lang=xx`: the widget's banner: active high-severity notices in
/// `lang` (English when it has no text), no internal fields.
pub async fn active(
    State(state): State<AppState>,
    query: Result<Query<BannerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let lang = match q.lang.as_deref() {
        None | Some("") => Lang::En,
        Some(code) => Lang::from_code(code).ok_or_else(|| {
            ApiError::BadRequest(format!("unknown language code {code:?} in lang"))
        })?,
    };
    let notices: Vec<Value> = state
        .chat()
        .banner_notices(lang)
        .await?
        .into_iter()
        .map(|(id, text, expires_at_ms)| json!({ "id": id, "text": text, "expires_at_ms": expires_at_ms }))
        .collect();
    Ok(Json(json!({ "notices": notices })))
}

/// A classification as `/v1/classify` returns it: with `notice`, the notice a first message
/// would get (`{"id", "text"}` in the message's language), or null.
pub async fn classification_json(state: &AppState, c: Classification) -> Result<Value, ApiError> {
    let lang = Lang::from_code(&c.language).unwrap_or(Lang::En);
    // A message the bot did not understand, or out of scope, gets no notice.
    let understood = !c.out_of_scope && c.route != "clarify";
    let notice = match understood {
        true => state
            .chat()
            .notice_for(&c.intent, &c.details, &c.masked, lang)
            .await?
            .map(|(id, text)| json!({ "id": id, "text": text })),
        false => None,
    };
    let mut doc = serde_json::to_value(&c)
        .map_err(|e| Error::Internal(format!("classification does not serialise: {e}")))?;
    doc["notice"] = notice.unwrap_or(Value::Null);
    Ok(doc)
}
