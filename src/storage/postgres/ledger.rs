//! The consent ledger and the heads of other offices' ledgers, on PostgreSQL (append-only:
//! triggers refuse UPDATE, DELETE and TRUNCATE). `head()` takes a transaction-scoped advisory
//! lock, so units of work append one after the other.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{PgUnit, corrupt, unique_is_conflict};
use crate::domain::ledger::{LedgerEntry, LedgerHead, LedgerRow};
use crate::domain::{ClientId, ConsentId, OfficeId};
use crate::storage::{Ledger, Result};

/// The advisory lock key of the ledger (one ledger per database).
const LEDGER_LOCK: i64 = 0x5354_4146_4645_4c31; // "STAFFEL1"

fn row_of(row: &PgRow) -> Result<LedgerRow> {
    Ok(LedgerRow {
        seq: u64::try_from(row.get::<i64, _>("seq")).map_err(|_| corrupt("ledger seq"))?,
        at: row.get("at"),
        prev: row.get("prev"),
        hash: row.get("hash"),
        kind: row.get("kind"),
        client_id: row.get::<Option<Uuid>, _>("client_id").map(ClientId::from_uuid),
        consent_id: row.get::<Option<Uuid>, _>("consent_id").map(ConsentId::from_uuid),
        canonical: row.get("canonical"),
    })
}

fn seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl Ledger for PgUnit {
    async fn head(&mut self) -> Result<LedgerHead> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LEDGER_LOCK).execute(&mut *self.tx).await?;
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
            "INSERT INTO ledger (seq, at, prev, hash, kind, client_id, consent_id, canonical)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(seq(r.seq))
        .bind(r.at)
        .bind(&r.prev)
        .bind(&r.hash)
        .bind(&r.kind)
        .bind(r.client_id.map(|c| c.as_uuid()))
        .bind(r.consent_id.map(|c| c.as_uuid()))
        .bind(&r.canonical)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn rows(&mut self, after: u64, limit: u32) -> Result<Vec<LedgerRow>> {
        let rows = sqlx::query("SELECT * FROM ledger WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(seq(after))
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(row_of).collect()
    }

    async fn of_client(&mut self, client: ClientId) -> Result<Vec<LedgerRow>> {
        let rows = sqlx::query("SELECT * FROM ledger WHERE client_id = $1 ORDER BY seq")
            .bind(client.as_uuid())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(row_of).collect()
    }

    async fn of_consent(&mut self, consent: ConsentId) -> Result<Vec<LedgerRow>> {
        let rows = sqlx::query("SELECT * FROM ledger WHERE consent_id = $1 ORDER BY seq")
            .bind(consent.as_uuid())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(row_of).collect()
    }

    async fn hash_at(&mut self, n: u64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT hash FROM ledger WHERE seq = $1")
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
            "INSERT INTO peer_heads (office, seq, hash, message_id, received_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
        )
        .bind(office.to_string())
        .bind(seq(head.seq))
        .bind(&head.hash)
        .bind(message_id)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn peer_heads(&mut self, office: OfficeId) -> Result<Vec<LedgerHead>> {
        let rows = sqlx::query("SELECT DISTINCT seq, hash FROM peer_heads WHERE office = $1 ORDER BY seq, hash")
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
