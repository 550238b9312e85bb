//! Consent ("Einwilligung"): the documented legal basis for sending a client's data to another
//! office. GDPR Art. 6(1)(a) and Art. 7; for data concerning health Art. 9(2)(a).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::client::uuid_id;
use super::{ClientId, DomainError, GoalArea, OfficeId};

uuid_id!(
    /// The id of a consent grant; it travels with the handover it allowed.
    ConsentId
);

/// What a consent allows to be sent. Each plan area is its own category; data concerning health
/// (health goals, health-related extension grounds) is a category of its own.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataCategory {
    /// Name and date of birth.
    Identity,
    /// The counselling window: first session, extensions, last day. Extension grounds travel
    /// with it only where no reason is data concerning health (see [`DataCategory::Health`]).
    Window,
    /// The goals of one plan area, with their history.
    Plan(GoalArea),
    /// Data concerning health, GDPR Art. 9: health goals and health-related extension grounds.
    Health,
}

impl DataCategory {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "identity" => Some(Self::Identity),
            "window" => Some(Self::Window),
            "health" => Some(Self::Health),
            _ => s.strip_prefix("plan:").and_then(GoalArea::parse).map(Self::Plan),
        }
    }

    /// Every category, in their order.
    pub fn all() -> impl Iterator<Item = DataCategory> {
        [Self::Identity, Self::Window]
            .into_iter()
            .chain(GoalArea::ALL.into_iter().map(Self::Plan))
            .chain([Self::Health])
    }
}

impl fmt::Display for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Identity => f.write_str("identity"),
            Self::Window => f.write_str("window"),
            Self::Plan(area) => write!(f, "plan:{}", area.as_str()),
            Self::Health => f.write_str("health"),
        }
    }
}

impl fmt::Debug for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for DataCategory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DataCategory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom("unknown data category"))
    }
}

/// The legal basis a transfer rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LegalBasis {
    /// Consent, GDPR Art. 6(1)(a).
    #[serde(rename = "gdpr-art-6-1-a")]
    Consent,
    /// Explicit consent to data concerning health, GDPR Art. 9(2)(a).
    #[serde(rename = "gdpr-art-9-2-a")]
    ExplicitConsentHealth,
}

impl LegalBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consent => "gdpr-art-6-1-a",
            Self::ExplicitConsentHealth => "gdpr-art-9-2-a",
        }
    }

    /// The bases the given categories need: always consent; explicit consent for health data.
    pub fn required_for(categories: &BTreeSet<DataCategory>) -> BTreeSet<LegalBasis> {
        let mut bases = BTreeSet::from([Self::Consent]);
        if categories.contains(&DataCategory::Health) {
            bases.insert(Self::ExplicitConsentHealth);
        }
        bases
    }
}

/// A client's consent to sending named categories of their data to one receiving office,
/// recorded by the integration manager who witnessed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentGrant {
    pub id: ConsentId,
    pub client: ClientId,
    pub recipient: OfficeId,
    pub categories: BTreeSet<DataCategory>,
    pub legal_bases: BTreeSet<LegalBasis>,
    pub given_at: DateTime<Utc>,
    pub witnessed_by: String,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Optimistic concurrency: the version this copy was read at (0 for a new record).
    pub version: i64,
}

impl ConsentGrant {
    /// Records a consent. The legal bases follow from the categories, so they cannot disagree.
    pub fn record(
        client: ClientId,
        recipient: OfficeId,
        categories: BTreeSet<DataCategory>,
        given_at: DateTime<Utc>,
        witnessed_by: String,
    ) -> Result<Self, DomainError> {
        if categories.is_empty() {
            return Err(DomainError::ConsentEmpty);
        }
        let legal_bases = LegalBasis::required_for(&categories);
        Ok(Self {
            id: ConsentId::new(),
            client,
            recipient,
            categories,
            legal_bases,
            given_at,
            witnessed_by,
            withdrawn_at: None,
            version: 0,
        })
    }

