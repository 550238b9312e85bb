//! Storage: every SQL statement of Staffel sits behind the [`Storage`] trait. SQLite is the
//! embedded default ([`sqlite::SqliteStorage`]); PostgreSQL follows as a second implementation.
//!
//! Methods that change several rows do it in one transaction, so that what a caller
//! acknowledges (a receipt, an approval, a decision) is committed before the answer leaves.

pub mod records;
pub mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::client::HouseholdId;
use crate::domain::participation::CounsellingSession;
use crate::domain::{CaseId, ClientId, ConsentGrant, ConsentId};
pub use records::*;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("the record was changed meanwhile or is not in the expected state")]
    Conflict,
    #[error("no such record")]
    NotFound,
    #[error("a stored value cannot be read back: {0}")]
    Corrupt(String),
    #[error("unsupported database URL (expected sqlite:)")]
    UnsupportedUrl,
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// What became of a received message offered to the inbox.
#[derive(Debug, PartialEq, Eq)]
pub enum InboxOutcome {
    /// Newly stored; the receipt given is the one to answer with.
    Stored,
    /// The same message id with the same bytes was stored before: answer with its receipt.
    Duplicate { receipt: String },
    /// The same message id with different bytes: refuse.
    Conflict,
}

/// How an accepted handover lands in the client records.
pub enum AcceptedClient<'a> {
    /// A new client record.
    New(&'a ClientRecord),
    /// The office already held this case (the client moved back): the record continues.
    Continued(&'a ClientRecord),
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    // Clients.
    async fn insert_client(&self, client: &ClientRecord) -> Result<()>;
    async fn client(&self, id: ClientId) -> Result<Option<ClientRecord>>;
    async fn client_by_case(&self, case: CaseId) -> Result<Option<ClientRecord>>;
    /// Writes the record if it still has `client.version`; the stored version becomes one more.
    async fn update_client(&self, client: &ClientRecord) -> Result<()>;
    /// A page of clients ordered by family and given name, and the number of all matches.
    async fn list_clients(&self, query: &ClientQuery) -> Result<(Vec<ClientRecord>, u64)>;
    /// Clients at this office, taking part, whose window ends between `from` and `until`
    /// (inclusive), soonest first.
    async fn windows_ending(&self, from: NaiveDate, until: NaiveDate, limit: u32) -> Result<Vec<ClientRecord>>;
    async fn household_members(&self, household: HouseholdId) -> Result<Vec<ClientRecord>>;

    // Counselling sessions.
    async fn insert_session(&self, client: ClientId, session: &CounsellingSession) -> Result<()>;
    async fn sessions(&self, client: ClientId) -> Result<Vec<CounsellingSession>>;

    // Accounts and session tokens.
    async fn insert_account(&self, account: &AccountRecord) -> Result<()>;
    async fn account(&self, name: &str) -> Result<Option<AccountRecord>>;
    async fn list_accounts(&self) -> Result<Vec<AccountRecord>>;
    async fn insert_session_token(
        &self,
        digest: &str,
        account: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The enabled account an unexpired session token (by digest) belongs to.
    async fn session_account(&self, digest: &str, now: DateTime<Utc>) -> Result<Option<AccountRecord>>;
    async fn delete_session_token(&self, digest: &str) -> Result<()>;

    // The audit log (append-only).
    async fn audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Several entries in one transaction (one disk sync for a whole list page).
    async fn audit_all(&self, entries: &[AuditEntry]) -> Result<()>;
    async fn audit_log(&self, client: ClientId) -> Result<Vec<AuditEntry>>;

    // Consents.
    async fn insert_consent(&self, consent: &ConsentGrant) -> Result<()>;
    async fn consent(&self, id: ConsentId) -> Result<Option<ConsentGrant>>;
    /// Withdraws a consent; handovers on it that have not been delivered (drafts, approved and
    /// queued) are cancelled with it. Returns how many were cancelled.
    async fn withdraw_consent(&self, id: ConsentId, at: DateTime<Utc>) -> Result<u64>;

    // Outgoing handovers and the outbox.
    /// Stores a draft; `Conflict` if the client has an open handover already.
    async fn insert_outgoing(&self, handover: &OutgoingHandover) -> Result<()>;
    async fn outgoing(&self, id: Uuid) -> Result<Option<OutgoingHandover>>;
    /// The client's open handover (draft, approved or delivered), if there is one.
    async fn open_outgoing(&self, client: ClientId) -> Result<Option<OutgoingHandover>>;
    /// Draft or approved → cancelled, and an undelivered message's delivery stopped, together.
    /// `Conflict` if the handover is in another state.
    async fn cancel_outgoing(&self, id: Uuid, at: DateTime<Utc>, why: &str) -> Result<()>;
    /// Draft → approved, and the signed message into the outbox, together.
    async fn approve_outgoing(&self, id: Uuid, by: &str, at: DateTime<Utc>, message: &OutboxMessage) -> Result<()>;
    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMessage>>;
    async fn outbox_message(&self, id: Uuid) -> Result<Option<OutboxMessage>>;
    /// Marks a message delivered with the receiver's receipt (a handover: approved → delivered).
    async fn outbox_delivered(&self, id: Uuid, receipt: &str, at: DateTime<Utc>) -> Result<()>;
    async fn outbox_retry_later(&self, id: Uuid, next_attempt_at: DateTime<Utc>, error: &str) -> Result<()>;
    /// Marks a message refused for good (a handover: approved → rejected).
    async fn outbox_failed(&self, id: Uuid, at: DateTime<Utc>, error: &str) -> Result<()>;

    // Inbox and incoming handovers.
    async fn inbox(&self, message_id: Uuid) -> Result<Option<InboxRecord>>;
    /// Stores a received handover and its receipt, unless the id is known.
    async fn receive_handover(&self, inbox: &InboxRecord, handover: &IncomingHandover) -> Result<InboxOutcome>;
    async fn incoming(&self, message_id: Uuid) -> Result<Option<IncomingHandover>>;
    async fn list_incoming(&self) -> Result<Vec<IncomingHandover>>;
    /// Received → accepted: the client record, the decision in the outbox, together.
    async fn accept_incoming(
        &self,
        message_id: Uuid,
        client: AcceptedClient<'_>,
        decided: &DecidedBy,
        decision: &OutboxMessage,
    ) -> Result<()>;
    /// Received → declined, with the decision in the outbox.
    async fn decline_incoming(
        &self,
        message_id: Uuid,
        decided: &DecidedBy,
        reason: &str,
        decision: &OutboxMessage,
    ) -> Result<()>;
    /// Stores a received decision and applies it: the handover becomes accepted or declined,
    /// and on acceptance the client is marked as moved out.
    async fn receive_decision(&self, inbox: &InboxRecord, applied: &AppliedDecision) -> Result<InboxOutcome>;
}

/// Opens the storage a database URL names, creating and migrating it as needed.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Storage>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::SqliteStorage::open(url).await?))
    } else {
        Err(StorageError::UnsupportedUrl)
    }
}
