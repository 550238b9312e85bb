//! How the caseworker API reads a request, strictly, as the federation inbox does: a JSON body
//! only as `application/json` and only as I-JSON, query strings with known parameters only, ids
//! in paths only in their canonical form. Every refusal is a problem document.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::http::problem::{Problem, ProblemType};

/// The largest request body the caseworker API reads.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A serde path as a JSON Pointer.
pub fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => format!("/{index}"),
            Segment::Map { key } => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => format!("/{variant}"),
            Segment::Unknown => "/?".to_owned(),
        })
        .collect()
}

/// A `validation-failed` problem naming one field (JSON Pointer) and what is wrong with it.
pub fn invalid(pointer: String, reason: String) -> Problem {
    Problem::new(ProblemType::ValidationFailed)
        .detail(format!("{pointer}: {reason}"))
        .with("errors", json!([{ "pointer": pointer, "reason": reason }]))
}

/// Whether a `Content-Type` header value is `application/json`, optionally with
/// `charset=utf-8` (names case-insensitive, as RFC 9110 says).
fn is_json(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|p| {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        name.trim().eq_ignore_ascii_case("charset") && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
    })
}

/// A JSON body: `Content-Type: application/json` (else 415 `unsupported-media-type`), at most
/// [`MAX_BODY_BYTES`] (else 413), I-JSON (else 400 `not-i-json`), and of the expected shape (else
/// 422 `validation-failed` whose `errors` name the field and what is wrong with it).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let content_type = request.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or_default());
        if !content_type.is_some_and(is_json) {
            return Err(Problem::new(ProblemType::UnsupportedMediaType)
                .detail("send the body as Content-Type: application/json"));
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| Problem::new(ProblemType::PayloadTooLarge).with("limit_bytes", MAX_BODY_BYTES))?;
        let value = crate::ijson::parse(&bytes).map_err(|e| Problem::not_i_json(&e, "body"))?;
        let parsed = serde_path_to_error::deserialize(value)
            .map_err(|e| invalid(pointer_of(e.path()), e.into_inner().to_string()))?;
        Ok(Json(parsed))
    }
}

/// A query string of known parameters, each at most once; anything else is a
/// `validation-failed` problem whose `errors` name the parameter (`/<name>`).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(raw));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| invalid(query_pointer(e.path(), &e.inner().to_string()), e.into_inner().to_string()))
    }
}

fn form_urlencoded_parse(raw: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(raw.as_bytes())
}

/// The pointer of a query error: the parameter serde names, or the one an "unknown field" or
/// "duplicate field" message quotes.
fn query_pointer(path: &serde_path_to_error::Path, message: &str) -> String {
    let from_path = pointer_of(path);
    if !from_path.is_empty() && from_path != "/?" {
        return from_path;
    }
    message.split('`').nth(1).map_or_else(String::new, |name| format!("/{name}"))
}

/// A route that takes no query string: any parameter is refused as unknown.
pub struct NoQuery;

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.uri.query() {
            None | Some("") => Ok(NoQuery),
            Some(raw) => {
                let name = form_urlencoded_parse(raw).next().map(|(k, _)| k.into_owned()).unwrap_or_default();
                Err(invalid(
                    format!("/{}", name.replace('~', "~0").replace('/', "~1")),
                    "unknown query parameter".into(),
                ))
            }
        }
    }
}

/// Typed ids in the path, read in their canonical form only (`ClientId`, `GoalId`, ... or
/// [`HandoverId`] and the other ids of [`path_id!`]); a path segment that is no such id, or is not UTF-8 after percent-decoding, is a
/// `not-found` problem.
pub struct PathIds<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathIds<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathIds(p.0))
            .map_err(|_| Problem::new(ProblemType::NotFound).detail("no such resource"))
    }
}

/// Ids of records that have no id type in the domain (handovers, whose id is the message id,
/// and extension requests): a UUID in canonical form, typed so that one is not passed for the
/// other, and described in the OpenAPI document.
macro_rules! path_id {
    ($($(#[$doc:meta])* $name:ident: $description:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub uuid::Uuid);

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                crate::domain::client::parse_canonical_uuid(&s)
                    .map($name)
                    .ok_or_else(|| serde::de::Error::custom("not a UUID in canonical form"))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let mut schema = <crate::http::api::schema::Uuid as utoipa::PartialSchema>::schema();
                if let utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(o)) = &mut schema {
                    o.description = Some($description.into());
                }
                schema
            }
        }

        impl utoipa::ToSchema for $name {}
    )*};
}

path_id! {
    /// A handover this office sends.
    HandoverId: "A handover this office sends; the id of its message.";
    /// A handover this office received.
    ReceivedHandoverId: "A handover this office received; the id of its message.";
    /// An extension waiting for a team lead.
    ExtensionRequestId: "An extension request waiting for a team lead.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_type_with_utf8_at_most() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in ["text/plain", "application/jsonx", "application/json; charset=latin1", "application/json; x=y", ""]
        {
            assert!(!is_json(bad), "{bad}");
        }
    }
}
