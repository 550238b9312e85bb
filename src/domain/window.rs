//! The counselling window ("Beratungszeitraum"): the clock that never resets.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::calendar::add_months;
use super::{DomainError, Text};

/// The regular length of a window in months (three years).
pub const REGULAR_MONTHS: u32 = 36;
/// The most that all extensions together may add, in months.
pub const MAX_EXTENSION_MONTHS: u32 = 12;

/// The reasons for an extension, Nr. 4.1.5 VwV Integrationsmanagement 2023.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExtensionReason {
    Illiteracy,
    MentalIllness,
    ChronicIllness,
    Disability,
    MultiProblemSituation,
}

impl ExtensionReason {
    /// Whether naming this reason discloses data concerning health (GDPR Art. 9). A
    /// multi-problem situation includes psychological and medical problems, so it counts too
    /// (our decision: the cautious reading).
    pub fn is_health_data(self) -> bool {
        !matches!(self, Self::Illiteracy)
    }
}

/// Why an extension was granted. Sent to another office only with consent to health data when
/// a reason is health data; otherwise the extension travels without its grounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionGrounds {
    pub reasons: BTreeSet<ExtensionReason>,
    pub justification: Text,
}

impl ExtensionGrounds {
    pub fn new(reasons: BTreeSet<ExtensionReason>, justification: Text) -> Result<Self, DomainError> {
        if reasons.is_empty() {
            return Err(DomainError::ExtensionWithoutReason);
        }
        Ok(Self { reasons, justification })
    }

    pub fn is_health_data(&self) -> bool {
        self.reasons.iter().any(|r| r.is_health_data())
    }
}

/// One granted extension of whole months.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    pub months: u32,
    pub decided_on: NaiveDate,
    /// Who decided (the integration manager's account name at the deciding office).
    pub decided_by: String,
    /// Absent only when received from another office without consent to the grounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grounds: Option<ExtensionGrounds>,
}

/// A client's counselling window: the first-session date and the extensions granted.
/// The last day is always derived, never stored as a fact of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounsellingWindow {
    first_session: NaiveDate,
    extensions: Vec<Extension>,
}

impl CounsellingWindow {
    /// Opens a window with the first counselling session, which cannot lie in the future.
    pub fn open(first_session: NaiveDate, today: NaiveDate) -> Result<Self, DomainError> {
        if first_session > today {
            return Err(DomainError::FirstSessionInFuture { first_session, today });
        }
        Ok(Self { first_session, extensions: Vec::new() })
    }

    /// Rebuilds a window from its parts (storage, or a message from another office), checking
    /// every extension as it was granted, in the order of its decision.
    pub fn from_parts(first_session: NaiveDate, extensions: Vec<Extension>) -> Result<Self, DomainError> {
        let mut sorted = extensions;
        sorted.sort_by_key(|e| e.decided_on);
        let mut window = Self { first_session, extensions: Vec::with_capacity(sorted.len()) };
        for e in sorted {
            window.check_extension(e.months, e.decided_on)?;
            window.extensions.push(e);
        }
        Ok(window)
    }

    pub fn first_session(&self) -> NaiveDate {
        self.first_session
    }

    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    pub fn extension_months(&self) -> u32 {
        self.extensions.iter().map(|e| e.months).sum()
    }

    /// The last day without extensions: the first session moved by 36 months.
    pub fn regular_last_day(&self) -> NaiveDate {
        add_months(self.first_session, REGULAR_MONTHS)
    }

    /// The last day of counselling: the first session moved by 36 months plus all granted months
    /// together (so 6 + 6 months end on the same day as 12 at once).
    pub fn last_day(&self) -> NaiveDate {
        add_months(self.first_session, REGULAR_MONTHS + self.extension_months())
    }

    /// Whether counselling may take place on `day`.
    pub fn is_running_on(&self, day: NaiveDate) -> bool {
        self.first_session <= day && day <= self.last_day()
    }

