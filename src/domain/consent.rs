//! Consent ("Einwilligung"): the documented legal basis for sending a client's data to another
//! office. GDPR Art. 6(1)(a) and Art. 7; for data concerning health Art. 9(2)(a).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
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

/// The text a client was shown when consenting: which text, which version, which language, and
/// the SHA-256 (lowercase hex) of the exact text shown (`consents/<language>.toml`, rendered for
/// this client, office and recipient).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentText {
    pub id: String,
    pub version: String,
    pub language: String,
    pub sha256: String,
}

/// How the client gave the consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ConsentMethod {
    /// On the consent page on the office's screen, confirmed by the client themself.
    OnScreen,
    /// On a printed form with the same text, signed by the client on `signed_on` and recorded
    /// by an integration manager (on that day or later).
    PaperForm {
        #[serde(with = "crate::domain::time::date")]
        signed_on: NaiveDate,
    },
}

/// Why a consent no longer holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ConsentEnd {
    /// Withdrawn by the client (GDPR Art. 7(3)), with effect for the future.
    Withdrawn(super::ledger::WithdrawnVia),
    /// Revoked by the office: it was recorded in error.
    Revoked { by: String },
    /// Its expiry passed.
    Expired,
}

/// How a consent was given: the text shown, the way, and until when it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentForm {
    pub text: ConsentText,
    pub method: ConsentMethod,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A client's consent to continuing counselling at another office and to sending it named
/// categories of their data, with the text they were shown and how they gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentGrant {
    pub id: ConsentId,
    pub client: ClientId,
    pub recipient: OfficeId,
    pub categories: BTreeSet<DataCategory>,
    pub legal_bases: BTreeSet<LegalBasis>,
    pub given_at: DateTime<Utc>,
    /// The integration manager who witnessed it (on screen) or recorded it (paper form).
    pub witnessed_by: String,
    pub text: ConsentText,
    pub method: ConsentMethod,
    pub expires_at: Option<DateTime<Utc>>,
    /// When it stopped holding, and why.
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub end: Option<ConsentEnd>,
    /// The SHA-256 of the withdrawal code on the client's receipt, if one was handed out.
    pub withdrawal_code: Option<String>,
    /// Optimistic concurrency: the version this copy was read at (0 for a new record).
    pub version: i64,
}

impl ConsentGrant {
    /// Records a consent. The legal bases follow from the categories, so they cannot disagree.
    /// A paper form may have been signed before today, not after; an expiry lies after now.
    pub fn record(
        client: ClientId,
        recipient: OfficeId,
        categories: BTreeSet<DataCategory>,
        given_at: DateTime<Utc>,
        witnessed_by: String,
        form: ConsentForm,
    ) -> Result<Self, DomainError> {
        if categories.is_empty() {
            return Err(DomainError::ConsentEmpty);
        }
        let today = super::time::german_date(given_at);
        if let ConsentMethod::PaperForm { signed_on } = form.method {
            if signed_on > today {
                return Err(DomainError::DateInFuture { date: signed_on, today });
            }
        }
        if form.expires_at.is_some_and(|e| e <= given_at) {
            return Err(DomainError::ConsentExpired);
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
            text: form.text,
            method: form.method,
            expires_at: form.expires_at,
            withdrawn_at: None,
            end: None,
            withdrawal_code: None,
            version: 0,
        })
    }

    fn end_with(&mut self, at: DateTime<Utc>, end: ConsentEnd) -> bool {
        if self.withdrawn_at.is_some() {
            return false;
        }
        self.withdrawn_at = Some(at);
        self.end = Some(end);
        true
    }

    /// Withdrawal with effect for the future (GDPR Art. 7(3)); withdrawing twice changes nothing.
    /// Returns whether this withdrawal changed the consent.
    pub fn withdraw(&mut self, at: DateTime<Utc>, via: super::ledger::WithdrawnVia) -> bool {
        self.end_with(at, ConsentEnd::Withdrawn(via))
    }

    /// The office revokes a consent it recorded in error.
    pub fn revoke(&mut self, at: DateTime<Utc>, by: &str) -> bool {
        self.end_with(at, ConsentEnd::Revoked { by: by.to_owned() })
    }

    /// The consent expires if its expiry has passed at `now`; returns whether it did just now.
    pub fn expire(&mut self, now: DateTime<Utc>) -> bool {
        match self.expires_at {
            Some(e) if now >= e => self.end_with(e, ConsentEnd::Expired),
            _ => false,
        }
    }

    /// Not ended (withdrawn, revoked or recorded as expired).
    pub fn is_active(&self) -> bool {
        self.withdrawn_at.is_none()
    }

    /// Whether the consent holds at `now`: given, not withdrawn, not revoked, not expired.
    pub fn check_valid(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        match &self.end {
            Some(ConsentEnd::Withdrawn(_)) => return Err(DomainError::ConsentWithdrawn),
            Some(ConsentEnd::Revoked { .. }) => return Err(DomainError::ConsentRevoked),
            Some(ConsentEnd::Expired) => return Err(DomainError::ConsentExpired),
            None if self.withdrawn_at.is_some() => return Err(DomainError::ConsentWithdrawn),
            None => {}
        }
        if self.expires_at.is_some_and(|e| now >= e) {
            return Err(DomainError::ConsentExpired);
        }
        Ok(())
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
            // A consent recorded before texts were kept (migrated) has no text to state.
            text: (!self.text.sha256.is_empty()).then(|| self.text.clone()),
        }
    }

    /// The ledger entry of this consent being given.
    pub fn given_entry(&self) -> super::ledger::EntryKind {
        super::ledger::EntryKind::ConsentGiven {
            client_id: self.client,
            consent_id: self.id,
            purpose: "continue-counselling".into(),
            recipient: self.recipient,
            categories: self.categories.clone(),
            legal_bases: self.legal_bases.clone(),
            text: self.text.clone(),
            method: self.method.clone(),
            witnessed_by: self.witnessed_by.clone(),
            expires_at: self.expires_at,
        }
    }

    /// The ledger entry of this consent having ended, if it has.
    pub fn end_entry(&self) -> Option<super::ledger::EntryKind> {
        use super::ledger::EntryKind;
        let (client_id, consent_id) = (self.client, self.id);
        Some(match self.end.as_ref()? {
            ConsentEnd::Withdrawn(via) => EntryKind::ConsentWithdrawn { client_id, consent_id, withdrawn: via.clone() },
            ConsentEnd::Revoked { by } => EntryKind::ConsentRevoked { client_id, consent_id, revoked_by: by.clone() },
            ConsentEnd::Expired => EntryKind::ConsentExpired { client_id, consent_id },
        })
    }
}

