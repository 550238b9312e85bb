//! The consent ledger and the heads of other offices' ledgers, on SQLite (append-only: triggers
//! refuse UPDATE and DELETE). Units of work that write begin IMMEDIATE, so appends are serial.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{SqliteUnit, corrupt, opt_str, parse_ts, parse_uuid, ts, unique_is_conflict};
use crate::domain::ledger::{LedgerEntry, LedgerHead, LedgerRow};
use crate::domain::{ClientId, ConsentId, OfficeId};
use crate::storage::{Ledger, Result};

fn row_of(row: &SqliteRow) -> Result<LedgerRow> {
    Ok(LedgerRow {
        seq: u64::try_from(row.get::<i64, _>("seq")).map_err(|_| corrupt("ledger seq"))?,
        at: parse_ts(row.get("at"))?,
        prev: row.get("prev"),
        hash: row.get("hash"),
        kind: row.get("kind"),
        client_id: opt_str(row, "client_id").map(|s| parse_uuid(&s).map(ClientId::from_uuid)).transpose()?,
        consent_id: opt_str(row, "consent_id").map(|s| parse_uuid(&s).map(ConsentId::from_uuid)).transpose()?,
        canonical: row.get("canonical"),
    })
}

fn seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl Ledger for SqliteUnit {
    async fn head(&mut self) -> Result<LedgerHead> {
        let row =
            sqlx::query("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *self.tx).await?;
        Ok(match row {
            Some(row) => LedgerHead {
                seq: u64::try_from(row.get::<i64, _>("seq")).map_err(|_| corrupt("ledger seq"))?,
                hash: row.get("hash"),
            },
            None => LedgerHead::empty(),
        })
    }

    async fn append(&mut self, e: &LedgerEntry) -> Result<()> {
        let r = LedgerRow::of(e);
        sqlx::query(
            "INSERT INTO ledger (seq, at, prev, hash, kind, client_id, consent_id, canonical) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(seq(r.seq))
        .bind(ts(r.at))
        .bind(&r.prev)
        .bind(&r.hash)
        .bind(&r.kind)
        .bind(r.client_id.map(|c| c.to_string()))
        .bind(r.consent_id.map(|c| c.to_string()))
        .bind(&r.canonical)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn rows(&mut self, after: u64, limit: u32) -> Result<Vec<LedgerRow>> {
        let rows = sqlx::query("SELECT * FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(seq(after))
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(row_of).collect()
    }

    async fn of_client(&mut self, client: ClientId) -> Result<Vec<LedgerRow>> {
        let rows = sqlx::query("SELECT * FROM ledger WHERE client_id = ? ORDER BY seq")
            .bind(client.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(row_of).collect()
    }

    async fn of_consent(&mut self, consent: ConsentId) -> Result<Vec<LedgerRow>> {
        let rows = sqlx::query("SELECT * FROM ledger WHERE consent_id = ? ORDER BY seq")
            .bind(consent.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(row_of).collect()
    }

    async fn hash_at(&mut self, n: u64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT hash FROM ledger WHERE seq = ?")
            .bind(seq(n))
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn insert_peer_head(
        &mut self,
        office: OfficeId,
        head: &LedgerHead,
        message_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO peer_heads (office, seq, hash, message_id, received_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(office.to_string())
        .bind(seq(head.seq))
        .bind(&head.hash)
        .bind(message_id.to_string())
        .bind(ts(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn peer_heads(&mut self, office: OfficeId) -> Result<Vec<LedgerHead>> {
        let rows = sqlx::query("SELECT DISTINCT seq, hash FROM peer_heads WHERE office = ? ORDER BY seq, hash")
            .bind(office.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(LedgerHead {
                    seq: u64::try_from(row.get::<i64, _>("seq")).map_err(|_| corrupt("ledger seq"))?,
                    hash: row.get("hash"),
                })
            })
            .collect()
    }
}
