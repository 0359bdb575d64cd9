//! Incident notices: the `notices` table (scope, texts per language, severity, expiry,
//! resolution and closing texts, the answered / asked-for-a-person counters) and its reads
//! and writes. Validation of what a lead posts lives in `conversation::notices`; the store
//! only refuses what would corrupt a row (unknown severity, ids it does not know).

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, get};

/// How loud a notice is. Only `high` notices are shown as a banner in the widget; every
/// active notice answers matching messages in the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl FromStr for Severity {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                StoreError::Invalid(format!("unknown severity {s:?}: use low, medium or high"))
            })
    }
}

/// What it is about and what it says: the part of a notice a lead writes and edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeScope {
    /// Catalog intent ids; at least one.
    pub intents: Vec<String>,
    /// Upper-case tickers; empty: any coin.
    pub coins: Vec<String>,
    /// Network names as nlu normalises them (`ERC-20`); empty: any network.
    pub networks: Vec<String>,
    /// Lower-case words or phrases; empty: no keyword needed.
    pub keywords: Vec<String>,
    /// Language code (`ko`, `en`, `zh`, `ja`) to text; `en` always present.
    pub texts: BTreeMap<String, String>,
    pub severity: Severity,
}

/// A stored notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// `N-000001`, from the database-wide notice counter.
    pub id: String,
    #[serde(flatten)]
    pub scope: NoticeScope,
    /// The agent who posted it.
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub expires_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    /// Language code to closing text, once resolved.
    pub closing_texts: BTreeMap<String, String>,
    /// Customers who were shown it in the chat.
    pub shown: i64,
    /// Customers who said it answered their question.
    pub answered: i64,
    /// Customers who still asked for a person after reading it.
    pub asked_for_person: i64,
}

impl Notice {
    /// Not resolved and not yet expired at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.resolved_at_ms.is_none() && self.expires_at_ms > now_ms
    }
}

/// Which counter of a notice to increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeCounter {
    Shown,
    Answered,
    AskedForPerson,
}

impl NoticeCounter {
    fn column(self) -> &'static str {
        match self {
            NoticeCounter::Shown => "shown",
            NoticeCounter::Answered => "answered",
            NoticeCounter::AskedForPerson => "asked_for_person",
        }
    }
}

const NOTICE_COLS: &str = "id, intents_json, coins_json, networks_json, keywords_json, texts_json, \
     severity, created_by, created_at_ms, updated_at_ms, expires_at_ms, resolved_at_ms, \
     closing_texts_json, shown, answered, asked_for_person";

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Invalid(format!("notice field does not serialise: {e}")))
}

fn from_json<T: for<'de> Deserialize<'de>>(row: &AnyRow, col: &str) -> Result<T> {
    let text: String = get(row, col)?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::Database(format!("notices.{col} is not valid JSON: {e}")))
}

fn notice_from_row(row: &AnyRow) -> Result<Notice> {
    let severity: String = get(row, "severity")?;
    let closing: Option<String> = get(row, "closing_texts_json")?;
    Ok(Notice {
        id: get(row, "id")?,
        scope: NoticeScope {
            intents: from_json(row, "intents_json")?,
            coins: from_json(row, "coins_json")?,
            networks: from_json(row, "networks_json")?,
            keywords: from_json(row, "keywords_json")?,
            texts: from_json(row, "texts_json")?,
            severity: severity.parse().map_err(|_| {
                StoreError::Database(format!("unknown severity {severity:?} in database"))
            })?,
        },
        created_by: get(row, "created_by")?,
        created_at_ms: get(row, "created_at_ms")?,
        updated_at_ms: get(row, "updated_at_ms")?,
        expires_at_ms: get(row, "expires_at_ms")?,
        resolved_at_ms: get(row, "resolved_at_ms")?,
        closing_texts: match closing {
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                StoreError::Database(format!("notices.closing_texts_json is not valid JSON: {e}"))
            })?,
            None => BTreeMap::new(),
        },
        shown: get(row, "shown")?,
        answered: get(row, "answered")?,
        asked_for_person: get(row, "asked_for_person")?,
    })
}

/// `N-000042` for counter value 42.
fn notice_id_for(number: i64) -> String {
    format!("N-{number:06}")
}

