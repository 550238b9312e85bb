//! The OpenAPI document of the caseworker API, generated from the handlers: each handler's
//! `#[utoipa::path]` names its path, parameters, body, success answers and the problems it
//! answers with; [`complete`] then adds what every operation shares (the info, the bearer
//! scheme, 401/403/500 for authenticated operations, 400/413/415 for those with a body, 431
//! everywhere) so that no handler repeats it. `docs/openapi.json` is this document written out.

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::schema::{AdditionalProperties, AllOfBuilder, ArrayBuilder, ObjectBuilder, Ref, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::Tag;
use utoipa::openapi::{Components, ContentBuilder, Info, LicenseBuilder, OpenApi, RefOr, Response, ResponseBuilder};

use super::schema::{Date, raw_members};
use crate::http::problem::{MEDIA_TYPE, ProblemType, TYPE_PREFIX};

/// The roles of `x-staffel-roles`: who may call an operation.
pub const ANYONE: [&str; 3] = ["integration-manager", "team-lead", "administrator"];
/// Integration managers and team leads: the roles that work with client data ([`super::Manager`]).
pub const COUNSEL: [&str; 2] = ["integration-manager", "team-lead"];
/// Team leads and administrators ([`super::Supervisor`]).
pub const SUPERVISORS: [&str; 2] = ["team-lead", "administrator"];
/// Administrators ([`super::Administrator`]).
pub const ADMINISTRATORS: [&str; 1] = ["administrator"];
/// Team leads alone (checked by the service where a role of [`COUNSEL`] is not enough).
pub const TEAM_LEADS: [&str; 1] = ["team-lead"];

/// The extension member that names the roles an operation is for.
pub const ROLES: &str = "x-staffel-roles";

/// A problem answer: the problem document narrowed to `types`, all of one status (else this
/// panics, and so does the test that builds the document).
pub fn problem_response(description: &str, types: &[ProblemType]) -> (String, Response) {
    let status = types[0].status().as_u16();
    assert!(
        types.iter().all(|t| t.status().as_u16() == status),
        "problem types of different statuses in one answer: {types:?}"
    );
    let narrowed = ObjectBuilder::new()
        .property(
            "type",
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(types.iter().map(|t| t.uri()))),
        )
        .property("status", ObjectBuilder::new().schema_type(Type::Integer).enum_values(Some([status])));
    let schema = AllOfBuilder::new().item(Ref::from_schema_name("Problem")).item(narrowed);
    let response = ResponseBuilder::new()
        .description(description)
        .content(MEDIA_TYPE, ContentBuilder::new().schema(Some(schema)).build())
        .build();
    (status.to_string(), response)
}

/// Declares answers of problem documents for `responses(...)` of `#[utoipa::path]`:
/// `Name: "description" => [ProblemType, ...];`.
macro_rules! problems {
    ($($(#[$doc:meta])* $name:ident: $description:expr => [$($kind:ident),+ $(,)?];)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
                let (status, response) = $crate::http::api::doc::problem_response(
                    $description,
                    &[$($crate::http::problem::ProblemType::$kind),+],
                );
                [(status, response.into())].into_iter().collect()
            }
        }
    )*};
}
pub(crate) use problems;

problems! {
    NotReady: "Not ready: the database does not answer, or the office is not in its directory (the reason is logged)." => [NotReady];
    NoSuchClient: "No such client." => [NotFound];
    Erased: "The client's personal data was erased." => [ClientErased];
    BodyInvalid: "The body is not valid." => [ValidationFailed];
    QueryInvalid: "A query parameter is unknown or not valid." => [ValidationFailed];
    CursorUnknown: "`after` is not a cursor this list handed out." => [CursorUnknown];
    /// The 409 of most changes to a client record.
    ClientConflict: "The client moved out, the window ended, or the record changed meanwhile. `client-not-active`: \
        the client has left counselling (exit); record a re-entry first; or processing of the record is restricted \
        (`client-restricted`)." => [ClientMovedOut, WindowEnded, EditConflict, ClientNotActive, ClientRestricted];
    NotAnotherTeamLead: "Not a role with client data, or not another team lead." => [Forbidden, FourEyes];
}

/// Answers every operation may give, referenced from `#/components/responses`.
struct Shared {
    name: &'static str,
    description: &'static str,
    kind: ProblemType,
}

const UNAUTHORIZED: Shared = Shared {
    name: "Unauthorized",
    description: "No bearer token, or one no account has.",
    kind: ProblemType::Unauthorized,
};
const FORBIDDEN: Shared =
    Shared { name: "Forbidden", description: "The account's role does not allow this.", kind: ProblemType::Forbidden };
