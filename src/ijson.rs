//! A strict JSON reader: every text Staffel takes from outside (federation payloads and JWS
//! headers, caseworker API bodies) must be I-JSON (RFC 7493), so that every reader of a message
//! sees the same value. Beyond RFC 8259 it refuses:
//!
//! - input that is not UTF-8, or starts with a byte order mark;
//! - a member name twice in one object (at any depth);
//! - strings with surrogate code points (lone `\uD800`, or an escaped pair in the wrong order)
//!   or with Unicode noncharacters (U+FDD0 to U+FDEF, and U+xFFFE, U+xFFFF of every plane);
//! - numbers a IEEE 754 double cannot hold: an integer written without fraction or exponent
//!   beyond ±(2^53 − 1), a value that overflows to infinity, or one that underflows to zero
//!   although a digit of it is not zero;
//! - nesting deeper than [`MAX_DEPTH`].
//!
//! Numbers with a fraction or an exponent whose value is a whole number within ±(2^53 − 1)
//! (`3.0`, `3e0`) are read as that integer: JSON Schema and I-JSON see the same number in them,
//! so Staffel does too.

use serde_json::{Map, Number, Value};

/// How deep arrays and objects may nest.
pub const MAX_DEPTH: usize = 64;

/// The largest integer magnitude a double holds exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a text is not I-JSON. `pointer` is a JSON Pointer (RFC 6901) to the value at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IJsonError {
    #[error("not JSON: {reason} at byte {offset}")]
    Syntax { offset: usize, reason: &'static str },
    #[error("the member {pointer} occurs twice")]
    DuplicateMember { pointer: String },
    #[error("the string at {pointer} holds a surrogate or a noncharacter")]
    InvalidString { pointer: String },
    #[error("the number at {pointer} is beyond what a double holds")]
    NumberOutOfRange { pointer: String },
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

impl IJsonError {
    /// A short name of the kind of violation, as problem documents give it.
    pub fn violation(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "syntax",
            Self::DuplicateMember { .. } => "duplicate-member",
            Self::InvalidString { .. } => "invalid-string",
            Self::NumberOutOfRange { .. } => "number-out-of-range",
            Self::TooDeep => "too-deep",
        }
    }

    /// The JSON Pointer of the value at fault, where there is one.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            Self::DuplicateMember { pointer }
            | Self::InvalidString { pointer }
            | Self::NumberOutOfRange { pointer } => Some(pointer),
            Self::Syntax { .. } | Self::TooDeep => None,
        }
    }
}

/// Reads one I-JSON text (surrounding whitespace allowed, nothing else).
pub fn parse(bytes: &[u8]) -> Result<Value, IJsonError> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| IJsonError::Syntax { offset: e.valid_up_to(), reason: "not UTF-8" })?;
    if text.starts_with('\u{feff}') {
        return Err(IJsonError::Syntax { offset: 0, reason: "byte order mark" });
    }
    let mut reader = Reader { s: text.as_bytes(), text, i: 0, path: Vec::new() };
    reader.ws();
    let value = reader.value(0)?;
    reader.ws();
    if reader.i != reader.s.len() {
        return Err(reader.syntax("trailing characters"));
    }
    Ok(value)
}

enum Segment {
    Key(String),
    Index(usize),
}

struct Reader<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    path: Vec<Segment>,
}

fn is_noncharacter(c: char) -> bool {
    let n = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&n) || (n & 0xFFFE) == 0xFFFE
}

