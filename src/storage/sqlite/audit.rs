//! The audit log, on SQLite (append-only: triggers refuse UPDATE and DELETE).

use async_trait::async_trait;
use sqlx::Row;

use super::{SqliteUnit, opt_str, parse_ts, parse_uuid, ts};
use crate::domain::ClientId;
use crate::domain::audit::AuditEntry;
use crate::storage::{Audit, Result};

#[async_trait]
impl Audit for SqliteUnit {
    async fn append(&mut self, entries: &[AuditEntry]) -> Result<()> {
        for e in entries {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO audit_log (at, account, action, client_id) VALUES (?, ?, ?, ?) RETURNING id",
            )
            .bind(ts(e.at))
            .bind(&e.account)
            .bind(&e.action)
            .bind(e.client_id.map(|c| c.to_string()))
            .fetch_one(&mut *self.tx)
            .await?;
            for subject in &e.subjects {
                sqlx::query("INSERT INTO audit_subjects (audit_id, subject) VALUES (?, ?) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(subject.to_string())
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        Ok(())
    }

    async fn for_client(&mut self, client: ClientId, after: Option<i64>, limit: u32) -> Result<Vec<(i64, AuditEntry)>> {
        let rows = sqlx::query(
            "SELECT id, at, account, action, client_id FROM audit_log
             WHERE (client_id = ?1 OR id IN (SELECT audit_id FROM audit_subjects WHERE subject = ?1)) AND id > ?2
             ORDER BY id LIMIT ?3",
        )
        .bind(client.to_string())
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.get("id"),
                    AuditEntry {
                        at: parse_ts(row.get("at"))?,
                        account: row.get("account"),
                        action: row.get("action"),
                        client_id: opt_str(row, "client_id")
                            .map(|s| parse_uuid(&s).map(ClientId::from_uuid))
                            .transpose()?,
                        subjects: Vec::new(),
                    },
                ))
            })
            .collect()
    }
}
