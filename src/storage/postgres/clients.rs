//! Client records, their name search terms, and counselling sessions, on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{PgUnit, corrupt, from_json, one_row, parse_office, to_json, unique_is_conflict};
use crate::domain::case::{ClientRecord, ClientStatus};
use crate::domain::client::HouseholdId;
use crate::domain::participation::CounsellingSession;
use crate::domain::search;
use crate::domain::{CaseId, ClientId, ClientIdentity, CounsellingWindow, PersonName, Text};
use crate::storage::{ClientQuery, ClientSummary, Clients, EndingQuery, Result};
use chrono::{DateTime, NaiveDate, Utc};

fn identity_of(row: &PgRow) -> Result<ClientIdentity> {
    Ok(ClientIdentity {
        given_name: PersonName::parse(row.get("given_name"), "given_name").map_err(|_| corrupt("name"))?,
        family_name: PersonName::parse(row.get("family_name"), "family_name").map_err(|_| corrupt("name"))?,
        date_of_birth: row.get("date_of_birth"),
    })
}

fn status_of(row: &PgRow) -> Result<ClientStatus> {
    match row.get::<&str, _>("status") {
        "active" => Ok(ClientStatus::Active),
        "moved-out" => Ok(ClientStatus::MovedOut {
            to: parse_office(row.get::<Option<&str>, _>("moved_to").ok_or_else(|| corrupt("moved_to"))?)?,
            at: row.get::<Option<_>, _>("moved_at").ok_or_else(|| corrupt("moved_at"))?,
        }),
        _ => Err(corrupt("client status")),
    }
}

const RECORD: &str =
    "id, case_id, given_name, family_name, date_of_birth, first_session, extensions::text AS extensions,
    plan::text AS plan, status, moved_to, moved_at, received_from, created_at, updated_at,
    eligibility::text AS eligibility, participation::text AS participation, household_id,
    pending_extensions::text AS pending_extensions, restricted::text AS restricted, version";

const SUMMARY: &str = "id, given_name, family_name, date_of_birth, status, moved_to, moved_at, taking_part, first_session, last_day, sort_key";

fn client_from_row(row: &PgRow) -> Result<ClientRecord> {
    let window =
        CounsellingWindow::from_parts(row.get("first_session"), from_json(row.get("extensions"), "extensions")?)
            .map_err(|_| corrupt("window"))?;
    Ok(ClientRecord {
        id: ClientId::from_uuid(row.get("id")),
        case_id: CaseId::from_uuid(row.get("case_id")),
        identity: identity_of(row)?,
        window,
        plan: from_json(row.get("plan"), "plan")?,
        eligibility: row.get::<Option<&str>, _>("eligibility").map(|s| from_json(s, "eligibility")).transpose()?,
        participation: from_json(row.get("participation"), "participation")?,
        pending_extensions: from_json(row.get("pending_extensions"), "pending extensions")?,
        household: row.get::<Option<Uuid>, _>("household_id").map(HouseholdId::from_uuid),
        status: status_of(row)?,
        received_from: row.get::<Option<&str>, _>("received_from").map(parse_office).transpose()?,
        restricted: row.get::<Option<&str>, _>("restricted").map(|s| from_json(s, "restriction")).transpose()?,
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        version: row.get("version"),
    })
}

fn summary_from_row(row: &PgRow) -> Result<ClientSummary> {
    Ok(ClientSummary {
        id: ClientId::from_uuid(row.get("id")),
        identity: identity_of(row)?,
        status: status_of(row)?,
        taking_part: row.get("taking_part"),
        first_session: row.get("first_session"),
        last_day: row.get("last_day"),
        sort_key: row.get("sort_key"),
    })
}

fn status_columns(status: &ClientStatus) -> (&'static str, Option<String>, Option<chrono::DateTime<chrono::Utc>>) {
    match status {
        ClientStatus::Active => ("active", None, None),
        ClientStatus::MovedOut { to, at } => ("moved-out", Some(to.to_string()), Some(*at)),
    }
}

