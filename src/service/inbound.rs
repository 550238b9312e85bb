//! Receiving signed messages from other offices. The checks run in a fixed, documented order
//! (schemas/README.md): size (in the HTTP layer), signature by the directory key named by `kid`,
//! signer = TLS peer, audience, duplicate, expiry, schema, then the domain checks. Only a message
//! that passes all is stored, and only once stored is the signed receipt returned: the message,
//! its effect and its audit entry are one unit of work, committed before the answer leaves.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::Office;
use super::consents::append;
use crate::domain::audit::{Access, AuditEntry};
use crate::domain::delivery::OutgoingState;
use crate::domain::delivery::{Decision, IncomingHandover, MessageKind};
use crate::domain::ledger::{EntryKind, WithdrawnVia};
use crate::domain::time::german_date;
use crate::domain::{DomainError, OfficeId, handover};
use crate::federation::jws::{self, JwsError};
use crate::federation::protocol::{
    DecisionMessage, HandoverMessage, Receipt, ReceiptType, WireKind as _, WithdrawalMessage, sha256_hex,
};
use crate::federation::schema::{self, SchemaViolation};
use crate::storage::{InboxOutcome, InboxRecord, StorageError};

/// How far a sender's clock may run ahead of ours.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);
/// The longest a message may be valid: bounds how long a captured message could be replayed
/// (a replay is answered with the stored receipt anyway) and how long an inbox must remember ids.
pub const MAX_LIFETIME: chrono::Duration = chrono::Duration::days(30);

/// Why a message from another office was refused. Each maps to one documented problem type.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("the body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("the payload is not I-JSON: {0}")]
    PayloadNotIJson(crate::ijson::IJsonError),
    #[error("signed by office {signer}, but the TLS client certificate is office {peer}")]
    SignerNotPeer { signer: OfficeId, peer: OfficeId },
    #[error("the message is not addressed to this office")]
    WrongAudience,
    #[error("the message id was received before with different bytes")]
    DuplicateConflict,
    #[error("the message expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the message was issued in the future")]
    NotYetValid,
    #[error("the message is valid for longer than allowed")]
    LifetimeTooLong,
    #[error("the payload does not match the schema")]
    Schema(Vec<SchemaViolation>),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("no handover from this office to the sender awaits a decision")]
    UnknownHandover,
    #[error("no handover on this consent passed between the sender and this office")]
    UnknownConsent,
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

/// A use case's storage failure inside a receipt: the message is not stored.
fn service_storage(e: super::ServiceError) -> Rejection {
    match e {
        super::ServiceError::Storage(s) => Rejection::Storage(s),
        super::ServiceError::Domain(d) => Rejection::Domain(d),
        other => Rejection::Storage(StorageError::Corrupt(other.to_string())),
    }
}

fn violation(pointer: &str, keyword: &str) -> Rejection {
    Rejection::Schema(vec![SchemaViolation { pointer: pointer.into(), keyword: keyword.into() }])
}

/// A field read before the schema check, as strictly as the schema will read it: a missing
/// field is a violation of `required`, one of another type or form of `format`.
fn field<T>(payload: &Value, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, Rejection> {
    let value = payload.get(name).ok_or_else(|| violation(&format!("/{name}"), "required"))?;
    value.as_str().and_then(parse).ok_or_else(|| violation(&format!("/{name}"), "format"))
}

fn uuid(s: &str) -> Option<Uuid> {
    crate::domain::client::parse_canonical_uuid(s)
}

fn instant(s: &str) -> Option<DateTime<Utc>> {
    crate::domain::time::parse_ts(s).ok()
}

/// The typed message. The schema has passed, so what fails here are the rules a schema cannot
/// say (e.g. text of blanks only after trimming); the pointer names the field, never its value.
fn typed<T: DeserializeOwned>(payload: Value) -> Result<T, Rejection> {
    serde_path_to_error::deserialize(payload).map_err(|e| {
        let mut pointer = String::new();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                serde_path_to_error::Segment::Map { key } => pointer.push_str(&format!("/{key}")),
                serde_path_to_error::Segment::Enum { variant } => pointer.push_str(&format!("/{variant}")),
                serde_path_to_error::Segment::Unknown => pointer.push_str("/?"),
            }
        }
        violation(&pointer, "format")
    })
}

