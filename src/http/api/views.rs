//! What the caseworker API shows: each view is also its schema in the OpenAPI document
//! (`ToSchema`), so what is written and what is documented are one type.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::case::{ClientRecord, ClientStatus};
use crate::domain::client::HouseholdId;
use crate::domain::delivery::{IncomingHandover, IncomingState, OutboxMessage, OutgoingHandover};
use crate::domain::eligibility::Eligibility;
use crate::domain::participation::ParticipationEvent;
use crate::domain::{
    CaseId, ClientId, ClientIdentity, ConsentId, DataCategory, Extension, IntegrationPlan, LegalBasis, OfficeId,
    PersonName,
};
use crate::federation::Directory;
use crate::http::api::schema::{Categories, Date, DateTime as DateTimeSchema, LegalBases, Uuid as UuidSchema};
use crate::storage::{ClientSummary, IncomingSummary};

/// The counselling window: 36 months from the first session plus all extension months.
#[derive(Serialize, ToSchema)]
#[schema(as = Window)]
#[serde(deny_unknown_fields)]
pub struct WindowView {
    #[schema(value_type = Date)]
    pub first_session: NaiveDate,
    #[schema(value_type = Date)]
    pub regular_last_day: NaiveDate,
    #[schema(minimum = 0, maximum = 12)]
    pub extension_months: u32,
    #[schema(value_type = Date)]
    pub last_day: NaiveDate,
    pub extensions: Vec<Extension>,
}

/// A client record.
#[derive(Serialize, ToSchema)]
#[schema(as = Client)]
#[serde(deny_unknown_fields)]
pub struct ClientView {
    pub id: ClientId,
    pub case_id: CaseId,
    pub given_name: PersonName,
    pub family_name: PersonName,
    #[serde(with = "crate::domain::time::date")]
    #[schema(value_type = Date)]
    pub date_of_birth: NaiveDate,
    pub status: ClientStatus,
    /// The office this record came from by handover.
    #[schema(required = true)]
    pub received_from: Option<OfficeId>,
    /// Set while processing is restricted (GDPR Art. 18): the consent the record was taken over
    /// on was withdrawn; the record is kept and readable, not changed or handed on, until the
    /// client consents at this office.
    #[schema(required = true)]
    pub restricted: Option<crate::domain::case::Restriction>,
    /// `null` for a client received by handover until recorded.
    #[schema(required = true)]
    pub eligibility: Option<Eligibility>,
    /// Whether the client takes part now (no exit without a re-entry after it).
    pub taking_part: bool,
    /// Exits and re-entries, in order.
    pub participation: Vec<ParticipationEvent>,
    #[schema(required = true)]
    pub household_id: Option<HouseholdId>,
    pub window: WindowView,
    /// Extensions waiting for a team lead (four eyes).
    pub pending_extensions: Vec<crate::domain::window::ExtensionRequest>,
    pub plan: IntegrationPlan,
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    pub updated_at: DateTime<Utc>,
}

impl From<&ClientRecord> for ClientView {
    fn from(r: &ClientRecord) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            given_name: r.identity.given_name.clone(),
            family_name: r.identity.family_name.clone(),
            date_of_birth: r.identity.date_of_birth,
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

/// A line of a client list or work list.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientLine {
    pub id: ClientId,
    pub given_name: PersonName,
    pub family_name: PersonName,
    #[serde(with = "crate::domain::time::date")]
    #[schema(value_type = Date)]
    pub date_of_birth: NaiveDate,
    pub status: ClientStatus,
    pub taking_part: bool,
    #[schema(value_type = Date)]
    pub first_session: NaiveDate,
    #[schema(value_type = Date)]
    pub last_day: NaiveDate,
}

impl From<&ClientSummary> for ClientLine {
    fn from(r: &ClientSummary) -> Self {
        Self {
            id: r.id,
            given_name: r.identity.given_name.clone(),
            family_name: r.identity.family_name.clone(),
            date_of_birth: r.identity.date_of_birth,
            status: r.status.clone(),
            taking_part: r.taking_part,
            first_session: r.first_session,
            last_day: r.last_day,
        }
    }
}

