//! Handovers: drafting, approving and sending at the releasing office; accepting or declining
//! at the receiving office.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::cases::Access;
use super::{Office, Result, ServiceError};
use crate::domain::handover::{self, CaseAtSender};
use crate::domain::plan::Author;
use crate::domain::staff::{self, Role};
use crate::domain::time::german_date;
use crate::domain::{ClientId, ConsentId, DomainError, IntegrationPlan, OfficeId, Text};
use crate::federation::protocol::{
    Decision, DecisionMessage, DecisionType, HandoverMessage, HandoverType, MessageKind,
};
use crate::storage::{
    AcceptedClient, ClientRecord, ClientStatus, DecidedBy, IncomingHandover, IncomingState, OutboxMessage,
    OutgoingHandover, OutgoingState,
};

impl Office {
    /// Writes a handover draft after checking that it could be sent as it stands.
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
        let record = self.client(client).await?;
        let consent_grant = self.consent(client, consent).await?;
        self.build_handover(&record, &consent_grant, receiver, Uuid::new_v4(), now)?;
        if self.storage.open_outgoing(client).await?.is_some() {
            return Err(DomainError::HandoverOpen.into());
        }
        let draft = OutgoingHandover {
            id: Uuid::new_v4(),
            client_id: client,
            receiver,
            consent_id: consent,
            state: OutgoingState::Draft,
            created_by: author.account.clone(),
            created_at: now,
            approved_by: None,
            approved_at: None,
            decided_at: None,
            decline_reason: None,
        };
        self.audit(author, "handover-draft", Access::Write, Some(client)).await?;
        match self.storage.insert_outgoing(&draft).await {
            // Another draft of the same client was stored meanwhile.
            Err(crate::storage::StorageError::Conflict) => Err(DomainError::HandoverOpen.into()),
            other => Ok(other.map(|()| draft)?),
        }
    }

    /// Cancels a handover that has not reached the receiver: a draft, or an approved one whose
    /// message is still queued (its delivery stops). A delivered handover waits for the
    /// receiver's decision and cannot be cancelled.
    pub async fn cancel_handover(&self, author: &Author, id: Uuid) -> Result<OutgoingHandover> {
        let now = self.now();
        let handover = self.storage.outgoing(id).await?.ok_or(ServiceError::NotFound("handover"))?;
        if !matches!(handover.state, OutgoingState::Draft | OutgoingState::Approved) {
            return Err(ServiceError::State("only a draft or a handover not yet delivered can be cancelled"));
        }
        self.audit(author, "handover-cancel", Access::Write, Some(handover.client_id)).await?;
        match self.storage.cancel_outgoing(id, now, &format!("by {}", author.account)).await {
            Err(crate::storage::StorageError::Conflict) => {
                Err(ServiceError::State("only a draft or a handover not yet delivered can be cancelled"))
            }
            other => other.map_err(ServiceError::from),
        }?;
        tracing::info!(handover = %id, "handover cancelled");
        self.storage.outgoing(id).await?.ok_or(ServiceError::NotFound("handover"))
    }

    fn build_handover(
        &self,
        record: &ClientRecord,
        consent: &crate::domain::ConsentGrant,
        receiver: OfficeId,
        message_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<HandoverMessage> {
        if record.status != ClientStatus::Active {
            return Err(DomainError::ClientMovedOut.into());
        }
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
            german_date(now),
        )?;
        Ok(HandoverMessage {
            message_type: HandoverType::V1,
            message_id,
            sender: self.id,
            receiver,
            issued_at: now,
            expires_at: now + self.settings.message_ttl,
            case,
        })
    }

    pub async fn outgoing_handover(
        &self,
        author: &Author,
        id: Uuid,
    ) -> Result<(OutgoingHandover, Option<OutboxMessage>)> {
        let handover = self.storage.outgoing(id).await?.ok_or(ServiceError::NotFound("handover"))?;
        self.audit(author, "handover", Access::Read, Some(handover.client_id)).await?;
        let outbox = self.storage.outbox_message(id).await?;
        Ok((handover, outbox))
    }

    /// Approves a draft: the handover is built afresh from the current record and consent, signed,
    /// and queued for delivery in the same transaction that marks it approved.
    pub async fn approve_handover(&self, author: &Author, role: Role, id: Uuid) -> Result<OutgoingHandover> {
        let now = self.now();
        let draft = self.storage.outgoing(id).await?.ok_or(ServiceError::NotFound("handover"))?;
        if draft.state != OutgoingState::Draft {
            return Err(ServiceError::State("only a draft can be approved"));
        }
        staff::second_pair_of_eyes(self.settings.four_eyes, &author.account, role, &draft.created_by)?;
        let record = self.client(draft.client_id).await?;
        let consent = self.consent(draft.client_id, draft.consent_id).await?;
        let message = self.build_handover(&record, &consent, draft.receiver, draft.id, now)?;
        let payload = serde_json::to_vec(&message).expect("messages serialise");
        let jws = self.signer.sign(&payload, MessageKind::Handover.type_name());
        let outbox = OutboxMessage::new(draft.id, MessageKind::Handover, draft.receiver, jws, now, message.expires_at);
        self.audit(author, "handover-approval", Access::Write, Some(draft.client_id)).await?;
        self.storage.approve_outgoing(id, &author.account, now, &outbox).await?;
        self.wake_delivery.notify_one();
        tracing::info!(handover = %id, receiver = %draft.receiver, "handover approved and queued");
        self.storage.outgoing(id).await?.ok_or(ServiceError::NotFound("handover"))
    }

    /// Handovers received, each audited as read (received data is not a client record yet, so the
    /// entry names the handover).
    pub async fn list_incoming(&self, author: &Author) -> Result<Vec<IncomingHandover>> {
        let list = self.storage.list_incoming().await?;
        for h in &list {
            self.audit(author, &format!("incoming-list:{}", h.message.message_id), Access::Read, h.client_id).await?;
        }
        Ok(list)
    }

    pub async fn read_incoming(&self, author: &Author, id: Uuid) -> Result<IncomingHandover> {
        let h = self.incoming(id).await?;
        self.audit(author, &format!("incoming:{id}"), Access::Read, h.client_id).await?;
        Ok(h)
    }

    async fn incoming(&self, id: Uuid) -> Result<IncomingHandover> {
        self.storage.incoming(id).await?.ok_or(ServiceError::NotFound("handover"))
    }

    fn decision(
        &self,
        handover: &HandoverMessage,
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
    /// before (the client moves back) continues in its existing record. The signed decision is
    /// queued for the releasing office in the same transaction.
    pub async fn accept_incoming(&self, author: &Author, id: Uuid) -> Result<ClientRecord> {
        let now = self.now();
        let incoming = self.incoming(id).await?;
        if incoming.state != IncomingState::Received {
            return Err(ServiceError::State("the handover was decided already"));
        }
        let message = &incoming.message;
        let received = handover::check_incoming(&message.case, self.id, german_date(now))?;
        let existing = self.storage.client_by_case(message.case.case_id).await?;
        let window = handover::continue_case(&received, existing.as_ref().map(ClientRecord::held))?;
        let decision = self.decision(message, Decision::Accepted, None, now);
        let decided = DecidedBy { account: author.account.clone(), at: now };
        let client_id = existing.as_ref().map_or_else(ClientId::new, |c| c.id);
        self.audit(author, &format!("incoming-acceptance:{id}"), Access::Write, Some(client_id)).await?;
        let record = match existing {
            Some(mut existing) => {
                existing.identity = message.case.client.clone();
                existing.window = window;
                existing.plan = merge_plans(existing.plan, &message.case.plan);
                existing.status = ClientStatus::Active;
                existing.received_from = Some(message.sender);
                existing.updated_at = now;
                self.storage.accept_incoming(id, AcceptedClient::Continued(&existing), &decided, &decision).await?;
                existing.version += 1;
                existing
            }
            None => {
                let mut record = ClientRecord::new(message.case.client.clone(), window, message.case.plan.clone(), now);
                record.id = client_id;
                record.case_id = message.case.case_id;
                record.received_from = Some(message.sender);
                self.storage.accept_incoming(id, AcceptedClient::New(&record), &decided, &decision).await?;
                record
            }
        };
        self.wake_delivery.notify_one();
        tracing::info!(handover = %id, sender = %message.sender, "handover accepted");
        Ok(record)
    }

    /// Declines a received handover with a reason (no personal data), queuing the decision.
    pub async fn decline_incoming(&self, author: &Author, id: Uuid, reason: Text) -> Result<IncomingHandover> {
        let now = self.now();
        let incoming = self.incoming(id).await?;
        if incoming.state != IncomingState::Received {
            return Err(ServiceError::State("the handover was decided already"));
        }
        let decision = self.decision(&incoming.message, Decision::Declined, Some(reason.clone()), now);
        let decided = DecidedBy { account: author.account.clone(), at: now };
        self.audit(author, &format!("incoming-decline:{id}"), Access::Write, None).await?;
        self.storage.decline_incoming(id, &decided, reason.as_str(), &decision).await?;
        self.wake_delivery.notify_one();
        tracing::info!(handover = %id, "handover declined");
        self.incoming(id).await
    }
}

/// The plan of a case coming back: goals sent now replace their older copies, goals only held
/// here stay, and the history is the union of both, in time order.
fn merge_plans(local: IntegrationPlan, received: &IntegrationPlan) -> IntegrationPlan {
    let mut goals: Vec<_> = local.goals.into_iter().filter(|g| !received.goals.iter().any(|r| r.id == g.id)).collect();
    goals.extend(received.goals.iter().cloned());
    let mut history = local.history;
    for event in &received.history {
        if !history.contains(event) {
            history.push(event.clone());
        }
    }
    history.sort_by_key(|e| e.at);
    IntegrationPlan { goals, history }
}
