//! How the caseworker API describes the domain's types in its OpenAPI document. The domain does
//! not depend on utoipa: its types get their schemas here, from the domain's own constants
//! (the goal areas, the data categories, the blank characters, the lengths) where it has them,
//! and from a mirror type that states the wire form (the serde attributes of the domain type)
//! where it is a structure. `tests/api/openapi.rs` drives real offices and checks every answer
//! against these schemas, so a mirror that drifts from the domain type fails there.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Ref, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{RefOr, extensions::Extensions};
use utoipa::{PartialSchema, ToSchema};

use crate::domain;

/// `^...$` around a pattern.
fn whole(pattern: &str) -> String {
    format!("^{pattern}$")
}

/// A string schema with a pattern and a description.
fn string(pattern: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).description(Some(description))
}

/// `\uXXXX` escapes (ECMA-262 regular expressions) of characters, for a character class.
fn class_of(chars: impl IntoIterator<Item = char>) -> String {
    chars.into_iter().map(|c| format!("\\u{:04x}", c as u32)).collect()
}

/// Free text that is not blank: no character of `forbidden` (a class body), and at least one
/// character that is neither forbidden nor blank ([`domain::text::BLANK`]).
fn text_pattern(forbidden: &str) -> String {
    let blank = class_of(domain::text::BLANK.iter().copied());
    whole(&format!("[^{forbidden}]*[^{forbidden}{blank}][^{forbidden}]*"))
}

/// The pattern of a date as the API reads it (`domain::time::date`): `YYYY-MM-DD`, 1900-9999.
pub const DATE_PATTERN: &str = "^(19[0-9]{2}|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
/// The pattern of an instant as the API writes it (`domain::time::ts`).
pub const DATE_TIME_PATTERN: &str = "^(19[0-9]{2}|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z$";
/// A UUID in canonical form ([`domain::client::parse_canonical_uuid`]).
pub const UUID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/// An office: the Amtlicher Gemeindeschlüssel, Land 01-16 ([`domain::OfficeId::parse`]).
pub const OFFICE_PATTERN: &str = "^(0[1-9]|1[0-6])[0-9]{6}$";
/// A goal area an office added ([`domain::GoalArea::parse`]): `x-` and a slug of at most 40.
const ADDED_AREA_PATTERN: &str = "x-[a-z0-9]+(-[a-z0-9]+)*";
const ADDED_AREA_MAX: usize = 42;

/// Implements [`PartialSchema`] and [`ToSchema`] for a type from a function building its schema.
macro_rules! schema_fn {
    ($($ty:ty => $name:literal, $build:expr;)*) => {$(
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                let build: fn() -> Schema = $build;
                RefOr::T(build())
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    )*};
}

/// Gives a domain type the schema (and name) of its mirror here.
macro_rules! described_by {
    ($($domain:ty => $mirror:ty;)*) => {$(
        impl PartialSchema for $domain {
            fn schema() -> RefOr<Schema> {
                <$mirror as PartialSchema>::schema()
            }
        }
        impl ToSchema for $domain {
            fn name() -> Cow<'static, str> {
                <$mirror as ToSchema>::name()
            }
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                <$mirror as ToSchema>::schemas(schemas)
            }
        }
    )*};
}

/// A calendar date (`NaiveDate` on the wire, read strictly); use as `value_type`.
pub struct Date;
/// An instant (`DateTime<Utc>` written with milliseconds); use as `value_type`.
pub struct DateTime;
/// A UUID in canonical form; use as `value_type`.
pub struct Uuid;

fn uuid_id(description: &str) -> Schema {
    string(UUID_PATTERN, description).format(Some(SchemaFormat::Custom("uuid".into()))).build().into()
}

