//! The integration plan ("individueller Integrationsplan"): goals, agreed steps, and the history
//! of every change, which travels with the plan from office to office.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::client::uuid_id;
use super::{DomainError, OfficeId, Text};

uuid_id!(
    /// The id of a goal; stable across handovers.
    GoalId
);

/// The areas goals are set in: the ten seen in practice, and areas an office adds itself.
///
/// An added area is named `x-` and a lowercase slug (`x-driving-licence`). It travels like the
/// others, with its own consent category `plan:x-…`, so offices need no agreement beforehand.
/// Health matters belong in `health` (a special category under GDPR Art. 9), never in an
/// added area.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GoalArea {
    Language,
    School,
    VocationalTraining,
    Work,
    Housing,
    Health,
    ChildrenAndFamily,
    SocialParticipation,
    ResidenceStatus,
    Livelihood,
    /// An area an office added; the name is checked (`x-` and a slug of at most 40 characters).
    Added(String),
}

impl GoalArea {
    /// The areas seen in practice.
    pub const ALL: [GoalArea; 10] = [
        Self::Language,
        Self::School,
        Self::VocationalTraining,
        Self::Work,
        Self::Housing,
        Self::Health,
        Self::ChildrenAndFamily,
        Self::SocialParticipation,
        Self::ResidenceStatus,
        Self::Livelihood,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Self::Language => "language",
            Self::School => "school",
            Self::VocationalTraining => "vocational-training",
            Self::Work => "work",
            Self::Housing => "housing",
            Self::Health => "health",
            Self::ChildrenAndFamily => "children-and-family",
            Self::SocialParticipation => "social-participation",
            Self::ResidenceStatus => "residence-status",
            Self::Livelihood => "livelihood",
            Self::Added(name) => name,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        if let Some(known) = Self::ALL.into_iter().find(|a| a.as_str() == s) {
            return Some(known);
        }
        let slug = s.strip_prefix("x-")?;
        let valid = (1..=40).contains(&slug.len())
            && slug
                .split('-')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        valid.then(|| Self::Added(s.to_owned()))
    }
}

impl Serialize for GoalArea {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for GoalArea {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom("unknown goal area (added areas are x-<slug>)"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoalStatus {
    Open,
    InProgress,
    Achieved,
    Dropped,
}

/// Who is responsible for a goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Responsible {
    Client,
    IntegrationManager,
    /// A named regular service ("Regeldienst"), e.g. the Jobcenter or a migration service.
    RegularService {
        name: Text,
    },
}

/// An agreed step towards a goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub description: Text,
    #[serde(default)]
    pub done: bool,
}

/// A dated note from reviewing a goal with the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewNote {
    pub on: NaiveDate,
    pub note: Text,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub id: GoalId,
    pub area: GoalArea,
    pub description: Text,
    pub steps: Vec<Step>,
    pub responsible: Responsible,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_date: Option<NaiveDate>,
    pub status: GoalStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<ReviewNote>,
}

/// What changed. The history names the kind of change, not the free text, so that it carries no
/// more personal data than the goal itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PlanChange {
    GoalCreated,
    DescriptionChanged,
    StepsChanged,
    ResponsibleChanged,
    TargetDateChanged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<NaiveDate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<NaiveDate>,
    },
    StatusChanged {
        from: GoalStatus,
        to: GoalStatus,
    },
    Reviewed,
}

/// One entry of the plan's history: when, at which office, by whom, which goal, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanEvent {
    #[serde(with = "crate::domain::time::ts")]
    pub at: DateTime<Utc>,
    pub office: OfficeId,
    pub actor: String,
    pub goal_id: GoalId,
    pub change: PlanChange,
}

/// Who makes a change: an account at an office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub office: OfficeId,
    pub account: String,
}

/// A new goal as a caseworker writes it.
#[derive(Debug, Clone)]
pub struct GoalDraft {
    pub area: GoalArea,
    pub description: Text,
    pub steps: Vec<Step>,
    pub responsible: Responsible,
    pub target_date: Option<NaiveDate>,
}

/// Changes to a goal; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct GoalPatch {
    pub description: Option<Text>,
    pub steps: Option<Vec<Step>>,
    pub responsible: Option<Responsible>,
    pub target_date: Option<Option<NaiveDate>>,
    pub status: Option<GoalStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationPlan {
    pub goals: Vec<Goal>,
    pub history: Vec<PlanEvent>,
}

impl IntegrationPlan {
    fn record(&mut self, author: &Author, at: DateTime<Utc>, goal_id: GoalId, change: PlanChange) {
        self.history.push(PlanEvent { at, office: author.office, actor: author.account.clone(), goal_id, change });
    }

    pub fn add_goal(&mut self, draft: GoalDraft, author: &Author, at: DateTime<Utc>) -> &Goal {
        let goal = Goal {
            id: GoalId::new(),
            area: draft.area,
            description: draft.description,
            steps: draft.steps,
            responsible: draft.responsible,
            target_date: draft.target_date,
            status: GoalStatus::Open,
            reviews: Vec::new(),
        };
        let id = goal.id;
        self.goals.push(goal);
        self.record(author, at, id, PlanChange::GoalCreated);
        self.goals.last().expect("just pushed")
    }

