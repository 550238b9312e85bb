//! Handovers sent and received, on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{PgUnit, corrupt, from_json, one_row, parse_office, to_json, unique_is_conflict};
use crate::domain::delivery::{IncomingHandover, IncomingState, OutgoingHandover, OutgoingState, ReceivedHandover};
use crate::domain::{ClientId, ClientIdentity, ConsentId, PersonName};
use crate::storage::{HandoverCounts, Handovers, IncomingQuery, IncomingSummary, Result};

fn outgoing_from_row(row: &PgRow) -> Result<OutgoingHandover> {
    Ok(OutgoingHandover {
        id: row.get("id"),
        client_id: ClientId::from_uuid(row.get("client_id")),
        receiver: parse_office(row.get("receiver"))?,
        consent_id: ConsentId::from_uuid(row.get("consent_id")),
        state: OutgoingState::parse(row.get("state")).ok_or_else(|| corrupt("handover state"))?,
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        approved_by: row.get("approved_by"),
        approved_at: row.get("approved_at"),
        decided_at: row.get("decided_at"),
        decline_reason: row.get("decline_reason"),
        updated_at: row.get("updated_at"),
        version: row.get("version"),
    })
}

const INCOMING: &str = "message_id, sender, received_at, payload::text AS payload, state, decided_by, decided_at,
    decline_reason, client_id, decision_id, version";

fn incoming_from_row(row: &PgRow) -> Result<IncomingHandover> {
    let handover: ReceivedHandover = from_json(row.get("payload"), "handover payload")?;
    Ok(IncomingHandover {
        handover,
        received_at: row.get("received_at"),
        state: IncomingState::parse(row.get("state")).ok_or_else(|| corrupt("incoming state"))?,
        decided_by: row.get("decided_by"),
        decided_at: row.get("decided_at"),
        decline_reason: row.get("decline_reason"),
        client_id: row.get::<Option<Uuid>, _>("client_id").map(ClientId::from_uuid),
        decision_id: row.get("decision_id"),
        version: row.get("version"),
    })
}

fn incoming_summary_from_row(row: &PgRow) -> Result<IncomingSummary> {
    Ok(IncomingSummary {
        id: row.get("message_id"),
        sender: parse_office(row.get("sender"))?,
        received_at: row.get("received_at"),
        state: IncomingState::parse(row.get("state")).ok_or_else(|| corrupt("incoming state"))?,
        identity: ClientIdentity {
            given_name: PersonName::parse(row.get("given_name"), "given_name").map_err(|_| corrupt("name"))?,
            family_name: PersonName::parse(row.get("family_name"), "family_name").map_err(|_| corrupt("name"))?,
            date_of_birth: row.get("date_of_birth"),
        },
        first_session: row.get("first_session"),
        last_day: row.get("last_day"),
        decided_by: row.get("decided_by"),
        decided_at: row.get("decided_at"),
        decline_reason: row.get("decline_reason"),
        client_id: row.get::<Option<Uuid>, _>("client_id").map(ClientId::from_uuid),
    })
}

#[async_trait]
impl Handovers for PgUnit {
    async fn insert_outgoing(&mut self, h: &OutgoingHandover) -> Result<()> {
        sqlx::query(
            "INSERT INTO outgoing_handovers (id, client_id, receiver, consent_id, state, created_by, created_at,
                 approved_by, approved_at, decided_at, decline_reason, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(h.id)
        .bind(h.client_id.as_uuid())
        .bind(h.receiver.to_string())
        .bind(h.consent_id.as_uuid())
        .bind(h.state.as_str())
        .bind(&h.created_by)
        .bind(h.created_at)
        .bind(&h.approved_by)
        .bind(h.approved_at)
        .bind(h.decided_at)
        .bind(&h.decline_reason)
        .bind(h.updated_at)
        .bind(h.version)
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn outgoing(&mut self, id: Uuid) -> Result<Option<OutgoingHandover>> {
        let row = sqlx::query("SELECT * FROM outgoing_handovers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(outgoing_from_row).transpose()
    }

    async fn update_outgoing(&mut self, h: &mut OutgoingHandover) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outgoing_handovers SET state = $1, approved_by = $2, approved_at = $3, decided_at = $4,
                 decline_reason = $5, updated_at = $6, version = version + 1
             WHERE id = $7 AND version = $8",
        )
        .bind(h.state.as_str())
        .bind(&h.approved_by)
        .bind(h.approved_at)
        .bind(h.decided_at)
        .bind(&h.decline_reason)
        .bind(h.updated_at)
        .bind(h.id)
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
            "SELECT * FROM outgoing_handovers WHERE client_id = $1 AND state IN ('draft', 'approved', 'delivered')",
        )
        .bind(client.as_uuid())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(outgoing_from_row).transpose()
    }

