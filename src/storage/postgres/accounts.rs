//! Staff accounts and session tokens, on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgUnit, corrupt, unique_is_conflict};
use crate::domain::staff::{Account, Role};
use crate::storage::{Accounts, Result};

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
