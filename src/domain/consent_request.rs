//! A consent page opened for a client: an integration manager asks for consent to a handover to
//! one office, for named categories, in the client's language; the client reads the page on the
//! office's screen through a one-time link and confirms there (or not). The link is valid for a
//! short time and for one confirmation.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::{ClientId, ConsentId, DataCategory, DomainError, GoalArea, OfficeId};

/// How long a consent link is valid by default.
pub const DEFAULT_VALIDITY: chrono::Duration = chrono::Duration::minutes(30);

/// What an integration manager asks the client to consent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentAsk {
    pub client: ClientId,
    pub recipient: OfficeId,
    /// What the client is asked to consent to. Data concerning health is asked separately.
    pub categories: BTreeSet<DataCategory>,
    /// The language of the texts (a file in `consents/`).
    pub language: String,
    /// Until when the consent would hold, if not until withdrawn.
    pub consent_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    /// The SHA-256 of the link's token; the token itself is known only to the link.
    pub token_sha256: String,
    pub ask: ConsentAsk,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Until when the link can be used.
    pub expires_at: DateTime<Utc>,
    /// The consent the client gave on the page, once they did.
    pub consent_id: Option<ConsentId>,
    pub version: i64,
}

impl ConsentAsk {
    /// What may be asked for a handover: at least identity and window (without them nothing can
    /// be continued); health goals only together with data concerning health; an expiry after
    /// now.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        let c = &self.categories;
        if !(c.contains(&DataCategory::Identity) && c.contains(&DataCategory::Window)) {
            return Err(DomainError::ConsentTooNarrowForHandover);
        }
        if c.contains(&DataCategory::Plan(GoalArea::Health)) && !c.contains(&DataCategory::Health) {
            return Err(DomainError::ConsentMissingCategory(DataCategory::Health));
        }
        if self.consent_expires_at.is_some_and(|e| e <= now) {
            return Err(DomainError::ConsentExpired);
        }
        Ok(())
    }

    /// The categories consented to: all asked for, without data concerning health (and health
    /// goals) if the client did not agree to those.
    pub fn granted(&self, health: bool) -> BTreeSet<DataCategory> {
        self.categories
            .iter()
            .filter(|c| health || !matches!(c, DataCategory::Health | DataCategory::Plan(GoalArea::Health)))
            .cloned()
            .collect()
    }

    /// Whether data concerning health is asked for (separately).
    pub fn asks_health(&self) -> bool {
        self.categories.contains(&DataCategory::Health)
    }
}

impl ConsentRequest {
    /// A consent page for `ask`, valid for `valid_for` from now.
    pub fn open(
        ask: ConsentAsk,
        token_sha256: String,
        by: &str,
        now: DateTime<Utc>,
        valid_for: chrono::Duration,
    ) -> Result<Self, DomainError> {
        ask.check(now)?;
        Ok(Self {
            token_sha256,
            ask,
            created_by: by.to_owned(),
            created_at: now,
            expires_at: now + valid_for,
            consent_id: None,
            version: 0,
        })
    }

    /// The page may still be confirmed: not expired, not confirmed yet.
    pub fn ensure_open(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.consent_id.is_some() {
            return Err(DomainError::ConsentLinkUsed);
        }
        if now >= self.expires_at {
            return Err(DomainError::ConsentLinkExpired);
        }
        Ok(())
    }

    /// The client confirmed: the link is used up.
    pub fn confirm(&mut self, consent: ConsentId, now: DateTime<Utc>) -> Result<(), DomainError> {
        self.ensure_open(now)?;
        self.consent_id = Some(consent);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-25T09:30:00Z".parse().unwrap()
    }

    fn request(categories: &[DataCategory]) -> Result<ConsentRequest, DomainError> {
        let ask = ConsentAsk {
            client: ClientId::new(),
            recipient: OfficeId::parse("08221000").unwrap(),
            categories: categories.iter().cloned().collect(),
            language: "de".into(),
            consent_expires_at: None,
        };
        ConsentRequest::open(ask, "t".into(), "im", at(), DEFAULT_VALIDITY)
    }

    #[test]
    fn a_link_is_used_once_and_expires() {
        let mut r = request(&[DataCategory::Identity, DataCategory::Window]).unwrap();
        assert_eq!(r.ensure_open(at() + DEFAULT_VALIDITY), Err(DomainError::ConsentLinkExpired));
        r.confirm(ConsentId::new(), at()).unwrap();
        assert_eq!(r.confirm(ConsentId::new(), at()), Err(DomainError::ConsentLinkUsed));
    }

    #[test]
    fn health_is_asked_separately_and_may_be_refused() {
        assert_eq!(request(&[DataCategory::Identity]).unwrap_err(), DomainError::ConsentTooNarrowForHandover);
        let health_goals = [DataCategory::Identity, DataCategory::Window, DataCategory::Plan(GoalArea::Health)];
        assert_eq!(request(&health_goals).unwrap_err(), DomainError::ConsentMissingCategory(DataCategory::Health));
        let r = request(&[
            DataCategory::Identity,
            DataCategory::Window,
            DataCategory::Plan(GoalArea::Work),
            DataCategory::Plan(GoalArea::Health),
            DataCategory::Health,
        ])
        .unwrap();
        assert!(r.ask.asks_health());
        let without: Vec<_> = r.ask.granted(false).into_iter().collect();
        assert_eq!(without, [DataCategory::Identity, DataCategory::Window, DataCategory::Plan(GoalArea::Work)]);
        assert_eq!(r.ask.granted(true).len(), 5);
    }
}
