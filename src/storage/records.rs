//! What storage hands back besides the domain's own records: the inbox of received messages, and
//! the lines of lists (only the columns a list shows) with their paging cursors.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::case::ClientStatus;
use crate::domain::delivery::{IncomingState, MessageKind, OutgoingState};
use crate::domain::{ClientId, ClientIdentity, OfficeId};

/// What became of a received message offered to the inbox.
#[derive(Debug, PartialEq, Eq)]
pub enum InboxOutcome {
    /// Newly stored; the receipt given is the one to answer with.
    Stored,
    /// The same message id with the same bytes was stored before: answer with its receipt.
    Duplicate { receipt: String },
    /// The same message id with different bytes, or of another kind: refuse.
    Conflict,
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

/// Where a page of clients goes on: after this sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCursor {
    pub sort_key: String,
    pub id: ClientId,
}

/// A page of clients.
#[derive(Debug, Clone, Default)]
pub struct ClientQuery {
    /// The folded words of a search ([`crate::domain::search::query_words`]); each must begin one
    /// of a client's name terms.
    pub words: Vec<String>,
    /// Only clients still at this office (not moved out).
    pub active_only: bool,
    pub limit: u32,
    pub after: Option<ClientCursor>,
}

/// A line of a client list: who, the clock, and where the list goes on from it.
#[derive(Debug, Clone)]
pub struct ClientSummary {
    pub id: ClientId,
    pub identity: ClientIdentity,
    pub status: ClientStatus,
    pub taking_part: bool,
    pub first_session: NaiveDate,
    pub last_day: NaiveDate,
    pub sort_key: String,
}

impl From<&crate::domain::case::ClientRecord> for ClientSummary {
    fn from(r: &crate::domain::case::ClientRecord) -> Self {
        Self {
            id: r.id,
            identity: r.identity.clone(),
            status: r.status.clone(),
            taking_part: r.participation.is_active(),
            first_session: r.window.first_session(),
            last_day: r.window.last_day(),
            sort_key: crate::domain::search::sort_key(&r.identity),
        }
    }
}

/// A page of the work list of windows ending.
#[derive(Debug, Clone)]
pub struct EndingQuery {
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub limit: u32,
    /// After this last day, sort key and id.
    pub after: Option<(NaiveDate, String, ClientId)>,
}

/// Where a page of received handovers goes on: after this instant and id (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncomingCursor {
    pub received_at: DateTime<Utc>,
    pub id: Uuid,
}

/// A page of received handovers.
#[derive(Debug, Clone, Default)]
pub struct IncomingQuery {
    pub state: Option<IncomingState>,
    pub limit: u32,
    pub after: Option<IncomingCursor>,
}

/// A line of the list of received handovers.
#[derive(Debug, Clone)]
pub struct IncomingSummary {
    pub id: Uuid,
    pub sender: OfficeId,
    pub received_at: DateTime<Utc>,
    pub state: IncomingState,
    pub identity: ClientIdentity,
    pub first_session: NaiveDate,
    pub last_day: NaiveDate,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub client_id: Option<ClientId>,
}

/// The messages of the outbox still waiting for delivery to one office (neither delivered nor
/// given up): how many, and when the oldest of them was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOutbox {
    pub destination: OfficeId,
    pub messages: u64,
    pub oldest_created_at: DateTime<Utc>,
}

/// How many handovers are stored in each state: those sent (or to be sent) and those received.
/// A state no handover is in is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandoverCounts {
    pub outgoing: Vec<(OutgoingState, u64)>,
    pub incoming: Vec<(IncomingState, u64)>,
}
