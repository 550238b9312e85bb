//! Consents and consent pages, on SQLite.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{
    SqliteUnit, from_json, one_row, opt_str, parse_office, parse_ts, parse_uuid, to_json, ts, unique_is_conflict,
};
use crate::domain::consent::ConsentText;
use crate::domain::consent_request::{ConsentAsk, ConsentRequest};
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
        text: ConsentText {
            id: row.get("text_id"),
            version: row.get("text_version"),
            language: row.get("text_language"),
            sha256: row.get("text_sha256"),
        },
        method: from_json(row.get("method"), "consent method")?,
        expires_at: opt_str(row, "expires_at").map(|s| parse_ts(&s)).transpose()?,
        withdrawn_at: opt_str(row, "withdrawn_at").map(|s| parse_ts(&s)).transpose()?,
        end: opt_str(row, "ended").map(|s| from_json(&s, "consent end")).transpose()?,
        withdrawal_code: row.get("withdrawal_code_sha256"),
        version: row.get("version"),
    })
}

fn request_from_row(row: &SqliteRow) -> Result<ConsentRequest> {
    Ok(ConsentRequest {
        token_sha256: row.get("token_sha256"),
        ask: ConsentAsk {
            client: ClientId::from_uuid(parse_uuid(row.get("client_id"))?),
            recipient: parse_office(row.get("recipient"))?,
            categories: from_json(row.get("categories"), "categories")?,
            language: row.get("language"),
            consent_expires_at: opt_str(row, "consent_expires_at").map(|s| parse_ts(&s)).transpose()?,
        },
        created_by: row.get("created_by"),
        created_at: parse_ts(row.get("created_at"))?,
        expires_at: parse_ts(row.get("expires_at"))?,
        consent_id: opt_str(row, "consent_id").map(|s| parse_uuid(&s).map(ConsentId::from_uuid)).transpose()?,
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

    async fn by_withdrawal_code(&mut self, code_sha256: &str) -> Result<Option<ConsentGrant>> {
        let row = sqlx::query("SELECT * FROM consents WHERE withdrawal_code_sha256 = ?")
            .bind(code_sha256)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(consent_from_row).transpose()
    }

    async fn of_client(&mut self, client: ClientId) -> Result<Vec<ConsentGrant>> {
        let rows = sqlx::query("SELECT * FROM consents WHERE client_id = ? ORDER BY given_at, id")
            .bind(client.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(consent_from_row).collect()
    }

    async fn insert(&mut self, c: &ConsentGrant) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (id, client_id, recipient, categories, legal_bases, given_at, witnessed_by, withdrawn_at,
                 version, text_id, text_version, text_language, text_sha256, method, expires_at, ended,
                 withdrawal_code_sha256)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .bind(&c.text.id)
        .bind(&c.text.version)
        .bind(&c.text.language)
        .bind(&c.text.sha256)
        .bind(to_json(&c.method))
        .bind(c.expires_at.map(ts))
        .bind(c.end.as_ref().map(to_json))
        .bind(&c.withdrawal_code)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn update(&mut self, c: &mut ConsentGrant) -> Result<()> {
        let done = sqlx::query(
            "UPDATE consents SET withdrawn_at = ?, ended = ?, version = version + 1 WHERE id = ? AND version = ?",
        )
        .bind(c.withdrawn_at.map(ts))
        .bind(c.end.as_ref().map(to_json))
        .bind(c.id.to_string())
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&r.token_sha256)
        .bind(r.ask.client.to_string())
        .bind(r.ask.recipient.to_string())
        .bind(to_json(&r.ask.categories))
        .bind(&r.ask.language)
        .bind(&r.created_by)
        .bind(ts(r.created_at))
        .bind(ts(r.expires_at))
        .bind(r.consent_id.map(|c| c.to_string()))
        .bind(r.version)
        .bind(r.ask.consent_expires_at.map(ts))
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn request(&mut self, token_sha256: &str) -> Result<Option<ConsentRequest>> {
        let row = sqlx::query("SELECT * FROM consent_requests WHERE token_sha256 = ?")
            .bind(token_sha256)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    async fn update_request(&mut self, r: &mut ConsentRequest) -> Result<()> {
        let done = sqlx::query(
            "UPDATE consent_requests SET consent_id = ?, version = version + 1 WHERE token_sha256 = ? AND version = ?",
        )
        .bind(r.consent_id.map(|c| c.to_string()))
        .bind(&r.token_sha256)
        .bind(r.version)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)?;
        r.version += 1;
        Ok(())
    }
}
