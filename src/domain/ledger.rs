//! The consent ledger: per office, append-only and hash-chained, the record of the legal basis of
//! every transfer (GDPR Art. 7(1): the office can demonstrate the consent; Art. 5(2)).
//!
//! An entry is a JSON object: `seq` (1, 2, …), `at`, `prev` (the hash of the entry before; 64
//! zeros before the first), `kind`, and the members of its kind. Its **hash** is the SHA-256, in
//! lowercase hex, of the entry's canonical form (RFC 8785, [`crate::canonical`]) — the object
//! without `hash`. So each entry's hash covers the one before, and another implementation can
//! recompute the chain from the entries alone (`schemas/README.md` section 14).
//!
//! Entries hold no names, no plan and no health data: ids (of the client record, the consent,
//! handovers and messages), offices, data categories, legal bases, the consent text's id,
//! version, language and the SHA-256 of the exact text shown, dates, and the account that
//! witnessed or recorded. When a client's personal data is erased, their entries stay and the
//! chain stays verifiable; an `erased` entry records the erasure.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::consent::{ConsentMethod, ConsentText};
use super::{ClientId, ConsentId, DataCategory, LegalBasis, OfficeId};

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an office's ledger ends with: the sequence number and hash of its last entry (0 and
/// [`GENESIS`] while it is empty). Carried, signed, in every handover and withdrawal message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerHead {
    pub seq: u64,
    pub hash: String,
}

impl LedgerHead {
    pub fn empty() -> Self {
        Self { seq: 0, hash: GENESIS.to_owned() }
    }
}

/// How a withdrawal reached this office's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "kebab-case", deny_unknown_fields)]
pub enum WithdrawnVia {
    /// The client told an integration manager, who recorded it.
    Office { recorded_by: String },
    /// The client withdrew on the withdrawal page with the code of their receipt.
    WithdrawalCode,
    /// The client withdrew at another office, which told this one.
    OtherOffice { office: OfficeId, message_id: Uuid },
}

/// The kinds of entry and what each records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum EntryKind {
    /// The client consented to continuing counselling at `recipient`, and to sending it the data
    /// of `categories`.
    ConsentGiven {
        client_id: ClientId,
        consent_id: ConsentId,
        /// Always `continue-counselling`: the one purpose a consent is given for.
        purpose: String,
        recipient: OfficeId,
        #[serde(with = "by_name")]
        categories: BTreeSet<DataCategory>,
        legal_bases: BTreeSet<LegalBasis>,
        text: ConsentText,
        method: ConsentMethod,
        witnessed_by: String,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::domain::time::ts_opt")]
        expires_at: Option<DateTime<Utc>>,
    },
    /// The client withdrew the consent, with effect for the future (Art. 7(3)).
    ConsentWithdrawn { client_id: ClientId, consent_id: ConsentId, withdrawn: WithdrawnVia },
    /// The office revoked a consent recorded in error.
    ConsentRevoked { client_id: ClientId, consent_id: ConsentId, revoked_by: String },
    /// The consent reached its expiry.
    ConsentExpired { client_id: ClientId, consent_id: ConsentId },
    /// A handover arrived on a consent the client gave at the sending office.
    BasisReceived {
        consent_id: ConsentId,
        from: OfficeId,
        handover_id: Uuid,
        #[serde(with = "by_name")]
        categories: BTreeSet<DataCategory>,
        legal_bases: BTreeSet<LegalBasis>,
        #[serde(with = "crate::domain::time::ts")]
        given_at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<ConsentText>,
        /// The sender's ledger head as it signed it, if it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sender_head: Option<LedgerHead>,
    },
    /// The client withdrew, at this office, a consent they gave at office `given_at_office` on
    /// which a handover came here; `given_at_office` is told.
    BasisWithdrawn {
        consent_id: ConsentId,
        given_at_office: OfficeId,
        /// The record the case continues in here, if it was accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientId>,
        recorded_by: String,
    },
    /// Another office told this one that a consent was withdrawn.
    WithdrawalReceived {
        consent_id: ConsentId,
        from: OfficeId,
        message_id: Uuid,
        #[serde(with = "crate::domain::time::ts")]
        withdrawn_at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sender_head: Option<LedgerHead>,
    },
    /// Personal data was erased: of a client record (`client_id`), or of a received handover
    /// that was never taken over (`handover_id`); the entries about it stay, without it.
    Erased {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handover_id: Option<Uuid>,
        erased_by: String,
        reason: ErasureReason,
    },
}

