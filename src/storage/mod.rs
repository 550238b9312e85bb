//! Storage: every SQL statement of Staffel sits behind the traits of this module. SQLite is the
//! embedded default ([`sqlite`]), PostgreSQL the store of larger deployments ([`postgres`]); the
//! database URL chooses ([`open`]). Both are held to one contract test suite
//! (`tests/api/storage_contract.rs`).
//!
//! **The use case owns the transaction.** A use case opens a [`UnitOfWork`] with
//! [`Storage::begin`], reads the records it needs through the unit's small per-aggregate parts
//! (clients, consents, handovers, outbox, inbox, audit, accounts), asks the domain, writes the
//! changed records with their audit entries and outbox messages, and commits once. Storage
//! decides nothing: it persists what the domain decided. Every write of an existing record is
//! guarded by the version the record was read at (or, for the inbox, by its key), so a concurrent
//! writer gets [`StorageError::Conflict`], never a lost update. A unit of work dropped without
//! [`UnitOfWork::commit`] leaves no trace.
//!
//! The shape allows a later group commit: a unit's writes are whole records with their guards,
//! so concurrent units could be handed to one writer and committed together.

pub mod migrations;
pub mod postgres;
pub mod records;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::audit::AuditEntry;
use crate::domain::case::ClientRecord;
use crate::domain::client::HouseholdId;
use crate::domain::consent_request::ConsentRequest;
use crate::domain::delivery::{IncomingHandover, OutboxMessage, OutgoingHandover};
use crate::domain::ledger::{LedgerEntry, LedgerHead, LedgerRow};
use crate::domain::participation::CounsellingSession;
use crate::domain::staff::Account;
use crate::domain::{CaseId, ClientId, ConsentGrant, ConsentId, OfficeId};
pub use migrations::{MigrationState, MigrationStatus};
pub use records::*;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The record was changed meanwhile (its version moved on), or a unique key is taken.
    #[error("the record was changed meanwhile, or its key is taken")]
    Conflict,
    #[error("a stored value cannot be read back: {0}")]
    Corrupt(String),
    #[error("unsupported database URL (expected sqlite: or postgres://)")]
    UnsupportedUrl,
    #[error(
        "the database is newer than this binary: it has migration {database}, this binary knows migrations up to \
         {binary}. A newer Staffel wrote it; run that version, or roll back by restoring the backup taken before \
         the upgrade (`staffel restore`)"
    )]
    NewerDatabase { database: i64, binary: i64 },
    #[error("migration {0} failed halfway in this database: restore the backup taken before it (`staffel restore`)")]
    MigrationFailed(i64),
    #[error("migration {0} applied to this database differs from this binary's: refusing to run on it")]
    MigrationModified(i64),
    #[error(
        "{count} migration(s) pending (the first: {first}), and this office applies them explicitly \
         ([database] migrate = \"explicit\"): run `staffel migrate --config <file>` (after a backup)"
    )]
    PendingMigrations { count: usize, first: i64 },
    #[error("backup: {0}")]
    Backup(String),
    #[error("restore: {0}")]
    Restore(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// The two stores Staffel runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An office's store: it hands out units of work.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// A unit of work that may write: one transaction (SQLite: `BEGIN IMMEDIATE`).
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>>;
    /// A unit of work that only reads (SQLite: a deferred transaction that takes no write lock).
    async fn read(&self) -> Result<Box<dyn UnitOfWork>>;
    fn backend(&self) -> Backend;
    /// This binary's migrations and those the database records, in version order, with where
    /// each stands.
    async fn migrations(&self) -> Result<Vec<MigrationStatus>>;
    /// Applies the pending migrations in order, calling `before` with each before it runs; those
    /// applied. Refuses a database with migrations this binary does not know
    /// ([`StorageError::NewerDatabase`]).
    async fn migrate(
        &self,
        before: &(dyn for<'a> Fn(&'a MigrationStatus) + Send + Sync),
    ) -> Result<Vec<MigrationStatus>>;
    /// A consistent copy of the database as it was when the copy began, while the office keeps
    /// running, written into the folder `dir` (which exists, 0700) as one file (0600): SQLite's
    /// online backup API, or `pg_dump --format=custom`. `progress` is told how far it got.
    async fn backup(&self, dir: &Path, progress: &(dyn for<'a> Fn(&'a str) + Send + Sync)) -> Result<DatabaseCopy>;
}

