//! Handovers: drafting, approving, cancelling and sending at the releasing office; accepting or
//! declining at the receiving office. Each use case one unit of work: the handover's transition
//! (decided by the domain), the client record, the signed message for the outbox and the audit
//! entry are committed together.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::cases::{consent_of, load};
use super::{Office, Result, ServiceError};
use crate::domain::audit::{Access, AuditEntry};
use crate::domain::case::ClientRecord;
use crate::domain::delivery::{
    Decision, IncomingHandover, MessageKind, OutboxMessage, OutgoingHandover, ReceivedHandover,
};
use crate::domain::handover::{self, CaseAtSender};
use crate::domain::ledger::LedgerHead;
use crate::domain::plan::Author;
use crate::domain::staff::Role;
use crate::domain::{ClientId, ConsentGrant, ConsentId, DomainError, OfficeId, Text};
use crate::federation::protocol::{DecisionMessage, DecisionType, HandoverMessage, HandoverType, WireKind as _};
use crate::storage::{IncomingQuery, IncomingSummary, StorageError, UnitOfWork};

impl Office {
    /// Writes a handover draft after checking that it could be sent as it stands. A client has
    /// one open handover at a time.
    pub async fn draft_handover(
        &self,
        author: &Author,
        client: ClientId,
        receiver: OfficeId,
        consent: ConsentId,
    ) -> Result<OutgoingHandover> {
        let now = self.now();
        if self.directory.office(receiver).is_none() {
            return Err(ServiceError::UnknownOffice(receiver));
        }
        let mut tx = self.begin().await?;
        let record = load(&mut tx, client).await?;
        let grant = consent_of(&mut tx, client, consent).await?;
        self.build_handover(&record, &grant, receiver, Uuid::new_v4(), None, now)?;
        let open = tx.handovers().open_outgoing(client).await?;
        let draft = OutgoingHandover::draft(client, receiver, consent, &author.account, open.as_ref(), now)?;
        match tx.handovers().insert_outgoing(&draft).await {
            // Another draft of the same client was stored meanwhile.
            Err(StorageError::Conflict) => return Err(DomainError::HandoverOpen.into()),
            other => other?,
        }
        tx.audit().append(&[self.entry(author, Access::Write, "handover-draft", Some(client))]).await?;
        tx.commit().await?;
        Ok(draft)
    }

    /// The signed-to-be message of a handover, built from the client record and the consent as
    /// they are now: only what the consent covers, and only while it holds (given, not
    /// withdrawn, revoked or expired). `ledger_head`: this office's ledger head, signed along.
    fn build_handover(
        &self,
        record: &ClientRecord,
        consent: &ConsentGrant,
        receiver: OfficeId,
        message_id: Uuid,
        ledger_head: Option<LedgerHead>,
        now: DateTime<Utc>,
    ) -> Result<HandoverMessage> {
        record.ensure_active()?;
        consent.check_valid(now)?;
        let case = handover::prepare(
            CaseAtSender {
                case_id: record.case_id,
                identity: &record.identity,
                window: &record.window,
                plan: &record.plan,
            },
            consent,
            self.id,
            receiver,
            crate::domain::time::german_date(now),
        )?;
        Ok(HandoverMessage {
            message_type: HandoverType::V1,
            message_id,
            sender: self.id,
            receiver,
            issued_at: now,
            expires_at: now + self.settings.message_ttl,
            case,
            ledger_head,
        })
    }

    /// An outgoing handover and the state of its message, as an integration manager reads it.
    pub async fn outgoing_handover(
        &self,
        author: &Author,
        id: Uuid,
    ) -> Result<(OutgoingHandover, Option<OutboxMessage>)> {
        let mut tx = self.begin().await?;
        let handover = tx.handovers().outgoing(id).await?.ok_or(ServiceError::NotFound("handover"))?;
        let outbox = tx.outbox().get(id).await?;
        tx.audit().append(&[self.entry(author, Access::Read, "handover", Some(handover.client_id))]).await?;
        tx.commit().await?;
        Ok((handover, outbox))
    }