schema_fn! {
    Date => "Date", || string(DATE_PATTERN, "A calendar date, exactly `YYYY-MM-DD`, in the years 1900 to 9999.")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))).build().into();
    DateTime => "DateTime", || string(DATE_TIME_PATTERN,
        "An instant, RFC 3339 in UTC with exactly three fractional digits: `2026-11-25T09:30:00.000Z`.")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))).build().into();
    Uuid => "Uuid", || uuid_id("A UUID in canonical form: lowercase, hyphenated. Other spellings are refused.");
    domain::ClientId => "ClientId", || uuid_id("A client record at this office; never leaves it.");
    domain::CaseId => "CaseId", || uuid_id("A counselling case across offices; every handover carries it.");
    domain::ConsentId => "ConsentId", || uuid_id("A consent.");
    domain::GoalId => "GoalId", || uuid_id("A goal; stable across handovers.");
    domain::client::HouseholdId => "HouseholdId", || uuid_id("A household: adults of one family, linked.");
    domain::OfficeId => "OfficeId", || string(OFFICE_PATTERN,
        "An office: the 8-digit Amtlicher Gemeindeschlüssel of its municipality (Land 01-16).")
        .examples(["08111000"]).build().into();
    domain::PersonName => "PersonName", || ObjectBuilder::new().schema_type(Type::String)
        .min_length(Some(1)).max_length(Some(200))
        .pattern(Some(text_pattern("\\u0000-\\u001f\\u007f-\\u009f")))
        .description(Some("A given or family name: one line, 1-200 characters, no control character, not blank; stored trimmed."))
        .build().into();
    domain::Text => "Text", || ObjectBuilder::new().schema_type(Type::String)
        .min_length(Some(1)).max_length(Some(domain::Text::MAX_CHARS))
        .pattern(Some(text_pattern("\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f")))
        .description(Some("Free text: 1-4000 characters, no control character but line feed and tab, not blank; stored trimmed."))
        .build().into();
    domain::GoalArea => "GoalArea", || AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String)
            .enum_values(Some(domain::GoalArea::ALL.iter().map(|a| a.as_str().to_owned()))))
        .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(ADDED_AREA_MAX))
            .pattern(Some(whole(ADDED_AREA_PATTERN))))
        .description(Some("An area seen in practice, or one an office added: x- and a lowercase slug."))
        .build().into();
    domain::DataCategory => "DataCategory", || AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String)
            .enum_values(Some(domain::DataCategory::all().map(|c| c.to_string()))))
        .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(ADDED_AREA_MAX + "plan:".len()))
            .pattern(Some(whole(&format!("plan:{ADDED_AREA_PATTERN}")))))
        .description(Some("What a consent allows to be sent: `identity`, `window`, the goals of one plan area \
            (`plan:<area>`), or `health` (data concerning health, GDPR Art. 9)."))
        .build().into();
}

/// Declares a set of at least one of a type (a `BTreeSet` the domain keeps non-empty), for
/// `value_type = ..., inline`.
macro_rules! non_empty_set {
    ($($(#[$doc:meta])* $name:ident of $item:ty;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ArrayBuilder::new()
                    .items(Ref::from_schema_name(<$item as ToSchema>::name()))
                    .min_items(Some(1))
                    .unique_items(true)
                    .into()
            }
        }

        impl ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                schemas.push((<$item as ToSchema>::name().into(), <$item as PartialSchema>::schema()));
                <$item as ToSchema>::schemas(schemas);
            }
        }
    )*};
}

non_empty_set! {
    /// Data categories, at least one.
    Categories of domain::DataCategory;
    /// Legal bases, at least one.
    LegalBases of domain::LegalBasis;
    /// Extension reasons, at least one.
    Reasons of domain::ExtensionReason;
}

/// `null`, and nothing else.
pub fn null() -> Schema {
    ObjectBuilder::new().schema_type(Type::Null).build().into()
}

/// A comma-separated list of known data categories (the consent form's query parameter).
pub fn category_list_pattern() -> String {
    let one = format!("({})", domain::DataCategory::all().map(|c| c.to_string()).collect::<Vec<_>>().join("|"));
    format!("^{one}(,{one})*$")
}

/// The languages consent texts exist in ([`crate::consent_text::languages`]).
pub fn consent_language() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(crate::consent_text::languages()))
        .description(Some(
            "A language of `consents/`: German and English authoritative, Ukrainian and Arabic translations awaiting review.",
        ))
        .build()
        .into()
}

/// Raw JSON Schema members utoipa's model has no field for (`if`/`then`), added to an object
/// schema. Only for keywords of JSON Schema 2020-12.
pub fn raw_members(members: serde_json::Value) -> Extensions {
    let mut extensions = Extensions::default();
    if let serde_json::Value::Object(map) = members {
        extensions.extend(map);
    }
    extensions
}

described_by! {
    domain::staff::Role => Role;
    domain::eligibility::TargetGroup => TargetGroup;
    domain::eligibility::Benefits => Benefits;
    domain::participation::ExitReason => ExitReason;
    domain::GoalStatus => GoalStatus;
    domain::ExtensionReason => ExtensionReason;
    domain::LegalBasis => LegalBasis;
    domain::delivery::OutgoingState => OutgoingState;
    domain::delivery::IncomingState => IncomingState;
    domain::case::ClientStatus => ClientStatus;
    domain::case::Restriction => Restriction;
    domain::eligibility::Eligibility => Eligibility;
    domain::participation::ParticipationEvent => ParticipationEvent;
    domain::ExtensionGrounds => ExtensionGrounds;
    domain::Extension => Extension;
    domain::window::ExtensionRequest => ExtensionRequest;
    domain::WindowStatement => WindowStatement;
    domain::Step => Step;
    domain::Responsible => Responsible;
    domain::Goal => Goal;
    domain::IntegrationPlan => IntegrationPlan;
    domain::participation::CounsellingSession => CounsellingSession;
    domain::ConsentBasis => ConsentBasis;
    domain::consent::ConsentText => ConsentText;
    domain::consent::ConsentMethod => ConsentMethod;
    domain::consent::ConsentEnd => ConsentEnd;
    domain::ledger::LedgerHead => LedgerHead;
    crate::service::ledger::Mismatch => Mismatch;
    crate::service::ledger::PeerReport => PeerReport;
}