/// A copy of the database made by [`Storage::backup`].
#[derive(Debug, Clone)]
pub struct DatabaseCopy {
    /// The file written.
    pub file: PathBuf,
    /// The last migration applied to the copied database.
    pub schema_version: i64,
}

/// When migrations are applied: by `serve` (and every command that opens the database) at
/// start, or only by `staffel migrate` (then a start with pending migrations is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigrateMode {
    #[default]
    AtStart,
    Explicit,
}

/// One transaction: its parts, and commit. Dropped without commit, it rolls back.
#[async_trait]
pub trait UnitOfWork: Send {
    fn clients(&mut self) -> &mut dyn Clients;
    fn consents(&mut self) -> &mut dyn Consents;
    fn handovers(&mut self) -> &mut dyn Handovers;
    fn outbox(&mut self) -> &mut dyn Outbox;
    fn inbox(&mut self) -> &mut dyn Inbox;
    fn audit(&mut self) -> &mut dyn Audit;
    fn accounts(&mut self) -> &mut dyn Accounts;
    fn ledger(&mut self) -> &mut dyn Ledger;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Client records and their counselling sessions.
#[async_trait]
pub trait Clients: Send {
    async fn get(&mut self, id: ClientId) -> Result<Option<ClientRecord>>;
    async fn by_case(&mut self, case: CaseId) -> Result<Option<ClientRecord>>;
    /// A new record; `Conflict` if its id or case id is taken.
    async fn insert(&mut self, client: &ClientRecord) -> Result<()>;
    /// Writes the record if it is still at `client.version`; the version becomes one more.
    async fn update(&mut self, client: &mut ClientRecord) -> Result<()>;
    /// A page of clients in the order of [`crate::domain::search::sort_key`], after the cursor.
    async fn page(&mut self, query: &ClientQuery) -> Result<Vec<ClientSummary>>;
    /// Clients active here and taking part whose window ends between `from` and `until`
    /// (inclusive), soonest first, after the cursor.
    async fn windows_ending(&mut self, query: &EndingQuery) -> Result<Vec<ClientSummary>>;
    async fn household(&mut self, household: HouseholdId) -> Result<Vec<ClientSummary>>;
    async fn insert_session(&mut self, client: ClientId, session: &CounsellingSession) -> Result<()>;
    async fn sessions(&mut self, client: ClientId) -> Result<Vec<CounsellingSession>>;
    /// Erases the personal data of a client record: the record, its sessions, consents and
    /// consent pages, the handovers of it sent and received with their signed messages (an
    /// inbox row keeps its digest and receipt, for duplicates). What stays: the ledger, the
    /// audit log, decisions sent (no personal data), and that the id was erased, when.
    async fn erase(&mut self, client: ClientId, at: DateTime<Utc>) -> Result<()>;
    /// When the client's personal data was erased, if it was.
    async fn erased(&mut self, client: ClientId) -> Result<Option<DateTime<Utc>>>;
    /// Records whose case may have ended before `before`: moved out, not taking part, or the
    /// window's last day passed; by id, after `after`. The domain decides which are due.
    async fn ended_candidates(
        &mut self,
        before: NaiveDate,
        after: Option<ClientId>,
        limit: u32,
    ) -> Result<Vec<ClientId>>;
}

/// Consents, and the consent pages opened for clients.
#[async_trait]
pub trait Consents: Send {
    async fn get(&mut self, id: ConsentId) -> Result<Option<ConsentGrant>>;
    /// The consent whose withdrawal code has this SHA-256.
    async fn by_withdrawal_code(&mut self, code_sha256: &str) -> Result<Option<ConsentGrant>>;
    /// A client's consents, oldest first.
    async fn of_client(&mut self, client: ClientId) -> Result<Vec<ConsentGrant>>;
    async fn insert(&mut self, consent: &ConsentGrant) -> Result<()>;
    async fn update(&mut self, consent: &mut ConsentGrant) -> Result<()>;
    async fn insert_request(&mut self, request: &ConsentRequest) -> Result<()>;
    /// The consent page whose link token has this SHA-256.
    async fn request(&mut self, token_sha256: &str) -> Result<Option<ConsentRequest>>;
    async fn update_request(&mut self, request: &mut ConsentRequest) -> Result<()>;
}

/// Handovers sent (outgoing) and received (incoming).
#[async_trait]
pub trait Handovers: Send {
    /// A new draft; `Conflict` if the client has an open handover already.
    async fn insert_outgoing(&mut self, handover: &OutgoingHandover) -> Result<()>;
    async fn outgoing(&mut self, id: Uuid) -> Result<Option<OutgoingHandover>>;
    async fn update_outgoing(&mut self, handover: &mut OutgoingHandover) -> Result<()>;
    /// The client's open handover (draft, approved or delivered), if there is one.
    async fn open_outgoing(&mut self, client: ClientId) -> Result<Option<OutgoingHandover>>;
    /// The handovers sent (or to be sent) on a consent.
    async fn outgoing_on_consent(&mut self, consent: ConsentId) -> Result<Vec<OutgoingHandover>>;
    async fn insert_incoming(&mut self, handover: &IncomingHandover) -> Result<()>;
    async fn incoming(&mut self, id: Uuid) -> Result<Option<IncomingHandover>>;
    async fn update_incoming(&mut self, handover: &mut IncomingHandover) -> Result<()>;
    /// The received handovers whose case continues in the client record, oldest first.
    async fn incoming_of_client(&mut self, client: ClientId) -> Result<Vec<IncomingHandover>>;
    /// Every handover of the client this office sent, oldest first.
    async fn outgoing_of_client(&mut self, client: ClientId) -> Result<Vec<OutgoingHandover>>;
    /// The outgoing handovers someone must look at, newest first: drafts (waiting for approval),
    /// approved ones not yet delivered, and ones refused or declined since `since`.
    async fn outgoing_worklist(&mut self, since: DateTime<Utc>, limit: u32) -> Result<Vec<OutgoingHandover>>;
    /// Received handovers not taken over (declined, withdrawn, or never decided), received before
    /// `before`.
    async fn closed_incoming_before(&mut self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>>;
    /// Erases a received handover: its row with the case, and its signed message (the inbox
    /// row keeps its digest and receipt, for duplicates).
    async fn erase_incoming(&mut self, id: Uuid) -> Result<()>;
    /// The handovers received on a consent (given at the sending office).
    async fn incoming_on_consent(&mut self, consent: ConsentId) -> Result<Vec<IncomingHandover>>;
    /// A page of received handovers, newest first, after the cursor.
    async fn incoming_page(&mut self, query: &IncomingQuery) -> Result<Vec<IncomingSummary>>;
    /// How many handovers sent and received are in each state, each list in order of the
    /// state's name (for monitoring).
    async fn count_by_state(&mut self) -> Result<HandoverCounts>;
}

/// Signed messages waiting for, or done with, delivery.
#[async_trait]
pub trait Outbox: Send {
    async fn insert(&mut self, message: &OutboxMessage) -> Result<()>;
    async fn get(&mut self, id: Uuid) -> Result<Option<OutboxMessage>>;
    async fn update(&mut self, message: &mut OutboxMessage) -> Result<()>;
    /// Messages waiting for delivery whose next attempt is due at `now`, the longest due first.
    async fn due(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMessage>>;
    /// The messages waiting for delivery (neither delivered nor given up), per destination
    /// office in order of its id: how many, and the oldest one's queueing time (for monitoring).
    async fn pending_by_destination(&mut self) -> Result<Vec<PendingOutbox>>;
}

/// Messages received and acknowledged: the exact bytes and the receipt given.
#[async_trait]
pub trait Inbox: Send {
    async fn get(&mut self, message_id: Uuid) -> Result<Option<InboxRecord>>;
    /// Stores the record unless its id is known; says what was there.
    async fn offer(&mut self, record: &InboxRecord) -> Result<InboxOutcome>;
}

/// The audit log: append-only (the database itself refuses UPDATE and DELETE).
#[async_trait]
pub trait Audit: Send {
    async fn append(&mut self, entries: &[AuditEntry]) -> Result<()>;
    /// The entries about a client, oldest first: those naming it, and those of lists that showed
    /// it; each with its sequence number, after the sequence number `after`.
    async fn for_client(&mut self, client: ClientId, after: Option<i64>, limit: u32) -> Result<Vec<(i64, AuditEntry)>>;
}

/// Staff accounts with passwords, and their session tokens (kept as SHA-256 digests only).
#[async_trait]
pub trait Accounts: Send {
    /// A new account; `Conflict` if the name is taken.
    async fn insert(&mut self, account: &Account) -> Result<()>;
    async fn get(&mut self, name: &str) -> Result<Option<Account>>;
    async fn list(&mut self) -> Result<Vec<Account>>;
    /// Writes the changed account's password hash and `disabled_at` (name, role and creation stay)
    /// if the stored account still holds the values `read` holds; `Conflict` otherwise. Accounts
    /// carry no version: the values read are the guard.
    async fn update(&mut self, read: &Account, changed: &Account) -> Result<()>;
    /// Deletes the account and its session tokens if the stored account still holds the values
    /// `read` holds; `Conflict` otherwise.
    async fn delete(&mut self, read: &Account) -> Result<()>;
    /// Ends every session of the account: its session tokens are deleted.
    async fn delete_sessions(&mut self, account: &str) -> Result<()>;
    /// The names of the enabled administrator accounts, by name. It also takes the accounts' lock
    /// for the rest of the unit of work (PostgreSQL; SQLite's writers are one at a time anyway),
    /// so that of two units each disabling one of the last two administrators, the second sees
    /// the first's change.
    async fn enabled_administrators(&mut self) -> Result<Vec<String>>;
    /// Stores a session token's digest; expired tokens of the account go with it.
    async fn insert_session(
        &mut self,
        digest: &str,
        account: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The enabled account an unexpired session token (by digest) belongs to.
    async fn session_account(&mut self, digest: &str, now: DateTime<Utc>) -> Result<Option<Account>>;
    async fn delete_session(&mut self, digest: &str) -> Result<()>;
}

/// The consent ledger: append-only (the database itself refuses UPDATE and DELETE), hash-chained
/// by the domain ([`crate::domain::ledger`]); and the heads of other offices' ledgers this office
/// received, signed, in their messages.
#[async_trait]
pub trait Ledger: Send {
    /// The last entry's sequence number and hash. On PostgreSQL it also takes the ledger's lock
    /// for the rest of the unit of work, so that entries are appended one unit after the other.
    async fn head(&mut self) -> Result<LedgerHead>;
    /// Appends an entry made by the domain after the current head; `Conflict` if the sequence
    /// number is taken.
    async fn append(&mut self, entry: &LedgerEntry) -> Result<()>;
    /// Stored rows in sequence order after `after`, for verification.
    async fn rows(&mut self, after: u64, limit: u32) -> Result<Vec<LedgerRow>>;
    /// The entries naming a client, or a consent, in sequence order.
    async fn of_client(&mut self, client: ClientId) -> Result<Vec<LedgerRow>>;
    async fn of_consent(&mut self, consent: ConsentId) -> Result<Vec<LedgerRow>>;
    async fn hash_at(&mut self, seq: u64) -> Result<Option<String>>;
    async fn insert_peer_head(
        &mut self,
        office: OfficeId,
        head: &LedgerHead,
        message_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The heads of `office`'s ledger this office holds, by sequence number.
    async fn peer_heads(&mut self, office: OfficeId) -> Result<Vec<LedgerHead>>;
}

/// Opens the storage a database URL names (`sqlite:…` or `postgres://…`), creating and
/// migrating it as needed.
pub async fn open(url: &str) -> Result<Arc<dyn Storage>> {
    open_with(url, MigrateMode::AtStart).await
}

/// Opens the storage a database URL names, creating a missing SQLite file; with
/// [`MigrateMode::AtStart`] applies pending migrations, with [`MigrateMode::Explicit`] refuses
/// to open while any are pending. Either way a database newer than this binary is refused.
pub async fn open_with(url: &str, mode: MigrateMode) -> Result<Arc<dyn Storage>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStorage::open_with(url, mode).await?))
    } else if is_postgres(url) {
        Ok(Arc::new(postgres::PgStorage::open_with(url, mode).await?))
    } else {
        Err(StorageError::UnsupportedUrl)
    }
}

/// Connects to the database a URL names without applying or checking migrations, for
/// `staffel migrate` and `staffel backup`. A missing SQLite file is created only if `create`.
pub async fn connect(url: &str, create: bool) -> Result<Arc<dyn Storage>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStorage::connect(url, create).await?))
    } else if is_postgres(url) {
        Ok(Arc::new(postgres::PgStorage::connect(url).await?))
    } else {
        Err(StorageError::UnsupportedUrl)
    }
}