    async fn outgoing_on_consent(&mut self, consent: ConsentId) -> Result<Vec<OutgoingHandover>> {
        let rows = sqlx::query("SELECT * FROM outgoing_handovers WHERE consent_id = $1 ORDER BY created_at, id")
            .bind(consent.as_uuid())
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
             VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(h.id())
        .bind(h.handover.sender.to_string())
        .bind(h.received_at)
        .bind(to_json(&h.handover))
        .bind(h.state.as_str())
        .bind(&h.decided_by)
        .bind(h.decided_at)
        .bind(&h.decline_reason)
        .bind(h.client_id.map(|c| c.as_uuid()))
        .bind(h.decision_id)
        .bind(case.client.given_name.as_str())
        .bind(case.client.family_name.as_str())
        .bind(case.client.date_of_birth)
        .bind(case.window.first_session)
        .bind(case.window.last_day)
        .bind(h.version)
        .bind(case.consent.consent_id.as_uuid())
        .execute(&mut *self.tx)
        .await
        .map_err(unique_is_conflict)?;
        Ok(())
    }

    async fn incoming(&mut self, id: Uuid) -> Result<Option<IncomingHandover>> {
        let row = sqlx::query(&format!("SELECT {INCOMING} FROM incoming_handovers WHERE message_id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(incoming_from_row).transpose()
    }

    async fn update_incoming(&mut self, h: &mut IncomingHandover) -> Result<()> {
        let done = sqlx::query(
            "UPDATE incoming_handovers SET state = $1, decided_by = $2, decided_at = $3, decline_reason = $4,
                 client_id = $5, decision_id = $6, version = version + 1
             WHERE message_id = $7 AND version = $8",
        )
        .bind(h.state.as_str())
        .bind(&h.decided_by)
        .bind(h.decided_at)
        .bind(&h.decline_reason)
        .bind(h.client_id.map(|c| c.as_uuid()))
        .bind(h.decision_id)
        .bind(h.id())
        .bind(h.version)
        .execute(&mut *self.tx)
        .await?;
        one_row(done)?;
        h.version += 1;
        Ok(())
    }

    async fn incoming_of_client(&mut self, client: ClientId) -> Result<Vec<IncomingHandover>> {
        let rows = sqlx::query(&format!(
            "SELECT {INCOMING} FROM incoming_handovers WHERE client_id = $1 ORDER BY received_at, message_id"
        ))
        .bind(client.as_uuid())
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(incoming_from_row).collect()
    }

    async fn outgoing_of_client(&mut self, client: ClientId) -> Result<Vec<OutgoingHandover>> {
        let rows = sqlx::query("SELECT * FROM outgoing_handovers WHERE client_id = $1 ORDER BY created_at, id")
            .bind(client.as_uuid())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(outgoing_from_row).collect()
    }

    async fn outgoing_worklist(&mut self, since: DateTime<Utc>, limit: u32) -> Result<Vec<OutgoingHandover>> {
        let rows = sqlx::query(
            "SELECT * FROM outgoing_handovers
             WHERE state IN ('draft', 'approved') OR (state IN ('rejected', 'declined') AND updated_at >= $1)
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(outgoing_from_row).collect()
    }

    async fn closed_incoming_before(&mut self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT message_id FROM incoming_handovers WHERE state IN ('received', 'declined', 'withdrawn') AND received_at < $1
             ORDER BY received_at, message_id LIMIT $2",
        )
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn erase_incoming(&mut self, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE inbox SET jws = '' WHERE message_id = $1").bind(id).execute(&mut *self.tx).await?;
        sqlx::query("DELETE FROM incoming_handovers WHERE message_id = $1").bind(id).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn incoming_on_consent(&mut self, consent: ConsentId) -> Result<Vec<IncomingHandover>> {
        let rows = sqlx::query(&format!(
            "SELECT {INCOMING} FROM incoming_handovers WHERE consent_id = $1 ORDER BY received_at, message_id"
        ))
        .bind(consent.as_uuid())
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(incoming_from_row).collect()
    }

    async fn incoming_page(&mut self, q: &IncomingQuery) -> Result<Vec<IncomingSummary>> {
        let mut sql = String::from(
            "SELECT message_id, sender, received_at, state, given_name, family_name, date_of_birth, first_session,
                 last_day, decided_by, decided_at, decline_reason, client_id
             FROM incoming_handovers WHERE true",
        );
        let mut n = 0;
        if q.state.is_some() {
            n += 1;
            sql.push_str(&format!(" AND state = ${n}"));
        }
        if q.after.is_some() {
            sql.push_str(&format!(" AND (received_at, message_id) < (${}, ${})", n + 1, n + 2));
            n += 2;
        }
        sql.push_str(&format!(" ORDER BY received_at DESC, message_id DESC LIMIT ${}", n + 1));
        let mut query = sqlx::query(&sql);
        if let Some(state) = q.state {
            query = query.bind(state.as_str());
        }
        if let Some(after) = &q.after {
            query = query.bind(after.received_at).bind(after.id);
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
