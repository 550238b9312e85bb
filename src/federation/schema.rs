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
    receipt: Validator,
}

static SCHEMAS: LazyLock<Schemas> =
    LazyLock::new(|| Schemas { handover: compile(HANDOVER), decision: compile(DECISION), receipt: compile(RECEIPT) });

/// Compiles the schemas now rather than on the first message.
pub fn warm_up() {
    LazyLock::force(&SCHEMAS);
}

/// Validates a payload against the schema of its kind; lists at most 20 violations.
pub fn validate(kind: MessageKind, payload: &Value) -> Result<(), Vec<SchemaViolation>> {
    let validator = match kind {
        MessageKind::Handover => &SCHEMAS.handover,
        MessageKind::Decision => &SCHEMAS.decision,
        MessageKind::Receipt => &SCHEMAS.receipt,
    };
    let violations: Vec<_> = validator
        .iter_errors(payload)
        .take(20)
        .map(|e| SchemaViolation { pointer: e.instance_path().to_string(), keyword: e.kind().keyword().to_string() })
        .collect();
    if violations.is_empty() { Ok(()) } else { Err(violations) }
}
