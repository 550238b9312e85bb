//! Free text and names, checked at the boundary.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::DomainError;

fn check(s: &str, field: &'static str, max_chars: usize) -> Result<String, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DomainError::InvalidText { field, reason: "must not be empty" });
    }
    if t.chars().count() > max_chars {
        return Err(DomainError::InvalidText { field, reason: "is too long" });
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(DomainError::InvalidText { field, reason: "contains control characters" });
    }
    Ok(t.to_owned())
}

/// Free text of a plan or a decision: trimmed, not empty, at most 4000 characters.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub const MAX_CHARS: usize = 4000;

    pub fn parse(s: &str, field: &'static str) -> Result<Self, DomainError> {
        check(s, field, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    // Free text may hold personal data: keep it out of debug output and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({} chars)", self.0.chars().count())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s, "text").map_err(serde::de::Error::custom)
    }
}

/// A given or family name: trimmed, not empty, at most 200 characters, one line.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(s: &str, field: &'static str) -> Result<Self, DomainError> {
        let t = check(s, field, 200)?;
        if t.contains(['\n', '\t']) {
            return Err(DomainError::InvalidText { field, reason: "must be one line" });
        }
        Ok(Self(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonName(..)")
    }
}

impl<'de> Deserialize<'de> for PersonName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s, "name").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_rejects_empty_or_control() {
        assert_eq!(Text::parse("  Deutschkurs B1 ", "d").unwrap().as_str(), "Deutschkurs B1");
        assert!(Text::parse("   ", "d").is_err());
        assert!(Text::parse("a\u{0007}b", "d").is_err());
        assert!(Text::parse(&"x".repeat(4001), "d").is_err());
        assert!(PersonName::parse("Amina\nB", "n").is_err());
        assert!(PersonName::parse("Olena", "n").is_ok());
    }

    #[test]
    fn debug_output_hides_content() {
        let n = PersonName::parse("Olena", "n").unwrap();
        assert!(!format!("{n:?}").contains("Olena"));
        let t = Text::parse("Diagnose", "t").unwrap();
        assert!(!format!("{t:?}").contains("Diagnose"));
    }
}
