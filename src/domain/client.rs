//! Clients and the identifiers that follow them.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::PersonName;

/// Reads a UUID only in its canonical form: 36 characters, lowercase hexadecimal, hyphens at
/// positions 9, 14, 19 and 24 (`0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9`). The braced, URN, upper
/// case and hyphen-less spellings other parsers accept are refused: one id, one spelling.
pub fn parse_canonical_uuid(s: &str) -> Option<uuid::Uuid> {
    let b = s.as_bytes();
    let canonical = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        });
    if canonical { uuid::Uuid::parse_str(s).ok() } else { None }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(::uuid::Uuid);

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| ::serde::de::Error::custom("not a UUID in canonical form (lowercase, hyphenated)"))
            }
        }

        impl $name {
            pub fn new() -> Self {
                Self(::uuid::Uuid::new_v4())
            }
            pub fn from_uuid(id: ::uuid::Uuid) -> Self {
                Self(id)
            }
            /// Reads the canonical form only ([`parse_canonical_uuid`]).
            pub fn parse(s: &str) -> Option<Self> {
                $crate::domain::client::parse_canonical_uuid(s).map(Self)
            }
            pub fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}
pub(crate) use uuid_id;

uuid_id!(
    /// The id of a client record at one office. Local: it never leaves the office.
    ClientId
);
uuid_id!(
    /// The id of a counselling case across offices: created at the first office and carried by
    /// every handover, so that a client moving back (A → B → A) is recognised.
    CaseId
);

uuid_id!(
    /// A household: adults of one family linked, each with their own window.
    HouseholdId
);

/// The minimal identity a receiving office needs to recognise the person it meets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientIdentity {
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub date_of_birth: NaiveDate,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientIdentity(..)")
    }
}
