//! Staff accounts and session tokens, on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgUnit, corrupt, one_row, unique_is_conflict};
use crate::domain::staff::{Account, Role};
use crate::storage::{Accounts, Result, StorageError};

/// The advisory lock taken by [`Accounts::enabled_administrators`]: "STAFFACC".
const ACCOUNTS_LOCK: i64 = 0x5354_4146_4641_4343;

fn account_from_row(row: &PgRow) -> Result<Account> {
    Ok(Account {
        name: row.get("name"),
        role: Role::parse(row.get("role")).ok_or_else(|| corrupt("role"))?,
        password_hash: row.get("password_hash"),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        disabled_at: row.get("disabled_at"),
    })
}

#[async_trait]
impl Accounts for PgUnit {
    async fn insert(&mut self, a: &Account) -> Result<()> {
        sqlx::query(
            "INSERT INTO accounts (name, role, password_hash, created_by, created_at, disabled_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&a.name)
        .bind(a.role.as_str())
        .bind(&a.password_hash)
        .bind(&a.created_by)
        .bind(a.created_at)
        .bind(a.disabled_at)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn get(&mut self, name: &str) -> Result<Option<Account>> {
        let row =
            sqlx::query("SELECT * FROM accounts WHERE name = $1").bind(name).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn list(&mut self) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY name").fetch_all(&mut *self.tx).await?;
        rows.iter().map(account_from_row).collect()
    }

    async fn update(&mut self, read: &Account, changed: &Account) -> Result<()> {
        let done = sqlx::query(
            "UPDATE accounts SET password_hash = $1, disabled_at = $2
             WHERE name = $3 AND password_hash = $4 AND disabled_at IS NOT DISTINCT FROM $5",
        )
        .bind(&changed.password_hash)
        .bind(changed.disabled_at)
        .bind(&read.name)
        .bind(&read.password_hash)
        .bind(read.disabled_at)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)
    }

    async fn delete(&mut self, read: &Account) -> Result<()> {
        // The guard first, the row locked until the end of the unit: nothing goes unless the
        // account is as read.
        let unchanged = sqlx::query(
            "SELECT 1 FROM accounts
             WHERE name = $1 AND password_hash = $2 AND disabled_at IS NOT DISTINCT FROM $3 FOR UPDATE",
        )
        .bind(&read.name)
        .bind(&read.password_hash)
        .bind(read.disabled_at)
        .fetch_optional(&mut *self.tx)
        .await?;
        if unchanged.is_none() {
            return Err(StorageError::Conflict);
        }
        self.delete_sessions(&read.name).await?;
        let done = sqlx::query("DELETE FROM accounts WHERE name = $1").bind(&read.name).execute(&mut *self.tx).await?;
        one_row(done)
    }

    async fn delete_sessions(&mut self, account: &str) -> Result<()> {
        sqlx::query("DELETE FROM session_tokens WHERE account = $1").bind(account).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn enabled_administrators(&mut self) -> Result<Vec<String>> {
        // Held until commit or rollback; each statement after it sees what was committed before.
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ACCOUNTS_LOCK).execute(&mut *self.tx).await?;
        let rows =
            sqlx::query("SELECT name FROM accounts WHERE role = 'administrator' AND disabled_at IS NULL ORDER BY name")
                .fetch_all(&mut *self.tx)
                .await?;
        Ok(rows.iter().map(|r| r.get("name")).collect())
    }

    async fn insert_session(
        &mut self,
        digest: &str,
        account: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("DELETE FROM session_tokens WHERE account = $1 AND expires_at <= $2")
            .bind(account)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO session_tokens (digest, account, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(digest)
            .bind(account)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *self.tx)
            .await
            .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn session_account(&mut self, digest: &str, now: DateTime<Utc>) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT a.* FROM session_tokens t JOIN accounts a ON a.name = t.account
             WHERE t.digest = $1 AND t.expires_at > $2 AND a.disabled_at IS NULL",
        )
        .bind(digest)
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn delete_session(&mut self, digest: &str) -> Result<()> {
        sqlx::query("DELETE FROM session_tokens WHERE digest = $1").bind(digest).execute(&mut *self.tx).await?;
        Ok(())
    }
}
