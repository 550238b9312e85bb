//! The client's rights over their data: access to everything held about them (GDPR Art. 15), and
//! erasure (Art. 17), on request and after the retention period. Erasure removes the personal
//! data; the ledger stays complete and verifiable (it holds ids, categories and hashes, no
//! names), and records the erasure.

use chrono::{DateTime, Utc};

use super::cases::load;
use super::consents::append;
use super::{Office, Result, ServiceError};
use crate::domain::audit::{Access, AuditEntry};
use crate::domain::case::ClientRecord;
use crate::domain::delivery::{IncomingHandover, OutgoingHandover};
use crate::domain::ledger::{EntryKind, ErasureReason, LedgerRow};
use crate::domain::participation::CounsellingSession;
use crate::domain::plan::Author;
use crate::domain::staff::Role;
use crate::domain::{ClientId, ConsentGrant, DomainError};

/// Everything this office holds about a client.
pub struct ClientExport {
    pub record: ClientRecord,
    pub sessions: Vec<CounsellingSession>,
    pub consents: Vec<ConsentGrant>,
    pub ledger: Vec<LedgerRow>,
    pub sent: Vec<OutgoingHandover>,
    pub received: Vec<IncomingHandover>,
    /// Who read or changed the client's data, when (sequence number and entry).
    pub access_log: Vec<(i64, AuditEntry)>,
    pub exported_at: DateTime<Utc>,
}

/// The account erasures after the retention period are recorded under.
pub const RETENTION_ACCOUNT: &str = "system:retention";

impl Office {
    /// Everything held about a client, for the client (Art. 15); the export is itself audited.
    pub async fn export_client(&self, author: &Author, id: ClientId) -> Result<ClientExport> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let record = load(&mut tx, id).await?;
        let sessions = tx.clients().sessions(id).await?;
        let consents = tx.consents().of_client(id).await?;
        let mut ledger = tx.ledger().of_client(id).await?;
        for c in &consents {
            for row in tx.ledger().of_consent(c.id).await? {
                if !ledger.iter().any(|r| r.seq == row.seq) {
                    ledger.push(row);
                }
            }
        }
        for h in tx.handovers().incoming_of_client(id).await? {
            for row in tx.ledger().of_consent(h.handover.case.consent.consent_id).await? {
                if !ledger.iter().any(|r| r.seq == row.seq) {
                    ledger.push(row);
                }
            }
        }
        ledger.sort_by_key(|r| r.seq);
        let sent = tx.handovers().outgoing_of_client(id).await?;
        let received = tx.handovers().incoming_of_client(id).await?;
        let mut access_log = Vec::new();
        let mut after = None;
        loop {
            let page = tx.audit().for_client(id, after, 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.0);
            access_log.extend(page);
        }
        tx.audit().append(&[self.entry(author, Access::Read, "export", Some(id))]).await?;
        tx.commit().await?;
        Ok(ClientExport { record, sessions, consents, ledger, sent, received, access_log, exported_at: now })
    }

    /// A team lead erases a client's personal data at their request (Art. 17), after checking
    /// that no legal duty to keep it stands in the way (Art. 17(3)). Not while a handover of the
    /// client is open.
    pub async fn erase_on_request(&self, author: &Author, role: Role, id: ClientId) -> Result<DateTime<Utc>> {
        if role != Role::TeamLead {
            return Err(ServiceError::Forbidden);
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        load(&mut tx, id).await?;
        if tx.handovers().open_outgoing(id).await?.is_some() {
            return Err(DomainError::HandoverOpen.into());
        }
        tx.clients().erase(id, now).await?;
        let kind = EntryKind::Erased {
            client_id: Some(id),
            handover_id: None,
            erased_by: author.account.clone(),
            reason: ErasureReason::ClientRequest,
        };
        append(&mut tx, now, kind).await?;
        tx.audit().append(&[self.entry(author, Access::Write, "erasure", Some(id))]).await?;
        tx.commit().await?;
        tracing::info!(client = %id, "personal data erased on request");
        Ok(now)
    }

    /// Erases the personal data of every client whose case ended here more than the retention
    /// period ago (and who has no open handover), and every received handover never taken over
    /// (declined, or withdrawn before a decision) received more than the retention period ago.
    /// `progress` hears each erasure ("client record <id>", "received handover <id>").
    pub async fn erase_expired(&self, progress: &(dyn Fn(&str) + Sync)) -> Result<Erased> {
        let today = self.clock().today();
        let days = self.settings.retention.num_days();
        let before = today - chrono::Duration::days(days);
        let mut erased = Erased::default();
        let mut after = None;
        loop {
            let candidates = self.storage.read().await?.clients().ended_candidates(before, after, 100).await?;
            let Some(last) = candidates.last() else { break };
            after = Some(*last);
            for id in candidates {
                let now = self.now();
                let mut tx = self.begin().await?;
                let Some(record) = tx.clients().get(id).await? else { continue };
                if !record.retention_passed(today, days) || tx.handovers().open_outgoing(id).await?.is_some() {
                    continue;
                }
                tx.clients().erase(id, now).await?;
                let kind = EntryKind::Erased {
                    client_id: Some(id),
                    handover_id: None,
                    erased_by: RETENTION_ACCOUNT.to_owned(),
                    reason: ErasureReason::RetentionEnded,
                };
                append(&mut tx, now, kind).await?;
                tx.audit()
                    .append(&[AuditEntry::new(now, RETENTION_ACCOUNT, Access::Write, "erasure", Some(id))])
                    .await?;
                tx.commit().await?;
                erased.clients += 1;
                progress(&format!("client record {id}"));
            }
        }
        // Received handovers never taken over: the query finds candidates, the domain decides.
        let cutoff = self.now() - self.settings.retention;
        loop {
            let candidates = self.storage.read().await?.handovers().closed_incoming_before(cutoff, 100).await?;
            let mut progressed = false;
            for id in candidates {
                let now = self.now();
                let mut tx = self.begin().await?;
                let Some(h) = tx.handovers().incoming(id).await? else { continue };
                if !h.retention_passed(today, days) {
                    continue;
                }
                tx.handovers().erase_incoming(id).await?;
                let kind = EntryKind::Erased {
                    client_id: None,
                    handover_id: Some(id),
                    erased_by: RETENTION_ACCOUNT.to_owned(),
                    reason: ErasureReason::RetentionEnded,
                };
                append(&mut tx, now, kind).await?;
                let mut entry = AuditEntry::new(now, RETENTION_ACCOUNT, Access::Write, "incoming-erasure", None);
                entry.subjects = vec![id];
                tx.audit().append(&[entry]).await?;
                tx.commit().await?;
                erased.received_handovers += 1;
                progressed = true;
                progress(&format!("received handover {id}"));
            }
            if !progressed {
                break;
            }
        }
        Ok(erased)
    }
}

/// What a retention run erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub clients: usize,
    pub received_handovers: usize,
}