/// A page of a list, and where it goes on: `next` is the cursor to pass as `after` for the next
/// page, `null` on the last page. One type for each list, so that each has its schema.
macro_rules! page {
    ($(#[$doc:meta])* $name:ident of $item:ty) => {
        $(#[$doc])*
        #[derive(Serialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            #[schema(max_items = 200)]
            pub items: Vec<$item>,
            /// The cursor of the next page, for `after`; null on the last page.
            #[schema(required = true)]
            pub next: Option<String>,
        }
    };
}

page!(
    /// A page of clients, and where the list goes on.
    ClientPage of ClientLine
);
page!(
    /// A page of received handovers, newest first, and where the list goes on.
    IncomingPage of IncomingLine
);
page!(
    /// A page of a client's audit log, oldest first, and where it goes on.
    AuditPage of AuditLine
);

/// Every consent of a client, oldest first (one page: `next` is always null).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentList {
    pub items: Vec<ConsentView>,
    #[schema(schema_with = crate::http::api::schema::null, required = true)]
    pub next: Option<String>,
}

/// A client's consent to sending named data categories to one office. The legal bases follow
/// from the categories: always `gdpr-art-6-1-a`, with `health` also `gdpr-art-9-2-a`.
#[derive(Serialize, ToSchema)]
#[schema(as = Consent)]
#[serde(deny_unknown_fields)]
pub struct ConsentView {
    pub id: ConsentId,
    pub client_id: ClientId,
    pub recipient: OfficeId,
    #[schema(value_type = Categories, inline)]
    pub categories: std::collections::BTreeSet<DataCategory>,
    #[schema(value_type = LegalBases, inline)]
    pub legal_bases: std::collections::BTreeSet<LegalBasis>,
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    pub given_at: DateTime<Utc>,
    /// The account that opened the consent page the client confirmed, or that recorded the
    /// paper form.
    pub witnessed_by: String,
    pub text: crate::domain::consent::ConsentText,
    pub method: crate::domain::consent::ConsentMethod,
    #[serde(with = "crate::domain::time::ts_opt")]
    #[schema(value_type = Option<DateTimeSchema>, required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it stopped holding (withdrawn, revoked or expired).
    #[serde(with = "crate::domain::time::ts_opt")]
    #[schema(value_type = Option<DateTimeSchema>, required = true)]
    pub withdrawn_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
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

#[derive(Serialize, ToSchema)]
#[schema(as = Delivery)]
#[serde(deny_unknown_fields)]
pub struct DeliveryView {
    #[schema(minimum = 0)]
    pub attempts: u32,
    /// `null` once delivered or failed.
    #[serde(with = "crate::domain::time::ts_opt")]
    #[schema(value_type = Option<DateTimeSchema>, required = true)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::domain::time::ts_opt")]
    #[schema(value_type = Option<DateTimeSchema>, required = true)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::domain::time::ts_opt")]
    #[schema(value_type = Option<DateTimeSchema>, required = true)]
    pub failed_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_error: Option<String>,
}

/// A handover this office sends; its id is the message id.
#[derive(Serialize, ToSchema)]
#[schema(as = OutgoingHandover)]
#[serde(deny_unknown_fields)]
pub struct OutgoingView {
    #[schema(value_type = UuidSchema)]
    pub id: Uuid,
    pub client_id: ClientId,
    pub receiver: OfficeId,
    pub consent_id: ConsentId,
    pub state: crate::domain::delivery::OutgoingState,
    /// An account name.
    pub created_by: String,
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    pub created_at: DateTime<Utc>,
    /// An account name.
    #[schema(required = true)]
    pub approved_by: Option<String>,
    #[serde(with = "crate::domain::time::ts_opt")]
    #[schema(value_type = Option<DateTimeSchema>, required = true)]
    pub approved_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::domain::time::ts_opt")]
    #[schema(value_type = Option<DateTimeSchema>, required = true)]
    pub decided_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub decline_reason: Option<String>,
    /// `null` until approved.
    #[schema(required = true)]
    pub delivery: Option<DeliveryView>,
}

impl OutgoingView {
    pub fn new(h: &OutgoingHandover, outbox: Option<&OutboxMessage>) -> Self {
        Self {
            id: h.id,
            client_id: h.client_id,
            receiver: h.receiver,
            consent_id: h.consent_id,
            state: h.state,
            created_by: h.created_by.clone(),
            created_at: h.created_at,
            approved_by: h.approved_by.clone(),
            approved_at: h.approved_at,
            decided_at: h.decided_at,
            decline_reason: h.decline_reason.clone(),
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

/// Declares a view of a received handover: the line of the list, and the whole handover with
/// its case (`$case`).
macro_rules! incoming_view {
    ($(#[$doc:meta])* $name:ident as $schema:ident { $($case:tt)* }) => {
        $(#[$doc])*
        #[derive(Serialize, ToSchema)]
        #[schema(as = $schema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            #[schema(value_type = UuidSchema)]
            pub id: Uuid,
            pub sender: OfficeId,
            /// `null` when the sender is not in the directory.
            #[schema(required = true)]
            pub sender_name: Option<String>,
            #[serde(with = "crate::domain::time::ts")]
            #[schema(value_type = DateTimeSchema)]
            pub received_at: DateTime<Utc>,
            pub state: IncomingState,
            pub given_name: PersonName,
            pub family_name: PersonName,
            #[serde(with = "crate::domain::time::date")]
            #[schema(value_type = Date)]
            pub date_of_birth: NaiveDate,
            #[schema(value_type = Date)]
            pub first_session: NaiveDate,
            #[schema(value_type = Date)]
            pub last_day: NaiveDate,
            /// An account name.
            #[schema(required = true)]
            pub decided_by: Option<String>,
            #[serde(with = "crate::domain::time::ts_opt")]
            #[schema(value_type = Option<DateTimeSchema>, required = true)]
            pub decided_at: Option<DateTime<Utc>>,
            #[schema(required = true)]
            pub decline_reason: Option<String>,
            /// The client record, once accepted.
            #[schema(required = true)]
            pub client_id: Option<ClientId>,
            $($case)*
        }
    };
}

incoming_view!(
    /// A handover this office received, as a line of the list; its id is the message id.
    IncomingLine as IncomingHandoverLine {}
);
incoming_view!(
    /// A handover this office received, with the case; its id is the message id.
    IncomingView as IncomingHandover {
        pub case: IncomingCase,
    }
);

/// The case as received: only what the consent covers.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomingCase {
    pub case_id: CaseId,
    pub window: crate::domain::WindowStatement,
    pub plan: IntegrationPlan,
    pub consent: crate::domain::ConsentBasis,
}

impl IncomingLine {
    pub fn new(h: &IncomingSummary, directory: &Directory) -> Self {
        let ClientIdentity { given_name, family_name, date_of_birth } = h.identity.clone();
        Self {
            id: h.id,
            sender: h.sender,
            sender_name: directory.office(h.sender).map(|e| e.name.clone()),
            received_at: h.received_at,
            state: h.state,
            given_name,
            family_name,
            date_of_birth,
            first_session: h.first_session,
            last_day: h.last_day,
            decided_by: h.decided_by.clone(),
            decided_at: h.decided_at,
            decline_reason: h.decline_reason.clone(),
            client_id: h.client_id,
        }
    }
}

impl IncomingView {
    pub fn new(h: &IncomingHandover, directory: &Directory) -> Self {
        let c = &h.handover.case;
        let ClientIdentity { given_name, family_name, date_of_birth } = c.client.clone();
        Self {
            id: h.id(),
            sender: h.handover.sender,
            sender_name: directory.office(h.handover.sender).map(|e| e.name.clone()),
            received_at: h.received_at,
            state: h.state,
            given_name,
            family_name,
            date_of_birth,
            first_session: c.window.first_session,
            last_day: c.window.last_day,
            decided_by: h.decided_by.clone(),
            decided_at: h.decided_at,
            decline_reason: h.decline_reason.clone(),
            client_id: h.client_id,
            case: IncomingCase {
                case_id: c.case_id,
                window: c.window.clone(),
                plan: c.plan.clone(),
                consent: c.consent.clone(),
            },
        }
    }
}

/// A staff account with a password (accounts with API tokens from the config are not listed);
/// never its password hash.
#[derive(Serialize, ToSchema)]
#[schema(as = Account)]
#[serde(deny_unknown_fields)]
pub struct AccountView {
    /// An account name.
    pub name: String,
    pub role: crate::domain::staff::Role,
    /// An account name.
    pub created_by: String,
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::ts_opt")]
    #[schema(value_type = Option<DateTimeSchema>, required = true)]
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

/// A session token, valid for 12 hours or until logout.
#[derive(Serialize, ToSchema)]
#[schema(as = Session)]
#[serde(deny_unknown_fields)]
pub struct LoginView {
    /// A bearer token; only its SHA-256 is stored.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    pub expires_at: DateTime<Utc>,
}

/// A line of a client's audit log.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditEntry)]
#[serde(deny_unknown_fields)]
pub struct AuditLine {
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    pub at: DateTime<Utc>,
    /// The account that acted, or `office:<AGS>` for a message from another office.
    pub account: String,
    #[schema(pattern = "^(read|write):", examples("read:client"))]
    pub action: String,
    /// The client an entry is about; null for an entry of a list that showed the client.
    #[schema(required = true)]
    pub client_id: Option<ClientId>,
}

impl From<crate::domain::audit::AuditEntry> for AuditLine {
    fn from(e: crate::domain::audit::AuditEntry) -> Self {
        Self { at: e.at, account: e.account, action: e.action, client_id: e.client_id }
    }
}
