//! RFC 9457 problem details. Every failure an HTTP client can see has a stable `type` URI
//! (`urn:staffel:problem:<slug>`), documented in `docs/problems.md`. Internal error text never
//! reaches a client: it goes to the log, and the client gets `internal-error`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::DomainError;
use crate::service::{Rejection, ServiceError};

pub const TYPE_PREFIX: &str = "urn:staffel:problem:";
pub const MEDIA_TYPE: &str = "application/problem+json";

macro_rules! problem_types {
    ($($variant:ident => ($slug:literal, $status:literal, $title:literal)),* $(,)?) => {
        /// Every problem type Staffel answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemType { $($variant),* }

        impl ProblemType {
            pub const ALL: &'static [ProblemType] = &[$(Self::$variant),*];

            pub fn slug(self) -> &'static str {
                match self { $(Self::$variant => $slug),* }
            }

            pub fn status(self) -> StatusCode {
                match self { $(Self::$variant => StatusCode::from_u16($status).expect("valid status")),* }
            }

            pub fn title(self) -> &'static str {
                match self { $(Self::$variant => $title),* }
            }
        }
    };
}

problem_types! {
    // Federation: the receiving office's checks, in their order.
    PayloadTooLarge => ("payload-too-large", 413, "The request body is too large"),
    MalformedJws => ("malformed-jws", 400, "The body is not a compact JWS whose header is exactly alg ES256, a kid and the typ of the endpoint"),
    NotIJson => ("not-i-json", 400, "The JSON text is not I-JSON (RFC 7493)"),
    UnknownKey => ("unknown-key", 401, "The kid names no key in the directory"),
    SignatureInvalid => ("signature-invalid", 401, "The signature does not verify"),
    SignerNotPeer => ("signer-not-peer", 403, "The signing office is not the office of the TLS client certificate"),
    WrongAudience => ("wrong-audience", 421, "The message is addressed to another office"),
    DuplicateConflict => ("duplicate-conflict", 409, "The message id was received before with different bytes"),
    MessageExpired => ("message-expired", 400, "The message has expired"),
    NotYetValid => ("not-yet-valid", 400, "The message was issued in the future"),
    LifetimeTooLong => ("lifetime-too-long", 400, "The message is valid for longer than 30 days, or expires before it is issued"),
    SchemaViolation => ("schema-violation", 422, "The payload does not match the schema"),
    UnknownHandover => ("unknown-handover", 409, "No handover awaits a decision from this office"),
    CaseActiveHere => ("case-active-here", 409, "This office holds the case as active"),
    CaseWindowConflict => ("case-window-conflict", 409, "The window contradicts the one this office holds for the case"),
    UnknownConsent => ("unknown-consent", 409, "No handover on this consent passed between the sender and this office"),
    // Domain rules, on either listener.
    FirstSessionInFuture => ("first-session-in-future", 422, "The first session lies in the future"),
    LastDayInconsistent => ("last-day-inconsistent", 422, "The last day does not follow from first session and extensions"),
    ExtensionInvalid => ("extension-invalid", 422, "The extension breaks the extension rules"),
    WindowEnded => ("window-ended", 409, "The counselling window has ended"),
    ConsentMissing => ("consent-missing", 422, "No consent covers the data to be sent"),
    ConsentWithdrawn => ("consent-withdrawn", 409, "The consent was withdrawn"),
    ConsentRevoked => ("consent-revoked", 409, "The consent was revoked by the office as recorded in error"),
    ConsentExpired => ("consent-expired", 409, "The consent has expired"),
    ConsentLinkInvalid => ("consent-link-invalid", 410, "The consent link has expired or was used already"),
    ClientRestricted => ("client-restricted", 409, "Processing of the client record is restricted"),
    ClientErased => ("client-erased", 410, "The client's personal data was erased"),
    ClientMovedOut => ("client-moved-out", 409, "The client has moved to another office"),
    ClientNotActive => ("client-not-active", 409, "The client has left counselling"),
    DiscretionRequired => ("discretion-required", 422, "Without benefits a recorded discretionary decision is required"),
    NotAdult => ("not-adult", 422, "Only adults get a counselling window of their own"),
    DateInvalid => ("date-invalid", 422, "The date lies in the future or before a date it must follow"),
    HandoverToSelf => ("handover-to-self", 422, "A handover goes to another office"),
    HandoverOpen => ("handover-open", 409, "The client has an open handover"),
    // Caseworker API.
    Unauthorized => ("unauthorized", 401, "A valid bearer token is required"),
    Forbidden => ("forbidden", 403, "The account's role does not allow this"),
    FourEyes => ("four-eyes-required", 403, "A second person, a team lead, must approve this"),
    LoginFailed => ("login-failed", 401, "Account or password is wrong, or the account is disabled"),
    ValidationFailed => ("validation-failed", 422, "The request is not valid"),
    CursorUnknown => ("cursor-unknown", 400, "The cursor was not handed out by this list"),
    UnsupportedMediaType => ("unsupported-media-type", 415, "The request body must be application/json"),
    LoginThrottled => ("login-throttled", 429, "Too many failed logins; try again later"),
    HeadersTooLarge => ("headers-too-large", 431, "The request header fields are too large"),
    NotFound => ("not-found", 404, "No such resource"),
    MethodNotAllowed => ("method-not-allowed", 405, "The resource does not support this method"),
    NotReady => ("not-ready", 503, "The office cannot do its work now (its database does not answer)"),
    InvalidState => ("invalid-state", 409, "The resource is not in a state that allows this"),
    EditConflict => ("edit-conflict", 409, "The record was changed meanwhile"),
    AccountExists => ("account-exists", 409, "An account with this name exists already"),
    LastAdministrator => ("last-administrator", 409, "The office would be left without an enabled administrator"),
    UnknownOffice => ("unknown-office", 422, "The office is not in the directory"),
    Internal => ("internal-error", 500, "Internal error"),
}