const PAYLOAD_TOO_LARGE: Shared = Shared {
    name: "PayloadTooLarge",
    description: "The body is larger than 1 MiB.",
    kind: ProblemType::PayloadTooLarge,
};
const INTERNAL: Shared = Shared {
    name: "InternalError",
    description: "Internal error (details only in the server log).",
    kind: ProblemType::Internal,
};
const NOT_I_JSON: Shared = Shared {
    name: "NotIJson",
    description: "The body is not I-JSON (RFC 7493): not JSON, a member twice, a lone surrogate or noncharacter, or \
                  a number beyond a double.",
    kind: ProblemType::NotIJson,
};
const UNSUPPORTED_MEDIA_TYPE: Shared = Shared {
    name: "UnsupportedMediaType",
    description: "The body is not sent as `Content-Type: application/json`.",
    kind: ProblemType::UnsupportedMediaType,
};
const HEADERS_TOO_LARGE: Shared = Shared {
    name: "HeadersTooLarge",
    description: "More than 100 header fields, or more than 16 KiB of them.",
    kind: ProblemType::HeadersTooLarge,
};
const SHARED: [Shared; 7] =
    [UNAUTHORIZED, FORBIDDEN, PAYLOAD_TOO_LARGE, INTERNAL, NOT_I_JSON, UNSUPPORTED_MEDIA_TYPE, HEADERS_TOO_LARGE];

impl Shared {
    fn reference(&self) -> RefOr<Response> {
        RefOr::Ref(Ref::new(format!("#/components/responses/{}", self.name)))
    }
}

/// The problem document (RFC 9457), with the members Staffel adds to some problem types.
fn problem_schema() -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let pointer_error = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("pointer", string().description(Some("JSON Pointer into the body.")))
        .property("reason", string())
        .required("pointer")
        .required("reason")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    // Which members a problem type requires: utoipa has no `if`/`then`, so they are raw members.
    let requires = |kind: ProblemType, members: &[&str]| json!({"if": {"properties": {"type": {"const": kind.uri()}}}, "then": {"required": members}});
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("An RFC 9457 problem document; `type` URIs are documented in docs/problems.md."))
        .property("type", string().pattern(Some(format!("^{}[a-z0-9-]+$", TYPE_PREFIX.replace('.', "\\.")))))
        .property("title", string())
        .property("status", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(400)).maximum(Some(599)))
        .property("detail", string())
        .property(
            "errors",
            ArrayBuilder::new().items(pointer_error).description(Some(
                "`validation-failed`: which part of the body (JSON Pointer) or which query parameter (`/<name>`) is \
                 wrong, and why.",
            )),
        )
        .property(
            "limit_bytes",
            ObjectBuilder::new().schema_type(Type::Integer).description(Some("`payload-too-large`: the limit.")),
        )
        .property(
            "last_day",
            AllOfBuilder::new()
                .item(Ref::from_schema_name("Date"))
                .description(Some("`window-ended`: the window's last day.")),
        )
        .property(
            "languages",
            ArrayBuilder::new()
                .items(string())
                .description(Some("`not-found` for a notice language: the languages available.")),
        )
        .property(
            "violation",
            string()
                .enum_values(Some(["syntax", "duplicate-member", "invalid-string", "number-out-of-range", "too-deep"]))
                .description(Some("`not-i-json`: what kind of violation.")),
        )
        .property(
            "location",
            string().enum_values(Some(["body"])).description(Some("`not-i-json`: the body (always, on this API).")),
        )
        .property(
            "pointer",
            string().description(Some("`not-i-json`: JSON Pointer of the value at fault, where there is one.")),
        )
        .property(
            "retry_after",
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).description(Some(
                "`login-throttled`: seconds until the next attempt is allowed (also the `Retry-After` header).",
            )),
        )
        .required("type")
        .required("title")
        .required("status")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .extensions(Some(raw_members(json!({"allOf": [
            requires(ProblemType::WindowEnded, &["last_day"]),
            requires(ProblemType::PayloadTooLarge, &["limit_bytes"]),
            requires(ProblemType::NotIJson, &["violation", "location"]),
            requires(ProblemType::LoginThrottled, &["retry_after"]),
        ]}))))
        .build()
        .into()
}

const TAGS: [(&str, &str); 7] = [
    ("clients", "Client records, windows, sessions, exits, the audit log."),
    ("plan", "The integration plan: goals, steps, reviews."),
    ("consents", "Consents to sending data to another office."),
    ("handovers", "Handovers this office sends."),
    ("incoming", "Handovers this office received."),
    ("accounts", "Staff accounts and sessions."),
    ("meta", "The service itself."),
];