impl Office {
    /// Checks a message posted by `peer` (the office of the TLS client certificate) and, if it
    /// passes, stores it and returns the signed receipt (compact JWS) to answer with.
    #[tracing::instrument(skip_all, fields(kind = kind.as_str(), peer = %peer))]
    pub async fn receive(&self, kind: MessageKind, peer: OfficeId, body: &[u8]) -> Result<String, Rejection> {
        let now = self.now();
        let compact = std::str::from_utf8(body).map_err(|_| JwsError::Malformed)?;
        let verified = jws::verify(compact, &self.directory, kind.type_name())?;
        if verified.signer != peer {
            return Err(Rejection::SignerNotPeer { signer: verified.signer, peer });
        }
        let payload: Value = crate::ijson::parse(&verified.payload).map_err(Rejection::PayloadNotIJson)?;
        if payload.get("receiver").and_then(Value::as_str) != Some(self.id.as_str()) {
            return Err(Rejection::WrongAudience);
        }
        let message_id = field(&payload, "message_id", uuid)?;
        let sha256 = sha256_hex(body);
        let known = self.storage.read().await?.inbox().get(message_id).await?;
        if let Some(known) = known {
            return if known.sha256 == sha256 && known.kind == kind {
                Ok(known.receipt)
            } else {
                Err(Rejection::DuplicateConflict)
            };
        }
        let expires_at = field(&payload, "expires_at", instant)?;
        if now > expires_at {
            return Err(Rejection::Expired(expires_at));
        }
        let issued_at = field(&payload, "issued_at", instant)?;
        if issued_at > now + CLOCK_SKEW {
            return Err(Rejection::NotYetValid);
        }
        if expires_at <= issued_at || expires_at - issued_at > MAX_LIFETIME {
            return Err(Rejection::LifetimeTooLong);
        }
        schema::validate(kind, &payload).map_err(Rejection::Schema)?;
        let receipt = self.sign_receipt(message_id, peer, &sha256, now);
        let inbox = InboxRecord {
            message_id,
            kind,
            sender: peer,
            sha256,
            jws: compact.to_owned(),
            receipt: receipt.clone(),
            received_at: now,
        };
        let outcome = match kind {
            MessageKind::Handover => self.receive_handover(payload, &inbox).await?,
            MessageKind::Decision => self.receive_decision(payload, &inbox).await?,
            MessageKind::Withdrawal => self.receive_withdrawal(payload, &inbox).await?,
            MessageKind::Receipt => return Err(violation("/type", "const")),
        };
        match outcome {
            InboxOutcome::Stored => {
                tracing::info!(message = %message_id, "message stored and acknowledged");
                Ok(receipt)
            }
            InboxOutcome::Duplicate { receipt } => Ok(receipt),
            InboxOutcome::Conflict => Err(Rejection::DuplicateConflict),
        }
    }

    fn sign_receipt(&self, message_id: Uuid, to: OfficeId, sha256: &str, now: DateTime<Utc>) -> String {
        let receipt = Receipt {
            message_type: ReceiptType::V1,
            receipt_for: message_id,
            sender: self.id,
            receiver: to,
            received_at: now,
            sha256: sha256.to_owned(),
        };
        self.signer.sign(&serde_json::to_vec(&receipt).expect("receipts serialise"), MessageKind::Receipt.type_name())
    }

