//! Client records, their name search terms, and counselling sessions, on SQLite.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{
    SqliteUnit, corrupt, from_json, one_row, opt_str, parse_date, parse_office, parse_ts, parse_uuid, to_json, ts,
    unique_is_conflict,
};
use crate::domain::case::{ClientRecord, ClientStatus};
use crate::domain::client::HouseholdId;
use crate::domain::participation::CounsellingSession;
use crate::domain::search;
use crate::domain::{CaseId, ClientId, ClientIdentity, CounsellingWindow, PersonName, Text};
use crate::storage::{ClientQuery, ClientSummary, Clients, EndingQuery, Result};
use chrono::{DateTime, NaiveDate, Utc};

fn status_columns(status: &ClientStatus) -> (&'static str, Option<String>, Option<String>) {
    match status {
        ClientStatus::Active => ("active", None, None),
        ClientStatus::MovedOut { to, at } => ("moved-out", Some(to.to_string()), Some(ts(*at))),
    }
}

fn identity_of(row: &SqliteRow) -> Result<ClientIdentity> {
    Ok(ClientIdentity {
        given_name: PersonName::parse(row.get("given_name"), "given_name").map_err(|_| corrupt("name"))?,
        family_name: PersonName::parse(row.get("family_name"), "family_name").map_err(|_| corrupt("name"))?,
        date_of_birth: parse_date(row.get("date_of_birth"))?,
    })
}

fn status_of(row: &SqliteRow) -> Result<ClientStatus> {
    match row.get::<&str, _>("status") {
        "active" => Ok(ClientStatus::Active),
        "moved-out" => Ok(ClientStatus::MovedOut {
            to: parse_office(&opt_str(row, "moved_to").ok_or_else(|| corrupt("moved_to"))?)?,
            at: parse_ts(&opt_str(row, "moved_at").ok_or_else(|| corrupt("moved_at"))?)?,
        }),
        _ => Err(corrupt("client status")),
    }
}

fn client_from_row(row: &SqliteRow) -> Result<ClientRecord> {
    let window = CounsellingWindow::from_parts(
        parse_date(row.get("first_session"))?,
        from_json(row.get("extensions"), "extensions")?,
    )
    .map_err(|_| corrupt("window"))?;
    Ok(ClientRecord {
        id: ClientId::from_uuid(parse_uuid(row.get("id"))?),
        case_id: CaseId::from_uuid(parse_uuid(row.get("case_id"))?),
        identity: identity_of(row)?,
        window,
        plan: from_json(row.get("plan"), "plan")?,
        eligibility: opt_str(row, "eligibility").map(|s| from_json(&s, "eligibility")).transpose()?,
        participation: from_json(row.get("participation"), "participation")?,
        pending_extensions: from_json(row.get("pending_extensions"), "pending extensions")?,
        household: opt_str(row, "household_id").map(|s| parse_uuid(&s).map(HouseholdId::from_uuid)).transpose()?,
        status: status_of(row)?,
        received_from: opt_str(row, "received_from").map(|s| parse_office(&s)).transpose()?,
        restricted: opt_str(row, "restricted").map(|s| from_json(&s, "restriction")).transpose()?,
        created_at: parse_ts(row.get("created_at"))?,
        updated_at: parse_ts(row.get("updated_at"))?,
        version: row.get("version"),
    })
}

fn summary_from_row(row: &SqliteRow) -> Result<ClientSummary> {
    Ok(ClientSummary {
        id: ClientId::from_uuid(parse_uuid(row.get("id"))?),
        identity: identity_of(row)?,
        status: status_of(row)?,
        taking_part: row.get::<i64, _>("taking_part") != 0,
        first_session: parse_date(row.get("first_session"))?,
        last_day: parse_date(row.get("last_day"))?,
        sort_key: row.get("sort_key"),
    })
}

const SUMMARY: &str = "id, given_name, family_name, date_of_birth, status, moved_to, moved_at, taking_part, first_session, last_day, sort_key";

