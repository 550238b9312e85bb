//! The embedded store: SQLite in WAL mode with `synchronous = FULL` (a commit is on disk before
//! it returns, so a receipt never outruns its data), a busy timeout, foreign keys on. A unit of
//! work that may write begins `IMMEDIATE`, so concurrent writers queue for the write lock instead
//! of failing halfway; one that only reads begins deferred and takes no write lock. One file per
//! aggregate beside this one.

mod accounts;
mod audit;
mod backup;
mod clients;
mod consents;
mod handovers;
mod inbox;
mod ledger;
mod outbox;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

pub use backup::restore;

use super::{
    Accounts, Audit, Backend, Clients, Consents, Handovers, Inbox, Ledger, Outbox, Result, Storage, StorageError,
    UnitOfWork,
};
use crate::domain::OfficeId;
use crate::domain::delivery::MessageKind;

pub struct SqliteStorage {
    pool: SqlitePool,
    /// The database file (empty for an in-memory database).
    file: std::path::PathBuf,
}

/// This binary's SQLite migrations.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A unit of work on SQLite: one transaction.
pub struct SqliteUnit {
    tx: Transaction<'static, Sqlite>,
}

/// Timestamps as fixed-width text (RFC 3339, UTC, microseconds), so that they compare as text.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(what.to_owned())
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| corrupt("timestamp"))
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate> {
    s.parse().map_err(|_| corrupt("date"))
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| corrupt("uuid"))
}

pub(crate) fn parse_office(s: &str) -> Result<OfficeId> {
    OfficeId::parse(s).map_err(|_| corrupt("office id"))
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain values serialise")
}

pub(crate) fn from_json<T: DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|_| corrupt(what))
}

pub(crate) fn kind_of(s: &str) -> Result<MessageKind> {
    MessageKind::parse(s).ok_or_else(|| corrupt("message kind"))
}

/// A unique constraint that failed is a conflict with what is stored, not an internal error.
pub(crate) fn unique_is_conflict(e: sqlx::Error) -> StorageError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Conflict,
        _ => StorageError::Database(e),
    }
}

/// An UPDATE guarded by the version read must have changed exactly one row.
pub(crate) fn one_row(done: sqlx::sqlite::SqliteQueryResult) -> Result<()> {
    if done.rows_affected() == 1 { Ok(()) } else { Err(StorageError::Conflict) }
}

/// Creates a directory (and its parents) that only its owner can enter (0700 on Unix).
pub(crate) fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates `dir` and those of its parents that are missing, each only its owner may enter (0700
/// on Unix); the folders made, outermost first. If one cannot be made, those made before it are
/// removed again.
pub(crate) fn create_private_dirs(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut missing: Vec<std::path::PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err())
        .map(|d| d.to_owned())
        .collect();
    missing.reverse();
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    for (made, d) in missing.iter().enumerate() {
        if let Err(e) = builder.create(d) {
            for d in missing[..made].iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
            return Err(e);
        }
    }
    Ok(missing)
}

