//! A client's case at this office, and every change to it: the record an office keeps of a
//! client (identity, eligibility, window, participation, plan, household, extension requests)
//! and whether the case is active here or has moved to another office. Each change is a method
//! that checks its rule and either changes the record or returns a [`DomainError`]; storage only
//! persists the result, guarded by [`ClientRecord::version`] against concurrent writers.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::client::HouseholdId;
use super::eligibility::{self, Eligibility};
use super::handover::{HandoverCase, HeldCase};
use super::participation::{self, ExitReason, Participation};
use super::plan::{Author, GoalDraft, GoalPatch, ReviewNote};
use super::staff::{self, Role};
use super::window::ExtensionRequest;
use super::{
    CaseId, ClientId, ClientIdentity, ConsentGrant, ConsentId, CounsellingWindow, DomainError, ExtensionGrounds, Goal,
    GoalId, IntegrationPlan, OfficeId, Text,
};

/// Whether the case is active at this office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ClientStatus {
    Active,
    /// Handed over to another office, which accepted it: the record here is closed.
    MovedOut {
        to: OfficeId,
        #[serde(with = "crate::domain::time::ts")]
        at: DateTime<Utc>,
    },
}

/// Processing of a record restricted (GDPR Art. 18): the consent it was taken over on was
/// withdrawn. Kept and readable, not changed or handed on, until the client consents at this
/// office (or asks for erasure).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    pub consent_id: ConsentId,
    /// The office the record came from, whose consent was withdrawn.
    pub from: OfficeId,
    #[serde(with = "crate::domain::time::ts")]
    pub since: DateTime<Utc>,
}

/// A client at this office: identity, window, plan.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub id: ClientId,
    pub case_id: CaseId,
    pub identity: ClientIdentity,
    pub window: CounsellingWindow,
    pub plan: IntegrationPlan,
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
    /// Set while processing is restricted (the basis it was taken over on was withdrawn).
    pub restricted: Option<Restriction>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic concurrency: the version this copy was read at (0 for a new record).
    pub version: i64,
}

/// What became of an extension asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extended {
    Granted,
    /// Waiting for a team lead's approval (four eyes); the request's id.
    Requested(uuid::Uuid),
}

impl ClientRecord {
    /// A client entering counselling at this office with their first session: an adult on that
    /// day, the first session not in the future.
    pub fn open(
        identity: ClientIdentity,
        first_session: NaiveDate,
        eligibility: Eligibility,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        eligibility::ensure_adult(identity.date_of_birth, first_session)?;
        let window = CounsellingWindow::open(first_session, today)?;
        let mut record = Self::new(identity, window, IntegrationPlan::default(), now);
        record.eligibility = Some(eligibility);
        Ok(record)
    }

    fn new(identity: ClientIdentity, window: CounsellingWindow, plan: IntegrationPlan, now: DateTime<Utc>) -> Self {
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
            restricted: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// A case received by handover from `from` and new at this office: it continues with the
    /// received identity, window and plan, under the case's own id. Eligibility is recorded here
    /// later (it does not travel).
    pub fn received(case: &HandoverCase, window: CounsellingWindow, from: OfficeId, now: DateTime<Utc>) -> Self {
        let mut record = Self::new(case.client.clone(), window, case.plan.clone(), now);
        record.case_id = case.case_id;
        record.received_from = Some(from);
        record
    }

    /// What a receiving office holds of this case, for the checks of a move-back.
    pub fn held(&self) -> HeldCase<'_> {
        HeldCase { active: self.status == ClientStatus::Active, window: &self.window }
    }