    /// Approves a draft: the handover is built afresh from the current record and consent, signed,
    /// and queued for delivery in the same unit of work that marks it approved.
    pub async fn approve_handover(
        &self,
        author: &Author,
        role: Role,
        id: Uuid,
    ) -> Result<(OutgoingHandover, OutboxMessage)> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let mut handover = tx.handovers().outgoing(id).await?.ok_or(ServiceError::NotFound("handover"))?;
        handover.approve(&author.account, role, self.settings.four_eyes, now)?;
        let record = load(&mut tx, handover.client_id).await?;
        let grant = consent_of(&mut tx, handover.client_id, handover.consent_id).await?;
        if grant.is_active() && grant.check_valid(now) == Err(DomainError::ConsentExpired) {
            // The expiry passed unrecorded: record it (the draft is cancelled with it), refuse.
            drop(tx);
            self.expire_if_due(grant.id).await?;
            return Err(DomainError::ConsentExpired.into());
        }
        let head = tx.ledger().head().await?;
        let message = self.build_handover(&record, &grant, handover.receiver, handover.id, Some(head), now)?;
        let payload = serde_json::to_vec(&message).expect("messages serialise");
        let jws = self.signer.sign(&payload, MessageKind::Handover.type_name());
        let outbox =
            OutboxMessage::new(handover.id, MessageKind::Handover, handover.receiver, jws, now, message.expires_at);
        tx.handovers().update_outgoing(&mut handover).await?;
        tx.outbox().insert(&outbox).await?;
        tx.audit().append(&[self.entry(author, Access::Write, "handover-approval", Some(handover.client_id))]).await?;
        tx.commit().await?;
        self.wake_delivery.notify_one();
        tracing::info!(handover = %id, receiver = %handover.receiver, "handover approved and queued");
        Ok((handover, outbox))
    }

    /// Cancels a handover that has not reached the receiver: a draft, or an approved one whose
    /// message is still queued (its delivery stops). A delivered handover waits for the
    /// receiver's decision and cannot be cancelled.
    pub async fn cancel_handover(
        &self,
        author: &Author,
        id: Uuid,
    ) -> Result<(OutgoingHandover, Option<OutboxMessage>)> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let mut handover = tx.handovers().outgoing(id).await?.ok_or(ServiceError::NotFound("handover"))?;
        handover.cancel(now)?;
        tx.handovers().update_outgoing(&mut handover).await?;
        let mut outbox = tx.outbox().get(id).await?;
        if let Some(message) = outbox.as_mut() {
            if message.cancel(now, &format!("by {}", author.account)) {
                tx.outbox().update(message).await?;
            }
        }
        tx.audit().append(&[self.entry(author, Access::Write, "handover-cancel", Some(handover.client_id))]).await?;
        tx.commit().await?;
        tracing::info!(handover = %id, "handover cancelled");
        Ok((handover, outbox))
    }

    /// A page of received handovers, newest first; one audit entry names the handovers it showed
    /// (received data is not a client record yet).
    pub async fn list_incoming(&self, author: &Author, query: &IncomingQuery) -> Result<Vec<IncomingSummary>> {
        let mut tx = self.begin().await?;
        let page = tx.handovers().incoming_page(query).await?;
        let shown = page.iter().map(|h| h.id).collect();
        tx.audit().append(&[AuditEntry::list(self.now(), &author.account, "incoming-list", shown)]).await?;
        tx.commit().await?;
        Ok(page)
    }

    /// A received handover with its whole case.
    pub async fn read_incoming(&self, author: &Author, id: Uuid) -> Result<IncomingHandover> {
        let mut tx = self.begin().await?;
        let h = incoming(&mut tx, id).await?;
        let mut entry = self.entry(author, Access::Read, "incoming", h.client_id);
        entry.subjects = vec![id];
        tx.audit().append(&[entry]).await?;
        tx.commit().await?;
        Ok(h)
    }

    /// The signed decision on a received handover, for the outbox.
    fn decision(
        &self,
        handover: &ReceivedHandover,
        decision: Decision,
        reason: Option<Text>,
        now: DateTime<Utc>,
    ) -> OutboxMessage {
        let message = DecisionMessage {
            message_type: DecisionType::V1,
            message_id: Uuid::new_v4(),
            sender: self.id,
            receiver: handover.sender,
            issued_at: now,
            expires_at: now + self.settings.message_ttl,
            handover_id: handover.message_id,
            decision,
            decided_at: now,
            reason,
        };
        let payload = serde_json::to_vec(&message).expect("messages serialise");
        let jws = self.signer.sign(&payload, MessageKind::Decision.type_name());
        OutboxMessage::new(message.message_id, MessageKind::Decision, handover.sender, jws, now, message.expires_at)
    }

    /// Accepts a received handover: the client continues here with the original first session and
    /// extensions (the same last day) and the plan with its history. A case this office held
    /// before (the client moves back) continues in its existing record, its window only grown.
    /// The signed decision is queued for the releasing office in the same unit of work.
    pub async fn accept_incoming(&self, author: &Author, id: Uuid) -> Result<ClientRecord> {
        let (now, today) = (self.now(), self.clock().today());
        let mut tx = self.begin().await?;
        let mut incoming = incoming(&mut tx, id).await?;
        incoming.ensure_undecided("accept")?;
        let received = handover::check_incoming(&incoming.handover.case, self.id, today)?;
        let existing = tx.clients().by_case(incoming.handover.case.case_id).await?;
        let window = handover::continue_case(&received, existing.as_ref().map(ClientRecord::held))?;
        let decision = self.decision(&incoming.handover, Decision::Accepted, None, now);
        let from = incoming.handover.sender;
        let record = match existing {
            Some(mut record) => {
                record.continue_received(&incoming.handover.case, window, from, now)?;
                incoming.accept(&author.account, record.id, decision.message_id, now)?;
                tx.clients().update(&mut record).await?;
                record
            }
            None => {
                let record = ClientRecord::received(&incoming.handover.case, window, from, now);
                incoming.accept(&author.account, record.id, decision.message_id, now)?;
                tx.clients().insert(&record).await?;
                record
            }
        };
        tx.outbox().insert(&decision).await?;
        tx.handovers().update_incoming(&mut incoming).await?;
        let mut entry = self.entry(author, Access::Write, "incoming-acceptance", Some(record.id));
        entry.subjects = vec![id];
        tx.audit().append(&[entry]).await?;
        tx.commit().await?;
        self.wake_delivery.notify_one();
        tracing::info!(handover = %id, sender = %from, "handover accepted");
        Ok(record)
    }

    /// Declines a received handover with a reason (no personal data), queuing the decision.
    pub async fn decline_incoming(&self, author: &Author, id: Uuid, reason: Text) -> Result<IncomingHandover> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let mut incoming = incoming(&mut tx, id).await?;
        let decision = self.decision(&incoming.handover, Decision::Declined, Some(reason.clone()), now);
        incoming.decline(&author.account, &reason, decision.message_id, now)?;
        tx.outbox().insert(&decision).await?;
        tx.handovers().update_incoming(&mut incoming).await?;
        let mut entry = self.entry(author, Access::Write, "incoming-decline", None);
        entry.subjects = vec![id];
        tx.audit().append(&[entry]).await?;
        tx.commit().await?;
        self.wake_delivery.notify_one();
        tracing::info!(handover = %id, "handover declined");
        Ok(incoming)
    }
}

async fn incoming(tx: &mut Box<dyn UnitOfWork>, id: Uuid) -> Result<IncomingHandover> {
    tx.handovers().incoming(id).await?.ok_or(ServiceError::NotFound("handover"))
}
