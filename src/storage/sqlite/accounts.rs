//! Staff accounts and session tokens, on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteUnit, corrupt, one_row, opt_str, parse_ts, ts, unique_is_conflict};
use crate::domain::staff::{Account, Role};
use crate::storage::{Accounts, Result, StorageError};

fn account_from_row(row: &SqliteRow) -> Result<Account> {
    Ok(Account {
        name: row.get("name"),
        role: Role::parse(row.get("role")).ok_or_else(|| corrupt("role"))?,
        password_hash: row.get("password_hash"),
        created_by: row.get("created_by"),
        created_at: parse_ts(row.get("created_at"))?,
        disabled_at: opt_str(row, "disabled_at").map(|s| parse_ts(&s)).transpose()?,
    })
}

#[async_trait]
impl Accounts for SqliteUnit {
    async fn insert(&mut self, a: &Account) -> Result<()> {
        sqlx::query(
            "INSERT INTO accounts (name, role, password_hash, created_by, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.name)
        .bind(a.role.as_str())
        .bind(&a.password_hash)
        .bind(&a.created_by)
        .bind(ts(a.created_at))
        .bind(a.disabled_at.map(ts))
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn get(&mut self, name: &str) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE name = ?").bind(name).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn list(&mut self) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY name").fetch_all(&mut *self.tx).await?;
        rows.iter().map(account_from_row).collect()
    }

    async fn update(&mut self, read: &Account, changed: &Account) -> Result<()> {
        let done = sqlx::query(
            "UPDATE accounts SET password_hash = ?, disabled_at = ?
             WHERE name = ? AND password_hash = ? AND disabled_at IS ?",
        )
        .bind(&changed.password_hash)
        .bind(changed.disabled_at.map(ts))
        .bind(&read.name)
        .bind(&read.password_hash)
        .bind(read.disabled_at.map(ts))
        .execute(&mut *self.tx)
        .await?;
        one_row(done)
    }

    async fn delete(&mut self, read: &Account) -> Result<()> {
        // The guard first: nothing goes unless the account is as read.
        let unchanged = sqlx::query("SELECT 1 FROM accounts WHERE name = ? AND password_hash = ? AND disabled_at IS ?")
            .bind(&read.name)
            .bind(&read.password_hash)
            .bind(read.disabled_at.map(ts))
            .fetch_optional(&mut *self.tx)
            .await?;
        if unchanged.is_none() {
            return Err(StorageError::Conflict);
        }
        self.delete_sessions(&read.name).await?;
        let done = sqlx::query("DELETE FROM accounts WHERE name = ?").bind(&read.name).execute(&mut *self.tx).await?;
        one_row(done)
    }

    async fn delete_sessions(&mut self, account: &str) -> Result<()> {
        sqlx::query("DELETE FROM session_tokens WHERE account = ?").bind(account).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn enabled_administrators(&mut self) -> Result<Vec<String>> {
        // A writing unit holds SQLite's one write lock from its start (`BEGIN IMMEDIATE`).
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
        sqlx::query("DELETE FROM session_tokens WHERE account = ? AND expires_at <= ?")
            .bind(account)
            .bind(ts(now))
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO session_tokens (digest, account, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(digest)
            .bind(account)
            .bind(ts(now))
            .bind(ts(expires_at))
            .execute(&mut *self.tx)
            .await
            .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn session_account(&mut self, digest: &str, now: DateTime<Utc>) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT a.* FROM session_tokens t JOIN accounts a ON a.name = t.account
             WHERE t.digest = ? AND t.expires_at > ? AND a.disabled_at IS NULL",
        )
        .bind(digest)
        .bind(ts(now))
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn delete_session(&mut self, digest: &str) -> Result<()> {
        sqlx::query("DELETE FROM session_tokens WHERE digest = ?").bind(digest).execute(&mut *self.tx).await?;
        Ok(())
    }
}