/// Creates an empty file only its owner can read and write (0600 on Unix); SQLite fills it.
pub(crate) fn create_private_file(file: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl SqliteStorage {
    /// Opens (creating if missing) and migrates the database at a `sqlite:` URL.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, super::MigrateMode::AtStart).await
    }

    /// Opens (creating if missing) the database at a `sqlite:` URL, and migrates it or checks
    /// that it needs no migration, as `mode` says.
    pub async fn open_with(url: &str, mode: super::MigrateMode) -> Result<Self> {
        let storage = Self::connect(url, true).await?;
        super::prepare(&storage, mode).await?;
        storage.backfill_search_keys().await?;
        Ok(storage)
    }

    /// Connects to the database at a `sqlite:` URL without touching its schema; a missing file
    /// is created (0600, in a folder made 0700) only if `create`.
    pub async fn connect(url: &str, create: bool) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let file = options.get_filename().to_owned();
        let in_memory = file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
        if !in_memory && !create && !file.exists() {
            return Err(StorageError::Database(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no database at {} (`staffel migrate` or the first start creates it)", file.display()),
            ))));
        }
        if create {
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !parent.exists() {
                    create_private_dir(parent).map_err(sqlx::Error::Io)?;
                }
            }
            // A new database file is readable by this service's user only (0600); SQLite gives its
            // journal files the database file's mode.
            if !in_memory && !file.exists() {
                create_private_file(&file).map_err(sqlx::Error::Io)?;
            }
        }
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        Ok(Self { pool, file })
    }

    /// Clients stored before search keys existed get theirs (computed by the domain's rules).
    async fn backfill_search_keys(&self) -> Result<()> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM clients WHERE sort_key = ''").fetch_all(&self.pool).await?;
        if ids.is_empty() {
            return Ok(());
        }
        let mut unit = self.begin_unit("BEGIN IMMEDIATE").await?;
        for id in ids {
            let id = crate::domain::ClientId::from_uuid(parse_uuid(&id)?);
            if let Some(mut record) = unit.clients().get(id).await? {
                unit.clients().update(&mut record).await?;
            }
        }
        Box::new(unit).commit().await?;
        tracing::info!("search keys of stored clients filled in");
        Ok(())
    }

    async fn begin_unit(&self, statement: &'static str) -> Result<SqliteUnit> {
        Ok(SqliteUnit { tx: self.pool.begin_with(statement).await? })
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>> {
        Ok(Box::new(self.begin_unit("BEGIN IMMEDIATE").await?))
    }

    async fn read(&self) -> Result<Box<dyn UnitOfWork>> {
        Ok(Box::new(self.begin_unit("BEGIN DEFERRED").await?))
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrations(&self) -> Result<Vec<super::MigrationStatus>> {
        let table: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                .fetch_one(&self.pool)
                .await?;
        let mut applied = Vec::new();
        if table > 0 {
            let rows = sqlx::query(
                "SELECT version, description, CAST(installed_on AS TEXT) AS installed_on, success, checksum \
                 FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                let installed: String = row.get("installed_on");
                let installed_on = chrono::NaiveDateTime::parse_from_str(&installed, "%Y-%m-%d %H:%M:%S")
                    .map_err(|_| corrupt("migration time"))?
                    .and_utc();
                applied.push(super::migrations::AppliedRow {
                    version: row.get("version"),
                    description: row.get("description"),
                    installed_on,
                    success: row.get("success"),
                    checksum: row.get("checksum"),
                });
            }
        }
        Ok(super::migrations::status(&MIGRATOR, applied))
    }

    async fn migrate(
        &self,
        before: &(dyn for<'a> Fn(&'a super::MigrationStatus) + Send + Sync),
    ) -> Result<Vec<super::MigrationStatus>> {
        let status = self.migrations().await?;
        let mut conn = self.pool.acquire().await?;
        super::migrations::apply(&mut *conn, &MIGRATOR, &status, before).await
    }

    async fn backup(
        &self,
        dir: &std::path::Path,
        progress: &(dyn for<'a> Fn(&'a str) + Send + Sync),
    ) -> Result<super::DatabaseCopy> {
        backup::copy(&self.file, dir, progress).await
    }
}

#[async_trait]
impl UnitOfWork for SqliteUnit {
    fn clients(&mut self) -> &mut dyn Clients {
        self
    }

    fn consents(&mut self) -> &mut dyn Consents {
        self
    }

    fn handovers(&mut self) -> &mut dyn Handovers {
        self
    }

    fn outbox(&mut self) -> &mut dyn Outbox {
        self
    }

    fn inbox(&mut self) -> &mut dyn Inbox {
        self
    }

    fn audit(&mut self) -> &mut dyn Audit {
        self
    }

    fn accounts(&mut self) -> &mut dyn Accounts {
        self
    }

    fn ledger(&mut self) -> &mut dyn Ledger {
        self
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}

/// Reads a nullable text column.
pub(crate) fn opt_str(row: &sqlx::sqlite::SqliteRow, column: &str) -> Option<String> {
    row.get::<Option<String>, _>(column)
}