    /// Refuses with the last day when the window has ended.
    pub fn ensure_running(&self, today: NaiveDate) -> Result<(), DomainError> {
        if today > self.last_day() {
            return Err(DomainError::WindowEnded { last_day: self.last_day() });
        }
        Ok(())
    }

    fn check_extension(&self, months: u32, decided_on: NaiveDate) -> Result<(), DomainError> {
        if !(1..=MAX_EXTENSION_MONTHS).contains(&months) {
            return Err(DomainError::ExtensionMonthsOutOfRange);
        }
        let remaining = MAX_EXTENSION_MONTHS - self.extension_months();
        if months > remaining {
            return Err(DomainError::ExtensionTooLong { remaining });
        }
        if !self.is_running_on(decided_on) {
            return Err(DomainError::ExtensionOutsideWindow {
                decided_on,
                first_session: self.first_session,
                last_day: self.last_day(),
            });
        }
        Ok(())
    }

    /// Grants an extension decided on `decided_on`, which must lie inside the running window.
    pub fn grant_extension(
        &mut self,
        months: u32,
        grounds: ExtensionGrounds,
        decided_by: String,
        decided_on: NaiveDate,
    ) -> Result<&Extension, DomainError> {
        self.check_extension(months, decided_on)?;
        self.extensions.push(Extension { months, decided_on, decided_by, grounds: Some(grounds) });
        Ok(self.extensions.last().expect("just pushed"))
    }

    /// The window as stated in a handover, with the last day spelled out for the receiver.
    pub fn statement(&self, include_health_grounds: bool) -> WindowStatement {
        let extensions = self
            .extensions
            .iter()
            .map(|e| {
                let keep = e.grounds.as_ref().is_some_and(|g| include_health_grounds || !g.is_health_data());
                Extension { grounds: if keep { e.grounds.clone() } else { None }, ..e.clone() }
            })
            .collect();
        WindowStatement { first_session: self.first_session, extensions, last_day: self.last_day() }
    }

    /// Whether any extension's grounds are data concerning health.
    pub fn has_health_grounds(&self) -> bool {
        self.extensions.iter().any(|e| e.grounds.as_ref().is_some_and(ExtensionGrounds::is_health_data))
    }

    /// The window a case continues with when an office that holds it receives it again (the
    /// client moves back). A window only ever grows: the received first session must be the held
    /// one, and every held extension must be among the received ones, with the same months and
    /// decision date; extensions may only be added. Otherwise the received window is refused,
    /// naming the part that conflicts; nothing is merged.
    ///
    /// What this office recorded itself it keeps: a held extension keeps its grounds and decider
    /// (another office may have received it without its grounds, for lack of consent to health
    /// data); a received extension that carries grounds the held copy lacks brings them; added
    /// extensions come as received.
    pub fn continue_with(&self, received: &CounsellingWindow) -> Result<CounsellingWindow, DomainError> {
        if received.first_session != self.first_session {
            return Err(DomainError::WindowConflict(WindowConflict::FirstSession));
        }
        let mut held: Vec<Option<&Extension>> = self.extensions.iter().map(Some).collect();
        let mut merged = Vec::with_capacity(received.extensions.len());
        for r in &received.extensions {
            let same = held
                .iter_mut()
                .find(|h| h.is_some_and(|h| h.months == r.months && h.decided_on == r.decided_on))
                .and_then(Option::take);
            merged.push(match same {
                Some(h) if h.grounds.is_some() || r.grounds.is_none() => h.clone(),
                Some(h) => Extension { grounds: r.grounds.clone(), ..h.clone() },
                None => r.clone(),
            });
        }
        if held.iter().any(Option::is_some) {
            return Err(DomainError::WindowConflict(WindowConflict::ExtensionDropped));
        }
        CounsellingWindow::from_parts(self.first_session, merged)
    }
}

/// The part of a held window that a received window contradicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowConflict {
    /// The received first session is not the held one.
    FirstSession,
    /// An extension this office holds is missing from the received window.
    ExtensionDropped,
}

