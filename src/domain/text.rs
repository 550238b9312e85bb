//! Free text, names and account names, checked at the boundary, by exactly the rules the
//! protocol schema (`common.v1`: `text`, `name`, `account`) states, so that whatever Staffel
//! accepts and stores another office's validator accepts too.
//!
//! - Control characters are Unicode's Cc: U+0000 to U+001F and U+007F to U+009F.
//! - Blank characters are [`BLANK`]: the union of what ECMAScript (`\s`, used by JSON Schema
//!   `pattern`) and Unicode (White_Space) count as white space, so no reader takes a value for
//!   blank that another does not.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::DomainError;

/// The characters a value may not consist of alone, and that are trimmed from its ends.
pub const BLANK: &[char] = &[
    '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}',
    '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}',
    '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}', '\u{feff}',
];

pub fn is_blank(c: char) -> bool {
    BLANK.contains(&c)
}

fn check(s: &str, field: &'static str, max_chars: usize) -> Result<String, DomainError> {
    let t = s.trim_matches(is_blank);
    if t.is_empty() {
        return Err(DomainError::InvalidText { field, reason: "must not be empty or blank" });
    }
    if t.chars().count() > max_chars {
        return Err(DomainError::InvalidText { field, reason: "is too long" });
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(DomainError::InvalidText { field, reason: "contains control characters" });
    }
    Ok(t.to_owned())
}

/// The most characters an account name has.
pub const ACCOUNT_MAX_CHARS: usize = 200;

/// Checks an account name as it may appear in a message (`decided_by`, `witnessed_by`, `actor`,
/// ...): 1 to 200 characters, no control character, not beginning or ending with a blank one.
/// Account names are identifiers: they are checked, never trimmed.
pub fn check_account(s: &str) -> Result<(), DomainError> {
    let field = "account";
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else {
        return Err(DomainError::InvalidText { field, reason: "must not be empty" });
    };
    if s.chars().count() > ACCOUNT_MAX_CHARS {
        return Err(DomainError::InvalidText { field, reason: "is too long" });
    }
    if s.chars().any(char::is_control) {
        return Err(DomainError::InvalidText { field, reason: "contains control characters" });
    }
    if is_blank(first) || is_blank(last) {
        return Err(DomainError::InvalidText { field, reason: "begins or ends with a blank" });
    }
    Ok(())
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
    fn blank_means_blank_to_every_reader() {
        for blank in ["\u{feff}", "\u{3000}", " \u{a0}\u{2028}", "\u{85}"] {
            assert!(PersonName::parse(blank, "n").is_err(), "{blank:?}");
            assert!(Text::parse(blank, "t").is_err(), "{blank:?}");
        }
        assert_eq!(PersonName::parse("\u{feff}Olena\u{3000}", "n").unwrap().as_str(), "Olena");
        // Invisible, but not white space anywhere: a character like any other.
        assert!(PersonName::parse("\u{200b}", "n").is_ok());
    }

    #[test]
    fn account_names_are_checked_not_trimmed() {
        assert!(check_account("im-stuttgart-01").is_ok());
        assert!(check_account("Anna Beispiel").is_ok());
        for bad in ["", " im", "im ", "im\u{7}x", "a\nb", &"x".repeat(201)] {
            assert!(check_account(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_output_hides_content() {
        let n = PersonName::parse("Olena", "n").unwrap();
        assert!(!format!("{n:?}").contains("Olena"));
        let t = Text::parse("Diagnose", "t").unwrap();
        assert!(!format!("{t:?}").contains("Diagnose"));
    }
}