impl SqliteUnit {
    /// The client's search terms, anew.
    async fn write_terms(&mut self, c: &ClientRecord) -> Result<()> {
        sqlx::query("DELETE FROM client_terms WHERE client_id = ?")
            .bind(c.id.to_string())
            .execute(&mut *self.tx)
            .await?;
        for term in search::terms(&c.identity) {
            sqlx::query("INSERT INTO client_terms (term, client_id) VALUES (?, ?)")
                .bind(term)
                .bind(c.id.to_string())
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Clients for SqliteUnit {
    async fn get(&mut self, id: ClientId) -> Result<Option<ClientRecord>> {
        let row = sqlx::query("SELECT * FROM clients WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn by_case(&mut self, case: CaseId) -> Result<Option<ClientRecord>> {
        let row = sqlx::query("SELECT * FROM clients WHERE case_id = ?")
            .bind(case.to_string())
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.to_string())
        .bind(c.case_id.to_string())
        .bind(c.identity.given_name.as_str())
        .bind(c.identity.family_name.as_str())
        .bind(c.identity.date_of_birth.to_string())
        .bind(c.window.first_session().to_string())
        .bind(to_json(&c.window.extensions()))
        .bind(c.window.last_day().to_string())
        .bind(to_json(&c.plan))
        .bind(status)
        .bind(moved_to)
        .bind(moved_at)
        .bind(c.received_from.map(|o| o.to_string()))
        .bind(ts(c.created_at))
        .bind(ts(c.updated_at))
        .bind(c.eligibility.as_ref().map(to_json))
        .bind(to_json(&c.participation))
        .bind(c.household.map(|h| h.to_string()))
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
            "UPDATE clients SET given_name = ?, family_name = ?, date_of_birth = ?, first_session = ?, extensions = ?,
                 last_day = ?, plan = ?, status = ?, moved_to = ?, moved_at = ?, received_from = ?, updated_at = ?,
                 eligibility = ?, participation = ?, household_id = ?, pending_extensions = ?, sort_key = ?,
                 taking_part = ?, restricted = ?, version = version + 1
             WHERE id = ? AND version = ?",
        )
        .bind(c.identity.given_name.as_str())
        .bind(c.identity.family_name.as_str())
        .bind(c.identity.date_of_birth.to_string())
        .bind(c.window.first_session().to_string())
        .bind(to_json(&c.window.extensions()))
        .bind(c.window.last_day().to_string())
        .bind(to_json(&c.plan))
        .bind(status)
        .bind(moved_to)
        .bind(moved_at)
        .bind(c.received_from.map(|o| o.to_string()))
        .bind(ts(c.updated_at))
        .bind(c.eligibility.as_ref().map(to_json))
        .bind(to_json(&c.participation))
        .bind(c.household.map(|h| h.to_string()))
        .bind(to_json(&c.pending_extensions))
        .bind(search::sort_key(&c.identity))
        .bind(c.participation.is_active())
        .bind(c.restricted.as_ref().map(to_json))
        .bind(c.id.to_string())
        .bind(c.version)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)?;
        c.version += 1;
        self.write_terms(c).await
    }

    async fn page(&mut self, q: &ClientQuery) -> Result<Vec<ClientSummary>> {
        let mut sql = format!("SELECT {SUMMARY} FROM clients WHERE 1 = 1");
        if q.active_only {
            sql.push_str(" AND status = 'active'");
        }
        for _ in &q.words {
            sql.push_str(" AND id IN (SELECT client_id FROM client_terms WHERE term >= ? AND term < ?)");
        }
        if q.after.is_some() {
            sql.push_str(" AND (sort_key, id) > (?, ?)");
        }
        sql.push_str(" ORDER BY sort_key, id LIMIT ?");
        let mut query = sqlx::query(&sql);
        for word in &q.words {
            query = query.bind(word.clone()).bind(search::prefix_upper_bound(word));
        }
        if let Some(after) = &q.after {
            query = query.bind(after.sort_key.clone()).bind(after.id.to_string());
        }
        let rows = query.bind(i64::from(q.limit)).fetch_all(&mut *self.tx).await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn windows_ending(&mut self, q: &EndingQuery) -> Result<Vec<ClientSummary>> {
        let after = if q.after.is_some() { " AND (last_day, sort_key, id) > (?, ?, ?)" } else { "" };
        let sql = format!(
            "SELECT {SUMMARY} FROM clients WHERE status = 'active' AND taking_part = 1 AND last_day BETWEEN ? AND ?{after}
             ORDER BY last_day, sort_key, id LIMIT ?"
        );
        let mut query = sqlx::query(&sql).bind(q.from.to_string()).bind(q.until.to_string());
        if let Some((day, key, id)) = &q.after {
            query = query.bind(day.to_string()).bind(key.clone()).bind(id.to_string());
        }
        let rows = query.bind(i64::from(q.limit)).fetch_all(&mut *self.tx).await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn household(&mut self, household: HouseholdId) -> Result<Vec<ClientSummary>> {
        let rows =
            sqlx::query(&format!("SELECT {SUMMARY} FROM clients WHERE household_id = ? ORDER BY created_at, id"))
                .bind(household.to_string())
                .fetch_all(&mut *self.tx)
                .await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn insert_session(&mut self, client: ClientId, s: &CounsellingSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, client_id, date, note, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(client.to_string())
        .bind(s.date.to_string())
        .bind(s.note.as_str())
        .bind(&s.recorded_by)
        .bind(ts(s.recorded_at))
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn erase(&mut self, client: ClientId, at: DateTime<Utc>) -> Result<()> {
        let id = client.to_string();
        for sql in [
            "DELETE FROM consent_requests WHERE client_id = ?",
            "DELETE FROM sessions WHERE client_id = ?",
            "DELETE FROM client_terms WHERE client_id = ?",
            "DELETE FROM outbox WHERE kind = 'handover' AND message_id IN
                 (SELECT id FROM outgoing_handovers WHERE client_id = ?)",
            "DELETE FROM outgoing_handovers WHERE client_id = ?",
            // Received handovers of the person: taken over into this record, or of the same case
            // and never taken over.
            "UPDATE inbox SET jws = '' WHERE message_id IN (SELECT message_id FROM incoming_handovers
                 WHERE client_id = ?1 OR json_extract(payload, '$.case.case_id') = (SELECT case_id FROM clients WHERE id = ?1))",
            "DELETE FROM incoming_handovers
                 WHERE client_id = ?1 OR json_extract(payload, '$.case.case_id') = (SELECT case_id FROM clients WHERE id = ?1)",
            "DELETE FROM consents WHERE client_id = ?",
            "DELETE FROM clients WHERE id = ?",
        ] {
            sqlx::query(sql).bind(&id).execute(&mut *self.tx).await?;
        }
        sqlx::query("INSERT INTO erasures (client_id, erased_at) VALUES (?, ?)")
            .bind(&id)
            .bind(ts(at))
            .execute(&mut *self.tx)
            .await
            .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn erased(&mut self, client: ClientId) -> Result<Option<DateTime<Utc>>> {
        let at: Option<String> = sqlx::query_scalar("SELECT erased_at FROM erasures WHERE client_id = ?")
            .bind(client.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        at.map(|s| parse_ts(&s)).transpose()
    }

    async fn ended_candidates(
        &mut self,
        before: NaiveDate,
        after: Option<ClientId>,
        limit: u32,
    ) -> Result<Vec<ClientId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM clients WHERE (status = 'moved-out' OR taking_part = 0 OR last_day < ?) AND id > ?
             ORDER BY id LIMIT ?",
        )
        .bind(before.to_string())
        .bind(after.map_or_else(String::new, |a| a.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        ids.iter().map(|s| parse_uuid(s).map(ClientId::from_uuid)).collect()
    }

    async fn sessions(&mut self, client: ClientId) -> Result<Vec<CounsellingSession>> {
        let rows = sqlx::query("SELECT * FROM sessions WHERE client_id = ? ORDER BY date, recorded_at, id")
            .bind(client.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(CounsellingSession {
                    id: parse_uuid(row.get("id"))?,
                    date: parse_date(row.get("date"))?,
                    note: Text::parse(row.get("note"), "note").map_err(|_| corrupt("session note"))?,
                    recorded_by: row.get("recorded_by"),
                    recorded_at: parse_ts(row.get("recorded_at"))?,
                })
            })
            .collect()
    }
}
