//! What the caseworker API shows.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::case::{ClientRecord, ClientStatus};
use crate::domain::client::HouseholdId;
use crate::domain::delivery::{IncomingHandover, IncomingState, OutboxMessage, OutgoingHandover};
use crate::domain::eligibility::Eligibility;
use crate::domain::participation::ParticipationEvent;
use crate::domain::{
    CaseId, ClientId, ClientIdentity, ConsentId, DataCategory, Extension, IntegrationPlan, LegalBasis, OfficeId,
};
use crate::federation::Directory;
use crate::storage::{ClientSummary, IncomingSummary};

#[derive(Serialize)]
pub struct WindowView {
    pub first_session: NaiveDate,
    pub regular_last_day: NaiveDate,
    pub extension_months: u32,
    pub last_day: NaiveDate,
    pub extensions: Vec<Extension>,
}

#[derive(Serialize)]
pub struct ClientView {
    pub id: ClientId,
    pub case_id: CaseId,
    #[serde(flatten)]
    pub identity: ClientIdentity,
    pub status: ClientStatus,
    pub received_from: Option<OfficeId>,
    /// Set while processing is restricted (GDPR Art. 18): the consent the record was taken over
    /// on was withdrawn.
    pub restricted: Option<crate::domain::case::Restriction>,
    pub eligibility: Option<Eligibility>,
    /// Whether the client takes part now (no exit without re-entry after it).
    pub taking_part: bool,
    pub participation: Vec<ParticipationEvent>,
    pub household_id: Option<HouseholdId>,
    pub window: WindowView,
    /// Extensions asked for that wait for a team lead (four eyes).
    pub pending_extensions: Vec<crate::domain::window::ExtensionRequest>,
    pub plan: IntegrationPlan,
    #[serde(with = "crate::domain::time::ts")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::ts")]
    pub updated_at: DateTime<Utc>,
}

