//! Finding clients by name: how names are folded into search terms and sort keys, so that a
//! search for "muell", "mull" or "MÜLL" finds "Müller", "Dvořák" is found as "dvorak", and names
//! in other scripts (Кириленко, حداد) are found by the beginning of any of their words too.
//!
//! A name becomes the set of its words, each folded: Unicode NFKD, combining marks removed,
//! lower case, `ß` → `ss`; words with German umlauts also in their transliterated form (`ä` →
//! `ae`, `ö` → `oe`, `ü` → `ue`). A search matches a client when every word of the search is the
//! beginning of one of the client's terms. Storage keeps the terms in an index of their own.

use std::collections::BTreeSet;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::ClientIdentity;

/// The most words of a search that are used.
pub const MAX_SEARCH_WORDS: usize = 4;

/// A word folded without transliteration: decomposed, marks removed, lower case.
fn fold(word: &str) -> String {
    word.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect::<String>().replace('ß', "ss")
}

/// The German transliteration of a word, folded, if it has an umlaut.
fn transliterate(word: &str) -> Option<String> {
    let lower: String = word.chars().flat_map(char::to_lowercase).collect();
    if !lower.contains(['ä', 'ö', 'ü']) {
        return None;
    }
    Some(fold(&lower.replace('ä', "ae").replace('ö', "oe").replace('ü', "ue")))
}

/// The words of a name: split at anything that is neither a letter nor a digit.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// The search terms of a client's names.
pub fn terms(identity: &ClientIdentity) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for name in [identity.given_name.as_str(), identity.family_name.as_str()] {
        for word in words(name) {
            out.insert(fold(word));
            out.extend(transliterate(word));
        }
    }
    out.retain(|t| !t.is_empty());
    out
}

/// The words of a search, folded (at most [`MAX_SEARCH_WORDS`]).
pub fn query_words(search: &str) -> Vec<String> {
    words(search).map(fold).filter(|w| !w.is_empty()).take(MAX_SEARCH_WORDS).collect()
}

/// The key clients are listed by: family name, then given name, folded.
pub fn sort_key(identity: &ClientIdentity) -> String {
    format!("{}\u{1}{}", fold(identity.family_name.as_str()), fold(identity.given_name.as_str()))
}

/// The smallest string greater than every string that starts with `prefix`: `prefix` with its
/// last character moved one code point on (so `term >= prefix AND term < upper` is a prefix
/// search an ordinary index answers).
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    char::MAX.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PersonName;

    fn who(given: &str, family: &str) -> ClientIdentity {
        ClientIdentity {
            given_name: PersonName::parse(given, "g").unwrap(),
            family_name: PersonName::parse(family, "f").unwrap(),
            date_of_birth: "1990-01-01".parse().unwrap(),
        }
    }

    fn finds(identity: &ClientIdentity, search: &str) -> bool {
        let terms = terms(identity);
        query_words(search).iter().all(|w| terms.iter().any(|t| t.starts_with(w.as_str())))
    }

    #[test]
    fn umlauts_accents_and_other_scripts_are_found() {
        let m = who("Jürgen", "Müller-Lüdenscheidt");
        for s in ["müll", "MULL", "muell", "lüden", "ludenscheidt", "jurg", "juergen müller"] {
            assert!(finds(&m, s), "{s}");
        }
        assert!(!finds(&m, "mueller x"));
        assert!(finds(&who("Antonín", "Dvořák"), "dvorak"));
        assert!(finds(&who("Straße", "Groß"), "gross"));
        assert!(finds(&who("Олена", "Кириленко"), "кири"));
        assert!(finds(&who("Олена", "Кириленко"), "ОЛЕ"));
        assert!(finds(&who("فاطمة", "حداد"), "حد"));
    }

    #[test]
    fn a_prefix_has_an_upper_bound() {
        assert_eq!(prefix_upper_bound("mue"), "muf");
        assert_eq!(prefix_upper_bound("a\u{d7ff}"), "a\u{e000}");
        let upper = prefix_upper_bound("кири");
        assert!("кириленко" < upper.as_str() && "кирилл" < upper.as_str() && "кирк" >= upper.as_str());
    }
}
