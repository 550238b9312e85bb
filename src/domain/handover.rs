//! What a handover carries, and the rules on both ends: the sender sends only what the consent
//! covers; the receiver takes nothing the consent does not cover, and no clock that does not add up.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    CaseId, ClientIdentity, ConsentBasis, ConsentGrant, CounsellingWindow, DataCategory, DomainError, GoalArea,
    IntegrationPlan, OfficeId, WindowStatement,
};

/// The case as it travels: who, the clock, the plan, and the consent it travels on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverCase {
    pub case_id: CaseId,
    pub client: ClientIdentity,
    pub window: WindowStatement,
    pub plan: IntegrationPlan,
    pub consent: ConsentBasis,
}

/// The data categories a case discloses.
pub fn disclosed_categories(window: &WindowStatement, plan: &IntegrationPlan) -> BTreeSet<DataCategory> {
    let mut needed = BTreeSet::from([DataCategory::Identity, DataCategory::Window]);
    needed.extend(plan.areas().into_iter().map(DataCategory::Plan));
    let health_goal = plan.areas().contains(&GoalArea::Health);
    let health_grounds = window.extensions.iter().any(|e| e.grounds.as_ref().is_some_and(|g| g.is_health_data()));
    if health_goal || health_grounds {
        needed.insert(DataCategory::Health);
    }
    needed
}

/// What the releasing office's client record holds, as the sender prepares a handover.
pub struct CaseAtSender<'a> {
    pub case_id: CaseId,
    pub identity: &'a ClientIdentity,
    pub window: &'a CounsellingWindow,
    pub plan: &'a IntegrationPlan,
}

/// Builds the case to send: only what the consent covers. The consent must be active, name the
/// receiver, and cover at least identity and window (without them nothing can be continued);
/// the window must still run.
pub fn prepare(
    case: CaseAtSender<'_>,
    consent: &ConsentGrant,
    sender: OfficeId,
    receiver: OfficeId,
    today: NaiveDate,
) -> Result<HandoverCase, DomainError> {
    if sender == receiver {
        return Err(DomainError::HandoverToSelf);
    }
    if !consent.is_active() {
        return Err(DomainError::ConsentWithdrawn);
    }
    if consent.recipient != receiver {
        return Err(DomainError::ConsentWrongRecipient { consented: consent.recipient, receiver });
    }
    if !(consent.categories.contains(&DataCategory::Identity) && consent.categories.contains(&DataCategory::Window)) {
        return Err(DomainError::ConsentTooNarrowForHandover);
    }
    case.window.ensure_running(today)?;
    let health = consent.categories.contains(&DataCategory::Health);
    let plan = case.plan.restricted_to(|area| {
        consent.categories.contains(&DataCategory::Plan(area.clone())) && (*area != GoalArea::Health || health)
    });
    let window = case.window.statement(health);
    let basis = consent.basis();
    // By construction the consent covers what we send; check it as the receiver will.
    basis.covers(&disclosed_categories(&window, &plan), receiver)?;
    Ok(HandoverCase { case_id: case.case_id, client: case.identity.clone(), window, plan, consent: basis })
}

/// The receiver's domain checks of an incoming case: the window adds up and has not ended, the
/// first session and the extensions are not in the future, the client was an adult at the first
/// session, the plan history speaks only of goals
/// sent, and the consent, given by now, names this office and covers all data sent.
/// Returns the window the receiving office continues.
pub fn check_incoming(
    case: &HandoverCase,
    receiver: OfficeId,
    today: NaiveDate,
) -> Result<CounsellingWindow, DomainError> {
    let window = case.window.verify(today)?;
    super::eligibility::ensure_adult(case.client.date_of_birth, case.window.first_session)?;
    // History of a goal not sent could be of any area, health included: no consent covers it.
    if case.plan.history.iter().any(|e| !case.plan.goals.iter().any(|g| g.id == e.goal_id)) {
        return Err(DomainError::HistoryWithoutGoal);
    }
    if super::time::german_date(case.consent.given_at) > today {
        return Err(DomainError::ConsentInFuture);
    }
    case.consent.covers(&disclosed_categories(&case.window, &case.plan), receiver)?;
    window.ensure_running(today)?;
    Ok(window)
}

/// What a receiving office already holds of a case (the client moves back).
pub struct HeldCase<'a> {
    /// Whether the office's record of the case is active (not moved out).
    pub active: bool,
    pub window: &'a CounsellingWindow,
}

