//! The store of larger deployments: PostgreSQL, chosen by a `postgres://` database URL. A unit of
//! work is one transaction at READ COMMITTED; every write of an existing record is guarded by its
//! version, so of two concurrent writers one gets a conflict instead of overwriting the other.
//! Commits are durable before they return (`synchronous_commit` as the server is configured; the
//! default, `on`, is what Staffel's receipts rely on). One file per aggregate beside this one.
//!
//! Structured parts are `jsonb`: written with a `::jsonb` cast from the domain types' JSON, read
//! back with `::text`. TLS to the server is configured in the URL (`sslmode`, `sslrootcert`).

mod accounts;
mod audit;
mod backup;
mod clients;
mod consents;
mod handovers;
mod inbox;
mod ledger;
mod outbox;
pub mod scratch;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row as _, Transaction};

use super::{
    Accounts, Audit, Backend, Clients, Consents, Handovers, Inbox, Ledger, Outbox, Result, Storage, StorageError,
    UnitOfWork,
};
use crate::domain::OfficeId;
use crate::domain::delivery::MessageKind;

pub struct PgStorage {
    pool: PgPool,
    /// The URL connected to, for `pg_dump`.
    url: String,
}

/// This binary's PostgreSQL migrations.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub use backup::restore;

/// A unit of work on PostgreSQL: one transaction.
pub struct PgUnit {
    tx: Transaction<'static, Postgres>,
}

pub(crate) fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(what.to_owned())
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
pub(crate) fn one_row(done: sqlx::postgres::PgQueryResult) -> Result<()> {
    if done.rows_affected() == 1 { Ok(()) } else { Err(StorageError::Conflict) }
}

impl PgStorage {
    /// Connects to the database at a `postgres://` URL and migrates it. The database must exist;
    /// the account needs the rights to create tables, indexes, functions and triggers in it.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, super::MigrateMode::AtStart).await
    }

    /// Connects, and migrates the database or checks that it needs no migration, as `mode` says.
    pub async fn open_with(url: &str, mode: super::MigrateMode) -> Result<Self> {
        let storage = Self::connect(url).await?;
        super::prepare(&storage, mode).await?;
        Ok(storage)
    }

    /// Connects to the database at a `postgres://` URL without touching its schema.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("staffel");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool, url: url.to_owned() })
    }
}

#[async_trait]
impl Storage for PgStorage {
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>> {
        Ok(Box::new(PgUnit { tx: self.pool.begin().await? }))
    }

    async fn read(&self) -> Result<Box<dyn UnitOfWork>> {
        Ok(Box::new(PgUnit { tx: self.pool.begin_with("BEGIN READ ONLY").await? }))
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrations(&self) -> Result<Vec<super::MigrationStatus>> {
        let table: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&self.pool).await?;
        let mut applied = Vec::new();
        if table {
            let rows = sqlx::query(
                "SELECT version, description, installed_on, success, checksum FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                applied.push(super::migrations::AppliedRow {
                    version: row.get("version"),
                    description: row.get("description"),
                    installed_on: row.get("installed_on"),
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
        let status = self.migrations().await?;
        let schema_version = status
            .iter()
            .filter(|m| !matches!(m.state, super::MigrationState::Pending | super::MigrationState::Failed))
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        let file = backup::dump(&self.url, dir, progress).await?;
        Ok(super::DatabaseCopy { file, schema_version })
    }
}

#[async_trait]
impl UnitOfWork for PgUnit {
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