// The mirrors: the wire form of each domain type, as its serde attributes make it.

/// `integration-manager` and `team-lead` work with client data (a team lead may also approve
/// where four eyes are required); `administrator` manages accounts and reads audit logs.
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    IntegrationManager,
    TeamLead,
    Administrator,
}

#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TargetGroup {
    FollowUpAccommodation,
    DisplacedFromUkraine,
}

/// Benefits for living costs the client receives.
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Benefits {
    Asylblg,
    SgbIi,
    SgbXii,
    None,
}

#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExitReason {
    ManagesIndependently,
    NoLongerReceivesBenefits,
    MovedAway,
    Other,
}

#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GoalStatus {
    Open,
    InProgress,
    Achieved,
    Dropped,
}

/// Nr. 4.1.5 VwV Integrationsmanagement 2023. All but `illiteracy` are data concerning health.
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExtensionReason {
    Illiteracy,
    MentalIllness,
    ChronicIllness,
    Disability,
    MultiProblemSituation,
}

#[derive(ToSchema)]
pub enum LegalBasis {
    #[serde(rename = "gdpr-art-6-1-a")]
    Consent,
    #[serde(rename = "gdpr-art-9-2-a")]
    ExplicitConsentHealth,
}

/// `rejected`: not deliverable for good; `cancelled`: stopped before delivery (by an
/// integration manager, or because the consent ended); `withdrawn`: delivered, then its consent
/// ended before the receiver decided (the receiver was told).
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OutgoingState {
    Draft,
    Approved,
    Delivered,
    Rejected,
    Cancelled,
    Accepted,
    Declined,
    Withdrawn,
}

/// `withdrawn`: its consent was withdrawn before a decision; it can no longer be accepted.
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IncomingState {
    Received,
    Accepted,
    Declined,
    Withdrawn,
}

/// `moved-out`: the client moved to another office by handover; the record is closed.
#[derive(ToSchema)]
#[serde(tag = "state", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClientStatus {
    Active,
    MovedOut {
        to: domain::OfficeId,
        #[schema(value_type = DateTime)]
        at: (),
    },
}

/// Set while processing is restricted (GDPR Art. 18): the consent the record was taken over on
/// was withdrawn; the record is kept and readable, not changed or handed on, until the client
/// consents at this office.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    pub consent_id: domain::ConsentId,
    pub from: domain::OfficeId,
    #[schema(value_type = DateTime)]
    pub since: (),
}

/// The recorded decision to go on counselling without benefits.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscretionaryDecision {
    /// An account name.
    pub decided_by: String,
    #[schema(value_type = Date)]
    pub decided_on: (),
    pub reason: domain::Text,
}

/// `discretion` is present only when `benefits` is `none`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    pub target_group: TargetGroup,
    pub benefits: Benefits,
    #[schema(required = false)]
    pub discretion: DiscretionaryDecision,
}

/// An exit or a re-entry.
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ParticipationEvent {
    Exit {
        #[schema(value_type = Date)]
        on: (),
        reason: ExitReason,
        #[schema(required = false)]
        note: domain::Text,
        /// An account name.
        by: String,
    },
    ReEntry {
        #[schema(value_type = Date)]
        on: (),
        /// An account name.
        by: String,
    },
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionGrounds {
    #[schema(value_type = Reasons, inline)]
    pub reasons: (),
    pub justification: domain::Text,
}

/// A granted extension. `grounds` is absent only when received from another office without
/// consent to them.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    #[schema(minimum = 1, maximum = 12)]
    pub months: u32,
    #[schema(value_type = Date)]
    pub decided_on: (),
    /// An account name.
    pub decided_by: String,
    #[schema(required = false)]
    pub grounds: ExtensionGrounds,
}

/// An extension asked for where four eyes are required, waiting for a team lead.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequest {
    #[schema(value_type = Uuid)]
    pub id: (),
    #[schema(minimum = 1, maximum = 12)]
    pub months: u32,
    pub grounds: ExtensionGrounds,
    /// An account name.
    pub requested_by: String,
    #[schema(value_type = Date)]
    pub requested_on: (),
}

/// The window as a handover states it.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowStatement {
    #[schema(value_type = Date)]
    pub first_session: (),
    pub extensions: Vec<Extension>,
    #[schema(value_type = Date)]
    pub last_day: (),
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub description: domain::Text,
    pub done: bool,
}

