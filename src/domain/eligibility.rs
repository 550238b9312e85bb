//! Who may be counselled ("Zielgruppe"): the target group, benefits, adulthood, and the
//! discretionary decision that keeps counselling going without benefits.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{DomainError, Text};

/// Only adults get a window of their own.
pub const ADULT_AGE: u32 = 18;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetGroup {
    /// Refugees in municipal follow-up accommodation, §§ 17, 18 FlüAG.
    FollowUpAccommodation,
    /// People displaced from Ukraine, § 24 AufenthG, any form of housing.
    DisplacedFromUkraine,
}

/// Benefits for living costs the client receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Benefits {
    /// Asylbewerberleistungsgesetz.
    Asylblg,
    /// SGB II ("Bürgergeld").
    SgbIi,
    /// SGB XII.
    SgbXii,
    None,
}

/// The integration manager's recorded decision to go on counselling a client without benefits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscretionaryDecision {
    pub decided_by: String,
    pub decided_on: NaiveDate,
    pub reason: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    pub target_group: TargetGroup,
    pub benefits: Benefits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discretion: Option<DiscretionaryDecision>,
}

impl Eligibility {
    /// Without benefits, counselling needs a discretionary decision (who, when, why).
    pub fn new(
        target_group: TargetGroup,
        benefits: Benefits,
        discretion: Option<DiscretionaryDecision>,
    ) -> Result<Self, DomainError> {
        if benefits == Benefits::None && discretion.is_none() {
            return Err(DomainError::DiscretionRequired);
        }
        // A decision only means something where there are no benefits.
        let discretion = if benefits == Benefits::None { discretion } else { None };
        Ok(Self { target_group, benefits, discretion })
    }
}

/// Age in whole years on `day`.
pub fn age_on(date_of_birth: NaiveDate, day: NaiveDate) -> u32 {
    let mut years = day.year() - date_of_birth.year();
    if (day.month(), day.day()) < (date_of_birth.month(), date_of_birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// Only a person who is an adult at the first session gets a window.
pub fn ensure_adult(date_of_birth: NaiveDate, first_session: NaiveDate) -> Result<(), DomainError> {
    if age_on(date_of_birth, first_session) < ADULT_AGE {
        return Err(DomainError::NotAdult);
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
    fn adulthood_on_the_first_session() {
        assert!(ensure_adult(d("2006-03-15"), d("2024-03-15")).is_ok());
        assert_eq!(ensure_adult(d("2006-03-16"), d("2024-03-15")), Err(DomainError::NotAdult));
        // Born on 29 February: adult on 1 March of the 18th year.
        assert_eq!(age_on(d("2004-02-29"), d("2022-02-28")), 17);
        assert_eq!(age_on(d("2004-02-29"), d("2022-03-01")), 18);
    }

    #[test]
    fn no_benefits_needs_a_recorded_decision() {
        assert_eq!(
            Eligibility::new(TargetGroup::FollowUpAccommodation, Benefits::None, None),
            Err(DomainError::DiscretionRequired)
        );
        let decision = DiscretionaryDecision {
            decided_by: "im".into(),
            decided_on: d("2026-01-01"),
            reason: Text::parse("Still needs help with the recognition of a degree", "r").unwrap(),
        };
        let e = Eligibility::new(TargetGroup::DisplacedFromUkraine, Benefits::None, Some(decision.clone())).unwrap();
        assert_eq!(e.discretion, Some(decision.clone()));
        let e = Eligibility::new(TargetGroup::DisplacedFromUkraine, Benefits::SgbIi, Some(decision)).unwrap();
        assert_eq!(e.discretion, None);
    }
}
