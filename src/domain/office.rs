//! Office ids: the 8-digit Amtlicher Gemeindeschlüssel (AGS) of the municipality an office serves.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::DomainError;

/// An office id: an 8-digit AGS (Land 2 digits, Regierungsbezirk 1, Kreis 2, Gemeinde 3).
///
/// The AGS has no check digit, so parsing checks the shape and the Land code (01-16).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfficeId([u8; 8]);

impl OfficeId {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let bytes: [u8; 8] = s.as_bytes().try_into().map_err(|_| DomainError::InvalidOfficeId)?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(DomainError::InvalidOfficeId);
        }
        let land = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
        if !(1..=16).contains(&land) {
            return Err(DomainError::InvalidOfficeId);
        }
        Ok(Self(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).expect("office id is ASCII")
    }
}

impl fmt::Display for OfficeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OfficeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OfficeId({})", self.as_str())
    }
}

impl std::str::FromStr for OfficeId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for OfficeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OfficeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_municipality_keys() {
        for ags in ["08111000", "08221000", "08212000", "08311000", "08222000"] {
            assert_eq!(OfficeId::parse(ags).unwrap().as_str(), ags);
        }
    }

    #[test]
    fn rejects_malformed_keys() {
        for bad in ["", "0811100", "081110000", "0811100a", "00111000", "17111000", " 8111000", "０8111000"] {
            assert_eq!(OfficeId::parse(bad), Err(DomainError::InvalidOfficeId), "{bad:?}");
        }
    }

    #[test]
    fn serde_goes_through_parse() {
        let id: OfficeId = serde_json::from_str("\"08221000\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"08221000\"");
        assert!(serde_json::from_str::<OfficeId>("\"99999999\"").is_err());
    }
}