/// A step of a goal as the API takes it: `done` is false unless given.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    pub description: domain::Text,
    #[schema(default = false, required = false)]
    pub done: bool,
}

/// Who is responsible for a goal.
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Responsible {
    Client,
    IntegrationManager,
    RegularService { name: domain::Text },
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewNote {
    #[schema(value_type = Date)]
    pub on: (),
    pub note: domain::Text,
    /// An account name.
    pub by: String,
}

/// `target_date` is absent when none is set, `reviews` when there are none.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub id: domain::GoalId,
    pub area: domain::GoalArea,
    pub description: domain::Text,
    pub steps: Vec<Step>,
    pub responsible: Responsible,
    #[schema(required = false)]
    #[schema(value_type = Date)]
    pub target_date: (),
    pub status: GoalStatus,
    /// Dated review notes. As in the protocol schema (`handover.v1`) the list may be empty;
    /// Staffel leaves it out when there are none.
    #[schema(required = false)]
    pub reviews: Vec<ReviewNote>,
}

/// What changed (never the free text itself).
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PlanChange {
    GoalCreated,
    DescriptionChanged,
    StepsChanged,
    ResponsibleChanged,
    /// `from` or `to` is absent where there was, or is, no target date.
    TargetDateChanged {
        #[schema(required = false)]
        #[schema(value_type = Date)]
        from: (),
        #[schema(required = false)]
        #[schema(value_type = Date)]
        to: (),
    },
    StatusChanged {
        from: GoalStatus,
        to: GoalStatus,
    },
    Reviewed,
}

/// An entry of the plan's history; it travels with the plan.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanEvent {
    #[schema(value_type = DateTime)]
    pub at: (),
    pub office: domain::OfficeId,
    /// An account name.
    pub actor: String,
    pub goal_id: domain::GoalId,
    pub change: PlanChange,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationPlan {
    pub goals: Vec<Goal>,
    pub history: Vec<PlanEvent>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounsellingSession {
    #[schema(value_type = Uuid)]
    pub id: (),
    #[schema(value_type = Date)]
    pub date: (),
    pub note: domain::Text,
    /// An account name.
    pub recorded_by: String,
    #[schema(value_type = DateTime)]
    pub recorded_at: (),
}

/// The text the client was shown: its id, version and language (a file
/// `consents/<language>.toml`), and the SHA-256 (lowercase hex) of the exact statement shown
/// (`schemas/README.md` section 14).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentText {
    pub id: String,
    pub version: String,
    pub language: String,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
}

/// The consent a handover was sent on.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentBasis {
    pub consent_id: domain::ConsentId,
    pub recipient: domain::OfficeId,
    #[schema(value_type = Categories, inline)]
    pub categories: (),
    #[schema(value_type = LegalBases, inline)]
    pub legal_bases: (),
    #[schema(value_type = DateTime)]
    pub given_at: (),
    /// An account name.
    pub witnessed_by: String,
    #[schema(required = false)]
    pub text: ConsentText,
}

/// How the client gave the consent.
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ConsentMethod {
    OnScreen,
    PaperForm {
        #[schema(value_type = Date)]
        signed_on: (),
    },
}

/// Why a consent no longer holds: withdrawn by the client (`via`: `office` with `recorded_by`,
/// `withdrawal-code`, or `other-office` with `office` and `message_id`), revoked by the office
/// as recorded in error (`by`), or expired.
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ConsentEnd {
    #[serde(rename = "withdrawn")]
    WithdrawnAtOffice {
        #[schema(inline)]
        via: ViaOffice,
        recorded_by: String,
    },
    #[serde(rename = "withdrawn")]
    WithdrawnByCode {
        #[schema(inline)]
        via: ViaWithdrawalCode,
    },
    #[serde(rename = "withdrawn")]
    WithdrawnAtOtherOffice {
        #[schema(inline)]
        via: ViaOtherOffice,
        office: domain::OfficeId,
        #[schema(value_type = Uuid)]
        message_id: (),
    },
    Revoked {
        by: String,
    },
    Expired,
}

/// `via` of a withdrawal recorded by the office.
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ViaOffice {
    Office,
}

/// `via` of a withdrawal with the client's withdrawal code.
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ViaWithdrawalCode {
    WithdrawalCode,
}

/// `via` of a withdrawal recorded at another office and sent here.
#[derive(ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ViaOtherOffice {
    OtherOffice,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerHead {
    #[schema(minimum = 0)]
    pub seq: u64,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub hash: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mismatch {
    #[schema(minimum = 1)]
    pub seq: u64,
    pub problem: String,
}

/// What another office holds of this office's ledger, and whether it matches.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerReport {
    pub office: domain::OfficeId,
    #[schema(minimum = 0)]
    pub heads: u64,
    #[schema(required = true)]
    pub mismatch: Option<Mismatch>,
    #[schema(required = true)]
    pub error: Option<String>,
}
