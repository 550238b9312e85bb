//! The handover records of both offices and the messages between them, with every state a
//! handover passes through and the transitions between them. Each transition is a method that
//! either moves the record on or returns [`DomainError::InvalidTransition`]; storage persists the
//! result, guarded by the record's `version` against concurrent writers.
//!
//! Releasing office, [`OutgoingHandover`]:
//!
//! ```text
//! draft ──approve──▶ approved ──delivered──▶ delivered ──decided──▶ accepted | declined
//!   │                   │  └──────────────decided (a lost 202)──────────▲        ▲
//!   └──cancel──▶ cancelled ◀──cancel──┘       delivered ──withdrawn──▶ withdrawn ┘ decided
//!                                                  approved ──refused──▶ rejected
//! ```
//!
//! (A decision taken before the receiver learned of a withdrawal still arrives and is recorded.)
//!
//! Receiving office, [`IncomingHandover`]: received ──accept──▶ accepted, received ──decline──▶
//! declined, received ──withdrawn──▶ withdrawn (its consent was withdrawn; it can no longer be
//! accepted). Messages waiting to be sent, [`OutboxMessage`]: pending (retried) ──▶ delivered |
//! failed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::handover::HandoverCase;
use super::staff::{self, Role};
use super::{ClientId, ConsentId, DomainError, OfficeId, Text};

/// The kinds of signed message offices exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Handover,
    Decision,
    Withdrawal,
    Receipt,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Handover => "handover",
            Self::Decision => "decision",
            Self::Withdrawal => "withdrawal",
            Self::Receipt => "receipt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Handover, Self::Decision, Self::Withdrawal, Self::Receipt].into_iter().find(|k| k.as_str() == s)
    }
}

/// The receiving office's decision on a handover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Accepted,
    Declined,
}

fn refused(record: &'static str, state: &'static str, action: &'static str) -> DomainError {
    DomainError::InvalidTransition { record, state, action }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutgoingState {
    /// Written by an integration manager, not yet approved.
    Draft,
    /// Approved and signed; waiting for the receiver's receipt.
    Approved,
    /// The receiver acknowledged it; waiting for its decision.
    Delivered,
    /// The message could not be delivered for good: refused by the receiver, or expired before
    /// delivery (see the outbox error).
    Rejected,
    /// Stopped before delivery: cancelled by an integration manager, or the consent was withdrawn.
    Cancelled,
    Accepted,
    Declined,
    /// Delivered, then its consent was withdrawn before a decision: the receiver was told, and
    /// no decision is waited for any more.
    Withdrawn,
}

impl OutgoingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Approved => "approved",
            Self::Delivered => "delivered",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Every state.
    pub const ALL: [Self; 8] = [
        Self::Draft,
        Self::Approved,
        Self::Delivered,
        Self::Rejected,
        Self::Cancelled,
        Self::Accepted,
        Self::Declined,
        Self::Withdrawn,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the handover is still open: drafted, queued, or waiting for the receiver's
    /// decision. A client has at most one open handover.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Draft | Self::Approved | Self::Delivered)
    }
}

/// A handover this office sends. Its id is the message id of the handover message.
#[derive(Debug, Clone, Serialize)]
pub struct OutgoingHandover {
    pub id: Uuid,
    pub client_id: ClientId,
    pub receiver: OfficeId,
    pub consent_id: ConsentId,
    pub state: OutgoingState,
    pub created_by: String,
    #[serde(with = "crate::domain::time::ts")]
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    #[serde(with = "crate::domain::time::ts_opt")]
    pub approved_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::domain::time::ts_opt")]
    pub decided_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    #[serde(skip)]
    pub updated_at: DateTime<Utc>,
    /// Optimistic concurrency: the version this copy was read at (0 for a new record).
    #[serde(skip)]
    pub version: i64,
}

impl OutgoingHandover {
    /// A draft of a handover of `client` to `receiver` on `consent`, written by `by`. Only one
    /// handover of a client may be open: `open` is the client's open handover, if any.
    pub fn draft(
        client: ClientId,
        receiver: OfficeId,
        consent: ConsentId,
        by: &str,
        open: Option<&OutgoingHandover>,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        if open.is_some_and(|h| h.state.is_open()) {
            return Err(DomainError::HandoverOpen);
        }
        Ok(Self {
            id: Uuid::new_v4(),
            client_id: client,
            receiver,
            consent_id: consent,
            state: OutgoingState::Draft,
            created_by: by.to_owned(),
            created_at: now,
            approved_by: None,
            approved_at: None,
            decided_at: None,
            decline_reason: None,
            updated_at: now,
            version: 0,
        })
    }