    /// The client comes back (A → B → A): this record continues with the received identity, the
    /// window that [`super::handover::continue_case`] worked out (the held one, grown), and the
    /// plan merged: goals received replace their older copies, goals only held here stay, the
    /// history is the union of both in time order. The record is active again.
    pub fn continue_received(
        &mut self,
        case: &HandoverCase,
        window: CounsellingWindow,
        from: OfficeId,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        if self.status == ClientStatus::Active {
            return Err(DomainError::CaseActiveHere);
        }
        self.identity = case.client.clone();
        self.window = window;
        self.plan = merge_plans(std::mem::take(&mut self.plan), &case.plan);
        self.status = ClientStatus::Active;
        self.received_from = Some(from);
        self.updated_at = now;
        Ok(())
    }

    /// The receiving office accepted the handover: the record here is closed. (Also when its
    /// processing was restricted after the handover left: the case is the receiver's now.)
    pub fn move_out(&mut self, to: OfficeId, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DomainError> {
        if let ClientStatus::MovedOut { .. } = self.status {
            return Err(DomainError::ClientMovedOut);
        }
        self.status = ClientStatus::MovedOut { to, at };
        self.updated_at = now;
        Ok(())
    }

    /// The record is this office's to change: the client has not moved to another office, and
    /// processing is not restricted.
    pub fn ensure_active(&self) -> Result<(), DomainError> {
        match self.status {
            ClientStatus::MovedOut { .. } => Err(DomainError::ClientMovedOut),
            ClientStatus::Active if self.restricted.is_some() => Err(DomainError::ClientRestricted),
            ClientStatus::Active => Ok(()),
        }
    }

    /// The day the case ended at this office, if it has: the day the client moved on, the day of
    /// the exit that still stands, or else the window's last day once it has passed.
    pub fn ended_on(&self, today: NaiveDate) -> Option<NaiveDate> {
        if let ClientStatus::MovedOut { at, .. } = self.status {
            return Some(super::time::german_date(at));
        }
        if !self.participation.is_active() {
            return self.participation.events().last().map(|e| e.on());
        }
        let last = self.window.last_day();
        (last < today).then_some(last)
    }

    /// Whether the retention period after the case ended here has passed: its personal data is
    /// then erased.
    pub fn retention_passed(&self, today: NaiveDate, retention_days: i64) -> bool {
        self.ended_on(today).is_some_and(|end| end + chrono::Duration::days(retention_days) < today)
    }

    /// The consent this record was taken over on was withdrawn: processing is restricted from
    /// now on (GDPR Art. 18). Restricting twice changes nothing; a record that has moved on is
    /// not this office's to restrict.
    pub fn restrict(&mut self, consent_id: ConsentId, from: OfficeId, now: DateTime<Utc>) -> bool {
        if self.restricted.is_some() || self.status != ClientStatus::Active {
            return false;
        }
        self.restricted = Some(Restriction { consent_id, from, since: now });
        self.updated_at = now;
        true
    }

    /// The client consented to continuing counselling at this office (`here`): a restriction
    /// ends. Returns whether one did.
    pub fn lift_restriction(&mut self, consent: &ConsentGrant, here: OfficeId, now: DateTime<Utc>) -> bool {
        if consent.client != self.id || consent.recipient != here || !consent.is_active() || self.restricted.is_none() {
            return false;
        }
        self.restricted = None;
        self.updated_at = now;
        true
    }

    /// The case is open for counselling: active here, the client takes part (no exit without
    /// re-entry), the window runs.
    fn ensure_open(&self, today: NaiveDate) -> Result<(), DomainError> {
        self.ensure_active()?;
        if !self.participation.is_active() {
            return Err(DomainError::NotActive);
        }
        self.window.ensure_running(today)
    }

    /// Records a change of benefits (or target group).
    pub fn set_eligibility(&mut self, e: Eligibility, today: NaiveDate, now: DateTime<Utc>) -> Result<(), DomainError> {
        self.ensure_open(today)?;
        self.eligibility = Some(e);
        self.updated_at = now;
        Ok(())
    }

    /// A session may be recorded for a day the client took part on, inside the window.
    pub fn check_session(&self, date: NaiveDate, today: NaiveDate) -> Result<(), DomainError> {
        self.ensure_active()?;
        participation::check_session(&self.window, &self.participation, date, today)
    }

    /// Counselling ends early, with a reason. The window keeps running.
    pub fn exit(
        &mut self,
        on: NaiveDate,
        reason: ExitReason,
        note: Option<Text>,
        by: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.ensure_active()?;
        self.participation.exit(&self.window, on, reason, note, by.to_owned(), today)?;
        self.updated_at = now;
        Ok(())
    }

    /// The client comes back, at the latest on the window's last day, which stays as it was.
    pub fn re_enter(
        &mut self,
        on: NaiveDate,
        by: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.ensure_active()?;
        self.participation.re_enter(&self.window, on, by.to_owned(), today)?;
        self.updated_at = now;
        Ok(())
    }

    pub fn add_goal(
        &mut self,
        draft: GoalDraft,
        author: &Author,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Goal, DomainError> {
        self.ensure_open(today)?;
        let goal = self.plan.add_goal(draft, author, now).clone();
        self.updated_at = now;
        Ok(goal)
    }

    pub fn update_goal(
        &mut self,
        id: GoalId,
        patch: GoalPatch,
        author: &Author,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Goal, DomainError> {
        self.ensure_open(today)?;
        let goal = self.plan.update_goal(id, patch, author, now)?.clone();
        self.updated_at = now;
        Ok(goal)
    }

    /// A dated review note, not dated in the future.
    pub fn review_goal(
        &mut self,
        id: GoalId,
        on: NaiveDate,
        note: Text,
        author: &Author,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Goal, DomainError> {
        if on > today {
            return Err(DomainError::DateInFuture { date: on, today });
        }
        self.ensure_open(today)?;
        let review = ReviewNote { on, note, by: author.account.clone() };
        let goal = self.plan.review_goal(id, review, author, now)?.clone();
        self.updated_at = now;
        Ok(goal)
    }

    /// An extension decided today by `by`; where four eyes are required it becomes a request
    /// that a team lead other than `by` approves (refused now if it could never be granted).
    pub fn extend(
        &mut self,
        months: u32,
        grounds: ExtensionGrounds,
        by: &str,
        four_eyes: bool,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Extended, DomainError> {
        self.ensure_open(today)?;
        if four_eyes {
            self.window.clone().grant_extension(months, grounds.clone(), by.to_owned(), today)?;
            let request = ExtensionRequest {
                id: uuid::Uuid::new_v4(),
                months,
                grounds,
                requested_by: by.to_owned(),
                requested_on: today,
            };
            let id = request.id;
            self.pending_extensions.push(request);
            self.updated_at = now;
            return Ok(Extended::Requested(id));
        }
        self.window.grant_extension(months, grounds, by.to_owned(), today)?;
        self.updated_at = now;
        Ok(Extended::Granted)
    }

    /// A team lead other than the one who asked approves a pending extension: it is granted as
    /// decided by the approver, today.
    #[allow(clippy::too_many_arguments)]
    pub fn approve_extension(
        &mut self,
        request: uuid::Uuid,
        approver: &str,
        role: Role,
        four_eyes: bool,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.ensure_open(today)?;
        let idx = self.pending_extensions.iter().position(|r| r.id == request).ok_or(DomainError::UnknownRequest)?;
        let pending = self.pending_extensions[idx].clone();
        staff::second_pair_of_eyes(four_eyes, approver, role, &pending.requested_by)?;
        self.window.grant_extension(pending.months, pending.grounds, approver.to_owned(), today)?;
        self.pending_extensions.remove(idx);
        self.updated_at = now;
        Ok(())
    }
}

/// The plan of a case coming back: goals sent now replace their older copies, goals only held
/// here stay, and the history is the union of both, in time order.
fn merge_plans(local: IntegrationPlan, received: &IntegrationPlan) -> IntegrationPlan {
    let mut goals: Vec<_> = local.goals.into_iter().filter(|g| !received.goals.iter().any(|r| r.id == g.id)).collect();
    goals.extend(received.goals.iter().cloned());
    let mut history = local.history;
    for event in &received.history {
        if !history.contains(event) {
            history.push(event.clone());
        }
    }
    history.sort_by_key(|e| e.at);
    IntegrationPlan { goals, history }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::{Benefits, TargetGroup};
    use crate::domain::{ExtensionReason, GoalArea, PersonName, Responsible};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at() -> DateTime<Utc> {
        "2026-11-25T09:30:00Z".parse().unwrap()
    }

    fn record() -> ClientRecord {
        let identity = ClientIdentity {
            given_name: PersonName::parse("Testa", "g").unwrap(),
            family_name: PersonName::parse("Beispiel", "f").unwrap(),
            date_of_birth: d("1990-01-01"),
        };
        let e = Eligibility::new(TargetGroup::DisplacedFromUkraine, Benefits::SgbIi, None).unwrap();
        ClientRecord::open(identity, d("2025-01-10"), e, d("2026-11-25"), at()).unwrap()
    }

    fn grounds() -> ExtensionGrounds {
        ExtensionGrounds::new([ExtensionReason::Illiteracy].into(), Text::parse("course", "j").unwrap()).unwrap()
    }

    fn goal() -> GoalDraft {
        GoalDraft {
            area: GoalArea::Language,
            description: Text::parse("B1", "d").unwrap(),
            steps: vec![],
            responsible: Responsible::Client,
            target_date: None,
        }
    }

    #[test]
    fn an_exited_client_gets_no_goals_extensions_or_eligibility_until_re_entry() {
        let today = d("2026-11-25");
        let author = Author { office: OfficeId::parse("08111000").unwrap(), account: "im".into() };
        let mut r = record();
        r.exit(d("2026-11-20"), ExitReason::ManagesIndependently, None, "im", today, at()).unwrap();
        assert_eq!(r.add_goal(goal(), &author, today, at()).unwrap_err(), DomainError::NotActive);
        assert_eq!(r.extend(3, grounds(), "im", false, today, at()).unwrap_err(), DomainError::NotActive);
        let e = r.eligibility.clone().unwrap();
        assert_eq!(r.set_eligibility(e.clone(), today, at()).unwrap_err(), DomainError::NotActive);
        r.re_enter(today, "im", today, at()).unwrap();
        r.add_goal(goal(), &author, today, at()).unwrap();
        assert_eq!(r.extend(3, grounds(), "im", false, today, at()).unwrap(), Extended::Granted);
        r.set_eligibility(e, today, at()).unwrap();
    }

    #[test]
    fn a_moved_out_record_is_closed_and_moves_out_once() {
        let today = d("2026-11-25");
        let heidelberg = OfficeId::parse("08221000").unwrap();
        let mut r = record();
        r.move_out(heidelberg, at(), at()).unwrap();
        assert_eq!(r.move_out(heidelberg, at(), at()).unwrap_err(), DomainError::ClientMovedOut);
        assert_eq!(r.check_session(today, today).unwrap_err(), DomainError::ClientMovedOut);
        assert_eq!(r.re_enter(today, "im", today, at()).unwrap_err(), DomainError::ClientMovedOut);
    }

    #[test]
    fn four_eyes_turn_an_extension_into_a_request_another_team_lead_approves() {
        let today = d("2026-11-25");
        let mut r = record();
        let Extended::Requested(id) = r.extend(3, grounds(), "im", true, today, at()).unwrap() else { panic!() };
        assert_eq!(r.window.extension_months(), 0);
        assert_eq!(
            r.approve_extension(id, "im", Role::TeamLead, true, today, at()).unwrap_err(),
            DomainError::SamePerson
        );
        r.approve_extension(id, "lead", Role::TeamLead, true, today, at()).unwrap();
        assert_eq!(r.window.extension_months(), 3);
        assert_eq!(r.window.extensions()[0].decided_by, "lead");
        assert!(r.pending_extensions.is_empty());
    }
}
