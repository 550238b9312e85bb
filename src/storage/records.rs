//! The shapes the storage keeps, around the domain types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::client::HouseholdId;
use crate::domain::eligibility::Eligibility;
use crate::domain::participation::Participation;
use crate::domain::staff::Role;
use crate::domain::window::ExtensionRequest;
use crate::domain::{CaseId, ClientId, ClientIdentity, ConsentId, CounsellingWindow, IntegrationPlan, OfficeId};
use crate::federation::protocol::{Decision, HandoverMessage, MessageKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ClientStatus {
    Active,
    MovedOut {
        to: OfficeId,
        #[serde(with = "crate::domain::time::ts")]
        at: DateTime<Utc>,
    },
}

/// A client at this office: identity, window, plan.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub id: ClientId,
    pub case_id: CaseId,
    pub identity: ClientIdentity,
    pub window: CounsellingWindow,
    pub plan: crate::domain::IntegrationPlan,
    /// Target group and benefits; `None` for a client received by handover until recorded here.
    pub eligibility: Option<Eligibility>,
    pub participation: Participation,
    /// Adults of one family, each with their own window (family reunification).
    pub household: Option<HouseholdId>,
    /// Extensions asked for, waiting for a second person (four eyes).
    pub pending_extensions: Vec<ExtensionRequest>,
    pub status: ClientStatus,
    /// The office this record was received from, if it arrived by handover.
    pub received_from: Option<OfficeId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic concurrency: the version this copy was read at.
    pub version: i64,
}

impl ClientRecord {
    /// What a receiving office holds of this case, for the domain's checks of a move-back.
    pub fn held(&self) -> crate::domain::handover::HeldCase<'_> {
        crate::domain::handover::HeldCase { active: self.status == ClientStatus::Active, window: &self.window }
    }

    pub fn new(identity: ClientIdentity, window: CounsellingWindow, plan: IntegrationPlan, now: DateTime<Utc>) -> Self {
        Self {
            id: ClientId::new(),
            case_id: CaseId::new(),
            identity,
            window,
            plan,
            eligibility: None,
            participation: Participation::default(),
            household: None,
            pending_extensions: Vec::new(),
            status: ClientStatus::Active,
            received_from: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
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
        }
    }

    /// Whether the handover is still open: drafted, queued, or waiting for the receiver's
    /// decision. A client has at most one open handover.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Draft | Self::Approved | Self::Delivered)
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Approved, Self::Delivered, Self::Rejected, Self::Cancelled, Self::Accepted, Self::Declined]
            .into_iter()
            .find(|x| x.as_str() == s)
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
        }
    }
}

/// A message received and acknowledged: the exact bytes and the receipt answered.
#[derive(Debug, Clone)]
pub struct InboxRecord {
    pub message_id: Uuid,
    pub kind: MessageKind,
    pub sender: OfficeId,
    pub sha256: String,
    pub jws: String,
    pub receipt: String,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncomingState {
    Received,
    Accepted,
    Declined,
}

impl IncomingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Received, Self::Accepted, Self::Declined].into_iter().find(|x| x.as_str() == s)
    }
}

/// A handover this office received.
#[derive(Debug, Clone)]
pub struct IncomingHandover {
    pub message: HandoverMessage,
    pub received_at: DateTime<Utc>,
    pub state: IncomingState,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub client_id: Option<ClientId>,
}

/// A page of a client list: which clients, how many match in all.
#[derive(Debug, Clone, Default)]
pub struct ClientQuery {
    /// Part of a given or family name, case-insensitive.
    pub search: Option<String>,
    /// Only clients still at this office (not moved out).
    pub active_only: bool,
    pub limit: u32,
    pub offset: u32,
}

/// A staff account with a password.
#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub name: String,
    pub role: Role,
    /// PHC string of an argon2id hash.
    pub password_hash: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    #[serde(with = "crate::domain::time::ts")]
    pub at: DateTime<Utc>,
    pub account: String,
    pub action: String,
    pub client_id: Option<ClientId>,
}

/// Who decided on an incoming handover, and when.
#[derive(Debug, Clone)]
pub struct DecidedBy {
    pub account: String,
    pub at: DateTime<Utc>,
}

/// A received decision to apply to an outgoing handover.
#[derive(Debug, Clone)]
pub struct AppliedDecision {
    pub handover_id: Uuid,
    pub from: OfficeId,
    pub decision: Decision,
    pub decided_at: DateTime<Utc>,
    pub reason: Option<String>,
}
