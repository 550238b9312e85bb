//! Handovers sent and received, on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{
    SqliteUnit, corrupt, from_json, one_row, opt_str, parse_date, parse_office, parse_ts, parse_uuid, to_json, ts,
    unique_is_conflict,
};
use crate::domain::delivery::{IncomingHandover, IncomingState, OutgoingHandover, OutgoingState, ReceivedHandover};
use crate::domain::{ClientId, ClientIdentity, ConsentId, PersonName};
use crate::storage::{HandoverCounts, Handovers, IncomingQuery, IncomingSummary, Result};

fn outgoing_from_row(row: &SqliteRow) -> Result<OutgoingHandover> {
    Ok(OutgoingHandover {
        id: parse_uuid(row.get("id"))?,
        client_id: ClientId::from_uuid(parse_uuid(row.get("client_id"))?),
        receiver: parse_office(row.get("receiver"))?,
        consent_id: ConsentId::from_uuid(parse_uuid(row.get("consent_id"))?),
        state: OutgoingState::parse(row.get("state")).ok_or_else(|| corrupt("handover state"))?,
        created_by: row.get("created_by"),
        created_at: parse_ts(row.get("created_at"))?,
        approved_by: row.get("approved_by"),
        approved_at: opt_str(row, "approved_at").map(|s| parse_ts(&s)).transpose()?,
        decided_at: opt_str(row, "decided_at").map(|s| parse_ts(&s)).transpose()?,
        decline_reason: row.get("decline_reason"),
        updated_at: parse_ts(row.get("updated_at"))?,
        version: row.get("version"),
    })
}

fn client_of(row: &SqliteRow) -> Result<Option<ClientId>> {
    opt_str(row, "client_id").map(|s| parse_uuid(&s).map(ClientId::from_uuid)).transpose()
}

fn incoming_from_row(row: &SqliteRow) -> Result<IncomingHandover> {
    let handover: ReceivedHandover = from_json(row.get("payload"), "handover payload")?;
    Ok(IncomingHandover {
        handover,
        received_at: parse_ts(row.get("received_at"))?,
        state: IncomingState::parse(row.get("state")).ok_or_else(|| corrupt("incoming state"))?,
        decided_by: row.get("decided_by"),
        decided_at: opt_str(row, "decided_at").map(|s| parse_ts(&s)).transpose()?,
        decline_reason: row.get("decline_reason"),
        client_id: client_of(row)?,
        decision_id: opt_str(row, "decision_id").map(|s| parse_uuid(&s)).transpose()?,
        version: row.get("version"),
    })
}

fn incoming_summary_from_row(row: &SqliteRow) -> Result<IncomingSummary> {
    Ok(IncomingSummary {
        id: parse_uuid(row.get("message_id"))?,
        sender: parse_office(row.get("sender"))?,
        received_at: parse_ts(row.get("received_at"))?,
        state: IncomingState::parse(row.get("state")).ok_or_else(|| corrupt("incoming state"))?,
        identity: ClientIdentity {
            given_name: PersonName::parse(row.get("given_name"), "given_name").map_err(|_| corrupt("name"))?,
            family_name: PersonName::parse(row.get("family_name"), "family_name").map_err(|_| corrupt("name"))?,
            date_of_birth: parse_date(row.get("date_of_birth"))?,
        },
        first_session: parse_date(row.get("first_session"))?,
        last_day: parse_date(row.get("last_day"))?,
        decided_by: row.get("decided_by"),
        decided_at: opt_str(row, "decided_at").map(|s| parse_ts(&s)).transpose()?,
        decline_reason: row.get("decline_reason"),
        client_id: client_of(row)?,
    })
}