/// The code on a client's receipt with which they withdraw without an account: 80 random bits,
/// 16 characters of Crockford's base 32, printed in groups of four (`7KQ2-M9XD-4HTB-PW0E`).
/// Read forgivingly, as people type it: any case, hyphens and spaces ignored, `O` for `0`, `I`
/// and `L` for `1`. The office keeps only its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct WithdrawalCode(String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl WithdrawalCode {
    /// The code of 10 random bytes.
    pub fn from_random(bytes: [u8; 10]) -> Self {
        let mut bits: u128 = 0;
        for b in bytes {
            bits = (bits << 8) | u128::from(b);
        }
        let code = (0..16).rev().map(|i| char::from(CROCKFORD[((bits >> (i * 5)) & 31) as usize])).collect();
        Self(code)
    }

    /// A code as typed.
    pub fn parse(typed: &str) -> Option<Self> {
        let mut code = String::with_capacity(16);
        for c in typed.chars().filter(|c| !matches!(c, '-' | ' ' | '\u{a0}')) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) || code.len() == 16 {
                return None;
            }
            code.push(c);
        }
        (code.len() == 16).then_some(Self(code))
    }

    /// The SHA-256 the office keeps.
    pub fn digest(&self) -> String {
        crate::digest::sha256_hex(self.0.as_bytes())
    }

    /// The code as printed: four groups of four.
    pub fn printed(&self) -> String {
        self.0.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).expect("ascii")).collect::<Vec<_>>().join("-")
    }
}

impl fmt::Debug for WithdrawalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WithdrawalCode(…)")
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
    /// The text the client was shown (absent from senders that do not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<ConsentText>,
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
pub(crate) mod tests {
    use super::*;

    /// A fixed instant: the tests never read the system clock.
    fn at() -> DateTime<Utc> {
        "2026-11-20T10:00:00Z".parse().unwrap()
    }

    /// How the consent of the domain's tests was given: on screen, with a text of the tests.
    pub(crate) fn form() -> ConsentForm {
        ConsentForm {
            text: ConsentText {
                id: "staffel-handover-consent".into(),
                version: "1".into(),
                language: "de".into(),
                sha256: "ab".repeat(32),
            },
            method: ConsentMethod::OnScreen,
            expires_at: None,
        }
    }

    fn office(s: &str) -> OfficeId {
        OfficeId::parse(s).unwrap()
    }

    #[test]
    fn withdrawal_codes_are_read_as_people_type_them() {
        let code = WithdrawalCode::from_random([0xff, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);
        let printed = code.printed();
        assert_eq!(printed.len(), 19);
        assert_eq!(printed, "ZW01-4D2P-F2DB-SQQG");
        assert_eq!(WithdrawalCode::parse(&printed), Some(code.clone()));
        assert_eq!(WithdrawalCode::parse("zwo1 4d2p f2db sqqg"), Some(code.clone()));
        assert_eq!(WithdrawalCode::parse("ZW0L-4D2P-F2DB-SQQG"), Some(code.clone()));
        assert_eq!(WithdrawalCode::parse("ZW01-4D2P-F2DB-SQQ"), None);
        assert_eq!(WithdrawalCode::parse("ZW01-4D2P-F2DB-SQQGX"), None);
        assert_eq!(WithdrawalCode::parse("ZW01-4D2P-F2DB-SQQU"), None);
        assert_eq!(code.digest().len(), 64);
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
        let g = ConsentGrant::record(ClientId::new(), office("08221000"), cats, at(), "im".into(), form()).unwrap();
        assert!(g.legal_bases.contains(&LegalBasis::ExplicitConsentHealth));
        assert!(
            ConsentGrant::record(ClientId::new(), office("08221000"), BTreeSet::new(), at(), "im".into(), form())
                .is_err()
        );
    }

    #[test]
    fn covers_checks_recipient_categories_and_bases() {
        let cats: BTreeSet<_> =
            [DataCategory::Identity, DataCategory::Window, DataCategory::Plan(GoalArea::Work)].into();
        let mut basis =
            ConsentGrant::record(ClientId::new(), office("08221000"), cats.clone(), at(), "im".into(), form())
                .unwrap()
                .basis();
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
