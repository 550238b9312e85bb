//! Protocol v1: the messages offices exchange, each the JSON payload of a compact JWS (ES256).
//! `schemas/README.md` is the normative description; the schemas in `schemas/` define the shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::digest::sha256_hex;
use crate::domain::delivery::ReceivedHandover;
pub use crate::domain::delivery::{Decision, MessageKind};
use crate::domain::ledger::LedgerHead;
use crate::domain::{ConsentId, HandoverCase, OfficeId, Text};

/// The media type of every federation request body and of every receipt: a compact JWS.
pub const MEDIA_TYPE: &str = "application/jose";
/// Where handovers are posted.
pub const HANDOVERS_PATH: &str = "/federation/v1/handovers";
/// Where decisions are posted.
pub const DECISIONS_PATH: &str = "/federation/v1/decisions";
/// Where withdrawals are posted.
pub const WITHDRAWALS_PATH: &str = "/federation/v1/withdrawals";
/// Where an office publishes its signing keys (JWK Set).
pub const KEYS_PATH: &str = "/federation/v1/keys";
/// Where an office answers which heads of the caller's ledger it holds.
pub const LEDGER_HEADS_PATH: &str = "/federation/v1/ledger-heads";

/// How the kinds of message appear on the wire.
pub trait WireKind {
    /// The payload's `type`, also used as the JWS header `typ`.
    fn type_name(self) -> &'static str;
    /// The federation path messages of this kind are posted to; receipts are only ever answers.
    fn path(self) -> Option<&'static str>;
}

impl WireKind for MessageKind {
    fn type_name(self) -> &'static str {
        match self {
            Self::Handover => "staffel.handover.v1",
            Self::Decision => "staffel.decision.v1",
            Self::Withdrawal => "staffel.withdrawal.v1",
            Self::Receipt => "staffel.receipt.v1",
        }
    }

    fn path(self) -> Option<&'static str> {
        match self {
            Self::Handover => Some(HANDOVERS_PATH),
            Self::Decision => Some(DECISIONS_PATH),
            Self::Withdrawal => Some(WITHDRAWALS_PATH),
            Self::Receipt => None,
        }
    }
}

macro_rules! type_tag {
    ($name:ident, $value:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
        pub enum $name {
            #[default]
            #[serde(rename = $value)]
            V1,
        }
    };
}
type_tag!(HandoverType, "staffel.handover.v1");
type_tag!(DecisionType, "staffel.decision.v1");
type_tag!(ReceiptType, "staffel.receipt.v1");
type_tag!(WithdrawalType, "staffel.withdrawal.v1");

/// A handover: the case with its consented plan and the original window, from the releasing
/// office (`sender`) to the receiving office (`receiver`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverMessage {
    #[serde(rename = "type")]
    pub message_type: HandoverType,
    pub message_id: Uuid,
    pub sender: OfficeId,
    pub receiver: OfficeId,
    #[serde(with = "crate::domain::time::ts")]
    pub issued_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::ts")]
    pub expires_at: DateTime<Utc>,
    pub case: HandoverCase,
    /// The sender's ledger head at signing (absent from senders that do not keep a ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_head: Option<LedgerHead>,
}

impl HandoverMessage {
    /// The handover as the receiving office keeps it: envelope and case.
    pub fn received(self) -> ReceivedHandover {
        ReceivedHandover {
            message_id: self.message_id,
            sender: self.sender,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            case: self.case,
        }
    }
}

/// The receiving office's decision on a handover, sent back to the releasing office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionMessage {
    #[serde(rename = "type")]
    pub message_type: DecisionType,
    pub message_id: Uuid,
    pub sender: OfficeId,
    pub receiver: OfficeId,
    #[serde(with = "crate::domain::time::ts")]
    pub issued_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::ts")]
    pub expires_at: DateTime<Utc>,
    pub handover_id: Uuid,
    pub decision: Decision,
    #[serde(with = "crate::domain::time::ts")]
    pub decided_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
}

/// The signed answer to every accepted federation request: the receiver has durably stored the
/// message with this id and these exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    #[serde(rename = "type")]
    pub message_type: ReceiptType,
    pub receipt_for: Uuid,
    pub sender: OfficeId,
    pub receiver: OfficeId,
    #[serde(with = "crate::domain::time::ts")]
    pub received_at: DateTime<Utc>,
    pub sha256: String,
}

/// A client withdrew a consent on which the sender and the receiver exchanged handovers: the
/// releasing office tells the receiving office, or the receiving office (where the client
/// withdrew there) tells the releasing office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalMessage {
    #[serde(rename = "type")]
    pub message_type: WithdrawalType,
    pub message_id: Uuid,
    pub sender: OfficeId,
    pub receiver: OfficeId,
    #[serde(with = "crate::domain::time::ts")]
    pub issued_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::ts")]
    pub expires_at: DateTime<Utc>,
    pub consent_id: ConsentId,
    #[serde(with = "crate::domain::time::ts")]
    pub withdrawn_at: DateTime<Utc>,
    pub handover_ids: Vec<Uuid>,
    pub ledger_head: LedgerHead,
}