    /// Applies a patch; only real changes enter the history.
    pub fn update_goal(
        &mut self,
        id: GoalId,
        patch: GoalPatch,
        author: &Author,
        at: DateTime<Utc>,
    ) -> Result<&Goal, DomainError> {
        let idx = self.goals.iter().position(|g| g.id == id).ok_or(DomainError::UnknownGoal)?;
        let mut changes = Vec::new();
        let goal = &mut self.goals[idx];
        if let Some(d) = patch.description.filter(|d| *d != goal.description) {
            goal.description = d;
            changes.push(PlanChange::DescriptionChanged);
        }
        if let Some(s) = patch.steps.filter(|s| *s != goal.steps) {
            goal.steps = s;
            changes.push(PlanChange::StepsChanged);
        }
        if let Some(r) = patch.responsible.filter(|r| *r != goal.responsible) {
            goal.responsible = r;
            changes.push(PlanChange::ResponsibleChanged);
        }
        if let Some(t) = patch.target_date.filter(|t| *t != goal.target_date) {
            changes.push(PlanChange::TargetDateChanged { from: goal.target_date, to: t });
            goal.target_date = t;
        }
        if let Some(s) = patch.status.filter(|s| *s != goal.status) {
            changes.push(PlanChange::StatusChanged { from: goal.status, to: s });
            goal.status = s;
        }
        for change in changes {
            self.record(author, at, id, change);
        }
        Ok(&self.goals[idx])
    }

    /// Adds a review note to a goal.
    pub fn review_goal(
        &mut self,
        id: GoalId,
        review: ReviewNote,
        author: &Author,
        at: DateTime<Utc>,
    ) -> Result<&Goal, DomainError> {
        let idx = self.goals.iter().position(|g| g.id == id).ok_or(DomainError::UnknownGoal)?;
        self.goals[idx].reviews.push(review);
        self.record(author, at, id, PlanChange::Reviewed);
        Ok(&self.goals[idx])
    }

    pub fn areas(&self) -> BTreeSet<GoalArea> {
        self.goals.iter().map(|g| g.area.clone()).collect()
    }

    /// The plan with only the goals whose area passes `keep`, and only their history.
    pub fn restricted_to(&self, keep: impl Fn(&GoalArea) -> bool) -> IntegrationPlan {
        let goals: Vec<Goal> = self.goals.iter().filter(|g| keep(&g.area)).cloned().collect();
        let ids: BTreeSet<GoalId> = goals.iter().map(|g| g.id).collect();
        let history = self.history.iter().filter(|e| ids.contains(&e.goal_id)).cloned().collect();
        IntegrationPlan { goals, history }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed instant: the tests never read the system clock.
    fn at() -> DateTime<Utc> {
        "2026-11-20T10:00:00Z".parse().unwrap()
    }

    fn author(office: &str) -> Author {
        Author { office: OfficeId::parse(office).unwrap(), account: "im-test".into() }
    }

    fn draft(area: GoalArea) -> GoalDraft {
        GoalDraft {
            area,
            description: Text::parse("Reach B1 in German", "d").unwrap(),
            steps: vec![Step { description: Text::parse("Enrol in a course", "s").unwrap(), done: false }],
            responsible: Responsible::Client,
            target_date: Some("2026-06-30".parse().unwrap()),
        }
    }

    #[test]
    fn changes_are_recorded_with_office_and_kind() {
        let mut plan = IntegrationPlan::default();
        let at = at();
        let id = plan.add_goal(draft(GoalArea::Language), &author("08111000"), at).id;
        let patch = GoalPatch { status: Some(GoalStatus::InProgress), ..Default::default() };
        plan.update_goal(id, patch, &author("08221000"), at).unwrap();
        // An unchanged value is no change.
        let same = GoalPatch { status: Some(GoalStatus::InProgress), ..Default::default() };
        plan.update_goal(id, same, &author("08221000"), at).unwrap();
        assert_eq!(plan.history.len(), 2);
        assert_eq!(plan.history[0].change, PlanChange::GoalCreated);
        assert_eq!(plan.history[1].office.as_str(), "08221000");
        assert_eq!(
            plan.history[1].change,
            PlanChange::StatusChanged { from: GoalStatus::Open, to: GoalStatus::InProgress }
        );
        assert_eq!(
            plan.update_goal(GoalId::new(), GoalPatch::default(), &author("08111000"), at).unwrap_err(),
            DomainError::UnknownGoal
        );
    }

    #[test]
    fn restriction_drops_goals_and_their_history() {
        let mut plan = IntegrationPlan::default();
        let at = at();
        plan.add_goal(draft(GoalArea::Language), &author("08111000"), at);
        plan.add_goal(draft(GoalArea::Health), &author("08111000"), at);
        let r = plan.restricted_to(|a| *a != GoalArea::Health);
        assert_eq!(r.areas(), [GoalArea::Language].into());
        assert_eq!(r.history.len(), 1);
        assert_eq!(r.history[0].goal_id, r.goals[0].id);
    }

    #[test]
    fn offices_may_add_areas_named_x_slug() {
        let added = GoalArea::parse("x-driving-licence").unwrap();
        assert_eq!(added, GoalArea::Added("x-driving-licence".into()));
        assert_eq!(serde_json::to_value(&added).unwrap(), "x-driving-licence");
        for bad in ["x-", "x-Driving", "x-a--b", "x-a b", "driving-licence", &format!("x-{}", "a".repeat(41))] {
            assert_eq!(GoalArea::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn area_names_round_trip() {
        for a in GoalArea::ALL {
            assert_eq!(GoalArea::parse(a.as_str()), Some(a.clone()));
            assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::Value::String(a.as_str().into()));
        }
    }
}
