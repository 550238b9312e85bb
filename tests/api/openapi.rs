//! Keeps the OpenAPI document true. The document is generated from the handlers
//! (`staffel::http::api::openapi`); these tests check that `docs/openapi.json` is that document
//! written out, that the document is consistent in itself, and that real offices, driven through
//! every operation, answer only with documented status codes and with bodies that match the
//! documented schemas.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::*;
use chrono::Datelike;
use jsonschema::Validator;
use serde_json::{Value, json};
use staffel::demo::DemoOffice;
use staffel::dev_pki as dev;
use staffel::http::problem::ProblemType;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const P: &str = "urn:staffel:problem:";

/// The generated document, as served.
fn doc() -> Value {
    serde_json::from_str(staffel::http::api::openapi_json()).expect("the generated document is JSON")
}

// ---------------------------------------------------------------------------------------------
// docs/openapi.json: the generated document, written out for readers.

/// `STAFFEL_WRITE_OPENAPI=1 cargo test --test api openapi` writes the generated document to
/// docs/openapi.json first; either way the file must then hold exactly the generated document.
#[test]
fn docs_openapi_json_is_the_generated_document() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
    let generated = staffel::http::api::openapi_json();
    if std::env::var_os("STAFFEL_WRITE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(path, generated).expect("docs/openapi.json is writable");
    }
    let written = std::fs::read_to_string(path).expect("docs/openapi.json is there");
    assert!(
        written == generated,
        "docs/openapi.json is not the document the code generates; regenerate it with \
         `STAFFEL_WRITE_OPENAPI=1 cargo test --test api openapi` and commit it"
    );
}

#[test]
fn the_document_is_generated_alike_every_time() {
    let again = serde_json::to_value(staffel::http::api::openapi()).unwrap();
    assert_eq!(again, doc(), "two generations differ");
}

// ---------------------------------------------------------------------------------------------
// The document's own consistency.

/// Follows a local `$ref` (`#/a/b`) from the document root.
fn pointer<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let p = reference.strip_prefix('#').unwrap_or_else(|| panic!("{reference} is not a local reference"));
    doc.pointer(p).unwrap_or_else(|| panic!("{reference} resolves to nothing"))
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) if v.as_object().is_some_and(|o| o.len() == 1) => resolve(doc, pointer(doc, r)),
        _ => v,
    }
}

fn all_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => all_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| all_refs(v, out)),
        _ => {}
    }
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                ops.push((method.clone(), path.clone(), op));
            }
        }
    }
    ops
}

const PUBLIC: [&str; 4] = ["GET /healthz", "GET /readyz", "GET /api/v1/openapi.json", "POST /api/v1/login"];
/// Operations for the scrape token of the config alone (security scheme `metrics`), no account.
const SCRAPE: [&str; 1] = ["GET /metrics"];
const ROLES: [&str; 3] = ["integration-manager", "team-lead", "administrator"];

#[test]
fn the_document_is_consistent() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut refs = Vec::new();
    all_refs(&doc, &mut refs);
    for r in refs {
        pointer(&doc, r);
    }
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let name = format!("{} {path}", method.to_uppercase());
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{name}: no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        // Bearer tokens everywhere but on the public operations; roles on all others.
        let public = op.get("security") == Some(&json!([]));
        assert_eq!(public, PUBLIC.contains(&name.as_str()), "{name}: security");
        if SCRAPE.contains(&name.as_str()) {
            assert_eq!(op.get("security"), Some(&json!([{"metrics": []}])), "{name}: the scrape token");
            assert!(op.get("x-staffel-roles").is_none(), "{name}: no account's role");
            assert!(op["responses"].get("401").is_some(), "{name}: no 401");
        } else {
            match op.get("x-staffel-roles") {
                Some(roles) => {
                    assert!(!public, "{name}: public, with roles");
                    let roles = roles.as_array().unwrap();
                    assert!(!roles.is_empty() && roles.iter().all(|r| ROLES.contains(&r.as_str().unwrap())), "{name}");
                    // Every authenticated operation can answer 401, and 403 where a role is left out.
                    assert!(op["responses"].get("401").is_some(), "{name}: no 401");
                    assert_eq!(op["responses"].get("403").is_some(), roles.len() < ROLES.len(), "{name}: 403");
                }
                None => assert!(public, "{name}: no x-staffel-roles"),
            }
        }
        // Path parameters: those of the template, no more.
        let in_template: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        let declared: BTreeSet<&str> = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| resolve(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{name}: path parameters are required");
                p["name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(in_template, declared, "{name}: path parameters");
        // Failures are problem documents; every response schema compiles.
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{name}: no responses"));
        assert!(responses.keys().any(|s| s.starts_with('2')), "{name}: no success response");
        for (status, response) in responses {
            let response = resolve(&doc, response);
            let content = response.get("content").and_then(Value::as_object);
            if status.starts_with('4') || status.starts_with('5') {
                let media: Vec<_> = content.unwrap_or_else(|| panic!("{name} {status}: no content")).keys().collect();
                assert_eq!(media, ["application/problem+json"], "{name} {status}");
                // The problem types an answer names exist, and are of its status.
                let schema = &response["content"]["application/problem+json"]["schema"];
                let types = problem_types(schema);
                assert!(!types.is_empty(), "{name} {status}: names no problem type");
                for uri in types {
                    let kind = ProblemType::ALL
                        .iter()
                        .find(|k| k.uri() == uri)
                        .unwrap_or_else(|| panic!("{name} {status}: {uri} is no problem type"));
                    assert_eq!(kind.status().as_str(), status, "{name}: {uri} is not a {status}");
                }
            }
            for (media, m) in content.into_iter().flatten() {
                compile(&doc, &m["schema"], &format!("{name} {status} {media}"));
            }
        }
        // Every operation can meet headers too large; every one with a body, a body not I-JSON,
        // too large, or not JSON at all.
        assert!(responses.contains_key("431"), "{name}: no 431");
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{name}: a body, and no {status}");
            }
        }
        if let Some(body) = op.get("requestBody") {
            compile(&doc, &body["content"]["application/json"]["schema"], &format!("{name} request body"));
        }
    }
}

