//! The audit log, on PostgreSQL (append-only: triggers refuse UPDATE, DELETE and TRUNCATE).

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::PgUnit;
use crate::domain::ClientId;
use crate::domain::audit::AuditEntry;
use crate::storage::{Audit, Result};

#[async_trait]
impl Audit for PgUnit {
    async fn append(&mut self, entries: &[AuditEntry]) -> Result<()> {
        for e in entries {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO audit_log (at, account, action, client_id) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(e.at)
            .bind(&e.account)
            .bind(&e.action)
            .bind(e.client_id.map(|c| c.as_uuid()))
            .fetch_one(&mut *self.tx)
            .await?;
            if !e.subjects.is_empty() {
                sqlx::query(
                    "INSERT INTO audit_subjects (audit_id, subject) SELECT $1, s FROM unnest($2::uuid[]) AS s
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(&e.subjects)
                .execute(&mut *self.tx)
                .await?;
            }
        }
        Ok(())
    }

    async fn for_client(&mut self, client: ClientId, after: Option<i64>, limit: u32) -> Result<Vec<(i64, AuditEntry)>> {
        let rows = sqlx::query(
            "SELECT id, at, account, action, client_id FROM audit_log
             WHERE (client_id = $1 OR id IN (SELECT audit_id FROM audit_subjects WHERE subject = $1)) AND id > $2
             ORDER BY id LIMIT $3",
        )
        .bind(client.as_uuid())
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let entry = AuditEntry {
                    at: row.get("at"),
                    account: row.get("account"),
                    action: row.get("action"),
                    client_id: row.get::<Option<Uuid>, _>("client_id").map(ClientId::from_uuid),
                    subjects: Vec::new(),
                };
                (row.get("id"), entry)
            })
            .collect())
    }
}
