//! The inbox of received messages, on SQLite.

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::{SqliteUnit, kind_of, parse_office, parse_ts, parse_uuid, ts};
use crate::storage::{Inbox, InboxOutcome, InboxRecord, Result};

#[async_trait]
impl Inbox for SqliteUnit {
    async fn get(&mut self, message_id: Uuid) -> Result<Option<InboxRecord>> {
        let row = sqlx::query("SELECT * FROM inbox WHERE message_id = ?")
            .bind(message_id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|row| {
            Ok(InboxRecord {
                message_id: parse_uuid(row.get("message_id"))?,
                kind: kind_of(row.get("kind"))?,
                sender: parse_office(row.get("sender"))?,
                sha256: row.get("sha256"),
                jws: row.get("jws"),
                receipt: row.get("receipt"),
                received_at: parse_ts(row.get("received_at"))?,
            })
        })
        .transpose()
    }

    async fn offer(&mut self, r: &InboxRecord) -> Result<InboxOutcome> {
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
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(InboxOutcome::Stored);
        }
        let row = sqlx::query("SELECT sha256, kind, receipt FROM inbox WHERE message_id = ?")
            .bind(r.message_id.to_string())
            .fetch_one(&mut *self.tx)
            .await?;
        if row.get::<&str, _>("sha256") == r.sha256 && row.get::<&str, _>("kind") == r.kind.as_str() {
            Ok(InboxOutcome::Duplicate { receipt: row.get("receipt") })
        } else {
            Ok(InboxOutcome::Conflict)
        }
    }
}