/// Data categories as an entry writes them: sorted by their names (as strings), so that another
/// implementation writes the same array. (Legal bases sort the same way by their derived order.)
mod by_name {
    use std::collections::BTreeSet;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::domain::DataCategory;

    pub fn serialize<S: Serializer>(categories: &BTreeSet<DataCategory>, s: S) -> Result<S::Ok, S::Error> {
        let mut names: Vec<String> = categories.iter().map(ToString::to_string).collect();
        names.sort();
        names.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<DataCategory>, D::Error> {
        BTreeSet::deserialize(d)
    }
}

/// Why a client's personal data was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErasureReason {
    /// The retention period after the case ended here has passed.
    RetentionEnded,
    /// The client asked for it (GDPR Art. 17).
    ClientRequest,
}

impl EntryKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::ConsentGiven { .. } => "consent-given",
            Self::ConsentWithdrawn { .. } => "consent-withdrawn",
            Self::ConsentRevoked { .. } => "consent-revoked",
            Self::ConsentExpired { .. } => "consent-expired",
            Self::BasisReceived { .. } => "basis-received",
            Self::BasisWithdrawn { .. } => "basis-withdrawn",
            Self::WithdrawalReceived { .. } => "withdrawal-received",
            Self::Erased { .. } => "erased",
        }
    }

    /// The kind an entry's canonical form records.
    pub fn from_canonical(canonical: &str) -> Option<Self> {
        let mut value: Value = serde_json::from_str(canonical).ok()?;
        let map = value.as_object_mut()?;
        for envelope in ["seq", "at", "prev"] {
            map.remove(envelope);
        }
        serde_json::from_value(value).ok()
    }

    /// The client record the entry is about, where it names one.
    pub fn client_id(&self) -> Option<ClientId> {
        match self {
            Self::ConsentGiven { client_id, .. }
            | Self::ConsentWithdrawn { client_id, .. }
            | Self::ConsentRevoked { client_id, .. }
            | Self::ConsentExpired { client_id, .. } => Some(*client_id),
            Self::BasisWithdrawn { client_id, .. } | Self::Erased { client_id, .. } => *client_id,
            Self::BasisReceived { .. } | Self::WithdrawalReceived { .. } => None,
        }
    }

    /// The consent the entry is about, where it names one.
    pub fn consent_id(&self) -> Option<ConsentId> {
        match self {
            Self::ConsentGiven { consent_id, .. }
            | Self::ConsentWithdrawn { consent_id, .. }
            | Self::ConsentRevoked { consent_id, .. }
            | Self::ConsentExpired { consent_id, .. }
            | Self::BasisReceived { consent_id, .. }
            | Self::BasisWithdrawn { consent_id, .. }
            | Self::WithdrawalReceived { consent_id, .. } => Some(*consent_id),
            Self::Erased { .. } => None,
        }
    }
}

/// One entry of the ledger, as stored: its canonical form and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub prev: String,
    pub kind: EntryKind,
    /// The canonical form the hash covers (RFC 8785).
    pub canonical: String,
    pub hash: String,
}

/// The object an entry is, without its hash.
fn object(seq: u64, at: DateTime<Utc>, prev: &str, kind: &EntryKind) -> Value {
    let mut value = serde_json::to_value(kind).expect("entries serialise");
    let map = value.as_object_mut().expect("an entry kind is an object");
    map.insert("seq".into(), Value::from(seq));
    map.insert("at".into(), Value::from(super::time::format_ts(at)));
    map.insert("prev".into(), Value::from(prev));
    value
}

impl LedgerEntry {
    /// The entry that follows `head`.
    pub fn next(head: &LedgerHead, at: DateTime<Utc>, kind: EntryKind) -> Self {
        let seq = head.seq + 1;
        let canonical =
            crate::canonical::canonical(&object(seq, at, &head.hash, &kind)).expect("entries hold no fractions");
        let hash = crate::digest::sha256_hex(canonical.as_bytes());
        Self { seq, at, prev: head.hash.clone(), kind, canonical, hash }
    }

    pub fn head(&self) -> LedgerHead {
        LedgerHead { seq: self.seq, hash: self.hash.clone() }
    }
}