    async fn receive_handover(&self, payload: Value, inbox: &InboxRecord) -> Result<InboxOutcome, Rejection> {
        let message: HandoverMessage = typed(payload)?;
        if message.sender != inbox.sender {
            return Err(Rejection::SignerNotPeer { signer: message.sender, peer: inbox.sender });
        }
        if message.sender == self.id {
            return Err(DomainError::HandoverToSelf.into());
        }
        let sender_head = message.ledger_head.clone();
        let received = message.received();
        let window = handover::check_incoming(&received.case, self.id, german_date(inbox.received_at))?;
        let mut tx = self.storage.begin().await?;
        let held = tx.clients().by_case(received.case.case_id).await?;
        handover::continue_case(&window, held.as_ref().map(|c| c.held()))?;
        let outcome = tx.inbox().offer(inbox).await?;
        if outcome != InboxOutcome::Stored {
            return Ok(outcome);
        }
        let entry = self.received_entry(inbox, "handover-received", None);
        let basis = &received.case.consent;
        let kind = EntryKind::BasisReceived {
            consent_id: basis.consent_id,
            from: inbox.sender,
            handover_id: inbox.message_id,
            categories: basis.categories.clone(),
            legal_bases: basis.legal_bases.clone(),
            given_at: basis.given_at,
            text: basis.text.clone(),
            sender_head: sender_head.clone(),
        };
        append(&mut tx, inbox.received_at, kind).await.map_err(service_storage)?;
        if let Some(head) = &sender_head {
            tx.ledger().insert_peer_head(inbox.sender, head, inbox.message_id, inbox.received_at).await?;
        }
        tx.handovers().insert_incoming(&IncomingHandover::received(received, inbox.received_at)).await?;
        tx.audit().append(&[entry]).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The audit entry of a message received from another office.
    fn received_entry(&self, inbox: &InboxRecord, what: &str, client: Option<crate::domain::ClientId>) -> AuditEntry {
        let mut entry =
            AuditEntry::new(inbox.received_at, &format!("office:{}", inbox.sender), Access::Write, what, client);
        entry.subjects = vec![inbox.message_id];
        entry
    }

    /// A withdrawal: of a consent on which the sender sent handovers here (the client withdrew
    /// at the sending office), or of a consent given here on which handovers went to the sender
    /// (the client withdrew there). Either way it is recorded in the ledger here and acted on.
    async fn receive_withdrawal(&self, payload: Value, inbox: &InboxRecord) -> Result<InboxOutcome, Rejection> {
        let message: WithdrawalMessage = typed(payload)?;
        let peer = inbox.sender;
        if message.sender != peer {
            return Err(Rejection::SignerNotPeer { signer: message.sender, peer });
        }
        let now = inbox.received_at;
        let mut tx = self.storage.begin().await?;
        let outcome = tx.inbox().offer(inbox).await?;
        if outcome != InboxOutcome::Stored {
            return Ok(outcome);
        }
        let received: Vec<_> = tx
            .handovers()
            .incoming_on_consent(message.consent_id)
            .await?
            .into_iter()
            .filter(|h| h.handover.sender == peer)
            .collect();
        let mut clients = Vec::new();
        if !received.is_empty() {
            // A basis received from the sender: undecided handovers on it can no longer be
            // accepted; a record taken over on it is restricted (GDPR Art. 18).
            let kind = EntryKind::WithdrawalReceived {
                consent_id: message.consent_id,
                from: peer,
                message_id: inbox.message_id,
                withdrawn_at: message.withdrawn_at,
                sender_head: Some(message.ledger_head.clone()),
            };
            append(&mut tx, now, kind).await.map_err(service_storage)?;
            for mut h in received {
                if h.withdrawn().is_ok() {
                    tx.handovers().update_incoming(&mut h).await?;
                } else if let Some(id) = h.client_id {
                    if let Some(mut record) = tx.clients().get(id).await? {
                        super::consents::restrict_record(&mut tx, &mut record, message.consent_id, peer, now)
                            .await
                            .map_err(service_storage)?;
                        clients.push(id);
                    }
                }
            }
        } else {
            // A consent given here, whose data went to the sender.
            let grant = tx.consents().get(message.consent_id).await?.filter(|g| g.recipient == peer);
            let sent = tx.handovers().outgoing_on_consent(message.consent_id).await?;
            let reached = sent.iter().any(|h| {
                matches!(
                    h.state,
                    OutgoingState::Delivered
                        | OutgoingState::Accepted
                        | OutgoingState::Declined
                        | OutgoingState::Withdrawn
                )
            });
            let Some(mut grant) = grant.filter(|_| reached) else { return Err(Rejection::UnknownConsent) };
            clients.push(grant.client);
            let at = message.withdrawn_at.min(now).max(grant.given_at);
            let via = WithdrawnVia::OtherOffice { office: peer, message_id: inbox.message_id };
            if grant.withdraw(at, via) {
                self.consent_ended(&mut tx, &mut grant, now, Some(peer)).await.map_err(service_storage)?;
            }
        }
        tx.ledger().insert_peer_head(peer, &message.ledger_head, inbox.message_id, now).await?;
        let mut entries = vec![self.received_entry(inbox, "withdrawal-received", None)];
        for id in clients {
            entries.push(self.received_entry(inbox, "withdrawal-received", Some(id)));
        }
        if entries.len() > 1 {
            entries.remove(0);
        }
        tx.audit().append(&entries).await?;
        tx.commit().await?;
        self.wake_delivery.notify_one();
        tracing::info!(consent = %message.consent_id, "withdrawal received and recorded");
        Ok(outcome)
    }

    async fn receive_decision(&self, payload: Value, inbox: &InboxRecord) -> Result<InboxOutcome, Rejection> {
        let message: DecisionMessage = typed(payload)?;
        if message.sender != inbox.sender {
            return Err(Rejection::SignerNotPeer { signer: message.sender, peer: inbox.sender });
        }
        let now = inbox.received_at;
        let mut tx = self.storage.begin().await?;
        let outcome = tx.inbox().offer(inbox).await?;
        if outcome != InboxOutcome::Stored {
            return Ok(outcome);
        }
        // Dropping the unit of work without commit drops the inbox row too: a refused decision
        // is not stored.
        let mut handover = tx.handovers().outgoing(message.handover_id).await?.ok_or(Rejection::UnknownHandover)?;
        let reason = message.reason.map(|r| r.as_str().to_owned());
        handover
            .decided(message.sender, message.decision, message.decided_at, reason, now)
            .map_err(|_| Rejection::UnknownHandover)?;
        tx.handovers().update_outgoing(&mut handover).await?;
        if message.decision == Decision::Accepted {
            let mut record = tx.clients().get(handover.client_id).await?.ok_or(Rejection::UnknownHandover)?;
            record.move_out(message.sender, message.decided_at, now)?;
            tx.clients().update(&mut record).await?;
        }
        tx.audit().append(&[self.received_entry(inbox, "decision-received", Some(handover.client_id))]).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}