/// Writes a copy made by [`Storage::backup`] into the database a URL names, which must not
/// exist yet (SQLite) or must be empty (PostgreSQL, with `pg_restore`). No migration is applied.
pub async fn restore(url: &str, copy: &Path, progress: &(dyn Fn(&str) + Send + Sync)) -> Result<()> {
    if url.starts_with("sqlite:") {
        sqlite::restore(url, copy, progress).await
    } else if is_postgres(url) {
        postgres::restore(url, copy, progress).await
    } else {
        Err(StorageError::UnsupportedUrl)
    }
}

/// Opens a file of a backup for reading only if it is a regular file, without following a
/// symbolic link: another user who can write to a backup folder could otherwise make a restore
/// run as root copy a file only root may read. The path is looked at without following a link,
/// then opened, and the opened file must be the one looked at (on Unix the same device and
/// inode), so that one swapped in between is refused too.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let refused =
        || std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file (a symbolic link, say): refused");
    let seen = std::fs::symlink_metadata(path)?;
    if !seen.file_type().is_file() {
        return Err(refused());
    }
    let file = std::fs::File::open(path)?;
    let opened = file.metadata()?;
    if !opened.is_file() {
        return Err(refused());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if (opened.dev(), opened.ino()) != (seen.dev(), seen.ino()) {
            return Err(std::io::Error::other("replaced while it was opened: refused"));
        }
    }
    Ok(file)
}

/// The backend a URL names.
pub fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if is_postgres(url) {
        Ok(Backend::Postgres)
    } else {
        Err(StorageError::UnsupportedUrl)
    }
}

/// The last migration this binary knows for a backend.
pub fn latest_migration(backend: Backend) -> i64 {
    match backend {
        Backend::Sqlite => migrations::latest_known(&sqlite::MIGRATOR),
        Backend::Postgres => migrations::latest_known(&postgres::MIGRATOR),
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Brings a freshly connected store to where `mode` wants it.
async fn prepare(storage: &dyn Storage, mode: MigrateMode) -> Result<()> {
    match mode {
        MigrateMode::AtStart => {
            storage
                .migrate(&|m| tracing::info!(version = m.version, description = %m.description, "applying migration"))
                .await?;
        }
        MigrateMode::Explicit => migrations::check_current(&storage.migrations().await?)?,
    }
    Ok(())
}
