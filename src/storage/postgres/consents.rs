//! Consents and consent pages, on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{PgUnit, from_json, one_row, parse_office, to_json, unique_is_conflict};
use crate::domain::consent::ConsentText;
use crate::domain::consent_request::{ConsentAsk, ConsentRequest};
use crate::domain::{ClientId, ConsentGrant, ConsentId};
use crate::storage::{Consents, Result};

const CONSENT: &str = "id, client_id, recipient, categories::text AS categories, legal_bases::text AS legal_bases,
    given_at, witnessed_by, withdrawn_at, version, text_id, text_version, text_language, text_sha256,
    method::text AS method, expires_at, ended::text AS ended, withdrawal_code_sha256";

fn consent_from_row(row: &PgRow) -> Result<ConsentGrant> {
    Ok(ConsentGrant {
        id: ConsentId::from_uuid(row.get("id")),
        client: ClientId::from_uuid(row.get("client_id")),
        recipient: parse_office(row.get("recipient"))?,
        categories: from_json(row.get("categories"), "categories")?,
        legal_bases: from_json(row.get("legal_bases"), "legal bases")?,
        given_at: row.get("given_at"),
        witnessed_by: row.get("witnessed_by"),
        text: ConsentText {
            id: row.get("text_id"),
            version: row.get("text_version"),
            language: row.get("text_language"),
            sha256: row.get("text_sha256"),
        },
        method: from_json(row.get("method"), "consent method")?,
        expires_at: row.get("expires_at"),
        withdrawn_at: row.get("withdrawn_at"),
        end: row.get::<Option<&str>, _>("ended").map(|s| from_json(s, "consent end")).transpose()?,
        withdrawal_code: row.get("withdrawal_code_sha256"),
        version: row.get("version"),
    })
}

fn request_from_row(row: &PgRow) -> Result<ConsentRequest> {
    Ok(ConsentRequest {
        token_sha256: row.get("token_sha256"),
        ask: ConsentAsk {
            client: ClientId::from_uuid(row.get("client_id")),
            recipient: parse_office(row.get("recipient"))?,
            categories: from_json(row.get("categories"), "categories")?,
            language: row.get("language"),
            consent_expires_at: row.get("consent_expires_at"),
        },
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        consent_id: row.get::<Option<Uuid>, _>("consent_id").map(ConsentId::from_uuid),
        version: row.get("version"),
    })
}

#[async_trait]
impl Consents for PgUnit {
    async fn get(&mut self, id: ConsentId) -> Result<Option<ConsentGrant>> {
        let row = sqlx::query(&format!("SELECT {CONSENT} FROM consents WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(consent_from_row).transpose()
    }

    async fn by_withdrawal_code(&mut self, code_sha256: &str) -> Result<Option<ConsentGrant>> {
        let row = sqlx::query(&format!("SELECT {CONSENT} FROM consents WHERE withdrawal_code_sha256 = $1"))
            .bind(code_sha256)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(consent_from_row).transpose()
    }

    async fn of_client(&mut self, client: ClientId) -> Result<Vec<ConsentGrant>> {
        let rows = sqlx::query(&format!("SELECT {CONSENT} FROM consents WHERE client_id = $1 ORDER BY given_at, id"))
            .bind(client.as_uuid())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(consent_from_row).collect()
    }

    async fn insert(&mut self, c: &ConsentGrant) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (id, client_id, recipient, categories, legal_bases, given_at, witnessed_by, withdrawn_at,
                 version, text_id, text_version, text_language, text_sha256, method, expires_at, ended,
                 withdrawal_code_sha256)
             VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16::jsonb, $17)",
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
        .bind(&c.text.id)
        .bind(&c.text.version)
        .bind(&c.text.language)
        .bind(&c.text.sha256)
        .bind(to_json(&c.method))
        .bind(c.expires_at)
        .bind(c.end.as_ref().map(to_json))
        .bind(&c.withdrawal_code)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn update(&mut self, c: &mut ConsentGrant) -> Result<()> {
        let done = sqlx::query(
            "UPDATE consents SET withdrawn_at = $1, ended = $2::jsonb, version = version + 1 WHERE id = $3 AND version = $4",
        )
        .bind(c.withdrawn_at)
        .bind(c.end.as_ref().map(to_json))
        .bind(c.id.as_uuid())
        .bind(c.version)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)?;
        c.version += 1;
        Ok(())
    }

    async fn insert_request(&mut self, r: &ConsentRequest) -> Result<()> {
        sqlx::query(
            "INSERT INTO consent_requests (token_sha256, client_id, recipient, categories, language, created_by,
                 created_at, expires_at, consent_id, version, consent_expires_at)
             VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&r.token_sha256)
        .bind(r.ask.client.as_uuid())
        .bind(r.ask.recipient.to_string())
        .bind(to_json(&r.ask.categories))
        .bind(&r.ask.language)
        .bind(&r.created_by)
        .bind(r.created_at)
        .bind(r.expires_at)
        .bind(r.consent_id.map(|c| c.as_uuid()))
        .bind(r.version)
        .bind(r.ask.consent_expires_at)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn request(&mut self, token_sha256: &str) -> Result<Option<ConsentRequest>> {
        let row = sqlx::query(
            "SELECT token_sha256, client_id, recipient, categories::text AS categories, language, created_by, created_at,
                 expires_at, consent_id, version, consent_expires_at
             FROM consent_requests WHERE token_sha256 = $1",
        )
        .bind(token_sha256)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    async fn update_request(&mut self, r: &mut ConsentRequest) -> Result<()> {
        let done = sqlx::query(
            "UPDATE consent_requests SET consent_id = $1, version = version + 1 WHERE token_sha256 = $2 AND version = $3",
        )
        .bind(r.consent_id.map(|c| c.as_uuid()))
        .bind(&r.token_sha256)
        .bind(r.version)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)?;
        r.version += 1;
        Ok(())
    }
}
