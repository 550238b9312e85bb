//! The JSON Schemas of protocol v1 (the files in `schemas/`), compiled once and applied to every
//! payload that arrives from another office.

use std::sync::LazyLock;

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

use super::protocol::MessageKind;

const COMMON: &str = include_str!("../../schemas/common.v1.schema.json");
const HANDOVER: &str = include_str!("../../schemas/handover.v1.schema.json");
const DECISION: &str = include_str!("../../schemas/decision.v1.schema.json");
const RECEIPT: &str = include_str!("../../schemas/receipt.v1.schema.json");
const WITHDRAWAL: &str = include_str!("../../schemas/withdrawal.v1.schema.json");

/// One way a payload breaks its schema: where (JSON Pointer) and which keyword. The offending
/// value is never repeated: it may be personal data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaViolation {
    pub pointer: String,
    pub keyword: String,
}

/// Resolves only our own shared definitions; nothing is ever fetched from the network.
struct Embedded;

impl Retrieve for Embedded {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        match uri.as_str() {
            "urn:staffel:schema:common.v1" => Ok(serde_json::from_str(COMMON)?),
            other => Err(format!("unknown schema {other}").into()),
        }
    }
}

fn compile(source: &str) -> Validator {
    let schema: Value = serde_json::from_str(source).expect("embedded schema is JSON");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .with_retriever(Embedded)
        .build(&schema)
        .expect("embedded schema compiles")
}

struct Schemas {
    handover: Validator,
    decision: Validator,
    withdrawal: Validator,
    receipt: Validator,
}

static SCHEMAS: LazyLock<Schemas> = LazyLock::new(|| Schemas {
    handover: compile(HANDOVER),
    decision: compile(DECISION),
    withdrawal: compile(WITHDRAWAL),
    receipt: compile(RECEIPT),
});

/// Compiles the schemas now rather than on the first message.
pub fn warm_up() {
    LazyLock::force(&SCHEMAS);
}

/// Validates a payload against the schema of its kind; lists at most 20 violations.
pub fn validate(kind: MessageKind, payload: &Value) -> Result<(), Vec<SchemaViolation>> {
    let validator = match kind {
        MessageKind::Handover => &SCHEMAS.handover,
        MessageKind::Decision => &SCHEMAS.decision,
        MessageKind::Withdrawal => &SCHEMAS.withdrawal,
        MessageKind::Receipt => &SCHEMAS.receipt,
    };
    let violations: Vec<_> = validator
        .iter_errors(payload)
        .take(20)
        .map(|e| SchemaViolation { pointer: e.instance_path().to_string(), keyword: e.kind().keyword().to_string() })
        .collect();
    if violations.is_empty() { Ok(()) } else { Err(violations) }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::text::{BLANK, check_account};
    use crate::domain::time::{parse_date, parse_ts};
    use crate::domain::{PersonName, Text};

    /// A validator of one shared definition of `common.v1`.
    fn def(name: &str) -> Validator {
        compile(&serde_json::json!({ "$ref": format!("urn:staffel:schema:common.v1#/$defs/{name}") }).to_string())
    }

    fn valid(v: &Validator, s: &str) -> bool {
        v.is_valid(&Value::String(s.to_owned()))
    }

    /// Characters where readers tend to disagree: every blank, controls, invisible ones, letters.
    fn tricky() -> impl Strategy<Value = char> {
        let mut set: Vec<char> = BLANK.to_vec();
        set.extend(['\u{0}', '\u{7}', '\u{1f}', '\u{7f}', '\u{9f}', '\u{200b}', '\u{180e}', '\u{2060}', '\u{fffd}']);
        set.extend(['a', 'Z', 'ä', 'ß', 'я', 'ع', '😀', '-', '.', '0']);
        proptest::sample::select(set)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Whatever the schema accepts the domain accepts, and what the domain keeps (trimmed)
        /// the schema accepts: so what Staffel stores is always sendable.
        #[test]
        fn text_and_names_agree_with_the_schema(chars in proptest::collection::vec(tricky(), 0..12)) {
            let s: String = chars.into_iter().collect();
            let (text, name, account) = (def("text"), def("name"), def("account"));
            if valid(&text, &s) { prop_assert!(Text::parse(&s, "t").is_ok(), "{s:?}"); }
            if let Ok(t) = Text::parse(&s, "t") { prop_assert!(valid(&text, t.as_str()), "{s:?}"); }
            if valid(&name, &s) { prop_assert!(PersonName::parse(&s, "n").is_ok(), "{s:?}"); }
            if let Ok(n) = PersonName::parse(&s, "n") { prop_assert!(valid(&name, n.as_str()), "{s:?}"); }
            prop_assert_eq!(valid(&account, &s), check_account(&s).is_ok(), "{:?}", s);
        }

        #[test]
        fn dates_and_instants_agree_with_the_schema(
            y in prop_oneof![Just(0u32), Just(1899), Just(1900), 1901u32..2100, Just(9999)],
            m in 0u32..14, d in 0u32..33, h in 0u32..25, min in 0u32..61, sec in 0u32..62,
            frac in prop_oneof![Just(String::new()), Just(".5".to_owned()), Just(".123456789".to_owned()), Just(".".to_owned())],
        ) {
            let date = format!("{y:04}-{m:02}-{d:02}");
            prop_assert_eq!(valid(&def("date"), &date), parse_date(&date).is_ok(), "{}", date);
            let ts = format!("{date}T{h:02}:{min:02}:{sec:02}{frac}Z");
            prop_assert_eq!(valid(&def("timestamp"), &ts), parse_ts(&ts).is_ok(), "{}", ts);
        }
    }
}