/// Where a chain stops being what it claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq}: expected sequence number {expected}")]
    Gap { seq: u64, expected: u64 },
    #[error("entry {seq}: its canonical form is not what its own content gives")]
    NotCanonical { seq: u64 },
    #[error("entry {seq}: its hash does not match its canonical form")]
    HashMismatch { seq: u64 },
    #[error("entry {seq}: it does not name the hash of the entry before it")]
    PrevMismatch { seq: u64 },
    #[error("entry {seq}: its stored columns differ from its canonical form")]
    ColumnsDiffer { seq: u64 },
    #[error("entry {seq}: another office holds hash {held} for it")]
    HeadDiffers { seq: u64, held: String },
    #[error("another office holds entry {seq}, which this ledger does not have")]
    HeadMissing { seq: u64 },
}

impl ChainBreak {
    /// The sequence number of the first entry that does not match.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Gap { seq, .. }
            | Self::NotCanonical { seq }
            | Self::HashMismatch { seq }
            | Self::PrevMismatch { seq }
            | Self::ColumnsDiffer { seq }
            | Self::HeadDiffers { seq, .. }
            | Self::HeadMissing { seq } => *seq,
        }
    }
}

/// Checks one stored entry against the one before it (`prev`, [`LedgerHead::empty`] for the
/// first): the sequence goes on by one, the canonical form is what the stored content gives, the
/// hash is the canonical form's, and `prev` names the entry before.
pub fn check(entry: &LedgerEntry, prev: &LedgerHead) -> Result<(), ChainBreak> {
    let seq = entry.seq;
    if seq != prev.seq + 1 {
        return Err(ChainBreak::Gap { seq, expected: prev.seq + 1 });
    }
    let value: Value = serde_json::from_str(&entry.canonical).map_err(|_| ChainBreak::NotCanonical { seq })?;
    if crate::canonical::canonical(&value).ok().as_deref() != Some(entry.canonical.as_str()) {
        return Err(ChainBreak::NotCanonical { seq });
    }
    if crate::digest::sha256_hex(entry.canonical.as_bytes()) != entry.hash {
        return Err(ChainBreak::HashMismatch { seq });
    }
    if value.get("prev").and_then(Value::as_str) != Some(prev.hash.as_str()) || entry.prev != prev.hash {
        return Err(ChainBreak::PrevMismatch { seq });
    }
    if object(entry.seq, entry.at, &entry.prev, &entry.kind) != value {
        return Err(ChainBreak::ColumnsDiffer { seq });
    }
    Ok(())
}

/// An entry as a database row holds it: the canonical form and hash, and beside them, for
/// queries, columns that repeat what the canonical form says. Verification reads these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub prev: String,
    pub hash: String,
    pub kind: String,
    pub client_id: Option<ClientId>,
    pub consent_id: Option<ConsentId>,
    pub canonical: String,
}

impl LedgerRow {
    /// The row of an entry.
    pub fn of(entry: &LedgerEntry) -> Self {
        Self {
            seq: entry.seq,
            at: entry.at,
            prev: entry.prev.clone(),
            hash: entry.hash.clone(),
            kind: entry.kind.name().to_owned(),
            client_id: entry.kind.client_id(),
            consent_id: entry.kind.consent_id(),
            canonical: entry.canonical.clone(),
        }
    }

    /// The entry this row holds, checked against the one before it ([`check`]) and against its
    /// own columns.
    pub fn verify(&self, prev: &LedgerHead) -> Result<LedgerEntry, ChainBreak> {
        let seq = self.seq;
        let kind = EntryKind::from_canonical(&self.canonical).ok_or(ChainBreak::NotCanonical { seq })?;
        if kind.name() != self.kind || kind.client_id() != self.client_id || kind.consent_id() != self.consent_id {
            return Err(ChainBreak::ColumnsDiffer { seq });
        }
        let entry = LedgerEntry {
            seq,
            at: self.at,
            prev: self.prev.clone(),
            kind,
            canonical: self.canonical.clone(),
            hash: self.hash.clone(),
        };
        check(&entry, prev)?;
        Ok(entry)
    }
}