impl Store {
    /// Stores a new notice, active until `expires_at_ms`.
    pub async fn create_notice(
        &self,
        scope: &NoticeScope,
        created_by: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<Notice> {
        let mut tx = self.begin_write().await?;
        let number: i64 = get(
            &sqlx::query(
                "UPDATE counters SET value = value + 1 WHERE name = 'notice' RETURNING value",
            )
            .fetch_one(&mut *tx)
            .await?,
            "value",
        )?;
        let id = notice_id_for(number);
        sqlx::query(
            "INSERT INTO notices (id, intents_json, coins_json, networks_json, keywords_json,
                 texts_json, severity, created_by, created_at_ms, updated_at_ms, expires_at_ms,
                 resolved_at_ms, closing_texts_json, shown, answered, asked_for_person)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, NULL, NULL, 0, 0, 0)",
        )
        .bind(&id)
        .bind(to_json(&scope.intents)?)
        .bind(to_json(&scope.coins)?)
        .bind(to_json(&scope.networks)?)
        .bind(to_json(&scope.keywords)?)
        .bind(to_json(&scope.texts)?)
        .bind(scope.severity.as_str())
        .bind(created_by)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.notice(&id)
            .await?
            .ok_or_else(|| StoreError::Database(format!("notice {id} vanished after insert")))
    }

    /// The notice, if it exists.
    pub async fn notice(&self, id: &str) -> Result<Option<Notice>> {
        let row = sqlx::query(&format!("SELECT {NOTICE_COLS} FROM notices WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(notice_from_row).transpose()
    }

    /// Notices active at `now_ms`, oldest first.
    pub async fn active_notices(&self, now_ms: i64) -> Result<Vec<Notice>> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTICE_COLS} FROM notices
             WHERE resolved_at_ms IS NULL AND expires_at_ms > $1
             ORDER BY created_at_ms, id"
        ))
        .bind(now_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(notice_from_row).collect()
    }

    /// Notices active at `now_ms` or ended (resolved or expired) after `since_ms`, newest
    /// first.
    pub async fn recent_notices(&self, now_ms: i64, since_ms: i64) -> Result<Vec<Notice>> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTICE_COLS} FROM notices
             WHERE (resolved_at_ms IS NULL AND expires_at_ms > $1)
                OR resolved_at_ms > $2
                OR (resolved_at_ms IS NULL AND expires_at_ms > $2)
             ORDER BY created_at_ms DESC, id DESC"
        ))
        .bind(now_ms)
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(notice_from_row).collect()
    }

    /// Replaces the scope and texts and the expiry of a notice that is not resolved.
    /// `Conflict` once resolved (a resolved notice is history).
    pub async fn update_notice(
        &self,
        id: &str,
        scope: &NoticeScope,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<Notice> {
        let done = sqlx::query(
            "UPDATE notices SET intents_json = $2, coins_json = $3, networks_json = $4,
                 keywords_json = $5, texts_json = $6, severity = $7, expires_at_ms = $8,
                 updated_at_ms = $9
             WHERE id = $1 AND resolved_at_ms IS NULL",
        )
        .bind(id)
        .bind(to_json(&scope.intents)?)
        .bind(to_json(&scope.coins)?)
        .bind(to_json(&scope.networks)?)
        .bind(to_json(&scope.keywords)?)
        .bind(to_json(&scope.texts)?)
        .bind(scope.severity.as_str())
        .bind(expires_at_ms)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        self.changed_or_why(id, done.rows_affected()).await
    }

    /// Resolves a notice with its closing texts. `Conflict` if it was already resolved.
    pub async fn resolve_notice(
        &self,
        id: &str,
        closing_texts: &BTreeMap<String, String>,
        now_ms: i64,
    ) -> Result<Notice> {
        let done = sqlx::query(
            "UPDATE notices SET resolved_at_ms = $2, closing_texts_json = $3, updated_at_ms = $2
             WHERE id = $1 AND resolved_at_ms IS NULL",
        )
        .bind(id)
        .bind(now_ms)
        .bind(to_json(closing_texts)?)
        .execute(self.pool())
        .await?;
        self.changed_or_why(id, done.rows_affected()).await
    }

    /// The notice after an update of `affected` rows: `NotFound` or `Conflict` (resolved).
    async fn changed_or_why(&self, id: &str, affected: u64) -> Result<Notice> {
        let notice = self
            .notice(id)
            .await?
            .ok_or_else(|| StoreError::not_found("notice", id))?;
        if affected == 0 {
            return Err(StoreError::Conflict(format!(
                "notice {id} is already resolved"
            )));
        }
        Ok(notice)
    }

    /// Adds one to a counter of the notice (`NotFound` for an unknown id).
    pub async fn count_notice(&self, id: &str, counter: NoticeCounter) -> Result<()> {
        let column = counter.column();
        let done = sqlx::query(&format!(
            "UPDATE notices SET {column} = {column} + 1 WHERE id = $1"
        ))
        .bind(id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("notice", id));
        }
        Ok(())
    }
}
