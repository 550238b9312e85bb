//! The embedded store: SQLite in WAL mode with `synchronous = FULL` (a commit is on disk before
//! it returns, so a receipt never outruns its data), a busy timeout, foreign keys on, and write
//! transactions begun IMMEDIATE so concurrent writers queue instead of failing.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::*;
use crate::domain::client::HouseholdId;
use crate::domain::participation::CounsellingSession;
use crate::domain::staff::Role;
use crate::domain::{ClientIdentity, CounsellingWindow, OfficeId, PersonName, Text};
use crate::federation::protocol::{Decision, MessageKind};

pub struct SqliteStorage {
    pool: SqlitePool,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(what.to_owned())
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| corrupt("timestamp"))
}

fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    s.parse().map_err(|_| corrupt("date"))
}

fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| corrupt("uuid"))
}

fn parse_office(s: &str) -> Result<OfficeId> {
    OfficeId::parse(s).map_err(|_| corrupt("office id"))
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain values serialise")
}

fn from_json<T: DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|_| corrupt(what))
}

/// A unique constraint that failed is a conflict with what is stored, not an internal error.
fn unique_is_conflict(e: sqlx::Error) -> StorageError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Conflict,
        _ => StorageError::Database(e),
    }
}

fn kind_of(s: &str) -> Result<MessageKind> {
    MessageKind::parse(s).ok_or_else(|| corrupt("message kind"))
}