impl From<&ClientRecord> for ClientView {
    fn from(r: &ClientRecord) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            identity: r.identity.clone(),
            status: r.status.clone(),
            received_from: r.received_from,
            restricted: r.restricted.clone(),
            eligibility: r.eligibility.clone(),
            taking_part: r.participation.is_active(),
            participation: r.participation.events().to_vec(),
            household_id: r.household,
            pending_extensions: r.pending_extensions.clone(),
            window: WindowView {
                first_session: r.window.first_session(),
                regular_last_day: r.window.regular_last_day(),
                extension_months: r.window.extension_months(),
                last_day: r.window.last_day(),
                extensions: r.window.extensions().to_vec(),
            },
            plan: r.plan.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A line of a client list or work list: who, and the clock.
#[derive(Serialize)]
pub struct ClientLine {
    pub id: ClientId,
    #[serde(flatten)]
    pub identity: ClientIdentity,
    pub status: ClientStatus,
    pub taking_part: bool,
    pub first_session: NaiveDate,
    pub last_day: NaiveDate,
}

impl From<&ClientSummary> for ClientLine {
    fn from(r: &ClientSummary) -> Self {
        Self {
            id: r.id,
            identity: r.identity.clone(),
            status: r.status.clone(),
            taking_part: r.taking_part,
            first_session: r.first_session,
            last_day: r.last_day,
        }
    }
}

/// A page of a list, and where it goes on: `next` is the cursor to pass as `after` for the next
/// page, `null` on the last page.
#[derive(Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[derive(Serialize)]
pub struct ConsentView {
    pub id: ConsentId,
    pub client_id: ClientId,
    pub recipient: OfficeId,
    pub categories: std::collections::BTreeSet<DataCategory>,
    pub legal_bases: std::collections::BTreeSet<LegalBasis>,
    #[serde(with = "crate::domain::time::ts")]
    pub given_at: DateTime<Utc>,
    pub witnessed_by: String,
    /// The text the client was shown: id, version, language, SHA-256 of the exact text.
    pub text: crate::domain::consent::ConsentText,
    /// `on-screen`, or `paper-form` with `signed_on`.
    pub method: crate::domain::consent::ConsentMethod,
    #[serde(with = "crate::domain::time::ts_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it stopped holding (withdrawn, revoked or expired), and why (`ended`).
    #[serde(with = "crate::domain::time::ts_opt")]
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub ended: Option<crate::domain::consent::ConsentEnd>,
}

impl From<&crate::domain::ConsentGrant> for ConsentView {
    fn from(g: &crate::domain::ConsentGrant) -> Self {
        Self {
            id: g.id,
            client_id: g.client,
            recipient: g.recipient,
            categories: g.categories.clone(),
            legal_bases: g.legal_bases.clone(),
            given_at: g.given_at,
            witnessed_by: g.witnessed_by.clone(),
            text: g.text.clone(),
            method: g.method.clone(),
            expires_at: g.expires_at,
            withdrawn_at: g.withdrawn_at,
            ended: g.end.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct DeliveryView {
    pub attempts: u32,
    #[serde(with = "crate::domain::time::ts_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::domain::time::ts_opt")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::domain::time::ts_opt")]
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A handover this office sends, with the state of its delivery once approved.
#[derive(Serialize)]
pub struct OutgoingView<'a> {
    #[serde(flatten)]
    pub handover: &'a OutgoingHandover,
    pub delivery: Option<DeliveryView>,
}

impl<'a> OutgoingView<'a> {
    pub fn new(handover: &'a OutgoingHandover, outbox: Option<&OutboxMessage>) -> Self {
        Self {
            handover,
            delivery: outbox.map(|m| DeliveryView {
                attempts: m.attempts,
                next_attempt_at: (m.delivered_at.is_none() && m.failed_at.is_none()).then_some(m.next_attempt_at),
                delivered_at: m.delivered_at,
                failed_at: m.failed_at,
                last_error: m.last_error.clone(),
            }),
        }
    }
}

#[derive(Serialize)]
pub struct IncomingView {
    pub id: Uuid,
    pub sender: OfficeId,
    pub sender_name: Option<String>,
    #[serde(with = "crate::domain::time::ts")]
    pub received_at: DateTime<Utc>,
    pub state: IncomingState,
    #[serde(flatten)]
    pub client: ClientIdentity,
    pub first_session: NaiveDate,
    pub last_day: NaiveDate,
    pub decided_by: Option<String>,
    #[serde(with = "crate::domain::time::ts_opt")]
    pub decided_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub client_id: Option<ClientId>,
    /// The whole case as received (only on the single-handover view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<IncomingCase>,
}

#[derive(Serialize)]
pub struct IncomingCase {
    pub case_id: CaseId,
    pub window: crate::domain::WindowStatement,
    pub plan: IntegrationPlan,
    pub consent: crate::domain::ConsentBasis,
}

impl IncomingView {
    pub fn summary(h: &IncomingSummary, directory: &Directory) -> Self {
        Self {
            id: h.id,
            sender: h.sender,
            sender_name: directory.office(h.sender).map(|e| e.name.clone()),
            received_at: h.received_at,
            state: h.state,
            client: h.identity.clone(),
            first_session: h.first_session,
            last_day: h.last_day,
            decided_by: h.decided_by.clone(),
            decided_at: h.decided_at,
            decline_reason: h.decline_reason.clone(),
            client_id: h.client_id,
            case: None,
        }
    }

    pub fn full(h: &IncomingHandover, directory: &Directory) -> Self {
        let c = &h.handover.case;
        Self {
            id: h.id(),
            sender: h.handover.sender,
            sender_name: directory.office(h.handover.sender).map(|e| e.name.clone()),
            received_at: h.received_at,
            state: h.state,
            client: c.client.clone(),
            first_session: c.window.first_session,
            last_day: c.window.last_day,
            decided_by: h.decided_by.clone(),
            decided_at: h.decided_at,
            decline_reason: h.decline_reason.clone(),
            client_id: h.client_id,
            case: Some(IncomingCase {
                case_id: c.case_id,
                window: c.window.clone(),
                plan: c.plan.clone(),
                consent: c.consent.clone(),
            }),
        }
    }
}

/// A staff account as administrators see it (never its password hash).
#[derive(Serialize)]
pub struct AccountView {
    pub name: String,
    pub role: crate::domain::staff::Role,
    pub created_by: String,
    #[serde(with = "crate::domain::time::ts")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::ts_opt")]
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<&crate::domain::staff::Account> for AccountView {
    fn from(a: &crate::domain::staff::Account) -> Self {
        Self {
            name: a.name.clone(),
            role: a.role,
            created_by: a.created_by.clone(),
            created_at: a.created_at,
            disabled_at: a.disabled_at,
        }
    }
}

/// A session token from a login, and until when it is valid.
#[derive(Serialize)]
pub struct LoginView {
    pub token: String,
    #[serde(with = "crate::domain::time::ts")]
    pub expires_at: DateTime<Utc>,
}

/// A line of a client's audit log.
#[derive(Serialize)]
pub struct AuditLine {
    #[serde(with = "crate::domain::time::ts")]
    pub at: DateTime<Utc>,
    pub account: String,
    pub action: String,
    pub client_id: Option<ClientId>,
}

impl From<crate::domain::audit::AuditEntry> for AuditLine {
    fn from(e: crate::domain::audit::AuditEntry) -> Self {
        Self { at: e.at, account: e.account, action: e.action, client_id: e.client_id }
    }
}
