//! The outbox of signed messages, on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{
    SqliteUnit, corrupt, kind_of, one_row, opt_str, parse_office, parse_ts, parse_uuid, ts, unique_is_conflict,
};
use crate::domain::delivery::OutboxMessage;
use crate::storage::{Outbox, PendingOutbox, Result};

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
        delivered_at: opt_str(row, "delivered_at").map(|s| parse_ts(&s)).transpose()?,
        receipt: row.get("receipt"),
        failed_at: opt_str(row, "failed_at").map(|s| parse_ts(&s)).transpose()?,
        last_error: row.get("last_error"),
        version: row.get("version"),
    })
}

#[async_trait]
impl Outbox for SqliteUnit {
    async fn insert(&mut self, m: &OutboxMessage) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox (message_id, kind, destination, jws, created_at, expires_at, attempts, next_attempt_at,
                 delivered_at, receipt, failed_at, last_error, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(m.message_id.to_string())
        .bind(m.kind.as_str())
        .bind(m.destination.to_string())
        .bind(&m.jws)
        .bind(ts(m.created_at))
        .bind(ts(m.expires_at))
        .bind(i64::from(m.attempts))
        .bind(ts(m.next_attempt_at))
        .bind(m.delivered_at.map(ts))
        .bind(&m.receipt)
        .bind(m.failed_at.map(ts))
        .bind(&m.last_error)
        .bind(m.version)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn get(&mut self, id: Uuid) -> Result<Option<OutboxMessage>> {
        let row = sqlx::query("SELECT * FROM outbox WHERE message_id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(outbox_from_row).transpose()
    }

    async fn update(&mut self, m: &mut OutboxMessage) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbox SET attempts = ?, next_attempt_at = ?, delivered_at = ?, receipt = ?, failed_at = ?,
                 last_error = ?, version = version + 1
             WHERE message_id = ? AND version = ?",
        )
        .bind(i64::from(m.attempts))
        .bind(ts(m.next_attempt_at))
        .bind(m.delivered_at.map(ts))
        .bind(&m.receipt)
        .bind(m.failed_at.map(ts))
        .bind(&m.last_error)
        .bind(m.message_id.to_string())
        .bind(m.version)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)?;
        m.version += 1;
        Ok(())
    }

    async fn due(&mut self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
             ORDER BY next_attempt_at, message_id LIMIT ?",
        )
        .bind(ts(now))
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
                    oldest_created_at: parse_ts(row.get("oldest"))?,
                })
            })
            .collect()
    }
}
