//! The outbox of signed messages, on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{PgUnit, corrupt, kind_of, one_row, parse_office, unique_is_conflict};
use crate::domain::delivery::OutboxMessage;
use crate::storage::{Outbox, PendingOutbox, Result};

fn outbox_from_row(row: &PgRow) -> Result<OutboxMessage> {
    Ok(OutboxMessage {
        message_id: row.get("message_id"),
        kind: kind_of(row.get("kind"))?,
        destination: parse_office(row.get("destination"))?,
        jws: row.get("jws"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        attempts: u32::try_from(row.get::<i32, _>("attempts")).map_err(|_| corrupt("attempts"))?,
        next_attempt_at: row.get("next_attempt_at"),
        delivered_at: row.get("delivered_at"),
        receipt: row.get("receipt"),
        failed_at: row.get("failed_at"),
        last_error: row.get("last_error"),
        version: row.get("version"),
    })
}

fn attempts(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[async_trait]
impl Outbox for PgUnit {
    async fn insert(&mut self, m: &OutboxMessage) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox (message_id, kind, destination, jws, created_at, expires_at, attempts, next_attempt_at,
                 delivered_at, receipt, failed_at, last_error, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(m.message_id)
        .bind(m.kind.as_str())
        .bind(m.destination.to_string())
        .bind(&m.jws)
        .bind(m.created_at)
        .bind(m.expires_at)
        .bind(attempts(m.attempts))
        .bind(m.next_attempt_at)
        .bind(m.delivered_at)
        .bind(&m.receipt)
        .bind(m.failed_at)
        .bind(&m.last_error)
        .bind(m.version)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn get(&mut self, id: Uuid) -> Result<Option<OutboxMessage>> {
        let row =
            sqlx::query("SELECT * FROM outbox WHERE message_id = $1").bind(id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(outbox_from_row).transpose()
    }

    async fn update(&mut self, m: &mut OutboxMessage) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbox SET attempts = $1, next_attempt_at = $2, delivered_at = $3, receipt = $4, failed_at = $5,
                 last_error = $6, version = version + 1
             WHERE message_id = $7 AND version = $8",
        )
        .bind(attempts(m.attempts))
        .bind(m.next_attempt_at)
        .bind(m.delivered_at)
        .bind(&m.receipt)
        .bind(m.failed_at)
        .bind(&m.last_error)
        .bind(m.message_id)
        .bind(m.version)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)?;
        m.version += 1;
        Ok(())
    }

    async fn due(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
             ORDER BY next_attempt_at, message_id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    async fn pending_by_destination(&mut self) -> Result<Vec<PendingOutbox>> {
        let rows = sqlx::query(
            "SELECT destination, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox
             WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY destination ORDER BY destination",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingOutbox {
                    destination: parse_office(row.get("destination"))?,
                    messages: u64::try_from(row.get::<i64, _>("n")).map_err(|_| corrupt("count"))?,
                    oldest_created_at: row.get("oldest"),
                })
            })
            .collect()
    }
}