/// Checks heads another office holds of this ledger against the entries here.
pub fn check_heads<'a>(
    held: impl IntoIterator<Item = &'a LedgerHead>,
    hash_at: impl Fn(u64) -> Option<String>,
) -> Result<(), ChainBreak> {
    for head in held {
        if head.seq == 0 {
            continue;
        }
        match hash_at(head.seq) {
            None => return Err(ChainBreak::HeadMissing { seq: head.seq }),
            Some(h) if h != head.hash => {
                return Err(ChainBreak::HeadDiffers { seq: head.seq, held: head.hash.clone() });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-25T09:30:00Z".parse().unwrap()
    }

    fn given(client: ClientId) -> EntryKind {
        EntryKind::ConsentGiven {
            client_id: client,
            consent_id: ConsentId::new(),
            purpose: "continue-counselling".into(),
            recipient: OfficeId::parse("08221000").unwrap(),
            categories: [DataCategory::Identity, DataCategory::Window].into(),
            legal_bases: [LegalBasis::Consent].into(),
            text: ConsentText {
                id: "staffel-handover-consent".into(),
                version: "1".into(),
                language: "de".into(),
                sha256: "ab".repeat(32),
            },
            method: ConsentMethod::OnScreen,
            witnessed_by: "im".into(),
            expires_at: None,
        }
    }

    #[test]
    fn categories_are_written_sorted_by_name() {
        let mut kind = given(ClientId::new());
        if let EntryKind::ConsentGiven { categories, .. } = &mut kind {
            *categories = [
                DataCategory::Health,
                DataCategory::Identity,
                DataCategory::Plan(super::super::GoalArea::Work),
                DataCategory::Plan(super::super::GoalArea::Housing),
            ]
            .into();
        }
        let entry = LedgerEntry::next(&LedgerHead::empty(), at(), kind);
        assert!(
            entry.canonical.contains(r#""categories":["health","identity","plan:housing","plan:work"]"#),
            "{}",
            entry.canonical
        );
        assert_eq!(check(&entry, &LedgerHead::empty()), Ok(()));
    }

    #[test]
    fn a_chain_verifies_and_names_the_first_entry_that_was_changed() {
        let client = ClientId::new();
        let mut chain = Vec::new();
        let mut head = LedgerHead::empty();
        for i in 0..4 {
            let kind = if i == 2 {
                EntryKind::ConsentExpired { client_id: client, consent_id: ConsentId::new() }
            } else {
                given(client)
            };
            let e = LedgerEntry::next(&head, at(), kind);
            head = e.head();
            chain.push(e);
        }
        let verify = |chain: &[LedgerEntry]| {
            let mut prev = LedgerHead::empty();
            for e in chain {
                check(e, &prev)?;
                prev = e.head();
            }
            Ok::<_, ChainBreak>(())
        };
        assert_eq!(verify(&chain), Ok(()));
        assert_eq!(chain[0].prev, GENESIS);
        assert!(
            chain[0]
                .canonical
                .starts_with("{\"at\":\"2026-11-25T09:30:00.000Z\",\"categories\":[\"identity\",\"window\"]")
        );

        let mut changed = chain.clone();
        changed[2].canonical = changed[2].canonical.replace("\"seq\":3", "\"seq\":3 ");
        assert_eq!(verify(&changed).unwrap_err().seq(), 3);
        let mut changed = chain.clone();
        changed[1].canonical = changed[1].canonical.replace("window", "health");
        assert_eq!(verify(&changed), Err(ChainBreak::HashMismatch { seq: 2 }));
        // Rewritten with its hash recomputed: the next entry's `prev` gives it away.
        let mut changed = chain.clone();
        changed[1].hash = crate::digest::sha256_hex(changed[1].canonical.replace("window", "plan:work").as_bytes());
        changed[1].canonical = changed[1].canonical.replace("window", "plan:work");
        assert_eq!(verify(&changed), Err(ChainBreak::ColumnsDiffer { seq: 2 }));
        changed[1].kind = EntryKind::from_canonical(&changed[1].canonical).unwrap();
        assert_eq!(verify(&changed), Err(ChainBreak::PrevMismatch { seq: 3 }));
        // Heads another office holds.
        let hash_at = |seq: u64| chain.get(seq as usize - 1).map(|e| e.hash.clone());
        assert_eq!(check_heads([&chain[1].head()], hash_at), Ok(()));
        let forged = LedgerHead { seq: 2, hash: "cd".repeat(32) };
        assert_eq!(check_heads([&forged], hash_at).unwrap_err().seq(), 2);
        assert_eq!(
            check_heads([&LedgerHead { seq: 9, hash: "ef".repeat(32) }], hash_at),
            Err(ChainBreak::HeadMissing { seq: 9 })
        );
    }
}