    fn refuse(&self, action: &'static str) -> DomainError {
        refused("handover", self.state.as_str(), action)
    }

    /// Draft → approved, by `approver`; with four eyes a team lead other than the drafter.
    pub fn approve(
        &mut self,
        approver: &str,
        role: Role,
        four_eyes: bool,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        if self.state != OutgoingState::Draft {
            return Err(self.refuse("approve"));
        }
        staff::second_pair_of_eyes(four_eyes, approver, role, &self.created_by)?;
        self.state = OutgoingState::Approved;
        self.approved_by = Some(approver.to_owned());
        self.approved_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    /// Approved → delivered: the receiver's receipt is in. A handover decided meanwhile (its
    /// decision overtook the receipt) stays decided.
    pub fn delivered(&mut self, now: DateTime<Utc>) -> Result<(), DomainError> {
        match self.state {
            OutgoingState::Approved => {
                self.state = OutgoingState::Delivered;
                self.updated_at = now;
                Ok(())
            }
            OutgoingState::Accepted | OutgoingState::Declined | OutgoingState::Cancelled => Ok(()),
            _ => Err(self.refuse("record the delivery of")),
        }
    }

    /// Approved → rejected: the message was refused for good or given up.
    pub fn rejected(&mut self, now: DateTime<Utc>) -> Result<(), DomainError> {
        match self.state {
            OutgoingState::Approved => {
                self.state = OutgoingState::Rejected;
                self.updated_at = now;
                Ok(())
            }
            OutgoingState::Cancelled => Ok(()),
            _ => Err(self.refuse("reject")),
        }
    }

    /// Draft or approved (not yet delivered) → cancelled: by an integration manager, or because
    /// the consent was withdrawn.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if !matches!(self.state, OutgoingState::Draft | OutgoingState::Approved) {
            return Err(self.refuse("cancel"));
        }
        self.state = OutgoingState::Cancelled;
        self.updated_at = now;
        Ok(())
    }

    /// The consent this handover was sent on ended (withdrawn, revoked or expired): a handover
    /// not yet delivered is cancelled (its message must stop); one delivered and undecided is
    /// withdrawn; one that reached the receiver (delivered, accepted or declined) means the
    /// receiver holds data under the consent and must be told.
    pub fn consent_ended(&mut self, now: DateTime<Utc>) -> ConsentEndEffect {
        match self.state {
            OutgoingState::Draft | OutgoingState::Approved => {
                self.state = OutgoingState::Cancelled;
                self.updated_at = now;
                ConsentEndEffect::Stopped
            }
            OutgoingState::Delivered => {
                self.state = OutgoingState::Withdrawn;
                self.updated_at = now;
                ConsentEndEffect::TellReceiver
            }
            OutgoingState::Accepted | OutgoingState::Declined | OutgoingState::Withdrawn => {
                ConsentEndEffect::TellReceiver
            }
            OutgoingState::Rejected | OutgoingState::Cancelled => ConsentEndEffect::None,
        }
    }

    /// The receiver's decision arrived from `from`: approved (a lost receipt), delivered, or
    /// withdrawn (the receiver decided before the withdrawal reached it) → accepted or declined.
    /// A decision from another office than the receiver, or on a handover that awaits none, is
    /// refused.
    pub fn decided(
        &mut self,
        from: OfficeId,
        decision: Decision,
        at: DateTime<Utc>,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let awaits =
            matches!(self.state, OutgoingState::Approved | OutgoingState::Delivered | OutgoingState::Withdrawn);
        if from != self.receiver || !awaits {
            return Err(self.refuse("decide"));
        }
        self.state = match decision {
            Decision::Accepted => OutgoingState::Accepted,
            Decision::Declined => OutgoingState::Declined,
        };
        self.decided_at = Some(at);
        self.decline_reason = reason;
        self.updated_at = now;
        Ok(())
    }
}

/// What the end of its consent does to a handover sent on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentEndEffect {
    /// It had not reached the receiver: cancelled, its queued message to be stopped.
    Stopped,
    /// The receiver holds data sent on the consent: it must be told.
    TellReceiver,
    /// It never reached the receiver and is over.
    None,
}

/// A handover as received: the envelope of the message and the case it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedHandover {
    pub message_id: Uuid,
    pub sender: OfficeId,
    #[serde(with = "crate::domain::time::ts")]
    pub issued_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::ts")]
    pub expires_at: DateTime<Utc>,
    pub case: HandoverCase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncomingState {
    Received,
    Accepted,
    Declined,
    /// The consent it travelled on was withdrawn before a decision: it can no longer be
    /// accepted.
    Withdrawn,
}

impl IncomingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Every state.
    pub const ALL: [Self; 4] = [Self::Received, Self::Accepted, Self::Declined, Self::Withdrawn];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A handover this office received.
