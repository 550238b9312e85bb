//! Paging cursors: where a list goes on, handed to the client as an opaque string (`next`) and
//! taken back as the `after` query parameter. The string is base64url (no padding) of a small
//! JSON object; clients must not build or read them. A cursor that does not decode is a
//! `cursor-unknown` problem.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::problem::{Problem, ProblemType};

/// The opaque form of a cursor.
pub fn encode<T: Serialize>(cursor: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).expect("cursors serialise"))
}

/// A cursor from its opaque form, or a `cursor-unknown` problem.
pub fn decode<T: DeserializeOwned>(s: &str) -> Result<T, Problem> {
    let bad = || Problem::new(ProblemType::CursorUnknown).detail("pass `after` the `next` of a page of this list");
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    let value = crate::ijson::parse(&bytes).map_err(|_| bad())?;
    serde_json::from_value(value).map_err(|_| bad())
}

/// A page from the `limit + 1` items storage was asked for: at most `limit` of them, and the
/// cursor of the next page if there was one more.
pub fn page<T, C: Serialize>(mut items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> C) -> (Vec<T>, Option<String>) {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more { items.last().map(|last| encode(&cursor_of(last))) } else { None };
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusal() {
        let c = ("a\u{1}b".to_owned(), 7u32);
        let s = encode(&c);
        assert_eq!(decode::<(String, u32)>(&s).unwrap(), c);
        assert!(decode::<(String, u32)>("not-a-cursor").is_err());
        assert!(decode::<(String, u32)>(&encode(&"other")).is_err());
    }
}