#[async_trait]
impl Handovers for SqliteUnit {
    async fn insert_outgoing(&mut self, h: &OutgoingHandover) -> Result<()> {
        sqlx::query(
            "INSERT INTO outgoing_handovers (id, client_id, receiver, consent_id, state, created_by, created_at,
                 approved_by, approved_at, decided_at, decline_reason, updated_at, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(h.id.to_string())
        .bind(h.client_id.to_string())
        .bind(h.receiver.to_string())
        .bind(h.consent_id.to_string())
        .bind(h.state.as_str())
        .bind(&h.created_by)
        .bind(ts(h.created_at))
        .bind(&h.approved_by)
        .bind(h.approved_at.map(ts))
        .bind(h.decided_at.map(ts))
        .bind(&h.decline_reason)
        .bind(ts(h.updated_at))
        .bind(h.version)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn outgoing(&mut self, id: Uuid) -> Result<Option<OutgoingHandover>> {
        let row = sqlx::query("SELECT * FROM outgoing_handovers WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(outgoing_from_row).transpose()
    }

    async fn update_outgoing(&mut self, h: &mut OutgoingHandover) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outgoing_handovers SET state = ?, approved_by = ?, approved_at = ?, decided_at = ?, decline_reason = ?,
                 updated_at = ?, version = version + 1
             WHERE id = ? AND version = ?",
        )
        .bind(h.state.as_str())
        .bind(&h.approved_by)
        .bind(h.approved_at.map(ts))
        .bind(h.decided_at.map(ts))
        .bind(&h.decline_reason)
        .bind(ts(h.updated_at))
        .bind(h.id.to_string())
        .bind(h.version)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        one_row(done)?;
        h.version += 1;
        Ok(())
    }

    async fn open_outgoing(&mut self, client: ClientId) -> Result<Option<OutgoingHandover>> {
        let row = sqlx::query(
            "SELECT * FROM outgoing_handovers WHERE client_id = ? AND state IN ('draft', 'approved', 'delivered')",
        )
        .bind(client.to_string())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(outgoing_from_row).transpose()
    }

    async fn outgoing_on_consent(&mut self, consent: crate::domain::ConsentId) -> Result<Vec<OutgoingHandover>> {
        let rows = sqlx::query("SELECT * FROM outgoing_handovers WHERE consent_id = ? ORDER BY created_at, id")
            .bind(consent.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(outgoing_from_row).collect()
    }

    async fn insert_incoming(&mut self, h: &IncomingHandover) -> Result<()> {
        let case = &h.handover.case;
        sqlx::query(
            "INSERT INTO incoming_handovers (message_id, sender, received_at, payload, state, decided_by, decided_at,
                 decline_reason, client_id, decision_id, given_name, family_name, date_of_birth, first_session,
                 last_day, version, consent_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(h.id().to_string())
        .bind(h.handover.sender.to_string())
        .bind(ts(h.received_at))
        .bind(to_json(&h.handover))
        .bind(h.state.as_str())
        .bind(&h.decided_by)
        .bind(h.decided_at.map(ts))
        .bind(&h.decline_reason)
        .bind(h.client_id.map(|c| c.to_string()))
        .bind(h.decision_id.map(|d| d.to_string()))
        .bind(case.client.given_name.as_str())
        .bind(case.client.family_name.as_str())
        .bind(case.client.date_of_birth.to_string())
        .bind(case.window.first_session.to_string())
        .bind(case.window.last_day.to_string())
        .bind(h.version)
        .bind(case.consent.consent_id.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn incoming(&mut self, id: Uuid) -> Result<Option<IncomingHandover>> {
        let row = sqlx::query("SELECT * FROM incoming_handovers WHERE message_id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(incoming_from_row).transpose()
    }

    async fn update_incoming(&mut self, h: &mut IncomingHandover) -> Result<()> {
        let done = sqlx::query(
            "UPDATE incoming_handovers SET state = ?, decided_by = ?, decided_at = ?, decline_reason = ?, client_id = ?,
                 decision_id = ?, version = version + 1
             WHERE message_id = ? AND version = ?",
        )
        .bind(h.state.as_str())
        .bind(&h.decided_by)
        .bind(h.decided_at.map(ts))
        .bind(&h.decline_reason)
        .bind(h.client_id.map(|c| c.to_string()))
        .bind(h.decision_id.map(|d| d.to_string()))
        .bind(h.id().to_string())
        .bind(h.version)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)?;
        h.version += 1;
        Ok(())
    }

    async fn incoming_of_client(&mut self, client: ClientId) -> Result<Vec<IncomingHandover>> {
        let rows = sqlx::query("SELECT * FROM incoming_handovers WHERE client_id = ? ORDER BY received_at, message_id")
            .bind(client.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(incoming_from_row).collect()
    }

    async fn outgoing_of_client(&mut self, client: ClientId) -> Result<Vec<OutgoingHandover>> {
        let rows = sqlx::query("SELECT * FROM outgoing_handovers WHERE client_id = ? ORDER BY created_at, id")
            .bind(client.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(outgoing_from_row).collect()
    }

    async fn outgoing_worklist(&mut self, since: DateTime<Utc>, limit: u32) -> Result<Vec<OutgoingHandover>> {
        let rows = sqlx::query(
            "SELECT * FROM outgoing_handovers
             WHERE state IN ('draft', 'approved') OR (state IN ('rejected', 'declined') AND updated_at >= ?)
             ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(ts(since))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(outgoing_from_row).collect()
    }

    async fn closed_incoming_before(&mut self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT message_id FROM incoming_handovers WHERE state IN ('received', 'declined', 'withdrawn') AND received_at < ?
             ORDER BY received_at, message_id LIMIT ?",
        )
        .bind(ts(before))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        ids.iter().map(|s| parse_uuid(s)).collect()
    }

    async fn erase_incoming(&mut self, id: Uuid) -> Result<()> {
        let id = id.to_string();
        sqlx::query("UPDATE inbox SET jws = '' WHERE message_id = ?").bind(&id).execute(&mut *self.tx).await?;
        sqlx::query("DELETE FROM incoming_handovers WHERE message_id = ?").bind(&id).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn incoming_on_consent(&mut self, consent: crate::domain::ConsentId) -> Result<Vec<IncomingHandover>> {
        let rows =
            sqlx::query("SELECT * FROM incoming_handovers WHERE consent_id = ? ORDER BY received_at, message_id")
                .bind(consent.to_string())
                .fetch_all(&mut *self.tx)
                .await?;
        rows.iter().map(incoming_from_row).collect()
    }

    async fn incoming_page(&mut self, q: &IncomingQuery) -> Result<Vec<IncomingSummary>> {
        let mut sql = String::from(
            "SELECT message_id, sender, received_at, state, given_name, family_name, date_of_birth, first_session,
                 last_day, decided_by, decided_at, decline_reason, client_id
             FROM incoming_handovers WHERE 1 = 1",
        );
        if q.state.is_some() {
            sql.push_str(" AND state = ?");
        }
        if q.after.is_some() {
            sql.push_str(" AND (received_at, message_id) < (?, ?)");
        }
        sql.push_str(" ORDER BY received_at DESC, message_id DESC LIMIT ?");
        let mut query = sqlx::query(&sql);
        if let Some(state) = q.state {
            query = query.bind(state.as_str());
        }
        if let Some(after) = &q.after {
            query = query.bind(ts(after.received_at)).bind(after.id.to_string());
        }
        let rows = query.bind(i64::from(q.limit)).fetch_all(&mut *self.tx).await?;
        rows.iter().map(incoming_summary_from_row).collect()
    }

    async fn count_by_state(&mut self) -> Result<HandoverCounts> {
        let rows = sqlx::query(
            "SELECT 'outgoing' AS direction, state, COUNT(*) AS n FROM outgoing_handovers GROUP BY state
             UNION ALL
             SELECT 'incoming' AS direction, state, COUNT(*) AS n FROM incoming_handovers GROUP BY state
             ORDER BY direction, state",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        let mut counts = HandoverCounts { outgoing: Vec::new(), incoming: Vec::new() };
        for row in &rows {
            let n = u64::try_from(row.get::<i64, _>("n")).map_err(|_| corrupt("count"))?;
            let state: &str = row.get("state");
            match row.get::<&str, _>("direction") {
                "outgoing" => {
                    counts.outgoing.push((OutgoingState::parse(state).ok_or_else(|| corrupt("handover state"))?, n))
                }
                _ => counts.incoming.push((IncomingState::parse(state).ok_or_else(|| corrupt("handover state"))?, n)),
            }
        }
        Ok(counts)
    }
}
