//! Consents, on SQLite.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{
    SqliteUnit, from_json, one_row, opt_str, parse_office, parse_ts, parse_uuid, to_json, ts, unique_is_conflict,
};
use crate::domain::{ClientId, ConsentGrant, ConsentId};
use crate::storage::{Consents, Result};

fn consent_from_row(row: &SqliteRow) -> Result<ConsentGrant> {
    Ok(ConsentGrant {
        id: ConsentId::from_uuid(parse_uuid(row.get("id"))?),
        client: ClientId::from_uuid(parse_uuid(row.get("client_id"))?),
        recipient: parse_office(row.get("recipient"))?,
        categories: from_json(row.get("categories"), "categories")?,
        legal_bases: from_json(row.get("legal_bases"), "legal bases")?,
        given_at: parse_ts(row.get("given_at"))?,
        witnessed_by: row.get("witnessed_by"),
        withdrawn_at: opt_str(row, "withdrawn_at").map(|s| parse_ts(&s)).transpose()?,
        version: row.get("version"),
    })
}

#[async_trait]
impl Consents for SqliteUnit {
    async fn get(&mut self, id: ConsentId) -> Result<Option<ConsentGrant>> {
        let row = sqlx::query("SELECT * FROM consents WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(consent_from_row).transpose()
    }

    async fn insert(&mut self, c: &ConsentGrant) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (id, client_id, recipient, categories, legal_bases, given_at, witnessed_by, withdrawn_at, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.to_string())
        .bind(c.client.to_string())
        .bind(c.recipient.to_string())
        .bind(to_json(&c.categories))
        .bind(to_json(&c.legal_bases))
        .bind(ts(c.given_at))
        .bind(&c.witnessed_by)
        .bind(c.withdrawn_at.map(ts))
        .bind(c.version)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn update(&mut self, c: &mut ConsentGrant) -> Result<()> {
        let done =
            sqlx::query("UPDATE consents SET withdrawn_at = ?, version = version + 1 WHERE id = ? AND version = ?")
                .bind(c.withdrawn_at.map(ts))
                .bind(c.id.to_string())
                .bind(c.version)
                .execute(&mut *self.tx)
                .await?;
        one_row(done)?;
        c.version += 1;
        Ok(())
    }
}