impl SqliteStorage {
    /// Opens (creating if missing) and migrates the database at a `sqlite:` URL.
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(parent) = options.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
        }
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    fn client_from_row(row: &SqliteRow) -> Result<ClientRecord> {
        let identity = ClientIdentity {
            given_name: PersonName::parse(row.get("given_name"), "given_name").map_err(|_| corrupt("name"))?,
            family_name: PersonName::parse(row.get("family_name"), "family_name").map_err(|_| corrupt("name"))?,
            date_of_birth: parse_date(row.get("date_of_birth"))?,
        };
        let window = CounsellingWindow::from_parts(
            parse_date(row.get("first_session"))?,
            from_json(row.get("extensions"), "extensions")?,
        )
        .map_err(|_| corrupt("window"))?;
        let status = match row.get::<&str, _>("status") {
            "active" => ClientStatus::Active,
            "moved-out" => ClientStatus::MovedOut {
                to: parse_office(row.get::<Option<&str>, _>("moved_to").ok_or_else(|| corrupt("moved_to"))?)?,
                at: parse_ts(row.get::<Option<&str>, _>("moved_at").ok_or_else(|| corrupt("moved_at"))?)?,
            },
            _ => return Err(corrupt("client status")),
        };
        Ok(ClientRecord {
            id: ClientId::from_uuid(parse_uuid(row.get("id"))?),
            case_id: CaseId::from_uuid(parse_uuid(row.get("case_id"))?),
            identity,
            window,
            plan: from_json(row.get("plan"), "plan")?,
            eligibility: row.get::<Option<&str>, _>("eligibility").map(|s| from_json(s, "eligibility")).transpose()?,
            participation: from_json(row.get("participation"), "participation")?,
            pending_extensions: from_json(row.get("pending_extensions"), "pending extensions")?,
            household: row
                .get::<Option<&str>, _>("household_id")
                .map(|s| parse_uuid(s).map(HouseholdId::from_uuid))
                .transpose()?,
            status,
            received_from: row.get::<Option<&str>, _>("received_from").map(parse_office).transpose()?,
            created_at: parse_ts(row.get("created_at"))?,
            updated_at: parse_ts(row.get("updated_at"))?,
            version: row.get("version"),
        })
    }

    fn account_from_row(row: &SqliteRow) -> Result<AccountRecord> {
        Ok(AccountRecord {
            name: row.get("name"),
            role: Role::parse(row.get("role")).ok_or_else(|| corrupt("role"))?,
            password_hash: row.get("password_hash"),
            created_by: row.get("created_by"),
            created_at: parse_ts(row.get("created_at"))?,
            disabled_at: opt_ts(row.get("disabled_at"))?,
        })
    }

    fn consent_from_row(row: &SqliteRow) -> Result<ConsentGrant> {
        Ok(ConsentGrant {
            id: ConsentId::from_uuid(parse_uuid(row.get("id"))?),
            client: ClientId::from_uuid(parse_uuid(row.get("client_id"))?),
            recipient: parse_office(row.get("recipient"))?,
            categories: from_json(row.get("categories"), "categories")?,
            legal_bases: from_json(row.get("legal_bases"), "legal bases")?,
            given_at: parse_ts(row.get("given_at"))?,
            witnessed_by: row.get("witnessed_by"),
            withdrawn_at: opt_ts(row.get("withdrawn_at"))?,
        })
    }

    fn outgoing_from_row(row: &SqliteRow) -> Result<OutgoingHandover> {
        Ok(OutgoingHandover {
            id: parse_uuid(row.get("id"))?,
            client_id: ClientId::from_uuid(parse_uuid(row.get("client_id"))?),
            receiver: parse_office(row.get("receiver"))?,
            consent_id: ConsentId::from_uuid(parse_uuid(row.get("consent_id"))?),
            state: OutgoingState::parse(row.get("state")).ok_or_else(|| corrupt("handover state"))?,
            created_by: row.get("created_by"),
            created_at: parse_ts(row.get("created_at"))?,
            approved_by: row.get("approved_by"),
            approved_at: opt_ts(row.get("approved_at"))?,
            decided_at: opt_ts(row.get("decided_at"))?,
            decline_reason: row.get("decline_reason"),
        })
    }

    fn outbox_from_row(row: &SqliteRow) -> Result<OutboxMessage> {
        Ok(OutboxMessage {
            message_id: parse_uuid(row.get("message_id"))?,
            kind: kind_of(row.get("kind"))?,
            destination: parse_office(row.get("destination"))?,
            jws: row.get("jws"),
            created_at: parse_ts(row.get("created_at"))?,
            expires_at: parse_ts(row.get("expires_at"))?,
            attempts: u32::try_from(row.get::<i64, _>("attempts")).map_err(|_| corrupt("attempts"))?,
            next_attempt_at: parse_ts(row.get("next_attempt_at"))?,
            delivered_at: opt_ts(row.get("delivered_at"))?,
            receipt: row.get("receipt"),
            failed_at: opt_ts(row.get("failed_at"))?,
            last_error: row.get("last_error"),
        })
    }

    fn inbox_from_row(row: &SqliteRow) -> Result<InboxRecord> {
        Ok(InboxRecord {
            message_id: parse_uuid(row.get("message_id"))?,
            kind: kind_of(row.get("kind"))?,
            sender: parse_office(row.get("sender"))?,
            sha256: row.get("sha256"),
            jws: row.get("jws"),
            receipt: row.get("receipt"),
            received_at: parse_ts(row.get("received_at"))?,
        })
    }

    fn incoming_from_row(row: &SqliteRow) -> Result<IncomingHandover> {
        Ok(IncomingHandover {
            message: from_json(row.get("payload"), "handover payload")?,
            received_at: parse_ts(row.get("received_at"))?,
            state: IncomingState::parse(row.get("state")).ok_or_else(|| corrupt("incoming state"))?,
            decided_by: row.get("decided_by"),
            decided_at: opt_ts(row.get("decided_at"))?,
            decline_reason: row.get("decline_reason"),
            client_id: row
                .get::<Option<&str>, _>("client_id")
                .map(|s| parse_uuid(s).map(ClientId::from_uuid))
                .transpose()?,
        })
    }

    async fn insert_client_in(tx: &mut Transaction<'static, Sqlite>, c: &ClientRecord) -> Result<()> {
        let (status, moved_to, moved_at) = status_columns(&c.status);
        sqlx::query(
            "INSERT INTO clients (id, case_id, given_name, family_name, date_of_birth, first_session, extensions,
                 last_day, plan, status, moved_to, moved_at, received_from, created_at, updated_at, eligibility,
                 participation, household_id, pending_extensions, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        )
        .bind(c.id.to_string())
        .bind(c.case_id.to_string())
        .bind(c.identity.given_name.as_str())
        .bind(c.identity.family_name.as_str())
        .bind(c.identity.date_of_birth.to_string())
        .bind(c.window.first_session().to_string())
        .bind(to_json(&c.window.extensions()))
        .bind(c.window.last_day().to_string())
        .bind(to_json(&c.plan))
        .bind(status)
        .bind(moved_to)
        .bind(moved_at)
        .bind(c.received_from.map(|o| o.to_string()))
        .bind(ts(c.created_at))
        .bind(ts(c.updated_at))
        .bind(c.eligibility.as_ref().map(to_json))
        .bind(to_json(&c.participation))
        .bind(c.household.map(|h| h.to_string()))
        .bind(to_json(&c.pending_extensions))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn update_client_in(tx: &mut Transaction<'static, Sqlite>, c: &ClientRecord) -> Result<()> {
        let (status, moved_to, moved_at) = status_columns(&c.status);
        let done = sqlx::query(
            "UPDATE clients SET given_name = ?, family_name = ?, date_of_birth = ?, first_session = ?, extensions = ?,
                 last_day = ?, plan = ?, status = ?, moved_to = ?, moved_at = ?, received_from = ?, updated_at = ?,
                 eligibility = ?, participation = ?, household_id = ?, pending_extensions = ?, version = version + 1
             WHERE id = ? AND version = ?",
        )
        .bind(c.identity.given_name.as_str())
        .bind(c.identity.family_name.as_str())
        .bind(c.identity.date_of_birth.to_string())
        .bind(c.window.first_session().to_string())
        .bind(to_json(&c.window.extensions()))
        .bind(c.window.last_day().to_string())
        .bind(to_json(&c.plan))
        .bind(status)
        .bind(moved_to)
        .bind(moved_at)
        .bind(c.received_from.map(|o| o.to_string()))
        .bind(ts(c.updated_at))
        .bind(c.eligibility.as_ref().map(to_json))
        .bind(to_json(&c.participation))
        .bind(c.household.map(|h| h.to_string()))
        .bind(to_json(&c.pending_extensions))
        .bind(c.id.to_string())
        .bind(c.version)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StorageError::Conflict);
        }
        Ok(())
    }

    async fn insert_outbox_in(tx: &mut Transaction<'static, Sqlite>, m: &OutboxMessage) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox (message_id, kind, destination, jws, created_at, expires_at, attempts, next_attempt_at)
             VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
        )
        .bind(m.message_id.to_string())
        .bind(m.kind.as_str())
        .bind(m.destination.to_string())
        .bind(&m.jws)
        .bind(ts(m.created_at))
        .bind(ts(m.expires_at))
        .bind(ts(m.next_attempt_at))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Inserts into the inbox unless the id is known; tells what was there.
    async fn offer_inbox_in(tx: &mut Transaction<'static, Sqlite>, r: &InboxRecord) -> Result<InboxOutcome> {
        let done = sqlx::query(
            "INSERT INTO inbox (message_id, kind, sender, sha256, jws, receipt, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(r.message_id.to_string())
        .bind(r.kind.as_str())
        .bind(r.sender.to_string())
        .bind(&r.sha256)
        .bind(&r.jws)
        .bind(&r.receipt)
        .bind(ts(r.received_at))
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(InboxOutcome::Stored);
        }
        let row = sqlx::query("SELECT sha256, kind, receipt FROM inbox WHERE message_id = ?")
            .bind(r.message_id.to_string())
            .fetch_one(&mut **tx)
            .await?;
        if row.get::<&str, _>("sha256") == r.sha256 && row.get::<&str, _>("kind") == r.kind.as_str() {
            Ok(InboxOutcome::Duplicate { receipt: row.get("receipt") })
        } else {
            Ok(InboxOutcome::Conflict)
        }
    }

    async fn decide_incoming_in(
        tx: &mut Transaction<'static, Sqlite>,
        message_id: Uuid,
        state: IncomingState,
        decided: &DecidedBy,
        reason: Option<&str>,
        client: Option<ClientId>,
        decision: &OutboxMessage,
    ) -> Result<()> {
        Self::insert_outbox_in(tx, decision).await?;
        let done = sqlx::query(
            "UPDATE incoming_handovers SET state = ?, decided_by = ?, decided_at = ?, decline_reason = ?, client_id = ?,
                 decision_id = ?
             WHERE message_id = ? AND state = 'received'",
        )
        .bind(state.as_str())
        .bind(&decided.account)
        .bind(ts(decided.at))
        .bind(reason)
        .bind(client.map(|c| c.to_string()))
        .bind(decision.message_id.to_string())
        .bind(message_id.to_string())
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StorageError::Conflict);
        }
        Ok(())
    }
}

