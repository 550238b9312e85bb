//! The JSON Canonicalization Scheme (RFC 8785) for the values Staffel hashes: ledger entries.
//! Another implementation recomputes the same bytes from the same value: object members sorted
//! by their names' UTF-16 code units, no whitespace, strings with the minimal JSON escapes (`\"`,
//! `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other characters below U+0020 as `\u00xx` in lower case,
//! everything else as it is, in UTF-8), integers in plain decimal.
//!
//! Staffel's hashed values hold no fractional numbers; one is refused rather than formatted
//! (RFC 8785 would need ECMAScript's number-to-string rules for it).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a fractional number cannot be canonicalised here")]
pub struct NotCanonical;

/// The canonical form of `value`.
pub fn canonical(value: &Value) -> Result<String, NotCanonical> {
    let mut out = String::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut String) -> Result<(), NotCanonical> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => out.push_str(&u.to_string()),
            (None, Some(i)) => out.push_str(&i.to_string()),
            _ => return Err(NotCanonical),
        },
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (name, value)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(name, out);
                out.push(':');
                write(value, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn members_sorted_by_utf16_no_whitespace_minimal_escapes() {
        let v = json!({"b": [1, -2, true, null], "a": "x\u{1}\"\\\n/ä€😀", "\u{e000}": 1, "😀": 2, "A": {}});
        // U+1F600 is a surrogate pair (D83D ...) in UTF-16 and sorts before U+E000 there.
        assert_eq!(
            canonical(&v).unwrap(),
            "{\"A\":{},\"a\":\"x\\u0001\\\"\\\\\\n/ä€😀\",\"b\":[1,-2,true,null],\"😀\":2,\"\u{e000}\":1}"
        );
        assert_eq!(canonical(&json!(1.5)), Err(NotCanonical));
    }

    #[test]
    fn rfc_8785_example_without_fractions() {
        // The example of RFC 8785 section 3.2.2, its numbers left out.
        let v: Value = serde_json::from_str(
            r#"{"literals": [null, true, false], "string": "€$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"}"#,
        )
        .unwrap();
        assert_eq!(canonical(&v).unwrap(), r#"{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}"#);
    }
}
