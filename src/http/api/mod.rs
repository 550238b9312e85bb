//! The caseworker API: JSON over HTTP for integration managers, each with a bearer token.
//! Routes are under `/api/v1`, one file per resource, each with its router; every failure is a
//! problem document (docs/problems.md). The OpenAPI document is generated from the handlers
//! ([`doc`]) and served at `/api/v1/openapi.json`.

mod accounts;
mod audit;
pub mod auth;
mod clients;
mod consents;
mod cursor;
pub mod doc;
mod extensions;
pub mod extract;
mod goals;
mod handovers;
mod incoming;
mod metrics;
mod office;
pub(crate) mod rights;
pub mod schema;
mod sessions;
mod views;
mod worklist;

use std::sync::{Arc, OnceLock};

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

pub use auth::{Accounts, Administrator, AnyCaller, Manager, Supervisor};

use super::problem::{Problem, ProblemType};
use crate::service::Office;

#[derive(Clone)]
pub struct ApiState {
    pub office: Arc<Office>,
    pub accounts: Arc<Accounts>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (config `api.trusted_proxies`).
    pub trusted_proxies: Arc<Vec<std::net::IpAddr>>,
    /// The SHA-256 (lowercase hex) of the token that may scrape `/metrics` (config
    /// `metrics.token_sha256`); none: `/metrics` is off.
    pub metrics_token_sha256: Option<Arc<str>>,
}

type ApiResult<T> = Result<T, Problem>;

/// A JSON answer (serialised with the types' own rules: timestamps with milliseconds).
type Answer<T> = axum::Json<T>;

/// Every route of the API with its documentation, each resource's router merged.
fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .merge(office::router())
        .merge(clients::router())
        .merge(sessions::router())
        .merge(goals::router())
        .merge(extensions::router())
        .merge(accounts::router())
        .merge(consents::router())
        .merge(rights::router())
        .merge(audit::router())
        .merge(worklist::router())
        .merge(handovers::router())
        .merge(incoming::router())
        .merge(metrics::router())
}

pub fn router(state: ApiState) -> Router {
    let (router, _) = routes().split_for_parts();
    router
        .fallback(|| async { Problem::new(ProblemType::NotFound) })
        .method_not_allowed_fallback(|| async { Problem::new(ProblemType::MethodNotAllowed) })
        .layer(axum::middleware::from_fn(super::limit_headers))
        .with_state(state)
}

/// The OpenAPI document of this API, generated from the handlers ([`doc::complete`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    doc::complete(routes().into_openapi())
}

/// [`openapi`] as pretty-printed JSON with sorted members (as `docs/openapi.json` holds it),
/// built once.
pub fn openapi_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        // Through `Value`: its maps are sorted, so the text does not depend on hash order.
        let value = serde_json::to_value(openapi()).expect("the document serialises");
        let mut text = serde_json::to_string_pretty(&sorted(value)).expect("the document serialises");
        text.push('\n');
        text
    })
}

/// A JSON value with every object's members in order of their names.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut members: Vec<_> = map.into_iter().collect();
            members.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(members.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The longest page of any list.
const MAX_PAGE: u32 = 200;
/// A page when the client does not say.
const DEFAULT_PAGE: u32 = 50;

fn default_limit() -> u32 {
    DEFAULT_PAGE
}

/// `limit` within 1 to [`MAX_PAGE`].
fn checked_limit(limit: u32) -> ApiResult<u32> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(extract::invalid("/limit".into(), format!("limit is 1 to {MAX_PAGE}")));
    }
    Ok(limit)
}