/// The problem types (URIs) a problem answer's schema narrows the problem document to.
fn problem_types(schema: &Value) -> Vec<&str> {
    schema["allOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|part| part["properties"]["type"]["enum"].as_array())
        .flatten()
        .map(|t| t.as_str().expect("a problem type is a string"))
        .collect()
}

/// A validator for a schema of the document, with the document's components beside it so that
/// `#/components/...` references resolve.
fn compile(doc: &Value, schema: &Value, what: &str) -> Validator {
    let mut root = schema.as_object().unwrap_or_else(|| panic!("{what}: schema is not an object")).clone();
    root.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    root.insert("components".into(), doc["components"].clone());
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .unwrap_or_else(|e| panic!("{what}: schema does not compile: {e}"))
}

fn check(validator: &Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .take(10)
        .map(|e| format!("at {:?}: {e}", e.instance_path().to_string()))
        .collect();
    assert!(errors.is_empty(), "{what} does not match its schema:\n  {}\nbody: {instance:#}", errors.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// A client of the API that checks every answer against the document.

/// Who calls: an office's API and a bearer token (or none).
#[derive(Clone)]
struct Who {
    api: String,
    token: Option<String>,
}

fn as_user(o: &DemoOffice, token: String) -> Who {
    Who { api: o.api.clone(), token: Some(token) }
}

fn anonymous(o: &DemoOffice) -> Who {
    Who { api: o.api.clone(), token: None }
}

struct Driver {
    doc: Value,
    http: reqwest::Client,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
    /// (method, path template) → status codes seen.
    seen: Mutex<BTreeMap<(String, String), BTreeSet<u16>>>,
}

impl Driver {
    fn new() -> Self {
        Self {
            doc: doc(),
            http: reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap(),
            validators: Mutex::default(),
            seen: Mutex::default(),
        }
    }

    fn validator(&self, key: &str, schema: &Value) -> Arc<Validator> {
        let mut cache = self.validators.lock().unwrap();
        cache.entry(key.to_owned()).or_insert_with(|| Arc::new(compile(&self.doc, schema, key))).clone()
    }

    fn operation(&self, method: &str, template: &str) -> &Value {
        self.doc["paths"]
            .get(template)
            .and_then(|item| item.get(method))
            .unwrap_or_else(|| panic!("{} {template} is not in the OpenAPI document", method.to_uppercase()))
    }

    /// Calls `"METHOD /path/{template}?query"` with `args` for the template's parameters, in
    /// order, and checks the answer against the document: the status is documented for the
    /// operation, the media type too, and the body matches the schema. A request that succeeds
    /// must match the documented request body and name only documented query parameters.
    async fn call(&self, who: &Who, call: &str, args: &[&str], body: Option<Value>) -> (u16, Value) {
        let (method, target) = call.split_once(' ').expect("\"METHOD /path\"");
        let (template, query) = target.split_once('?').unwrap_or((target, ""));
        let method_lc = method.to_ascii_lowercase();
        let mut path = String::new();
        let mut args = args.iter();
        for segment in template.split('/').skip(1) {
            path.push('/');
            if segment.starts_with('{') {
                path.push_str(args.next().unwrap_or_else(|| panic!("{call}: too few arguments")));
            } else {
                path.push_str(segment);
            }
        }
        assert!(args.next().is_none(), "{call}: too many arguments");
        let url = if query.is_empty() { format!("{}{path}", who.api) } else { format!("{}{path}?{query}", who.api) };
        let mut request = self.http.request(method.parse().unwrap(), url);
        if let Some(token) = &who.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{call}: {e}"));
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let text = response.text().await.unwrap();

        let name = format!("{method} {template}");
        let op = self.operation(&method_lc, template);
        let documented = op["responses"]
            .get(status.to_string())
            .unwrap_or_else(|| panic!("{name} answered {status}, which is not documented for it: {text}"));
        let documented = resolve(&self.doc, documented);
        let value = match documented.get("content").and_then(Value::as_object) {
            None => {
                assert!(text.is_empty(), "{name} {status}: documented without content, answered {text:?}");
                Value::Null
            }
            Some(content) => {
                let essence = content_type.split(';').next().unwrap_or_default().trim();
                let media = content.get(essence).unwrap_or_else(|| {
                    panic!("{name} {status}: answered as {content_type:?}, documented as {:?}", content.keys())
                });
                let value = if essence.ends_with("json") {
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} {status}: not JSON ({e}): {text}"))
                } else {
                    Value::String(text)
                };
                let key = format!("{name} {status} {essence}");
                check(&self.validator(&key, &media["schema"]), &value, &key);
                if essence == "application/problem+json" {
                    assert_eq!(value["status"], status, "{name}: problem status");
                }
                value
            }
        };
        if (200..300).contains(&status) {
            match (&body, op.get("requestBody")) {
                (Some(body), Some(documented)) => {
                    let key = format!("{name} request");
                    let schema = &documented["content"]["application/json"]["schema"];
                    check(&self.validator(&key, schema), body, &key);
                }
                (Some(_), None) => panic!("{name}: a body was sent and accepted, but none is documented"),
                (None, Some(documented)) => {
                    assert_ne!(documented["required"], true, "{name}: succeeded without its required body")
                }
                (None, None) => {}
            }
            let params: Vec<&Value> = op.get("parameters").and_then(Value::as_array).into_iter().flatten().collect();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let key = pair.split('=').next().unwrap();
                assert!(
                    params.iter().any(|p| p["in"] == "query" && p["name"] == key),
                    "{name}: query parameter {key} is not documented"
                );
            }
        }
        self.seen.lock().unwrap().entry((method_lc, template.to_owned())).or_default().insert(status);
        (status, value)
    }

    /// Like [`Self::call`], and the status must be `expect`.
    async fn expect(&self, who: &Who, call: &str, args: &[&str], body: Option<Value>, expect: u16) -> Value {
        let (status, value) = self.call(who, call, args, body).await;
        assert_eq!(status, expect, "{call} {args:?}: {value}");
        value
    }

    /// Like [`Self::call`], and the answer must be the problem `slug` with `expect`.
    async fn problem(&self, who: &Who, call: &str, args: &[&str], body: Option<Value>, expect: u16, slug: &str) {
        let (status, value) = self.call(who, call, args, body).await;
        assert_eq!((status, value["type"].as_str().unwrap_or("-")), (expect, &*format!("{P}{slug}")), "{call}");
    }

    /// Polls a GET until `field` is `want`.
    async fn wait_for(&self, who: &Who, call: &str, args: &[&str], field: &str, want: &str) -> Value {
        let start = Instant::now();
        loop {
            let value = self.expect(who, call, args, None, 200).await;
            if value[field] == want {
                return value;
            }
            assert!(start.elapsed() < Duration::from_secs(15), "{call}: {field} is {} after 15 s", value[field]);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Every operation of the document was seen succeeding, with each success status it documents.
    fn assert_every_success_seen(&self) {
        let seen = self.seen.lock().unwrap();
        let mut missing = Vec::new();
        for (method, path, op) in operations(&self.doc) {
            for status in op["responses"].as_object().unwrap().keys().filter(|s| s.starts_with('2')) {
                let status: u16 = status.parse().unwrap();
                if !seen.get(&(method.clone(), path.clone())).is_some_and(|s| s.contains(&status)) {
                    missing.push(format!("{} {path} {status}", method.to_uppercase()));
                }
            }
        }
        assert!(missing.is_empty(), "documented successes never seen: {missing:?}");
    }
}

/// Random ids for the path parameters of a template.
fn dummy_args(template: &str) -> Vec<String> {
    template.split('/').filter(|s| s.starts_with('{')).map(|_| uuid::Uuid::new_v4().to_string()).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_owned()
}

fn client_body(given: &str, first_session: chrono::NaiveDate) -> Value {
    json!({"given_name": given, "family_name": "Beispiel", "date_of_birth": "1990-01-31",
           "first_session": first_session, "target_group": "follow-up-accommodation", "benefits": "sgb-ii"})
}

// ---------------------------------------------------------------------------------------------
// The service, driven through every operation.

#[tokio::test]
async fn the_service_answers_as_documented() {
    // Heidelberg requires four eyes, Stuttgart does not.
    let federation = offices(&[STUTTGART, HEIDELBERG])
        .configure(|c| {
            c.office.four_eyes = c.office.id.as_str() == HEIDELBERG;
            c.metrics.token_sha256 = Some(staffel::digest::token_digest("scrape-token"));
        })
        .start()
        .await;
    let offices = federation.offices;
    let (a, b) = (&offices[0], &offices[1]);
    let im = as_user(a, dev::dev_token(STUTTGART));
    let lead = as_user(a, dev::dev_lead_token(STUTTGART));
    let admin = as_user(a, dev::dev_admin_token(STUTTGART));
    let im_b = as_user(b, dev::dev_token(HEIDELBERG));
    let lead_b = as_user(b, dev::dev_lead_token(HEIDELBERG));
    let d = Driver::new();
    let today = today();
    let days = chrono::Duration::days;

    // The service itself; the document is served as it is.
    let health = d.expect(&anonymous(a), "GET /healthz", &[], None, 200).await;
    d.expect(&anonymous(a), "GET /readyz", &[], None, 200).await;
    assert_eq!(health, "ok");
    let served = d.http.get(format!("{}/api/v1/openapi.json", a.api)).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "application/json");
    assert_eq!(
        served.text().await.unwrap(),
        staffel::http::api::openapi_json(),
        "GET /api/v1/openapi.json is not the generated document"
    );
    d.expect(&anonymous(a), "GET /api/v1/openapi.json", &[], None, 200).await;
    d.expect(&as_user(a, "scrape-token".into()), "GET /metrics", &[], None, 200).await;
    d.problem(&im, "GET /metrics", &[], None, 401, "unauthorized").await;
    let me = d.expect(&im, "GET /api/v1/office", &[], None, 200).await;
    assert_eq!(me["you"]["role"], "integration-manager");

    // Clients.
    let first = today - days(400);
    let c1 = d.expect(&im, "POST /api/v1/clients", &[], Some(client_body("Testa", first)), 201).await;
    let c1 = id(&c1);
    let mut body = client_body("Tessa", today - days(30));
    body["benefits"] = json!("none");
    body["discretion_reason"] = json!("Recognition of a nursing degree pending");
    body["household_of"] = json!(c1);
    let c2 = d.expect(&im, "POST /api/v1/clients", &[], Some(body), 201).await;
    assert!(c2["household_id"].is_string() && c2["eligibility"]["discretion"].is_object());
    let c2 = id(&c2);
    let mut minor = client_body("Junia", today);
    minor["date_of_birth"] = json!(chrono::NaiveDate::from_ymd_opt(today.year() - 17, 1, 1).unwrap());
    d.problem(&im, "POST /api/v1/clients", &[], Some(minor), 422, "not-adult").await;
    d.problem(
        &im,
        "POST /api/v1/clients",
        &[],
        Some(client_body("Testa", today + days(1))),
        422,
        "first-session-in-future",
    )
    .await;
    let mut unknown_member = client_body("Testa", today);
    unknown_member["nickname"] = json!("Tes");
    d.problem(&im, "POST /api/v1/clients", &[], Some(unknown_member), 422, "validation-failed").await;
    let page = d.expect(&im, "GET /api/v1/clients?search=beispiel&active_only=true&limit=1", &[], None, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let next = page["next"].as_str().unwrap().to_owned();
    let page2 =
        d.expect(&im, &format!("GET /api/v1/clients?search=beispiel&limit=1&after={next}"), &[], None, 200).await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    d.expect(&im, "GET /api/v1/clients", &[], None, 200).await;
    d.problem(&im, "GET /api/v1/clients?limit=0", &[], None, 422, "validation-failed").await;
    d.problem(&im, "GET /api/v1/clients?after=x", &[], None, 400, "cursor-unknown").await;
    d.problem(&im, "GET /api/v1/clients?colour=blue", &[], None, 422, "validation-failed").await;
    d.expect(&im, "GET /api/v1/clients/{id}", &[&c1], None, 200).await;
    d.problem(&im, "GET /api/v1/clients/{id}", &[&uuid::Uuid::new_v4().to_string()], None, 404, "not-found").await;
    d.problem(&im, "GET /api/v1/clients/{id}", &["not-a-uuid"], None, 404, "not-found").await;
    let household = d.expect(&im, "GET /api/v1/clients/{id}/household", &[&c2], None, 200).await;
    assert_eq!(household.as_array().unwrap().len(), 2);

    let eligibility = "PUT /api/v1/clients/{id}/eligibility";
    let changed = d
        .expect(
            &im,
            eligibility,
            &[&c1],
            Some(json!({"target_group": "displaced-from-ukraine", "benefits": "none", "discretion_reason": "Job offer pending"})),
            200,
        )
        .await;
    assert_eq!(changed["eligibility"]["discretion"]["reason"], "Job offer pending");
    let body = json!({"target_group": "displaced-from-ukraine", "benefits": "sgb-xii", "discretion_reason": null});
    d.expect(&im, eligibility, &[&c1], Some(body), 200).await;
    let body = json!({"target_group": "displaced-from-ukraine", "benefits": "none"});
    d.problem(&im, eligibility, &[&c1], Some(body), 422, "discretion-required").await;

    let sessions = "POST /api/v1/clients/{id}/sessions";
    d.expect(&im, sessions, &[&c1], Some(json!({"date": first, "note": "First session: goals agreed"})), 201).await;
    d.problem(&im, sessions, &[&c1], Some(json!({"date": today + days(1), "note": "x"})), 422, "date-invalid").await;
    let listed = d.expect(&im, "GET /api/v1/clients/{id}/sessions", &[&c1], None, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // The plan.
    let goal = d
        .expect(
            &im,
            "POST /api/v1/clients/{id}/goals",
            &[&c1],
            Some(json!({"area": "language", "description": "Reach German A2",
                        "steps": [{"description": "Enrol in a course"}],
                        "responsible": {"kind": "regular-service", "name": "Volkshochschule"},
                        "target_date": today + days(200)})),
            201,
        )
        .await;
    let goal = id(&goal);
    d.expect(
        &im,
        "POST /api/v1/clients/{id}/goals",
        &[&c1],
        Some(json!({"area": "health", "description": "Find a family doctor", "responsible": {"kind": "client"}})),
        201,
    )
    .await;
    let changed = d
        .expect(
            &im,
            "PATCH /api/v1/clients/{id}/goals/{goal}",
            &[&c1, &goal],
            Some(
                json!({"description": "Reach German B1", "steps": [{"description": "Enrol in a course", "done": true}],
                        "responsible": {"kind": "integration-manager"}, "target_date": null, "status": "in-progress"}),
            ),
            200,
        )
        .await;
    assert!(changed.get("target_date").is_none());
    d.problem(
        &im,
        "PATCH /api/v1/clients/{id}/goals/{goal}",
        &[&c1, &uuid::Uuid::new_v4().to_string()],
        Some(json!({"status": "achieved"})),
        404,
        "not-found",
    )
    .await;
    let reviewed = d
        .expect(
            &im,
            "POST /api/v1/clients/{id}/goals/{goal}/reviews",
            &[&c1, &goal],
            Some(json!({"on": today, "note": "Course going well"})),
            201,
        )
        .await;
    assert_eq!(reviewed["reviews"].as_array().unwrap().len(), 1);

    // Extensions: granted at once here, four eyes at Heidelberg.
    let extensions = "POST /api/v1/clients/{id}/extensions";
    let extended = d
        .expect(
            &im,
            extensions,
            &[&c1],
            Some(json!({"months": 2, "reasons": ["illiteracy"], "justification": "Literacy course still running"})),
            200,
        )
        .await;
    assert_eq!(extended["window"]["extension_months"], 2);
    let body = json!({"months": 13, "reasons": ["illiteracy"], "justification": "x"});
    d.problem(&im, extensions, &[&c1], Some(body), 422, "extension-invalid").await;
    let body = json!({"months": 1, "reasons": [], "justification": "x"});
    d.problem(&im, extensions, &[&c1], Some(body), 422, "extension-invalid").await;
    let b1 = d.expect(&im_b, "POST /api/v1/clients", &[], Some(client_body("Testa", today - days(100))), 201).await;
    let b1 = id(&b1);
    let body = json!({"months": 6, "reasons": ["disability", "illiteracy"], "justification": "documented"});
    let asked = d.expect(&im_b, extensions, &[&b1], Some(body), 202).await;
    let request = id(&asked["pending_extensions"][0]);
    let approve = "POST /api/v1/clients/{id}/extension-requests/{request}/approve";
    d.problem(&im_b, approve, &[&b1, &request], None, 403, "four-eyes-required").await;
    let granted = d.expect(&lead_b, approve, &[&b1, &request], None, 200).await;
    assert_eq!(granted["window"]["extension_months"], 6);
    d.problem(&lead_b, approve, &[&b1, &request], None, 404, "not-found").await;

    // Exit and re-entry.
    let exit = "POST /api/v1/clients/{id}/exit";
    let exited = d
        .expect(
            &im,
            exit,
            &[&c2],
            Some(json!({"on": today - days(1), "reason": "other", "note": "Moved in with family"})),
            200,
        )
        .await;
    assert_eq!(exited["taking_part"], false);
    d.problem(&im, exit, &[&c2], Some(json!({"on": today, "reason": "other"})), 409, "client-not-active").await;
    d.problem(&im, sessions, &[&c2], Some(json!({"date": today, "note": "x"})), 409, "client-not-active").await;
    let re_entry = "POST /api/v1/clients/{id}/re-entry";
    d.expect(&im, re_entry, &[&c2], Some(json!({"on": today})), 200).await;
    d.problem(&im, re_entry, &[&c2], Some(json!({"on": today})), 409, "invalid-state").await;

    // An ended window.
    let ended = client_body("Testa", today - days(3 * 366 + 10));
    let ended = id(&d.expect(&im, "POST /api/v1/clients", &[], Some(ended), 201).await);
    d.problem(&im, sessions, &[&ended], Some(json!({"date": today, "note": "x"})), 409, "window-ended").await;

    // Notice, work list, audit log.
    let notice = d.expect(&im, "GET /api/v1/clients/{id}/notice?lang=en", &[&c1], None, 200).await;
    assert!(notice.as_str().unwrap().contains("<html"));
    d.expect(&im, "GET /api/v1/clients/{id}/notice", &[&c1], None, 200).await;
    let none = d.call(&im, "GET /api/v1/clients/{id}/notice?lang=xx", &[&c1], None).await;
    assert_eq!(none.0, 404);
    assert!(none.1["languages"].as_array().unwrap().contains(&json!("de")));
    let ending = d.expect(&im, "GET /api/v1/worklist/windows-ending?days=3660", &[], None, 200).await;
    assert!(!ending["items"].as_array().unwrap().is_empty());
    d.problem(&im, "GET /api/v1/worklist/windows-ending?days=4000", &[], None, 422, "validation-failed").await;
    let log = d.expect(&lead, "GET /api/v1/clients/{id}/audit", &[&c1], None, 200).await;
    assert!(log["items"].as_array().unwrap().iter().any(|e| e["action"] == "write:extension"));

    // Consents and handovers: one accepted, one declined, one cancelled by withdrawal.
    let consents = "POST /api/v1/clients/{id}/consents";
    let body = json!({"recipient": HEIDELBERG, "categories": ["identity", "window", "plan:language"], "language": "de", "signed_on": crate::harness::today()});
    let consent = id(&d.expect(&im, consents, &[&c1], Some(body), 201).await);
    d.expect(&im, "GET /api/v1/clients/{id}/consents/{consent}", &[&c1, &consent], None, 200).await;
    let body =
        json!({"recipient": HEIDELBERG, "categories": [], "language": "de", "signed_on": crate::harness::today()});
    d.problem(&im, consents, &[&c1], Some(body), 422, "consent-missing").await;
    let handovers = "POST /api/v1/handovers";
    let to_self = json!({"client_id": c1, "receiver": STUTTGART, "consent_id": consent});
    d.problem(&im, handovers, &[], Some(to_self), 422, "handover-to-self").await;
    let elsewhere = json!({"client_id": c1, "receiver": "09162000", "consent_id": consent});
    d.problem(&im, handovers, &[], Some(elsewhere), 422, "unknown-office").await;
    let body = json!({"client_id": c1, "receiver": HEIDELBERG, "consent_id": consent});
    let draft = d.expect(&im, handovers, &[], Some(body), 201).await;
    assert!(draft["delivery"].is_null());
    let h1 = id(&draft);
    d.expect(&im, "GET /api/v1/handovers/{id}", &[&h1], None, 200).await;
    d.expect(&im, "POST /api/v1/handovers/{id}/approve", &[&h1], None, 202).await;
    d.problem(&im, "POST /api/v1/handovers/{id}/approve", &[&h1], None, 409, "invalid-state").await;
    let sent = d.wait_for(&im, "GET /api/v1/handovers/{id}", &[&h1], "state", "delivered").await;
    assert!(sent["delivery"]["delivered_at"].is_string());

    let c4 = id(&d.expect(&im, "POST /api/v1/clients", &[], Some(client_body("Testa", today - days(50))), 201).await);
    let body = json!({"recipient": HEIDELBERG, "categories": ["identity", "window"], "language": "de", "signed_on": crate::harness::today()});
    let consent4 = id(&d.expect(&im, consents, &[&c4], Some(body), 201).await);
    let body = json!({"client_id": c4, "receiver": HEIDELBERG, "consent_id": consent4});
    let h2 = id(&d.expect(&im, handovers, &[], Some(body), 201).await);
    d.expect(&im, "POST /api/v1/handovers/{id}/approve", &[&h2], None, 202).await;
    d.wait_for(&im, "GET /api/v1/handovers/{id}", &[&h2], "state", "delivered").await;
    // One open handover per client: a second waits until the first is decided or cancelled.
    let body = json!({"client_id": c4, "receiver": HEIDELBERG, "consent_id": consent4});
    d.problem(&im, handovers, &[], Some(body), 409, "handover-open").await;
    d.problem(&im, "POST /api/v1/handovers/{id}/cancel", &[&h2], None, 409, "invalid-state").await;

    let c5 = id(&d.expect(&im, "POST /api/v1/clients", &[], Some(client_body("Testa", today - days(40))), 201).await);
    let body = json!({"recipient": HEIDELBERG, "categories": ["identity", "window"], "language": "de", "signed_on": crate::harness::today()});
    let consent5 = id(&d.expect(&im, consents, &[&c5], Some(body), 201).await);
    let body = json!({"client_id": c5, "receiver": HEIDELBERG, "consent_id": consent5});
    let h5 = id(&d.expect(&im, handovers, &[], Some(body), 201).await);
    let cancelled = d.expect(&im, "POST /api/v1/handovers/{id}/cancel", &[&h5], None, 200).await;
    assert_eq!(cancelled["state"], "cancelled");
    d.problem(&im, "POST /api/v1/handovers/{id}/cancel", &[&h5], None, 409, "invalid-state").await;

    let body = json!({"recipient": HEIDELBERG, "categories": ["identity", "window"], "language": "de", "signed_on": crate::harness::today()});
    let consent2 = id(&d.expect(&im, consents, &[&c2], Some(body), 201).await);
    let body = json!({"client_id": c2, "receiver": HEIDELBERG, "consent_id": consent2});
    let h3 = id(&d.expect(&im, handovers, &[], Some(body.clone()), 201).await);
    let withdraw = "POST /api/v1/clients/{id}/consents/{consent}/withdraw";
    let withdrawn = d.expect(&im, withdraw, &[&c2, &consent2], None, 200).await;
    assert!(withdrawn["withdrawn_at"].is_string());
    d.problem(&im, withdraw, &[&c1, &consent2], None, 404, "not-found").await;
    d.problem(&im, "POST /api/v1/handovers/{id}/approve", &[&h3], None, 409, "invalid-state").await;
    d.wait_for(&im, "GET /api/v1/handovers/{id}", &[&h3], "state", "cancelled").await;
    d.problem(&im, handovers, &[], Some(body), 409, "consent-withdrawn").await;

    // At Heidelberg: one accepted, one declined.
    let incoming = d.expect(&im_b, "GET /api/v1/incoming-handovers", &[], None, 200).await;
    assert_eq!(incoming["items"].as_array().unwrap().len(), 2);
    let full = d.expect(&im_b, "GET /api/v1/incoming-handovers/{id}", &[&h1], None, 200).await;
    assert_eq!(full["case"]["plan"]["goals"].as_array().unwrap().len(), 1);
    let accepted = d.expect(&im_b, "POST /api/v1/incoming-handovers/{id}/accept", &[&h1], None, 200).await;
    assert!(accepted["eligibility"].is_null());
    assert_eq!(accepted["received_from"], STUTTGART);
    d.problem(&im_b, "POST /api/v1/incoming-handovers/{id}/accept", &[&h1], None, 409, "invalid-state").await;
    let decline = "POST /api/v1/incoming-handovers/{id}/decline";
    let body = json!({"reason": "No capacity at this office"});
    let declined = d.expect(&im_b, decline, &[&h2], Some(body.clone()), 200).await;
    assert_eq!(declined["state"], "declined");
    d.problem(&im_b, decline, &[&h2], Some(body), 409, "invalid-state").await;
    d.problem(&im_b, "GET /api/v1/incoming-handovers/{id}", &["nothing"], None, 404, "not-found").await;

    // Back at Stuttgart: the decisions arrive; the client has moved out.
    d.wait_for(&im, "GET /api/v1/handovers/{id}", &[&h1], "state", "accepted").await;
    d.wait_for(&im, "GET /api/v1/handovers/{id}", &[&h2], "state", "declined").await;
    let moved = d.expect(&im, "GET /api/v1/clients/{id}", &[&c1], None, 200).await;
    assert_eq!(moved["status"]["state"], "moved-out");
    d.problem(&im, sessions, &[&c1], Some(json!({"date": today, "note": "x"})), 409, "client-moved-out").await;
    let listed = d.expect(&im, "GET /api/v1/clients?active_only=true", &[], None, 200).await;
    assert!(listed["items"].as_array().unwrap().iter().all(|c| c["id"] != c1.as_str()));

    // The client's own consent, on the page, in Arabic; the printed form; the consent list.
    let c6 = id(&d.expect(&im, "POST /api/v1/clients", &[], Some(client_body("Testa", today - days(20))), 201).await);
    let pages = "POST /api/v1/clients/{id}/consent-pages";
    let ask = json!({"recipient": HEIDELBERG, "categories": ["identity", "window", "health"], "language": "ar"});
    let link = d.expect(&im, pages, &[&c6], Some(ask), 201).await;
    let narrow = json!({"recipient": HEIDELBERG, "categories": ["identity"], "language": "de"});
    d.problem(&im, pages, &[&c6], Some(narrow), 422, "consent-missing").await;
    let unknown = json!({"recipient": HEIDELBERG, "categories": ["identity", "window"], "language": "tlh"});
    d.problem(&im, pages, &[&c6], Some(unknown), 422, "validation-failed").await;
    let form =
        "GET /api/v1/clients/{id}/consent-form?recipient=08221000&categories=identity,window,plan:work&language=de";
    let printed = d.expect(&im, form, &[&c6], None, 200).await;
    assert!(printed.as_str().unwrap().contains("SHA-256"));
    let url = format!("{}{}", a.api, link["url"].as_str().unwrap());
    assert_eq!(d.http.get(&url).send().await.unwrap().status(), 200);
    let given = d
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("agree=yes&health=yes")
        .send()
        .await
        .unwrap();
    assert_eq!(given.status(), 200);
    let list = d.expect(&im, "GET /api/v1/clients/{id}/consents", &[&c6], None, 200).await;
    let on_page = &list["items"][0];
    assert_eq!(
        (on_page["method"]["kind"].as_str(), on_page["text"]["language"].as_str()),
        (Some("on-screen"), Some("ar"))
    );
    assert!(on_page["categories"].as_array().unwrap().contains(&json!("health")));
    let revoked =
        d.expect(&im, "POST /api/v1/clients/{id}/consents/{consent}/revoke", &[&c6, &id(on_page)], None, 200).await;
    assert_eq!(revoked["ended"], json!({"kind": "revoked", "by": "im-08111000"}));

    // The ledger, verified here and against what Heidelberg holds of it.
    let verified = d.expect(&lead, "GET /api/v1/ledger/verify", &[], None, 200).await;
    assert_eq!((verified["ok"].as_bool(), verified["first_mismatch"].is_null()), (Some(true), true));
    let with_peers = d.expect(&lead, "GET /api/v1/ledger/verify?peers=true", &[], None, 200).await;
    let heidelberg = with_peers["peers"].as_array().unwrap().iter().find(|p| p["office"] == HEIDELBERG).unwrap();
    assert!(heidelberg["heads"].as_u64().unwrap() >= 1, "{with_peers}");
    d.problem(&lead, "GET /api/v1/ledger/verify?peers=maybe", &[], None, 422, "validation-failed").await;

    // Heidelberg records that the client withdrew there the consent of the declined handover;
    // Stuttgart, told, records it as withdrawn at another office.
    let withdraw_here = "POST /api/v1/incoming-handovers/{id}/withdraw-consent";
    d.expect(&im_b, withdraw_here, &[&h2], None, 202).await;
    d.problem(&im_b, withdraw_here, &[&h2], None, 409, "consent-withdrawn").await;
    let start = Instant::now();
    loop {
        let c = d.expect(&im, "GET /api/v1/clients/{id}/consents/{consent}", &[&c4, &consent4], None, 200).await;
        if c["ended"]["via"] == "other-office" {
            assert_eq!(
                (c["ended"]["kind"].as_str(), c["ended"]["office"].as_str()),
                (Some("withdrawn"), Some(HEIDELBERG))
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "the withdrawal did not arrive: {c}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // The client's rights: the export, and erasure on request by a team lead.
    let export = d.expect(&im, "GET /api/v1/clients/{id}/export", &[&c6], None, 200).await;
    assert_eq!(export["ledger"].as_array().unwrap().len(), 2, "{export}");
    let page = d.expect(&im, "GET /api/v1/clients/{id}/export/page", &[&c6], None, 200).await;
    assert!(page.as_str().unwrap().contains("Art. 15"));
    d.expect(&lead, "POST /api/v1/clients/{id}/erasure", &[&c6], None, 200).await;
    d.problem(&im, "GET /api/v1/clients/{id}", &[&c6], None, 410, "client-erased").await;
    d.problem(&lead, "POST /api/v1/clients/{id}/erasure", &[&c6], None, 410, "client-erased").await;

    // Accounts and sessions.
    let account = json!({"name": "testa.lead", "role": "team-lead", "password": "correct horse battery"});
    d.expect(&admin, "POST /api/v1/accounts", &[], Some(account.clone()), 201).await;
    d.problem(&admin, "POST /api/v1/accounts", &[], Some(account), 409, "account-exists").await;
    let short = json!({"name": "testa.short", "role": "team-lead", "password": "short"});
    d.problem(&admin, "POST /api/v1/accounts", &[], Some(short), 422, "validation-failed").await;
    let accounts = d.expect(&admin, "GET /api/v1/accounts", &[], None, 200).await;
    assert_eq!(accounts.as_array().unwrap().len(), 1);
    let login = json!({"account": "testa.lead", "password": "correct horse battery"});
    let session = d.expect(&anonymous(a), "POST /api/v1/login", &[], Some(login), 200).await;
    let wrong = json!({"account": "testa.lead", "password": "wrong horse battery"});
    d.problem(&anonymous(a), "POST /api/v1/login", &[], Some(wrong), 401, "login-failed").await;
    let huge = json!({"account": "x".repeat(1 << 20), "password": "y"});
    d.problem(&anonymous(a), "POST /api/v1/login", &[], Some(huge), 413, "payload-too-large").await;
    let by_session = as_user(a, session["token"].as_str().unwrap().to_owned());
    let me = d.expect(&by_session, "GET /api/v1/office", &[], None, 200).await;
    assert_eq!(me["you"], json!({"account": "testa.lead", "role": "team-lead"}));
    d.expect(&by_session, "POST /api/v1/logout", &[], None, 204).await;
    d.problem(&by_session, "GET /api/v1/office", &[], None, 401, "unauthorized").await;
    // An account disabled, enabled, given a new password, deleted.
    let other = json!({"name": "testa.other", "role": "integration-manager", "password": "correct horse battery"});
    d.expect(&admin, "POST /api/v1/accounts", &[], Some(other), 201).await;
    let name = ["testa.other"];
    let disabled = d.expect(&admin, "POST /api/v1/accounts/{name}/disable", &name, None, 200).await;
    assert!(disabled["disabled_at"].is_string(), "{disabled}");
    d.problem(&admin, "POST /api/v1/accounts/{name}/disable", &name, None, 409, "invalid-state").await;
    d.expect(&admin, "POST /api/v1/accounts/{name}/enable", &name, None, 200).await;
    d.problem(&admin, "POST /api/v1/accounts/{name}/enable", &name, None, 409, "invalid-state").await;
    let password = json!({"password": "staple battery horse"});
    d.expect(&admin, "POST /api/v1/accounts/{name}/password", &name, Some(password), 204).await;
    let short = json!({"password": "short"});
    d.problem(&admin, "POST /api/v1/accounts/{name}/password", &name, Some(short), 422, "validation-failed").await;
    d.expect(&admin, "DELETE /api/v1/accounts/{name}", &name, None, 204).await;
    d.problem(&admin, "DELETE /api/v1/accounts/{name}", &name, None, 404, "not-found").await;
    let config_account = [format!("admin-{STUTTGART}")];
    d.problem(&admin, "POST /api/v1/accounts/{name}/disable", &strs(&config_account), None, 409, "invalid-state").await;
    let clash = json!({"name": format!("im-{STUTTGART}"), "role": "team-lead", "password": "correct horse battery"});
    d.problem(&admin, "POST /api/v1/accounts", &[], Some(clash), 409, "account-exists").await;

    // Every authenticated operation refuses a request without a token, and every role it is not
    // for (the role is checked before ids and bodies; account creation reads the body first).
    let tokens = [
        ("integration-manager", dev::dev_token(STUTTGART)),
        ("team-lead", dev::dev_lead_token(STUTTGART)),
        ("administrator", dev::dev_admin_token(STUTTGART)),
    ];
    for (method, path, op) in operations(&d.doc) {
        let Some(roles) = op.get("x-staffel-roles").and_then(Value::as_array) else { continue };
        let call = format!("{} {path}", method.to_uppercase());
        let args = dummy_args(&path);
        let body = op.get("requestBody").map(|_| match op["operationId"].as_str() {
            Some("create_account") => {
                json!({"name": "testa.denied", "role": "team-lead", "password": "long enough, really"})
            }
            _ => json!({}),
        });
        d.problem(&anonymous(a), &call, &strs(&args), body.clone(), 401, "unauthorized").await;
        for (role, token) in &tokens {
            if !roles.contains(&json!(role)) {
                d.problem(&as_user(a, token.clone()), &call, &strs(&args), body.clone(), 403, "forbidden").await;
            }
        }
    }

    // Outside the documented operations: problem documents too (the web pages, `/` among them,
    // answer HTML and are not part of this document).
    let problem_schema = compile(&d.doc, &json!({"$ref": "#/components/schemas/Problem"}), "Problem");
    for (method, path, status) in
        [("DELETE", "/api/v1/clients", 405), ("GET", "/api/v1/nothing-here", 404), ("GET", "/nothing-here", 404)]
    {
        assert!(d.doc["paths"].get(path).and_then(|p| p.get(method.to_lowercase())).is_none());
        let response = d
            .http
            .request(method.parse().unwrap(), format!("{}{path}", a.api))
            .bearer_auth(dev::dev_token(STUTTGART))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        check(&problem_schema, &response.json().await.unwrap(), &format!("{method} {path}"));
    }

    d.assert_every_success_seen();
    stop_all(offices).await;
}