impl ProblemType {
    pub fn uri(self) -> String {
        format!("{TYPE_PREFIX}{}", self.slug())
    }
}

/// A problem document: type, title, status, optional detail, and extension members.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: ProblemType,
    pub detail: Option<String>,
    pub extensions: Map<String, Value>,
}

impl Problem {
    pub fn new(kind: ProblemType) -> Self {
        Self { kind, detail: None, extensions: Map::new() }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        self.extensions.insert(key.to_owned(), serde_json::to_value(value).expect("extension serialises"));
        self
    }

    /// A JSON text that is not I-JSON: which kind of violation, where (`jws-header`, `payload` or
    /// `body`), and the JSON Pointer of the value at fault where there is one.
    pub fn not_i_json(e: &crate::ijson::IJsonError, location: &str) -> Self {
        let problem = Problem::new(ProblemType::NotIJson)
            .detail(e.to_string())
            .with("violation", e.violation())
            .with("location", location);
        match e.pointer() {
            Some(p) => problem.with("pointer", p),
            None => problem,
        }
    }

    /// An internal failure: logged here with its text, answered without it.
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %error, "internal error");
        Self::new(ProblemType::Internal)
    }

    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), self.kind.uri().into());
        body.insert("title".into(), self.kind.title().into());
        body.insert("status".into(), self.kind.status().as_u16().into());
        if let Some(detail) = &self.detail {
            body.insert("detail".into(), detail.clone().into());
        }
        for (k, v) in &self.extensions {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.kind.status(), self.body().to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        if self.kind == ProblemType::Unauthorized {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.extensions.get("retry_after").and_then(Value::as_u64) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<&DomainError> for Problem {
    fn from(e: &DomainError) -> Self {
        use DomainError as D;
        let kind = match e {
            D::InvalidOfficeId | D::InvalidText { .. } | D::ConsentEmpty => ProblemType::ValidationFailed,
            D::DateInFuture { .. } | D::DateBefore { .. } => ProblemType::DateInvalid,
            D::HandoverToSelf => ProblemType::HandoverToSelf,
            D::HandoverOpen => ProblemType::HandoverOpen,
            D::CaseActiveHere => ProblemType::CaseActiveHere,
            D::WindowConflict(_) => ProblemType::CaseWindowConflict,
            D::DiscretionRequired => ProblemType::DiscretionRequired,
            D::NotAdult => ProblemType::NotAdult,
            D::NotActive => ProblemType::ClientNotActive,
            D::AlreadyActive | D::InvalidTransition { .. } | D::AccountDisabled | D::AccountEnabled => {
                ProblemType::InvalidState
            }
            D::LastAdministrator => ProblemType::LastAdministrator,
            D::TeamLeadRequired | D::SamePerson => ProblemType::FourEyes,
            D::UnknownRequest => ProblemType::NotFound,
            D::FirstSessionInFuture { .. } => ProblemType::FirstSessionInFuture,
            D::LastDayInconsistent { .. } => ProblemType::LastDayInconsistent,
            D::ExtensionMonthsOutOfRange
            | D::ExtensionWithoutReason
            | D::ExtensionTooLong { .. }
            | D::ExtensionOutsideWindow { .. }
            | D::ExtensionInFuture { .. } => ProblemType::ExtensionInvalid,
            D::WindowEnded { .. } => ProblemType::WindowEnded,
            D::ConsentMissingCategory(_)
            | D::ConsentWrongRecipient { .. }
            | D::ConsentMissingLegalBasis(_)
            | D::ConsentTooNarrowForHandover
            | D::ConsentInFuture
            | D::HistoryWithoutGoal => ProblemType::ConsentMissing,
            D::ConsentWithdrawn => ProblemType::ConsentWithdrawn,
            D::ConsentRevoked => ProblemType::ConsentRevoked,
            D::ConsentExpired => ProblemType::ConsentExpired,
            D::ConsentLinkExpired | D::ConsentLinkUsed => ProblemType::ConsentLinkInvalid,
            D::ClientRestricted => ProblemType::ClientRestricted,
            D::ClientMovedOut => ProblemType::ClientMovedOut,
            D::UnknownGoal => ProblemType::NotFound,
        };
        // Domain messages name rules, dates and categories; never names or free text.
        let problem = Problem::new(kind).detail(e.to_string());
        match e {
            D::WindowEnded { last_day } => problem.with("last_day", last_day),
            D::WindowConflict(part) => problem.with("conflict", part.as_str()).with("pointer", part.pointer()),
            _ => problem,
        }
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match &e {
            ServiceError::Domain(d) => d.into(),
            ServiceError::Erased => Problem::new(ProblemType::ClientErased).detail(e.to_string()),
            ServiceError::NotFound(what) => Problem::new(ProblemType::NotFound).detail(format!("no such {what}")),
            ServiceError::State(why) => Problem::new(ProblemType::InvalidState).detail(*why),
            ServiceError::UnknownOffice(o) => {
                Problem::new(ProblemType::UnknownOffice).detail(format!("office {o} is not in the directory"))
            }
            ServiceError::Conflict => Problem::new(ProblemType::EditConflict).detail(e.to_string()),
            ServiceError::Forbidden => Problem::new(ProblemType::Forbidden),
            ServiceError::DuplicateAccount => Problem::new(ProblemType::AccountExists),
            ServiceError::ConfigAccountName => Problem::new(ProblemType::AccountExists).detail(e.to_string()),
            ServiceError::Invalid(why) => Problem::new(ProblemType::ValidationFailed).detail(*why),
            ServiceError::LoginFailed => Problem::new(ProblemType::LoginFailed),
            ServiceError::Throttled { retry_after } => {
                // Whole seconds, rounded up: never earlier than allowed.
                let secs = (retry_after.num_milliseconds().max(0) as u64).div_ceil(1000).max(1);
                Problem::new(ProblemType::LoginThrottled).detail(e.to_string()).with("retry_after", secs)
            }
            ServiceError::Storage(s) => Problem::internal(s),
            ServiceError::Internal(s) => Problem::internal(s),
        }
    }
}

impl From<Rejection> for Problem {
    fn from(r: Rejection) -> Self {
        use crate::federation::jws::JwsError;
        match &r {
            Rejection::TooLarge { limit } => Problem::new(ProblemType::PayloadTooLarge).with("limit_bytes", limit),
            Rejection::Jws(JwsError::Malformed) => Problem::new(ProblemType::MalformedJws),
            Rejection::Jws(JwsError::NotIJson(e)) => Problem::not_i_json(e, "jws-header"),
            Rejection::PayloadNotIJson(e) => Problem::not_i_json(e, "payload"),
            Rejection::Jws(JwsError::UnknownKey) => Problem::new(ProblemType::UnknownKey),
            Rejection::Jws(JwsError::BadSignature) => Problem::new(ProblemType::SignatureInvalid),
            Rejection::SignerNotPeer { .. } => Problem::new(ProblemType::SignerNotPeer).detail(r.to_string()),
            Rejection::WrongAudience => Problem::new(ProblemType::WrongAudience),
            Rejection::DuplicateConflict => Problem::new(ProblemType::DuplicateConflict),
            Rejection::Expired(at) => Problem::new(ProblemType::MessageExpired).with("expired_at", at),
            Rejection::NotYetValid => Problem::new(ProblemType::NotYetValid),
            Rejection::LifetimeTooLong => Problem::new(ProblemType::LifetimeTooLong),
            Rejection::Schema(violations) => Problem::new(ProblemType::SchemaViolation).with("violations", violations),
            Rejection::Domain(d) => d.into(),
            Rejection::UnknownHandover => Problem::new(ProblemType::UnknownHandover),
            Rejection::UnknownConsent => Problem::new(ProblemType::UnknownConsent),
            Rejection::Storage(s) => Problem::internal(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_documented() {
        let docs = include_str!("../../docs/problems.md");
        let mut seen = std::collections::HashSet::new();
        for kind in ProblemType::ALL {
            assert!(seen.insert(kind.slug()), "duplicate slug {}", kind.slug());
            assert!(
                docs.contains(&format!("`{}`", kind.uri())),
                "{} is not documented in docs/problems.md",
                kind.uri()
            );
        }
    }

    #[test]
    fn body_has_the_rfc_9457_members() {
        let body = Problem::new(ProblemType::WindowEnded).detail("d").with("last_day", "2027-03-15").body();
        assert_eq!(body["type"], "urn:staffel:problem:window-ended");
        assert_eq!(body["status"], 409);
        assert_eq!(body["title"], "The counselling window has ended");
        assert_eq!(body["last_day"], "2027-03-15");
    }
}