    /// Withdrawal with effect for the future (GDPR Art. 7(3)); withdrawing twice changes nothing.
    /// Returns whether this withdrawal changed the consent.
    pub fn withdraw(&mut self, at: DateTime<Utc>) -> bool {
        if self.withdrawn_at.is_some() {
            return false;
        }
        self.withdrawn_at = Some(at);
        true
    }

    pub fn is_active(&self) -> bool {
        self.withdrawn_at.is_none()
    }

    /// The basis as it travels with a handover.
    pub fn basis(&self) -> ConsentBasis {
        ConsentBasis {
            consent_id: self.id,
            recipient: self.recipient,
            categories: self.categories.clone(),
            legal_bases: self.legal_bases.clone(),
            given_at: self.given_at,
            witnessed_by: self.witnessed_by.clone(),
        }
    }
}

/// The consent a handover was sent on, as stated in the handover message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentBasis {
    pub consent_id: ConsentId,
    pub recipient: OfficeId,
    pub categories: BTreeSet<DataCategory>,
    pub legal_bases: BTreeSet<LegalBasis>,
    #[serde(with = "crate::domain::time::ts")]
    pub given_at: DateTime<Utc>,
    pub witnessed_by: String,
}

impl ConsentBasis {
    /// Whether this consent allows sending data of the `needed` categories to `receiver`.
    pub fn covers(&self, needed: &BTreeSet<DataCategory>, receiver: OfficeId) -> Result<(), DomainError> {
        if self.recipient != receiver {
            return Err(DomainError::ConsentWrongRecipient { consented: self.recipient, receiver });
        }
        if let Some(missing) = needed.iter().find(|c| !self.categories.contains(c)) {
            return Err(DomainError::ConsentMissingCategory(missing.clone()));
        }
        if let Some(missing) = LegalBasis::required_for(needed).into_iter().find(|b| !self.legal_bases.contains(b)) {
            return Err(DomainError::ConsentMissingLegalBasis(missing.as_str()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed instant: the tests never read the system clock.
    fn at() -> DateTime<Utc> {
        "2026-11-20T10:00:00Z".parse().unwrap()
    }

    fn office(s: &str) -> OfficeId {
        OfficeId::parse(s).unwrap()
    }

    #[test]
    fn category_names_round_trip() {
        for c in DataCategory::all() {
            assert_eq!(DataCategory::parse(&c.to_string()), Some(c));
        }
        assert_eq!(DataCategory::all().count(), 13);
        assert_eq!(DataCategory::parse("plan:astrology"), None);
    }

    #[test]
    fn health_needs_explicit_consent() {
        let cats: BTreeSet<_> = [DataCategory::Identity, DataCategory::Health].into();
        let g = ConsentGrant::record(ClientId::new(), office("08221000"), cats, at(), "im".into()).unwrap();
        assert!(g.legal_bases.contains(&LegalBasis::ExplicitConsentHealth));
        assert!(ConsentGrant::record(ClientId::new(), office("08221000"), BTreeSet::new(), at(), "im".into()).is_err());
    }

    #[test]
    fn covers_checks_recipient_categories_and_bases() {
        let cats: BTreeSet<_> =
            [DataCategory::Identity, DataCategory::Window, DataCategory::Plan(GoalArea::Work)].into();
        let mut basis =
            ConsentGrant::record(ClientId::new(), office("08221000"), cats.clone(), at(), "im".into()).unwrap().basis();
        assert!(basis.covers(&cats, office("08221000")).is_ok());
        assert!(matches!(basis.covers(&cats, office("08311000")), Err(DomainError::ConsentWrongRecipient { .. })));
        let mut more = cats.clone();
        more.insert(DataCategory::Plan(GoalArea::Housing));
        assert_eq!(
            basis.covers(&more, office("08221000")),
            Err(DomainError::ConsentMissingCategory(DataCategory::Plan(GoalArea::Housing)))
        );
        // A forged basis naming health without the explicit-consent basis is refused.
        basis.categories.insert(DataCategory::Health);
        let need: BTreeSet<_> = [DataCategory::Health].into();
        assert_eq!(
            basis.covers(&need, office("08221000")),
            Err(DomainError::ConsentMissingLegalBasis("gdpr-art-9-2-a"))
        );
    }
}