/// The window a received case continues with at the receiving office. One case, one active
/// office: a case this office holds as active is refused. One case, one window: for a case held
/// before, the received window must keep the held first session and every held extension
/// ([`CounsellingWindow::continue_with`]); what this office recorded itself is kept.
pub fn continue_case(
    received: &CounsellingWindow,
    held: Option<HeldCase<'_>>,
) -> Result<CounsellingWindow, DomainError> {
    match held {
        None => Ok(received.clone()),
        Some(h) if h.active => Err(DomainError::CaseActiveHere),
        Some(h) => h.window.continue_with(received),
    }
}

/// What of a case a handover leaves behind: the goals (with their history) whose area the
/// consent does not cover, and the grounds of extensions that are data concerning health when
/// the consent does not cover health. Sessions and their notes, eligibility and consents never
/// travel (protocol §7.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Withheld {
    pub goals: Vec<super::Goal>,
    /// The decision dates of the extensions sent without their grounds.
    pub extension_grounds: Vec<NaiveDate>,
}

/// Compares what a case holds with what [`prepare`] made of it.
pub fn withheld(plan: &IntegrationPlan, window: &CounsellingWindow, sent: &HandoverCase) -> Withheld {
    let goals = plan.goals.iter().filter(|g| !sent.plan.goals.iter().any(|s| s.id == g.id)).cloned().collect();
    let extension_grounds = window
        .extensions()
        .iter()
        .filter(|e| e.grounds.is_some())
        .filter(|e| !sent.window.extensions.iter().any(|s| s.decided_on == e.decided_on && s.grounds.is_some()))
        .map(|e| e.decided_on)
        .collect();
    Withheld { goals, extension_grounds }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    /// A fixed instant: the tests never read the system clock.
    fn at() -> DateTime<Utc> {
        "2026-11-20T10:00:00Z".parse().unwrap()
    }
    use crate::domain::consent::tests::form;
    use crate::domain::plan::{Author, GoalDraft};
    use crate::domain::{ClientId, ExtensionGrounds, ExtensionReason, PersonName, Responsible, Text};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn office(s: &str) -> OfficeId {
        OfficeId::parse(s).unwrap()
    }

    struct Fixture {
        identity: ClientIdentity,
        window: CounsellingWindow,
        plan: IntegrationPlan,
    }

    fn fixture() -> Fixture {
        let identity = ClientIdentity {
            given_name: PersonName::parse("Testa", "g").unwrap(),
            family_name: PersonName::parse("Beispiel", "f").unwrap(),
            date_of_birth: d("1990-05-01"),
        };
        let mut window = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
        let grounds =
            ExtensionGrounds::new([ExtensionReason::ChronicIllness].into(), Text::parse("x", "j").unwrap()).unwrap();
        window.grant_extension(4, grounds, "im".into(), d("2026-01-10")).unwrap();
        let mut plan = IntegrationPlan::default();
        let author = Author { office: office("08111000"), account: "im".into() };
        for area in [GoalArea::Language, GoalArea::Health, GoalArea::Work] {
            let draft = GoalDraft {
                area,
                description: Text::parse("goal", "d").unwrap(),
                steps: vec![],
                responsible: Responsible::IntegrationManager,
                target_date: None,
            };
            plan.add_goal(draft, &author, at());
        }
        Fixture { identity, window, plan }
    }

    fn consent(cats: &[DataCategory]) -> ConsentGrant {
        ConsentGrant::record(
            ClientId::new(),
            office("08221000"),
            cats.iter().cloned().collect(),
            at(),
            "im".into(),
            form(),
        )
        .unwrap()
    }

    fn at_sender(f: &Fixture) -> CaseAtSender<'_> {
        CaseAtSender { case_id: CaseId::new(), identity: &f.identity, window: &f.window, plan: &f.plan }
    }

    #[test]
    fn sends_only_consented_areas_and_withholds_health() {
        let f = fixture();
        let c = consent(&[
            DataCategory::Identity,
            DataCategory::Window,
            DataCategory::Plan(GoalArea::Language),
            DataCategory::Plan(GoalArea::Health),
        ]);
        let case = prepare(at_sender(&f), &c, office("08111000"), office("08221000"), d("2026-11-25")).unwrap();
        // Health goals need the health category as well as the plan area.
        assert_eq!(case.plan.areas(), [GoalArea::Language].into());
        assert!(case.window.extensions[0].grounds.is_none());
        assert_eq!(case.window.last_day, f.window.last_day());
        assert!(check_incoming(&case, office("08221000"), d("2026-11-25")).is_ok());
    }

    #[test]
    fn health_data_travels_with_explicit_consent() {
        let f = fixture();
        let c = consent(&[
            DataCategory::Identity,
            DataCategory::Window,
            DataCategory::Plan(GoalArea::Health),
            DataCategory::Health,
        ]);
        let case = prepare(at_sender(&f), &c, office("08111000"), office("08221000"), d("2026-11-25")).unwrap();
        assert_eq!(case.plan.areas(), [GoalArea::Health].into());
        assert!(case.window.extensions[0].grounds.is_some());
        let w = check_incoming(&case, office("08221000"), d("2026-11-25")).unwrap();
        assert_eq!(w.last_day(), d("2027-07-15"));
    }

    #[test]
    fn sender_refuses_without_identity_and_window_or_to_another_recipient() {
        let f = fixture();
        let narrow = consent(&[DataCategory::Identity, DataCategory::Plan(GoalArea::Work)]);
        assert_eq!(
            prepare(at_sender(&f), &narrow, office("08111000"), office("08221000"), d("2026-11-25")).unwrap_err(),
            DomainError::ConsentTooNarrowForHandover
        );
        let c = consent(&[DataCategory::Identity, DataCategory::Window]);
        assert!(matches!(
            prepare(at_sender(&f), &c, office("08111000"), office("08311000"), d("2026-11-25")).unwrap_err(),
            DomainError::ConsentWrongRecipient { .. }
        ));
        let mut withdrawn = c.clone();
        withdrawn.withdraw(at(), crate::domain::ledger::WithdrawnVia::WithdrawalCode);
        assert_eq!(
            prepare(at_sender(&f), &withdrawn, office("08111000"), office("08221000"), d("2026-11-25")).unwrap_err(),
            DomainError::ConsentWithdrawn
        );
        assert_eq!(
            prepare(at_sender(&f), &c, office("08221000"), office("08221000"), d("2026-11-25")).unwrap_err(),
            DomainError::HandoverToSelf
        );
        // After the last day (2027-07-15) no handover.
        assert_eq!(
            prepare(at_sender(&f), &c, office("08111000"), office("08221000"), d("2027-07-16")).unwrap_err(),
            DomainError::WindowEnded { last_day: d("2027-07-15") }
        );
    }

    #[test]
    fn receiver_refuses_history_of_goals_not_sent() {
        let f = fixture();
        let c = consent(&[DataCategory::Identity, DataCategory::Window, DataCategory::Plan(GoalArea::Language)]);
        let mut case = prepare(at_sender(&f), &c, office("08111000"), office("08221000"), d("2026-11-25")).unwrap();
        // The history of the health goal slipped in, without the goal.
        case.plan.history = f.plan.history.clone();
        assert_eq!(check_incoming(&case, office("08221000"), d("2026-11-25")), Err(DomainError::HistoryWithoutGoal));
    }

    #[test]
    fn receiver_refuses_extensions_decided_in_the_future() {
        let f = fixture();
        let c = consent(&[DataCategory::Identity, DataCategory::Window]);
        let case = prepare(at_sender(&f), &c, office("08111000"), office("08221000"), d("2026-11-25")).unwrap();
        // The fixture's extension was decided on 2026-01-10.
        assert!(matches!(
            check_incoming(&case, office("08221000"), d("2026-01-09")),
            Err(DomainError::ExtensionInFuture { .. })
        ));
    }

    #[test]
    fn receiver_refuses_data_beyond_the_consent() {
        let f = fixture();
        let c = consent(&[DataCategory::Identity, DataCategory::Window, DataCategory::Plan(GoalArea::Language)]);
        let mut case = prepare(at_sender(&f), &c, office("08111000"), office("08221000"), d("2026-11-25")).unwrap();
        // A sender that slips in the work goal anyway.
        case.plan = f.plan.restricted_to(|a| *a != GoalArea::Health);
        assert_eq!(
            check_incoming(&case, office("08221000"), d("2026-11-25")),
            Err(DomainError::ConsentMissingCategory(DataCategory::Plan(GoalArea::Work)))
        );
    }
}
