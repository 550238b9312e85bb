//! Taking part over time: counselling sessions, exit, and re-entry. None of it moves the window:
//! it never resets and never pauses.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{CounsellingWindow, DomainError, Text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitReason {
    /// The client finds their way in the regular services on their own.
    ManagesIndependently,
    /// The client no longer needs benefits for living costs.
    NoLongerReceivesBenefits,
    /// The client moved away without a handover.
    MovedAway,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ParticipationEvent {
    Exit {
        on: NaiveDate,
        reason: ExitReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<Text>,
        by: String,
    },
    ReEntry {
        on: NaiveDate,
        by: String,
    },
}

impl ParticipationEvent {
    pub fn on(&self) -> NaiveDate {
        match self {
            Self::Exit { on, .. } | Self::ReEntry { on, .. } => *on,
        }
    }
}

/// The exits and re-entries of a client, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Participation {
    events: Vec<ParticipationEvent>,
}

impl Participation {
    pub fn events(&self) -> &[ParticipationEvent] {
        &self.events
    }

    pub fn is_active(&self) -> bool {
        !matches!(self.events.last(), Some(ParticipationEvent::Exit { .. }))
    }

    /// Whether the client took part on `day`: not between an exit and the next re-entry. The day
    /// of an exit still counts (the last session may be that day); a re-entry counts from its day.
    pub fn takes_part_on(&self, day: NaiveDate) -> bool {
        let decisive = self.events.iter().rev().find(|e| match e {
            ParticipationEvent::Exit { on, .. } => *on < day,
            ParticipationEvent::ReEntry { on, .. } => *on <= day,
        });
        !matches!(decisive, Some(ParticipationEvent::Exit { .. }))
    }

    fn check_date(&self, window: &CounsellingWindow, on: NaiveDate, today: NaiveDate) -> Result<(), DomainError> {
        if on > today {
            return Err(DomainError::DateInFuture { date: on, today });
        }
        let earliest = self.events.last().map_or(window.first_session(), ParticipationEvent::on);
        if on < earliest {
            return Err(DomainError::DateBefore { date: on, earliest });
        }
        Ok(())
    }

    /// Counselling ends early, with a reason.
    pub fn exit(
        &mut self,
        window: &CounsellingWindow,
        on: NaiveDate,
        reason: ExitReason,
        note: Option<Text>,
        by: String,
        today: NaiveDate,
    ) -> Result<(), DomainError> {
        if !self.is_active() {
            return Err(DomainError::NotActive);
        }
        self.check_date(window, on, today)?;
        self.events.push(ParticipationEvent::Exit { on, reason, note, by });
        Ok(())
    }

    /// The client comes back: only up to the window's original last day, which stays as it is.
    pub fn re_enter(
        &mut self,
        window: &CounsellingWindow,
        on: NaiveDate,
        by: String,
        today: NaiveDate,
    ) -> Result<(), DomainError> {
        if self.is_active() {
            return Err(DomainError::AlreadyActive);
        }
        self.check_date(window, on, today)?;
        if on > window.last_day() {
            return Err(DomainError::WindowEnded { last_day: window.last_day() });
        }
        self.events.push(ParticipationEvent::ReEntry { on, by });
        Ok(())
    }
}

/// A counselling session: its date and a short note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounsellingSession {
    pub id: uuid::Uuid,
    pub date: NaiveDate,
    pub note: Text,
    pub recorded_by: String,
    #[serde(with = "crate::domain::time::ts")]
    pub recorded_at: DateTime<Utc>,
}

/// A session may be recorded for a day inside the window, not in the future, on which the client
/// took part (a session before an exit may be recorded late; none between exit and re-entry).
/// An ended window refuses it with its last day.
pub fn check_session(
    window: &CounsellingWindow,
    participation: &Participation,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<(), DomainError> {
    if date > today {
        return Err(DomainError::DateInFuture { date, today });
    }
    if date < window.first_session() {
        return Err(DomainError::DateBefore { date, earliest: window.first_session() });
    }
    if date > window.last_day() {
        return Err(DomainError::WindowEnded { last_day: window.last_day() });
    }
    if !participation.takes_part_on(date) {
        return Err(DomainError::NotActive);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn exit_and_re_entry_keep_the_last_day() {
        let window = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        let mut p = Participation::default();
        p.exit(&window, d("2025-01-10"), ExitReason::ManagesIndependently, None, "im".into(), d("2025-01-10")).unwrap();
        assert!(!p.is_active());
        assert_eq!(check_session(&window, &p, d("2025-02-01"), d("2025-02-01")), Err(DomainError::NotActive));
        assert_eq!(
            p.re_enter(&window, d("2025-01-09"), "im".into(), d("2026-01-01")),
            Err(DomainError::DateBefore { date: d("2025-01-09"), earliest: d("2025-01-10") })
        );
        p.re_enter(&window, d("2026-06-01"), "im".into(), d("2026-06-01")).unwrap();
        assert!(p.is_active());
        // Late records: before the exit yes, in the gap no, after the re-entry yes.
        assert!(check_session(&window, &p, d("2025-01-10"), d("2026-06-02")).is_ok());
        assert_eq!(check_session(&window, &p, d("2025-06-01"), d("2026-06-02")), Err(DomainError::NotActive));
        assert!(check_session(&window, &p, d("2026-06-01"), d("2026-06-02")).is_ok());
        assert_eq!(window.last_day(), d("2027-03-15"));
        assert_eq!(p.re_enter(&window, d("2026-06-02"), "im".into(), d("2026-06-02")), Err(DomainError::AlreadyActive));
    }

    #[test]
    fn re_entry_only_until_the_original_last_day() {
        let window = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        let mut p = Participation::default();
        p.exit(&window, d("2025-01-10"), ExitReason::NoLongerReceivesBenefits, None, "im".into(), d("2025-01-10"))
            .unwrap();
        assert_eq!(
            p.re_enter(&window, d("2027-03-16"), "im".into(), d("2027-03-16")),
            Err(DomainError::WindowEnded { last_day: d("2027-03-15") })
        );
        p.re_enter(&window, d("2027-03-15"), "im".into(), d("2027-03-15")).unwrap();
    }

    #[test]
    fn sessions_only_inside_a_running_window() {
        let window = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        let p = Participation::default();
        assert!(check_session(&window, &p, d("2027-03-15"), d("2027-03-20")).is_ok());
        assert_eq!(
            check_session(&window, &p, d("2027-03-16"), d("2027-03-20")),
            Err(DomainError::WindowEnded { last_day: d("2027-03-15") })
        );
        assert!(matches!(
            check_session(&window, &p, d("2024-03-14"), d("2025-01-01")),
            Err(DomainError::DateBefore { .. })
        ));
        assert!(matches!(
            check_session(&window, &p, d("2025-01-02"), d("2025-01-01")),
            Err(DomainError::DateInFuture { .. })
        ));
    }
}