impl Reader<'_> {
    fn syntax(&self, reason: &'static str) -> IJsonError {
        IJsonError::Syntax { offset: self.i, reason }
    }

    fn pointer(&self) -> String {
        self.path
            .iter()
            .map(|s| match s {
                Segment::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
                Segment::Index(i) => format!("/{i}"),
            })
            .collect()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, IJsonError> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(self.syntax("unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, IJsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.syntax("unexpected character")),
            None => Err(self.syntax("unexpected end")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, IJsonError> {
        if depth > MAX_DEPTH {
            return Err(IJsonError::TooDeep);
        }
        self.i += 1;
        let mut map = Map::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected a member name"));
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.syntax("expected ':'"));
            }
            self.i += 1;
            self.ws();
            self.path.push(Segment::Key(key.clone()));
            if map.contains_key(&key) {
                return Err(IJsonError::DuplicateMember { pointer: self.pointer() });
            }
            let value = self.value(depth)?;
            self.path.pop();
            map.insert(key, value);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.syntax("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, IJsonError> {
        if depth > MAX_DEPTH {
            return Err(IJsonError::TooDeep);
        }
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.ws();
            self.path.push(Segment::Index(items.len()));
            let value = self.value(depth)?;
            self.path.pop();
            items.push(value);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.syntax("expected ',' or ']'")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, IJsonError> {
        let digits = self.s.get(self.i..self.i + 4).ok_or_else(|| self.syntax("short \\u escape"))?;
        let s = std::str::from_utf8(digits).map_err(|_| self.syntax("bad \\u escape"))?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.syntax("bad \\u escape"));
        }
        self.i += 4;
        Ok(u16::from_str_radix(s, 16).expect("four hex digits"))
    }

    /// A string; the position is on its opening quote.
    fn string(&mut self) -> Result<String, IJsonError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            // Copy a run of plain characters at once (the input is valid UTF-8).
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            let run = &self.text[start..self.i];
            if run.chars().any(is_noncharacter) {
                return Err(IJsonError::InvalidString { pointer: self.pointer() });
            }
            out.push_str(run);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let escape = self.peek().ok_or_else(|| self.syntax("unexpected end"))?;
                    self.i += 1;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.syntax("unknown escape")),
                    };
                    out.push(c);
                }
                Some(_) => return Err(self.syntax("control character in a string")),
                None => return Err(self.syntax("unterminated string")),
            }
        }
    }

    /// The character of a `\u` escape (after `\u`), joining a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, IJsonError> {
        let invalid = |r: &Self| IJsonError::InvalidString { pointer: r.pointer() };
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.s[self.i..].starts_with(b"\\u") {
                    return Err(invalid(self));
                }
                self.i += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(invalid(self));
                }
                0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(invalid(self)),
            other => u32::from(other),
        };
        let c = char::from_u32(code).ok_or_else(|| invalid(self))?;
        if is_noncharacter(c) {
            return Err(invalid(self));
        }
        Ok(c)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, IJsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.syntax("bad number")),
        }
        let mut integral_literal = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            integral_literal = false;
            if self.digits() == 0 {
                return Err(self.syntax("bad number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            integral_literal = false;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.syntax("bad number"));
            }
        }
        let literal = &self.text[start..self.i];
        let out_of_range = || IJsonError::NumberOutOfRange { pointer: self.pointer() };
        if integral_literal {
            let magnitude = literal.trim_start_matches('-');
            // More than 16 digits is beyond 2^53 - 1 (9007199254740991) for certain.
            let n: u64 = if magnitude.len() > 16 { u64::MAX } else { magnitude.parse().expect("digits") };
            if n > MAX_SAFE_INTEGER {
                return Err(out_of_range());
            }
            return Ok(if literal.starts_with('-') {
                Value::Number(Number::from(-i64::try_from(n).expect("below 2^53")))
            } else {
                Value::Number(Number::from(n))
            });
        }
        let f: f64 = literal.parse().map_err(|_| self.syntax("bad number"))?;
        if !f.is_finite() {
            return Err(out_of_range());
        }
        let mantissa = literal.split(['e', 'E']).next().unwrap_or_default();
        if f == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            return Err(out_of_range());
        }
        if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64 {
            // A whole number written with a fraction or exponent: the same number as the integer.
            let n = f as i64;
            return Ok(if n >= 0 { Value::Number(Number::from(n as u64)) } else { Value::Number(Number::from(n)) });
        }
        Number::from_f64(f).map(Value::Number).ok_or_else(out_of_range)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"a":[1,-2,3.5,true,false,null,"x\u00e4\n\"\\\/"],"b":{"c":{}},"d":[]}"#,
            " [ ] ",
            "0",
            "\"\u{1F600} \\ud83d\\ude00\"",
            "1.5e300",
            "123456789012.25",
        ] {
            assert_eq!(parse(text.as_bytes()).unwrap(), serde_json::from_str::<Value>(text).unwrap(), "{text}");
        }
    }

    #[test]
    fn refuses_duplicate_members_at_any_depth() {
        assert_eq!(
            parse(br#"{"receiver":"1","receiver":"2"}"#),
            Err(IJsonError::DuplicateMember { pointer: "/receiver".into() })
        );
        assert_eq!(
            parse(br#"{"case":{"plan":{"goals":[{"id":1,"a/b":2,"a/b":3}]}}}"#),
            Err(IJsonError::DuplicateMember { pointer: "/case/plan/goals/0/a~1b".into() })
        );
        // Equal after unescaping is the same name.
        assert!(matches!(parse(br#"{"a":1,"\u0061":2}"#), Err(IJsonError::DuplicateMember { .. })));
    }

    #[test]
    fn refuses_surrogates_and_noncharacters() {
        for text in [r#"["\ud800"]"#, r#"["\udc00\ud800"]"#, r#"["\ud800x"]"#, r#"["\ud800\u0041"]"#, r#"["\ufffe"]"#] {
            assert_eq!(parse(text.as_bytes()), Err(IJsonError::InvalidString { pointer: "/0".into() }), "{text}");
        }
        assert!(matches!(parse("[\"\u{fdd0}\"]".as_bytes()), Err(IJsonError::InvalidString { .. })));
        assert!(matches!(parse("{\"\u{10ffff}\":1}".as_bytes()), Err(IJsonError::InvalidString { .. })));
        assert!(matches!(parse(b"[\"\xed\xa0\x80\"]"), Err(IJsonError::Syntax { .. })), "raw surrogate is no UTF-8");
    }

    #[test]
    fn numbers_stay_within_a_double() {
        assert_eq!(parse(b"9007199254740991").unwrap(), json!(9007199254740991u64));
        assert_eq!(parse(b"-9007199254740991").unwrap(), json!(-9007199254740991i64));
        for text in
            ["9007199254740992", "-9007199254740992", "123456789012345678901234567890", "1e400", "-1e400", "1e-400"]
        {
            assert!(matches!(parse(text.as_bytes()), Err(IJsonError::NumberOutOfRange { .. })), "{text}");
        }
        assert_eq!(parse(b"0e-400").unwrap(), json!(0));
        assert_eq!(parse(b"-0").unwrap(), json!(0));
        // Whole numbers written with a fraction or exponent are those integers.
        assert_eq!(parse(b"[3.0, 3e0, 30E-1, -2.0]").unwrap(), json!([3, 3, 3, -2]));
        assert_eq!(parse(b"1e300").unwrap(), json!(1e300));
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in [
            &b""[..],
            b"{",
            b"[1,]",
            b"{\"a\" 1}",
            b"01",
            b"1.",
            b".5",
            b"+1",
            b"[1] x",
            b"\"a\x01\"",
            b"'a'",
            b"[nul]",
            b"\"\\x\"",
            b"\xef\xbb\xbf[]",
            b"[\xff]",
            b"NaN",
        ] {
            assert!(matches!(parse(text), Err(IJsonError::Syntax { .. })), "{:?}", String::from_utf8_lossy(text));
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(deep.as_bytes()), Err(IJsonError::TooDeep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
    }
}