#[derive(Debug, Clone)]
pub struct IncomingHandover {
    pub handover: ReceivedHandover,
    pub received_at: DateTime<Utc>,
    pub state: IncomingState,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    /// The client record the case continues in, once accepted.
    pub client_id: Option<ClientId>,
    /// The id of the decision message sent back.
    pub decision_id: Option<Uuid>,
    pub version: i64,
}

impl IncomingHandover {
    pub fn received(handover: ReceivedHandover, at: DateTime<Utc>) -> Self {
        Self {
            handover,
            received_at: at,
            state: IncomingState::Received,
            decided_by: None,
            decided_at: None,
            decline_reason: None,
            client_id: None,
            decision_id: None,
            version: 0,
        }
    }

    pub fn id(&self) -> Uuid {
        self.handover.message_id
    }

    /// The handover still waits for a decision.
    pub fn ensure_undecided(&self, action: &'static str) -> Result<(), DomainError> {
        if self.state != IncomingState::Received {
            return Err(refused("incoming handover", self.state.as_str(), action));
        }
        Ok(())
    }

    fn decide(&mut self, by: &str, at: DateTime<Utc>, decision: Uuid, action: &'static str) -> Result<(), DomainError> {
        self.ensure_undecided(action)?;
        self.decided_by = Some(by.to_owned());
        self.decided_at = Some(at);
        self.decision_id = Some(decision);
        Ok(())
    }

    /// Received → accepted: the case continues in the client record `client`.
    pub fn accept(&mut self, by: &str, client: ClientId, decision: Uuid, at: DateTime<Utc>) -> Result<(), DomainError> {
        self.decide(by, at, decision, "accept")?;
        self.state = IncomingState::Accepted;
        self.client_id = Some(client);
        Ok(())
    }

    /// Whether the retention period has passed for a handover not taken over (declined,
    /// withdrawn before a decision, or never decided): counted from its receipt.
    pub fn retention_passed(&self, today: chrono::NaiveDate, retention_days: i64) -> bool {
        self.state != IncomingState::Accepted
            && super::time::german_date(self.received_at) + chrono::Duration::days(retention_days) < today
    }

    /// Received → withdrawn: its consent was withdrawn before a decision.
    pub fn withdrawn(&mut self) -> Result<(), DomainError> {
        self.ensure_undecided("withdraw")?;
        self.state = IncomingState::Withdrawn;
        Ok(())
    }

    /// Received → declined, with a reason (no personal data).
    pub fn decline(&mut self, by: &str, reason: &Text, decision: Uuid, at: DateTime<Utc>) -> Result<(), DomainError> {
        self.decide(by, at, decision, "decline")?;
        self.state = IncomingState::Declined;
        self.decline_reason = Some(reason.as_str().to_owned());
        Ok(())
    }
}

/// A signed message waiting for, or done with, delivery.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub message_id: Uuid,
    pub kind: MessageKind,
    pub destination: OfficeId,
    pub jws: String,
    pub created_at: DateTime<Utc>,
    /// The signed message's own expiry: no delivery is attempted after it.
    pub expires_at: DateTime<Utc>,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub receipt: Option<String>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub version: i64,
}

