//! Schema migrations: the numbered SQL files embedded in the binary, and the runner that applies the pending ones in order and records them in `schema_migrations`.
//!
//! All pending migrations run in one transaction that first takes the database-wide
//! lock (`BEGIN IMMEDIATE` on SQLite, `pg_advisory_xact_lock` on PostgreSQL), so two
//! replicas starting at once apply each migration exactly once, and a failed
//! migration leaves nothing half-applied (both databases have transactional DDL).
//! Each applied migration's checksum is recorded: a file edited after it was applied
//! is refused rather than silently diverging. Versions unknown to this binary (a
//! newer binary migrated the database) are ignored.

use sqlx::{AnyPool, Executor};

use super::{Backend, Result, StoreError, get, unix_ms_now};

/// One numbered migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    /// Portable SQL run on both backends.
    pub sql: &'static str,
}

/// Every migration, in order. Append only: never edit or renumber an applied one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "assigned_by",
        sql: include_str!("migrations/0002_assigned_by.sql"),
    },
    Migration {
        version: 3,
        name: "notices",
        sql: include_str!("migrations/0003_notices.sql"),
    },
    Migration {
        version: 4,
        name: "turns",
        sql: include_str!("migrations/0004_turns.sql"),
    },
];

/// Arbitrary constant naming the migration advisory lock on PostgreSQL.
const PG_MIGRATION_LOCK: i64 = 0x1d7e_2de5_0001;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL
)";

/// Applies the pending migrations; returns the versions it applied.
pub(super) async fn run(pool: &AnyPool, backend: Backend) -> Result<Vec<i64>> {
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            // pg_advisory_xact_lock returns void, which the Any driver cannot decode:
            // wrap it so the statement yields an integer.
            sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(PG_MIGRATION_LOCK)
                .fetch_one(&mut *tx)
                .await?;
            tx
        }
    };
    tx.execute(CREATE_TABLE).await?;
    let rows = sqlx::query("SELECT version, name, checksum FROM schema_migrations")
        .fetch_all(&mut *tx)
        .await?;
    let mut applied = std::collections::HashMap::new();
    for row in &rows {
        let version: i64 = get(row, "version")?;
        let checksum: String = get(row, "checksum")?;
        applied.insert(version, checksum);
    }
    let mut done = Vec::new();
    for m in MIGRATIONS {
        let sum = checksum(m.sql);
        if let Some(recorded) = applied.get(&m.version) {
            if *recorded != sum {
                return Err(StoreError::Database(format!(
                    "migration {:04}_{} changed after it was applied",
                    m.version, m.name
                )));
            }
            continue;
        }
        for statement in statements(m.sql) {
            tx.execute(statement.as_str()).await.map_err(|e| {
                StoreError::Database(format!("migration {:04}_{}: {e}", m.version, m.name))
            })?;
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at_ms)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(sum)
        .bind(unix_ms_now())
        .execute(&mut *tx)
        .await?;
        done.push(m.version);
    }
    tx.commit().await?;
    Ok(done)
}

/// Splits a migration file into statements: drops `--` comment lines, splits on `;`.
fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// FNV-1a 64-bit of the file text, hex: enough to notice an edited migration.
fn checksum(sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_files_split() {
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
        assert_eq!(MIGRATIONS[0].version, 1);
        let stmts = statements(MIGRATIONS[0].sql);
        assert!(stmts.iter().any(|s| s.starts_with("CREATE TABLE tickets")));
        assert!(stmts.iter().all(|s| !s.contains("--")));
    }

    #[test]
    fn statements_skip_comments_and_blanks() {
        let s = statements(
            "-- a; comment\nCREATE TABLE a (x TEXT);\n\n  ;\nINSERT INTO a VALUES ('b');\n",
        );
        assert_eq!(
            s,
            vec!["CREATE TABLE a (x TEXT)", "INSERT INTO a VALUES ('b')"]
        );
    }

    #[test]
    fn checksum_is_stable_and_sensitive() {
        assert_eq!(checksum("abc"), checksum("abc"));
        assert_ne!(checksum("abc"), checksum("abd"));
        assert_eq!(checksum(""), "cbf29ce484222325");
    }
}