impl PgUnit {
    /// The client's search terms, anew.
    async fn write_terms(&mut self, c: &ClientRecord) -> Result<()> {
        sqlx::query("DELETE FROM client_terms WHERE client_id = $1")
            .bind(c.id.as_uuid())
            .execute(&mut *self.tx)
            .await?;
        let terms: Vec<String> = search::terms(&c.identity).into_iter().collect();
        sqlx::query("INSERT INTO client_terms (term, client_id) SELECT t, $2 FROM unnest($1::text[]) AS t")
            .bind(terms)
            .bind(c.id.as_uuid())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Clients for PgUnit {
    async fn get(&mut self, id: ClientId) -> Result<Option<ClientRecord>> {
        let row = sqlx::query(&format!("SELECT {RECORD} FROM clients WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn by_case(&mut self, case: CaseId) -> Result<Option<ClientRecord>> {
        let row = sqlx::query(&format!("SELECT {RECORD} FROM clients WHERE case_id = $1"))
            .bind(case.as_uuid())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn insert(&mut self, c: &ClientRecord) -> Result<()> {
        let (status, moved_to, moved_at) = status_columns(&c.status);
        sqlx::query(
            "INSERT INTO clients (id, case_id, given_name, family_name, date_of_birth, first_session, extensions,
                 last_day, plan, status, moved_to, moved_at, received_from, created_at, updated_at, eligibility,
                 participation, household_id, pending_extensions, sort_key, taking_part, version, restricted)
             VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb, $10, $11, $12, $13, $14, $15, $16::jsonb,
                 $17::jsonb, $18, $19::jsonb, $20, $21, $22, $23::jsonb)",
        )
        .bind(c.id.as_uuid())
        .bind(c.case_id.as_uuid())
        .bind(c.identity.given_name.as_str())
        .bind(c.identity.family_name.as_str())
        .bind(c.identity.date_of_birth)
        .bind(c.window.first_session())
        .bind(to_json(&c.window.extensions()))
        .bind(c.window.last_day())
        .bind(to_json(&c.plan))
        .bind(status)
        .bind(moved_to)
        .bind(moved_at)
        .bind(c.received_from.map(|o| o.to_string()))
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.eligibility.as_ref().map(to_json))
        .bind(to_json(&c.participation))
        .bind(c.household.map(|h| h.as_uuid()))
        .bind(to_json(&c.pending_extensions))
        .bind(search::sort_key(&c.identity))
        .bind(c.participation.is_active())
        .bind(c.version)
        .bind(c.restricted.as_ref().map(to_json))
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        self.write_terms(c).await
    }

    async fn update(&mut self, c: &mut ClientRecord) -> Result<()> {
        let (status, moved_to, moved_at) = status_columns(&c.status);
        let done = sqlx::query(
            "UPDATE clients SET given_name = $1, family_name = $2, date_of_birth = $3, first_session = $4,
                 extensions = $5::jsonb, last_day = $6, plan = $7::jsonb, status = $8, moved_to = $9, moved_at = $10,
                 received_from = $11, updated_at = $12, eligibility = $13::jsonb, participation = $14::jsonb,
                 household_id = $15, pending_extensions = $16::jsonb, sort_key = $17, taking_part = $18,
                 restricted = $19::jsonb, version = version + 1
             WHERE id = $20 AND version = $21",
        )
        .bind(c.identity.given_name.as_str())
        .bind(c.identity.family_name.as_str())
        .bind(c.identity.date_of_birth)
        .bind(c.window.first_session())
        .bind(to_json(&c.window.extensions()))
        .bind(c.window.last_day())
        .bind(to_json(&c.plan))
        .bind(status)
        .bind(moved_to)
        .bind(moved_at)
        .bind(c.received_from.map(|o| o.to_string()))
        .bind(c.updated_at)
        .bind(c.eligibility.as_ref().map(to_json))
        .bind(to_json(&c.participation))
        .bind(c.household.map(|h| h.as_uuid()))
        .bind(to_json(&c.pending_extensions))
        .bind(search::sort_key(&c.identity))
        .bind(c.participation.is_active())
        .bind(c.restricted.as_ref().map(to_json))
        .bind(c.id.as_uuid())
        .bind(c.version)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)?;
        c.version += 1;
        self.write_terms(c).await
    }

    async fn page(&mut self, q: &ClientQuery) -> Result<Vec<ClientSummary>> {
        let mut sql = format!("SELECT {SUMMARY} FROM clients WHERE true");
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if q.active_only {
            sql.push_str(" AND status = 'active'");
        }
        for _ in &q.words {
            let (a, b) = (next(), next());
            sql.push_str(&format!(
                " AND id IN (SELECT client_id FROM client_terms WHERE term >= ${a} AND term < ${b})"
            ));
        }
        if q.after.is_some() {
            let (a, b) = (next(), next());
            sql.push_str(&format!(" AND (sort_key, id) > (${a}, ${b})"));
        }
        sql.push_str(&format!(" ORDER BY sort_key, id LIMIT ${}", next()));
        let mut query = sqlx::query(&sql);
        for word in &q.words {
            query = query.bind(word.clone()).bind(search::prefix_upper_bound(word));
        }
        if let Some(after) = &q.after {
            query = query.bind(after.sort_key.clone()).bind(after.id.as_uuid());
        }
        let rows = query.bind(i64::from(q.limit)).fetch_all(&mut *self.tx).await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn windows_ending(&mut self, q: &EndingQuery) -> Result<Vec<ClientSummary>> {
        let (after, limit) =
            if q.after.is_some() { (" AND (last_day, sort_key, id) > ($3, $4, $5)", "$6") } else { ("", "$3") };
        let sql = format!(
            "SELECT {SUMMARY} FROM clients WHERE status = 'active' AND taking_part AND last_day BETWEEN $1 AND $2{after}
             ORDER BY last_day, sort_key, id LIMIT {limit}"
        );
        let mut query = sqlx::query(&sql).bind(q.from).bind(q.until);
        if let Some((day, key, id)) = &q.after {
            query = query.bind(*day).bind(key.clone()).bind(id.as_uuid());
        }
        let rows = query.bind(i64::from(q.limit)).fetch_all(&mut *self.tx).await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn household(&mut self, household: HouseholdId) -> Result<Vec<ClientSummary>> {
        let rows =
            sqlx::query(&format!("SELECT {SUMMARY} FROM clients WHERE household_id = $1 ORDER BY created_at, id"))
                .bind(household.as_uuid())
                .fetch_all(&mut *self.tx)
                .await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn insert_session(&mut self, client: ClientId, s: &CounsellingSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, client_id, date, note, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(s.id)
        .bind(client.as_uuid())
        .bind(s.date)
        .bind(s.note.as_str())
        .bind(&s.recorded_by)
        .bind(s.recorded_at)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn erase(&mut self, client: ClientId, at: DateTime<Utc>) -> Result<()> {
        let id = client.as_uuid();
        for sql in [
            "DELETE FROM consent_requests WHERE client_id = $1",
            "DELETE FROM sessions WHERE client_id = $1",
            "DELETE FROM client_terms WHERE client_id = $1",
            "DELETE FROM outbox WHERE kind = 'handover' AND message_id IN
                 (SELECT id FROM outgoing_handovers WHERE client_id = $1)",
            "DELETE FROM outgoing_handovers WHERE client_id = $1",
            // Received handovers of the person: taken over into this record, or of the same case
            // and never taken over.
            "UPDATE inbox SET jws = '' WHERE message_id IN (SELECT message_id FROM incoming_handovers
                 WHERE client_id = $1 OR payload->'case'->>'case_id' = (SELECT case_id::text FROM clients WHERE id = $1))",
            "DELETE FROM incoming_handovers
                 WHERE client_id = $1 OR payload->'case'->>'case_id' = (SELECT case_id::text FROM clients WHERE id = $1)",
            "DELETE FROM consents WHERE client_id = $1",
            "DELETE FROM clients WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *self.tx).await?;
        }
        sqlx::query("INSERT INTO erasures (client_id, erased_at) VALUES ($1, $2)")
            .bind(id)
            .bind(at)
            .execute(&mut *self.tx)
            .await
            .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn erased(&mut self, client: ClientId) -> Result<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar("SELECT erased_at FROM erasures WHERE client_id = $1")
            .bind(client.as_uuid())
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn ended_candidates(
        &mut self,
        before: NaiveDate,
        after: Option<ClientId>,
        limit: u32,
    ) -> Result<Vec<ClientId>> {
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT id FROM clients WHERE (status = 'moved-out' OR NOT taking_part OR last_day < $1)
                 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        )
        .bind(before)
        .bind(after.map(|a| a.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(ids.into_iter().map(ClientId::from_uuid).collect())
    }

    async fn sessions(&mut self, client: ClientId) -> Result<Vec<CounsellingSession>> {
        let rows = sqlx::query("SELECT * FROM sessions WHERE client_id = $1 ORDER BY date, recorded_at, id")
            .bind(client.as_uuid())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(CounsellingSession {
                    id: row.get("id"),
                    date: row.get("date"),
                    note: Text::parse(row.get("note"), "note").map_err(|_| corrupt("session note"))?,
                    recorded_by: row.get("recorded_by"),
                    recorded_at: row.get("recorded_at"),
                })
            })
            .collect()
    }
}