impl WindowConflict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstSession => "first-session",
            Self::ExtensionDropped => "extension-dropped",
        }
    }

    /// Where in a handover payload the conflicting part is.
    pub fn pointer(self) -> &'static str {
        match self {
            Self::FirstSession => "/case/window/first_session",
            Self::ExtensionDropped => "/case/window/extensions",
        }
    }
}

/// An extension asked for where four eyes are required, waiting for a team lead's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequest {
    pub id: uuid::Uuid,
    pub months: u32,
    pub grounds: ExtensionGrounds,
    pub requested_by: String,
    pub requested_on: NaiveDate,
}

/// The window as it travels: first session, extensions, and the last day the sender computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowStatement {
    pub first_session: NaiveDate,
    pub extensions: Vec<Extension>,
    pub last_day: NaiveDate,
}

impl WindowStatement {
    /// Checks the statement and returns the window it describes: the first session is not in
    /// the future, the extensions obey the rules, and the stated last day is the computed one.
    pub fn verify(&self, today: NaiveDate) -> Result<CounsellingWindow, DomainError> {
        if self.first_session > today {
            return Err(DomainError::FirstSessionInFuture { first_session: self.first_session, today });
        }
        if let Some(e) = self.extensions.iter().find(|e| e.decided_on > today) {
            return Err(DomainError::ExtensionInFuture { decided_on: e.decided_on, today });
        }
        let window = CounsellingWindow::from_parts(self.first_session, self.extensions.clone())?;
        if window.last_day() != self.last_day {
            return Err(DomainError::LastDayInconsistent { stated: self.last_day, computed: window.last_day() });
        }
        Ok(window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn grounds(r: ExtensionReason) -> ExtensionGrounds {
        ExtensionGrounds::new([r].into(), Text::parse("documented need", "j").unwrap()).unwrap()
    }

    #[test]
    fn three_years_from_the_first_session() {
        let w = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        assert_eq!(w.last_day(), d("2027-03-15"));
        let w = CounsellingWindow::open(d("2024-02-29"), d("2025-01-01")).unwrap();
        assert_eq!(w.last_day(), d("2027-02-28"));
    }

    #[test]
    fn first_session_cannot_be_in_the_future() {
        assert_eq!(
            CounsellingWindow::open(d("2026-12-01"), d("2026-11-30")),
            Err(DomainError::FirstSessionInFuture { first_session: d("2026-12-01"), today: d("2026-11-30") })
        );
    }

    #[test]
    fn leap_day_start_with_one_month_extension() {
        let mut w = CounsellingWindow::open(d("2024-02-29"), d("2024-02-29")).unwrap();
        w.grant_extension(1, grounds(ExtensionReason::Illiteracy), "im".into(), d("2026-06-01")).unwrap();
        assert_eq!(w.last_day(), d("2027-03-29"));
    }

    #[test]
    fn parts_add_up_like_one_extension() {
        let mut a = CounsellingWindow::open(d("2024-02-29"), d("2024-02-29")).unwrap();
        a.grant_extension(6, grounds(ExtensionReason::Disability), "im".into(), d("2026-01-01")).unwrap();
        a.grant_extension(6, grounds(ExtensionReason::Disability), "im".into(), d("2027-01-01")).unwrap();
        let mut b = CounsellingWindow::open(d("2024-02-29"), d("2024-02-29")).unwrap();
        b.grant_extension(12, grounds(ExtensionReason::Disability), "im".into(), d("2026-01-01")).unwrap();
        assert_eq!(a.last_day(), b.last_day());
        assert_eq!(a.last_day(), d("2028-02-29"));
    }

    #[test]
    fn extensions_are_capped_and_granted_while_running() {
        let mut w = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        assert_eq!(
            w.grant_extension(0, grounds(ExtensionReason::Illiteracy), "im".into(), d("2025-01-01")).unwrap_err(),
            DomainError::ExtensionMonthsOutOfRange
        );
        w.grant_extension(8, grounds(ExtensionReason::Illiteracy), "im".into(), d("2025-01-01")).unwrap();
        assert_eq!(
            w.grant_extension(5, grounds(ExtensionReason::Illiteracy), "im".into(), d("2025-02-01")).unwrap_err(),
            DomainError::ExtensionTooLong { remaining: 4 }
        );
        // After the (extended) last day 2027-11-15 nothing can be granted any more.
        assert!(matches!(
            w.grant_extension(1, grounds(ExtensionReason::Illiteracy), "im".into(), d("2027-11-16")).unwrap_err(),
            DomainError::ExtensionOutsideWindow { .. }
        ));
        assert!(w.ensure_running(d("2027-11-15")).is_ok());
        assert_eq!(w.ensure_running(d("2027-11-16")), Err(DomainError::WindowEnded { last_day: d("2027-11-15") }));
    }

    #[test]
    fn statement_round_trip_and_inconsistent_last_day() {
        let mut w = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        w.grant_extension(3, grounds(ExtensionReason::MentalIllness), "im".into(), d("2026-01-01")).unwrap();
        let s = w.statement(true);
        assert_eq!(s.verify(d("2026-11-25")).unwrap(), w);
        let mut bad = s.clone();
        bad.last_day = d("2027-03-15");
        assert_eq!(
            bad.verify(d("2026-11-25")),
            Err(DomainError::LastDayInconsistent { stated: d("2027-03-15"), computed: d("2027-06-15") })
        );
    }

    #[test]
    fn a_held_window_only_ever_grows() {
        let mut held = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        held.grant_extension(3, grounds(ExtensionReason::MentalIllness), "im-a".into(), d("2026-01-01")).unwrap();
        // Sent without the health grounds, extended elsewhere by 2 months.
        let mut received =
            CounsellingWindow::from_parts(held.first_session(), held.statement(false).extensions).unwrap();
        received.grant_extension(2, grounds(ExtensionReason::Illiteracy), "im-b".into(), d("2026-06-01")).unwrap();
        let merged = held.continue_with(&received).unwrap();
        assert_eq!(merged.last_day(), d("2027-08-15"));
        // The grounds recorded here come back with the record.
        assert_eq!(merged.extensions()[0].grounds, held.extensions()[0].grounds);
        assert_eq!(merged.extensions()[1].decided_by, "im-b");

        let later = CounsellingWindow::open(d("2024-04-01"), d("2024-04-01")).unwrap();
        assert_eq!(held.continue_with(&later), Err(DomainError::WindowConflict(WindowConflict::FirstSession)));
        let dropped = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        assert_eq!(held.continue_with(&dropped), Err(DomainError::WindowConflict(WindowConflict::ExtensionDropped)));
        // Same months on another day is another extension: the held one is still missing.
        let mut moved = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        moved.grant_extension(3, grounds(ExtensionReason::MentalIllness), "im-a".into(), d("2026-01-02")).unwrap();
        assert_eq!(held.continue_with(&moved), Err(DomainError::WindowConflict(WindowConflict::ExtensionDropped)));
        // A received window with the grounds the held copy lacks brings them.
        let bare = CounsellingWindow::from_parts(held.first_session(), held.statement(false).extensions).unwrap();
        assert_eq!(bare.continue_with(&held).unwrap(), held);
    }

    #[test]
    fn health_grounds_are_withheld_without_consent() {
        let mut w = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        w.grant_extension(3, grounds(ExtensionReason::MentalIllness), "im".into(), d("2026-01-01")).unwrap();
        w.grant_extension(2, grounds(ExtensionReason::Illiteracy), "im".into(), d("2026-02-01")).unwrap();
        let s = w.statement(false);
        assert!(s.extensions[0].grounds.is_none());
        assert!(s.extensions[1].grounds.is_some());
        // The clock travels all the same.
        assert_eq!(s.last_day, w.last_day());
        assert_eq!(s.verify(d("2026-11-25")).unwrap().last_day(), w.last_day());
    }
}