/// Completes the document the handlers make: info, tags, the bearer scheme, the problem
/// document, and the answers every operation shares.
pub fn complete(mut api: OpenApi) -> OpenApi {
    let mut info = Info::new("Staffel caseworker API", "1");
    info.description = Some(
        "Counselling cases of Integrationsmanagement, and their handover between offices: JSON over HTTP for the \
         staff of one counselling office. Every request but `/healthz`, `/api/v1/openapi.json` and `POST \
         /api/v1/login` carries `Authorization: Bearer <token>`. Every failure is a problem document \
         (`application/problem+json`, see docs/problems.md); an unknown route is `not-found` (404), a known route \
         with another method `method-not-allowed` (405). Request bodies are JSON of at most 1 MiB; unknown \
         members and unknown query parameters are `validation-failed`. `x-staffel-roles` names the roles an \
         operation is for. This document is generated from the code (`src/http/api/`)."
            .into(),
    );
    info.license = Some(LicenseBuilder::new().name("EUPL-1.2").identifier(Some("EUPL-1.2")).build());
    api.info = info;
    api.tags = Some(
        TAGS.iter()
            .map(|(name, description)| {
                let mut tag = Tag::new(name);
                tag.description = Some((*description).into());
                tag
            })
            .collect(),
    );
    api.security = Some(vec![SecurityRequirement::new::<_, [&str; 0], &str>("bearer", [])]);

    let components = api.components.get_or_insert_with(Components::new);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.description = Some(
        "An API token from the office's config (only its SHA-256 is configured) or a session token from `POST \
         /api/v1/login`."
            .into(),
    );
    components.security_schemes.insert("bearer".into(), SecurityScheme::Http(bearer));
    let mut scrape = Http::new(HttpAuthScheme::Bearer);
    scrape.description = Some(
        "The scrape token of `GET /metrics`, from the office's config (only its SHA-256 is configured, \
         `[metrics] token_sha256`); it grants nothing else."
            .into(),
    );
    components.security_schemes.insert("metrics".into(), SecurityScheme::Http(scrape));
    components.schemas.insert("Problem".into(), RefOr::T(problem_schema()));
    // What the problem document and the path parameters refer to (utoipa-axum collects the
    // schemas of bodies and answers only).
    fn add<T: utoipa::ToSchema>(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
        schemas.insert(T::name().into(), T::schema());
    }
    add::<Date>(&mut components.schemas);
    add::<crate::domain::ClientId>(&mut components.schemas);
    add::<crate::domain::GoalId>(&mut components.schemas);
    add::<crate::domain::ConsentId>(&mut components.schemas);
    add::<super::extract::HandoverId>(&mut components.schemas);
    add::<super::extract::ReceivedHandoverId>(&mut components.schemas);
    add::<super::extract::ExtensionRequestId>(&mut components.schemas);
    for schema in components.schemas.values_mut() {
        close_variants(schema);
    }
    for shared in SHARED {
        let (_, response) = problem_response(shared.description, &[shared.kind]);
        components.responses.insert(shared.name.into(), RefOr::T(response));
    }

    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let roles =
                operation.extensions.as_ref().and_then(|e| e.get(ROLES)).and_then(|r| r.as_array()).map_or(0, Vec::len);
            let has_body = operation.request_body.is_some();
            let responses = &mut operation.responses.responses;
            let mut add = |status: u16, response: RefOr<Response>| {
                responses.entry(status.to_string()).or_insert(response);
            };
            if roles > 0 {
                add(401, UNAUTHORIZED.reference());
                if roles < ANYONE.len() {
                    add(403, FORBIDDEN.reference());
                }
                add(422, one(<QueryInvalidUnknown as utoipa::IntoResponses>::responses()));
            } else if operation.security.is_none() {
                // Public: no bearer token.
                operation.security = Some(Vec::new());
            }
            if has_body {
                add(400, NOT_I_JSON.reference());
                add(413, PAYLOAD_TOO_LARGE.reference());
                add(415, UNSUPPORTED_MEDIA_TYPE.reference());
                add(422, one(<BodyInvalid as utoipa::IntoResponses>::responses()));
            }
            if roles > 0 || has_body {
                add(500, INTERNAL.reference());
            }
            add(431, HEADERS_TOO_LARGE.reference());
        }
    }
    api
}

/// The variants of a tagged union (a serde-tagged enum, `oneOf` objects) have no members but
/// their own: utoipa closes structs with `deny_unknown_fields`, not enum variants.
fn close_variants(schema: &mut RefOr<Schema>) {
    if let RefOr::T(Schema::OneOf(one_of)) = schema {
        for item in &mut one_of.items {
            if let RefOr::T(Schema::Object(object)) = item {
                if !object.properties.is_empty() {
                    object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
            }
        }
    }
}

problems! {
    QueryInvalidUnknown: "The query string has an unknown parameter, or one of a wrong form (`errors` name it)." =>
        [ValidationFailed];
}

/// The one answer of an [`utoipa::IntoResponses`] of [`problems!`].
fn one(responses: BTreeMap<String, RefOr<Response>>) -> RefOr<Response> {
    responses.into_values().next().expect("one answer")
}