fn status_columns(status: &ClientStatus) -> (&'static str, Option<String>, Option<String>) {
    match status {
        ClientStatus::Active => ("active", None, None),
        ClientStatus::MovedOut { to, at } => ("moved-out", Some(to.to_string()), Some(ts(*at))),
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn insert_client(&self, client: &ClientRecord) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::insert_client_in(&mut tx, client).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn client(&self, id: ClientId) -> Result<Option<ClientRecord>> {
        let row =
            sqlx::query("SELECT * FROM clients WHERE id = ?").bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(Self::client_from_row).transpose()
    }

    async fn client_by_case(&self, case: CaseId) -> Result<Option<ClientRecord>> {
        let row = sqlx::query("SELECT * FROM clients WHERE case_id = ?")
            .bind(case.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::client_from_row).transpose()
    }

    async fn update_client(&self, client: &ClientRecord) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::update_client_in(&mut tx, client).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_clients(&self, q: &ClientQuery) -> Result<(Vec<ClientRecord>, u64)> {
        // LIKE with our own escape character, so that % and _ in a search are literal.
        let pattern = q.search.as_deref().map(|s| {
            let escaped = s.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        const FILTER: &str = "(?1 IS NULL OR given_name LIKE ?1 ESCAPE '\\' OR family_name LIKE ?1 ESCAPE '\\')
             AND (?2 = 0 OR status = 'active')";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM clients WHERE {FILTER}"))
            .bind(&pattern)
            .bind(q.active_only)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM clients WHERE {FILTER}
             ORDER BY family_name COLLATE NOCASE, given_name COLLATE NOCASE, id LIMIT ?3 OFFSET ?4"
        ))
        .bind(&pattern)
        .bind(q.active_only)
        .bind(i64::from(q.limit))
        .bind(i64::from(q.offset))
        .fetch_all(&self.pool)
        .await?;
        let clients = rows.iter().map(Self::client_from_row).collect::<Result<_>>()?;
        Ok((clients, u64::try_from(total).unwrap_or(0)))
    }

    async fn windows_ending(&self, from: NaiveDate, until: NaiveDate, limit: u32) -> Result<Vec<ClientRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM clients WHERE status = 'active' AND last_day BETWEEN ? AND ?
             ORDER BY last_day, family_name COLLATE NOCASE LIMIT ?",
        )
        .bind(from.to_string())
        .bind(until.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let clients: Vec<ClientRecord> = rows.iter().map(Self::client_from_row).collect::<Result<_>>()?;
        Ok(clients.into_iter().filter(|c| c.participation.is_active()).collect())
    }

    async fn household_members(&self, household: HouseholdId) -> Result<Vec<ClientRecord>> {
        let rows = sqlx::query("SELECT * FROM clients WHERE household_id = ? ORDER BY created_at")
            .bind(household.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::client_from_row).collect()
    }

    async fn insert_session(&self, client: ClientId, s: &CounsellingSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, client_id, date, note, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(client.to_string())
        .bind(s.date.to_string())
        .bind(s.note.as_str())
        .bind(&s.recorded_by)
        .bind(ts(s.recorded_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sessions(&self, client: ClientId) -> Result<Vec<CounsellingSession>> {
        let rows = sqlx::query("SELECT * FROM sessions WHERE client_id = ? ORDER BY date, recorded_at")
            .bind(client.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(CounsellingSession {
                    id: parse_uuid(row.get("id"))?,
                    date: parse_date(row.get("date"))?,
                    note: Text::parse(row.get("note"), "note").map_err(|_| corrupt("session note"))?,
                    recorded_by: row.get("recorded_by"),
                    recorded_at: parse_ts(row.get("recorded_at"))?,
                })
            })
            .collect()
    }

    async fn insert_account(&self, a: &AccountRecord) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO accounts (name, role, password_hash, created_by, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&a.name)
        .bind(a.role.as_str())
        .bind(&a.password_hash)
        .bind(&a.created_by)
        .bind(ts(a.created_at))
        .bind(a.disabled_at.map(ts))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StorageError::Conflict);
        }
        Ok(())
    }

    async fn account(&self, name: &str) -> Result<Option<AccountRecord>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE name = ?").bind(name).fetch_optional(&self.pool).await?;
        row.as_ref().map(Self::account_from_row).transpose()
    }

    async fn list_accounts(&self) -> Result<Vec<AccountRecord>> {
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY name").fetch_all(&self.pool).await?;
        rows.iter().map(Self::account_from_row).collect()
    }

    async fn insert_session_token(
        &self,
        digest: &str,
        account: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        // Expired tokens of the account go when a new one comes.
        sqlx::query("DELETE FROM session_tokens WHERE account = ? AND expires_at <= ?")
            .bind(account)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO session_tokens (digest, account, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(digest)
            .bind(account)
            .bind(ts(now))
            .bind(ts(expires_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_account(&self, digest: &str, now: DateTime<Utc>) -> Result<Option<AccountRecord>> {
        let row = sqlx::query(
            "SELECT a.* FROM session_tokens t JOIN accounts a ON a.name = t.account
             WHERE t.digest = ? AND t.expires_at > ? AND a.disabled_at IS NULL",
        )
        .bind(digest)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::account_from_row).transpose()
    }

    async fn delete_session_token(&self, digest: &str) -> Result<()> {
        sqlx::query("DELETE FROM session_tokens WHERE digest = ?").bind(digest).execute(&self.pool).await?;
        Ok(())
    }

    async fn audit(&self, e: &AuditEntry) -> Result<()> {
        self.audit_all(std::slice::from_ref(e)).await
    }

    async fn audit_all(&self, entries: &[AuditEntry]) -> Result<()> {
        let mut tx = self.begin().await?;
        for e in entries {
            sqlx::query("INSERT INTO audit_log (at, account, action, client_id) VALUES (?, ?, ?, ?)")
                .bind(ts(e.at))
                .bind(&e.account)
                .bind(&e.action)
                .bind(e.client_id.map(|c| c.to_string()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn audit_log(&self, client: ClientId) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE client_id = ? ORDER BY id")
            .bind(client.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    at: parse_ts(row.get("at"))?,
                    account: row.get("account"),
                    action: row.get("action"),
                    client_id: row
                        .get::<Option<&str>, _>("client_id")
                        .map(|s| parse_uuid(s).map(ClientId::from_uuid))
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn insert_consent(&self, c: &ConsentGrant) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (id, client_id, recipient, categories, legal_bases, given_at, witnessed_by, withdrawn_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.to_string())
        .bind(c.client.to_string())
        .bind(c.recipient.to_string())
        .bind(to_json(&c.categories))
        .bind(to_json(&c.legal_bases))
        .bind(ts(c.given_at))
        .bind(&c.witnessed_by)
        .bind(c.withdrawn_at.map(ts))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn consent(&self, id: ConsentId) -> Result<Option<ConsentGrant>> {
        let row =
            sqlx::query("SELECT * FROM consents WHERE id = ?").bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(Self::consent_from_row).transpose()
    }

    async fn withdraw_consent(&self, id: ConsentId, at: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE consents SET withdrawn_at = COALESCE(withdrawn_at, ?) WHERE id = ?")
            .bind(ts(at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StorageError::NotFound);
        }
        // Handovers on this consent that have not reached the receiver are stopped.
        sqlx::query(
            "UPDATE outbox SET failed_at = ?, last_error = 'cancelled: consent withdrawn'
             WHERE delivered_at IS NULL AND failed_at IS NULL AND message_id IN
                 (SELECT id FROM outgoing_handovers WHERE consent_id = ? AND state = 'approved')",
        )
        .bind(ts(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let cancelled = sqlx::query(
            "UPDATE outgoing_handovers SET state = 'cancelled', updated_at = ?
             WHERE consent_id = ? AND state IN ('draft', 'approved')",
        )
        .bind(ts(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(cancelled.rows_affected())
    }

    async fn insert_outgoing(&self, h: &OutgoingHandover) -> Result<()> {
        sqlx::query(
            "INSERT INTO outgoing_handovers (id, client_id, receiver, consent_id, state, created_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(h.id.to_string())
        .bind(h.client_id.to_string())
        .bind(h.receiver.to_string())
        .bind(h.consent_id.to_string())
        .bind(h.state.as_str())
        .bind(&h.created_by)
        .bind(ts(h.created_at))
        .bind(ts(h.created_at))
        .execute(&self.pool)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn open_outgoing(&self, client: ClientId) -> Result<Option<OutgoingHandover>> {
        let row = sqlx::query(
            "SELECT * FROM outgoing_handovers WHERE client_id = ? AND state IN ('draft', 'approved', 'delivered')",
        )
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::outgoing_from_row).transpose()
    }

    async fn cancel_outgoing(&self, id: Uuid, at: DateTime<Utc>, why: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE outgoing_handovers SET state = 'cancelled', updated_at = ? WHERE id = ? AND state IN ('draft', 'approved')",
        )
        .bind(ts(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StorageError::Conflict);
        }
        sqlx::query(
            "UPDATE outbox SET failed_at = ?, last_error = ? WHERE message_id = ? AND delivered_at IS NULL AND failed_at IS NULL",
        )
        .bind(ts(at))
        .bind(format!("cancelled: {why}"))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outgoing(&self, id: Uuid) -> Result<Option<OutgoingHandover>> {
        let row = sqlx::query("SELECT * FROM outgoing_handovers WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::outgoing_from_row).transpose()
    }

    async fn approve_outgoing(&self, id: Uuid, by: &str, at: DateTime<Utc>, message: &OutboxMessage) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE outgoing_handovers SET state = 'approved', approved_by = ?, approved_at = ?, updated_at = ?
             WHERE id = ? AND state = 'draft'",
        )
        .bind(by)
        .bind(ts(at))
        .bind(ts(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StorageError::Conflict);
        }
        Self::insert_outbox_in(&mut tx, message).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
             ORDER BY next_attempt_at LIMIT ?",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::outbox_from_row).collect()
    }

    async fn outbox_message(&self, id: Uuid) -> Result<Option<OutboxMessage>> {
        let row = sqlx::query("SELECT * FROM outbox WHERE message_id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::outbox_from_row).transpose()
    }

    async fn outbox_delivered(&self, id: Uuid, receipt: &str, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE outbox SET delivered_at = ?, receipt = ?, attempts = attempts + 1, last_error = NULL
             WHERE message_id = ? AND delivered_at IS NULL",
        )
        .bind(ts(at))
        .bind(receipt)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE outgoing_handovers SET state = 'delivered', updated_at = ? WHERE id = ? AND state = 'approved'",
        )
        .bind(ts(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox_retry_later(&self, id: Uuid, next_attempt_at: DateTime<Utc>, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE message_id = ?",
        )
        .bind(ts(next_attempt_at))
        .bind(error)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn outbox_failed(&self, id: Uuid, at: DateTime<Utc>, error: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, failed_at = ?, last_error = ? WHERE message_id = ?")
            .bind(ts(at))
            .bind(error)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE outgoing_handovers SET state = 'rejected', updated_at = ? WHERE id = ? AND state = 'approved'",
        )
        .bind(ts(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn inbox(&self, message_id: Uuid) -> Result<Option<InboxRecord>> {
        let row = sqlx::query("SELECT * FROM inbox WHERE message_id = ?")
            .bind(message_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::inbox_from_row).transpose()
    }

    async fn receive_handover(&self, inbox: &InboxRecord, h: &IncomingHandover) -> Result<InboxOutcome> {
        let mut tx = self.begin().await?;
        let outcome = Self::offer_inbox_in(&mut tx, inbox).await?;
        if outcome == InboxOutcome::Stored {
            sqlx::query(
                "INSERT INTO incoming_handovers (message_id, sender, received_at, payload, state) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(h.message.message_id.to_string())
            .bind(h.message.sender.to_string())
            .bind(ts(h.received_at))
            .bind(to_json(&h.message))
            .bind(h.state.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn incoming(&self, message_id: Uuid) -> Result<Option<IncomingHandover>> {
        let row = sqlx::query("SELECT * FROM incoming_handovers WHERE message_id = ?")
            .bind(message_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::incoming_from_row).transpose()
    }

    async fn list_incoming(&self) -> Result<Vec<IncomingHandover>> {
        let rows =
            sqlx::query("SELECT * FROM incoming_handovers ORDER BY received_at DESC").fetch_all(&self.pool).await?;
        rows.iter().map(Self::incoming_from_row).collect()
    }

    async fn accept_incoming(
        &self,
        message_id: Uuid,
        client: AcceptedClient<'_>,
        decided: &DecidedBy,
        decision: &OutboxMessage,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let client_id = match client {
            AcceptedClient::New(c) => {
                Self::insert_client_in(&mut tx, c).await?;
                c.id
            }
            AcceptedClient::Continued(c) => {
                Self::update_client_in(&mut tx, c).await?;
                c.id
            }
        };
        Self::decide_incoming_in(
            &mut tx,
            message_id,
            IncomingState::Accepted,
            decided,
            None,
            Some(client_id),
            decision,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn decline_incoming(
        &self,
        message_id: Uuid,
        decided: &DecidedBy,
        reason: &str,
        decision: &OutboxMessage,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::decide_incoming_in(&mut tx, message_id, IncomingState::Declined, decided, Some(reason), None, decision)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn receive_decision(&self, inbox: &InboxRecord, d: &AppliedDecision) -> Result<InboxOutcome> {
        let mut tx = self.begin().await?;
        let outcome = Self::offer_inbox_in(&mut tx, inbox).await?;
        if outcome != InboxOutcome::Stored {
            tx.commit().await?;
            return Ok(outcome);
        }
        let state = match d.decision {
            Decision::Accepted => OutgoingState::Accepted,
            Decision::Declined => OutgoingState::Declined,
        };
        // A decision may overtake our record of the receipt (a lost 202): approved counts too.
        let done = sqlx::query(
            "UPDATE outgoing_handovers SET state = ?, decided_at = ?, decline_reason = ?, updated_at = ?
             WHERE id = ? AND receiver = ? AND state IN ('approved', 'delivered')",
        )
        .bind(state.as_str())
        .bind(ts(d.decided_at))
        .bind(d.reason.as_deref())
        .bind(ts(inbox.received_at))
        .bind(d.handover_id.to_string())
        .bind(d.from.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // Rolls back the inbox row too: the decision is refused, not stored.
            return Err(StorageError::Conflict);
        }
        if d.decision == Decision::Accepted {
            sqlx::query(
                "UPDATE clients SET status = 'moved-out', moved_to = ?, moved_at = ?, updated_at = ?, version = version + 1
                 WHERE id = (SELECT client_id FROM outgoing_handovers WHERE id = ?)",
            )
            .bind(d.from.to_string())
            .bind(ts(d.decided_at))
            .bind(ts(inbox.received_at))
            .bind(d.handover_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}
