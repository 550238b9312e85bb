use chrono::NaiveDate;

use super::window::WindowConflict;
use super::{DataCategory, OfficeId};

/// A rule of the domain was broken. Messages name the rule, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("an office id is an 8-digit Amtlicher Gemeindeschlüssel with a Land code 01-16")]
    InvalidOfficeId,
    #[error("{field}: {reason}")]
    InvalidText { field: &'static str, reason: &'static str },
    #[error("the first session ({first_session}) lies in the future (today is {today})")]
    FirstSessionInFuture { first_session: NaiveDate, today: NaiveDate },
    #[error("an extension is between 1 and 12 whole months")]
    ExtensionMonthsOutOfRange,
    #[error("an extension needs at least one reason from the list")]
    ExtensionWithoutReason,
    #[error("extensions may add up to 12 months in total; {remaining} month(s) remain")]
    ExtensionTooLong { remaining: u32 },
    #[error(
        "an extension is granted while the window runs: decided on {decided_on}, window {first_session} to {last_day}"
    )]
    ExtensionOutsideWindow { decided_on: NaiveDate, first_session: NaiveDate, last_day: NaiveDate },
    #[error("the counselling window ended on {last_day}")]
    WindowEnded { last_day: NaiveDate },
    #[error("the stated last day {stated} does not follow from the first session and extensions ({computed})")]
    LastDayInconsistent { stated: NaiveDate, computed: NaiveDate },
    #[error("the consent does not cover the data category {0}")]
    ConsentMissingCategory(DataCategory),
    #[error("the consent names {consented} as recipient, not {receiver}")]
    ConsentWrongRecipient { consented: OfficeId, receiver: OfficeId },
    #[error("the consent was withdrawn")]
    ConsentWithdrawn,
    #[error("the consent was revoked by the office: it was recorded in error")]
    ConsentRevoked,
    #[error("the consent has expired")]
    ConsentExpired,
    #[error("the consent link has expired")]
    ConsentLinkExpired,
    #[error("the consent link was used already")]
    ConsentLinkUsed,
    #[error("the consent lacks the legal basis {0}")]
    ConsentMissingLegalBasis(&'static str),
    #[error("a consent names at least one data category")]
    ConsentEmpty,
    #[error("a handover needs the consent to cover the client's identity and window")]
    ConsentTooNarrowForHandover,
    #[error("a handover goes to another office")]
    HandoverToSelf,
    #[error("the client has moved to another office; the record is closed")]
    ClientMovedOut,
    #[error(
        "processing is restricted: the consent this record was taken over on was withdrawn; it may change again once the client consents at this office"
    )]
    ClientRestricted,
    #[error("no goal with this id in the plan")]
    UnknownGoal,
    #[error("an extension was decided in the future ({decided_on}, today is {today})")]
    ExtensionInFuture { decided_on: NaiveDate, today: NaiveDate },
    #[error("the plan history names a goal that is not in the plan")]
    HistoryWithoutGoal,
    #[error("the consent is dated in the future")]
    ConsentInFuture,
    #[error("without benefits, counselling continues only with a recorded discretionary decision")]
    DiscretionRequired,
    #[error("only adults get a counselling window of their own")]
    NotAdult,
    #[error("{date} lies in the future (today is {today})")]
    DateInFuture { date: NaiveDate, today: NaiveDate },
    #[error("{date} lies before {earliest}")]
    DateBefore { date: NaiveDate, earliest: NaiveDate },
    #[error("the client has left counselling; record a re-entry first")]
    NotActive,
    #[error("the client takes part already")]
    AlreadyActive,
    #[error("four eyes are required: a team lead must approve")]
    TeamLeadRequired,
    #[error("four eyes are required: the approver must be another person than the one who asked")]
    SamePerson,
    #[error("no pending extension request with this id")]
    UnknownRequest,
    #[error("the received window contradicts the one this office holds for the case: {}", .0.as_str())]
    WindowConflict(WindowConflict),
    #[error("this office holds the case as active; a case is active at one office at a time")]
    CaseActiveHere,
    #[error("the client has an open handover; a second one only after it is declined or cancelled")]
    HandoverOpen,
    #[error("a {record} in state {state}: cannot {action} it")]
    InvalidTransition { record: &'static str, state: &'static str, action: &'static str },
    #[error(
        "this is the office's last enabled administrator and the config has none: enable or create another administrator first"
    )]
    LastAdministrator,
    #[error("the account is disabled already")]
    AccountDisabled,
    #[error("the account is not disabled")]
    AccountEnabled,
}