impl OutboxMessage {
    pub fn new(
        message_id: Uuid,
        kind: MessageKind,
        destination: OfficeId,
        jws: String,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            message_id,
            kind,
            destination,
            jws,
            created_at: now,
            expires_at,
            attempts: 0,
            next_attempt_at: now,
            delivered_at: None,
            receipt: None,
            failed_at: None,
            last_error: None,
            version: 0,
        }
    }

    /// Whether the message still waits for delivery.
    pub fn is_pending(&self) -> bool {
        self.delivered_at.is_none() && self.failed_at.is_none()
    }

    fn refuse(&self, action: &'static str) -> DomainError {
        let state = if self.delivered_at.is_some() { "delivered" } else { "failed" };
        refused("message", state, action)
    }

    /// An attempt that brought the receiver's checked receipt. A message cancelled while its
    /// attempt was under way was delivered all the same: the receipt is kept as the proof of what
    /// the receiver holds, and the cancellation stays recorded beside it.
    pub fn delivered(&mut self, receipt: String, at: DateTime<Utc>) -> Result<(), DomainError> {
        if self.delivered_at.is_some() {
            return Err(self.refuse("deliver"));
        }
        self.attempts += 1;
        self.delivered_at = Some(at);
        self.receipt = Some(receipt);
        if self.failed_at.is_none() {
            self.last_error = None;
        }
        Ok(())
    }

    /// An attempt that failed for now: the next one is due at `next`.
    pub fn retry_at(&mut self, next: DateTime<Utc>, error: String) -> Result<(), DomainError> {
        if !self.is_pending() {
            return Err(self.refuse("retry"));
        }
        self.attempts += 1;
        self.next_attempt_at = next;
        self.last_error = Some(error);
        Ok(())
    }

    /// Refused for good, or given up (`attempted`: whether an attempt was made now).
    pub fn failed(&mut self, at: DateTime<Utc>, error: String, attempted: bool) -> Result<(), DomainError> {
        if !self.is_pending() {
            return Err(self.refuse("give up"));
        }
        if attempted {
            self.attempts += 1;
        }
        self.failed_at = Some(at);
        self.last_error = Some(error);
        Ok(())
    }

    /// Stopped before delivery (its handover was cancelled). A message delivered already stays
    /// delivered: the receiver has it.
    pub fn cancel(&mut self, at: DateTime<Utc>, why: &str) -> bool {
        if !self.is_pending() {
            return false;
        }
        self.failed_at = Some(at);
        self.last_error = Some(format!("cancelled: {why}"));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-25T09:30:00Z".parse().unwrap()
    }

    fn office(s: &str) -> OfficeId {
        OfficeId::parse(s).unwrap()
    }

    fn draft() -> OutgoingHandover {
        OutgoingHandover::draft(ClientId::new(), office("08221000"), ConsentId::new(), "im", None, at()).unwrap()
    }

    #[test]
    fn an_outgoing_handover_moves_only_along_its_transitions() {
        let mut h = draft();
        assert!(matches!(h.delivered(at()), Err(DomainError::InvalidTransition { .. })));
        assert!(h.decided(office("08221000"), Decision::Accepted, at(), None, at()).is_err());
        h.approve("im", Role::IntegrationManager, false, at()).unwrap();
        assert!(matches!(
            h.approve("im", Role::IntegrationManager, false, at()),
            Err(DomainError::InvalidTransition { .. })
        ));
        h.delivered(at()).unwrap();
        assert!(h.cancel(at()).is_err(), "a delivered handover waits for the decision");
        // Only the receiver decides.
        assert!(h.decided(office("08311000"), Decision::Accepted, at(), None, at()).is_err());
        h.decided(office("08221000"), Decision::Declined, at(), Some("no capacity".into()), at()).unwrap();
        assert_eq!(h.state, OutgoingState::Declined);
        assert!(h.decided(office("08221000"), Decision::Accepted, at(), None, at()).is_err());
        // A late receipt changes nothing.
        h.delivered(at()).unwrap();
        assert_eq!(h.state, OutgoingState::Declined);
    }

    #[test]
    fn a_decision_may_overtake_the_receipt_and_cancelled_stays_cancelled() {
        let mut h = draft();
        h.approve("im", Role::IntegrationManager, false, at()).unwrap();
        h.decided(office("08221000"), Decision::Accepted, at(), None, at()).unwrap();
        assert_eq!(h.state, OutgoingState::Accepted);

        let mut c = draft();
        c.approve("im", Role::IntegrationManager, false, at()).unwrap();
        c.cancel(at()).unwrap();
        assert!(c.approve("im", Role::IntegrationManager, false, at()).is_err());
        c.rejected(at()).unwrap();
        assert_eq!(c.state, OutgoingState::Cancelled);
        assert!(c.decided(office("08221000"), Decision::Accepted, at(), None, at()).is_err());
    }

    #[test]
    fn one_open_handover_per_client_and_four_eyes_at_approval() {
        let open = draft();
        assert_eq!(
            OutgoingHandover::draft(open.client_id, office("08311000"), ConsentId::new(), "im", Some(&open), at())
                .unwrap_err(),
            DomainError::HandoverOpen
        );
        let mut h = draft();
        assert_eq!(h.approve("im", Role::TeamLead, true, at()).unwrap_err(), DomainError::SamePerson);
        assert_eq!(
            h.approve("other", Role::IntegrationManager, true, at()).unwrap_err(),
            DomainError::TeamLeadRequired
        );
        h.approve("lead", Role::TeamLead, true, at()).unwrap();
    }

    #[test]
    fn a_message_is_delivered_or_failed_once() {
        let mut m =
            OutboxMessage::new(Uuid::new_v4(), MessageKind::Handover, office("08221000"), "jws".into(), at(), at());
        m.retry_at(at(), "down".into()).unwrap();
        m.delivered("receipt".into(), at()).unwrap();
        assert_eq!(m.attempts, 2);
        assert!(m.failed(at(), "x".into(), true).is_err());
        assert!(!m.cancel(at(), "withdrawn"));
        assert_eq!(m.receipt.as_deref(), Some("receipt"));
    }
}
