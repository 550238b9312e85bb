//! Consents, on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgUnit, from_json, one_row, parse_office, to_json, unique_is_conflict};
use crate::domain::{ClientId, ConsentGrant, ConsentId};
use crate::storage::{Consents, Result};

fn consent_from_row(row: &PgRow) -> Result<ConsentGrant> {
    Ok(ConsentGrant {
        id: ConsentId::from_uuid(row.get("id")),
        client: ClientId::from_uuid(row.get("client_id")),
        recipient: parse_office(row.get("recipient"))?,
        categories: from_json(row.get("categories"), "categories")?,
        legal_bases: from_json(row.get("legal_bases"), "legal bases")?,
        given_at: row.get("given_at"),
        witnessed_by: row.get("witnessed_by"),
        withdrawn_at: row.get("withdrawn_at"),
        version: row.get("version"),
    })
}

#[async_trait]
impl Consents for PgUnit {
    async fn get(&mut self, id: ConsentId) -> Result<Option<ConsentGrant>> {
        let row = sqlx::query(
            "SELECT id, client_id, recipient, categories::text AS categories, legal_bases::text AS legal_bases, given_at,
                 witnessed_by, withdrawn_at, version
             FROM consents WHERE id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(consent_from_row).transpose()
    }

    async fn insert(&mut self, c: &ConsentGrant) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (id, client_id, recipient, categories, legal_bases, given_at, witnessed_by, withdrawn_at, version)
             VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9)",
        )
        .bind(c.id.as_uuid())
        .bind(c.client.as_uuid())
        .bind(c.recipient.to_string())
        .bind(to_json(&c.categories))
        .bind(to_json(&c.legal_bases))
        .bind(c.given_at)
        .bind(&c.witnessed_by)
        .bind(c.withdrawn_at)
        .bind(c.version)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn update(&mut self, c: &mut ConsentGrant) -> Result<()> {
        let done =
            sqlx::query("UPDATE consents SET withdrawn_at = $1, version = version + 1 WHERE id = $2 AND version = $3")
                .bind(c.withdrawn_at)
                .bind(c.id.as_uuid())
                .bind(c.version)
                .execute(&mut *self.tx)
                .await?;
        one_row(done)?;
        c.version += 1;
        Ok(())
    }
}
