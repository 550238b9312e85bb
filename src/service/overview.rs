//! Reading use cases that gather what one screen shows: an integration manager's work list, a
//! client with everything held about them, and the preview of a handover (what would be sent
//! now, and what stays here). Each one unit of work with one audit entry naming what it showed.

use uuid::Uuid;

use super::cases::{consent_of, load};
use super::{Office, Result, ServiceError};
use crate::domain::audit::{Access, AuditEntry};
use crate::domain::case::ClientRecord;
use crate::domain::delivery::{IncomingHandover, IncomingState, OutboxMessage, OutgoingHandover};
use crate::domain::handover::{self, CaseAtSender, HandoverCase, Withheld};
use crate::domain::ledger::LedgerRow;
use crate::domain::participation::CounsellingSession;
use crate::domain::plan::Author;
use crate::domain::{ClientId, ConsentGrant};
use crate::storage::{ClientSummary, EndingQuery, IncomingQuery, IncomingSummary};

/// How many lines each part of the work list shows at most.
pub const WORKLIST_LINES: u32 = 50;
/// Windows ending within this many days are on the work list.
pub const WORKLIST_ENDING_DAYS: i64 = 90;
/// Refused and declined handovers stay on the work list this many days.
pub const WORKLIST_REFUSED_DAYS: i64 = 30;

/// What needs doing at this office.
pub struct Worklist {
    /// Received handovers waiting for a decision, newest first.
    pub incoming: Vec<IncomingSummary>,
    /// Outgoing handovers to look at (drafts, undelivered, refused, declined), newest first, with
    /// the client they are about.
    pub outgoing: Vec<(OutgoingHandover, ClientSummary)>,
    /// Clients taking part whose window ends within 90 days, soonest first.
    pub ending: Vec<ClientSummary>,
}

/// A client with everything held about them here.
pub struct ClientOverview {
    pub record: ClientRecord,
    pub sessions: Vec<CounsellingSession>,
    pub consents: Vec<ConsentGrant>,
    /// The client's entries in this office's consent ledger, oldest first.
    pub ledger: Vec<LedgerRow>,
    /// Handovers of the client this office sent, oldest first.
    pub outgoing: Vec<OutgoingHandover>,
    /// Handovers received whose case continues in this record, oldest first.
    pub incoming: Vec<IncomingHandover>,
}

/// A handover as it would be sent now, and what it leaves behind.
pub struct HandoverPreview {
    pub handover: OutgoingHandover,
    pub outbox: Option<OutboxMessage>,
    pub client: ClientSummary,
    pub consent: ConsentGrant,
    /// What would be sent if it were approved now; the reason why nothing can be sent otherwise.
    pub sent: std::result::Result<HandoverCase, crate::domain::DomainError>,
    pub withheld: Withheld,
}

impl Office {
    /// The work list of the start page.
    pub async fn worklist(&self, author: &Author) -> Result<Worklist> {
        let (now, today) = (self.now(), self.clock().today());
        let mut tx = self.begin().await?;
        let incoming = tx
            .handovers()
            .incoming_page(&IncomingQuery { state: Some(IncomingState::Received), limit: WORKLIST_LINES, after: None })
            .await?;
        let since = now - chrono::Duration::days(WORKLIST_REFUSED_DAYS);
        let mut outgoing = Vec::new();
        for h in tx.handovers().outgoing_worklist(since, WORKLIST_LINES).await? {
            if let Some(record) = tx.clients().get(h.client_id).await? {
                outgoing.push((h, ClientSummary::from(&record)));
            }
        }
        let until = today + chrono::Duration::days(WORKLIST_ENDING_DAYS);
        let ending = tx
            .clients()
            .windows_ending(&EndingQuery { from: today, until, limit: WORKLIST_LINES, after: None })
            .await?;
        let shown = ending
            .iter()
            .map(|c| c.id.as_uuid())
            .chain(outgoing.iter().map(|(_, c)| c.id.as_uuid()))
            .chain(incoming.iter().map(|i| i.id))
            .collect();
        tx.audit().append(&[AuditEntry::list(now, &author.account, "worklist", shown)]).await?;
        tx.commit().await?;
        Ok(Worklist { incoming, outgoing, ending })
    }

    /// A client with sessions, consents, ledger entries and handovers.
    pub async fn client_overview(&self, author: &Author, id: ClientId) -> Result<ClientOverview> {
        let mut tx = self.begin().await?;
        let record = load(&mut tx, id).await?;
        let sessions = tx.clients().sessions(id).await?;
        let consents = tx.consents().of_client(id).await?;
        let ledger = tx.ledger().of_client(id).await?;
        let outgoing = tx.handovers().outgoing_of_client(id).await?;
        let incoming = tx.handovers().incoming_of_client(id).await?;
        tx.audit().append(&[self.entry(author, Access::Read, "client", Some(id))]).await?;
        tx.commit().await?;
        Ok(ClientOverview { record, sessions, consents, ledger, outgoing, incoming })
    }

    /// An outgoing handover with the message its approval would send now (built by the same
    /// rules as the approval) and what stays at this office.
    pub async fn preview_handover(&self, author: &Author, id: Uuid) -> Result<HandoverPreview> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let handover = tx.handovers().outgoing(id).await?.ok_or(ServiceError::NotFound("handover"))?;
        let outbox = tx.outbox().get(id).await?;
        let record = load(&mut tx, handover.client_id).await?;
        let consent = consent_of(&mut tx, handover.client_id, handover.consent_id).await?;
        tx.audit().append(&[self.entry(author, Access::Read, "handover", Some(handover.client_id))]).await?;
        tx.commit().await?;
        let sent = record.ensure_active().and_then(|()| consent.check_valid(now)).and_then(|()| {
            handover::prepare(
                CaseAtSender {
                    case_id: record.case_id,
                    identity: &record.identity,
                    window: &record.window,
                    plan: &record.plan,
                },
                &consent,
                self.id,
                handover.receiver,
                crate::domain::time::german_date(now),
            )
        });
        let withheld = match &sent {
            Ok(case) => handover::withheld(&record.plan, &record.window, case),
            Err(_) => Withheld::default(),
        };
        Ok(HandoverPreview { handover, outbox, client: ClientSummary::from(&record), consent, sent, withheld })
    }
}
