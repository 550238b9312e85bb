//! The service itself: this office and the caller, liveness, and the OpenAPI document.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::ANYONE;
use super::extract::NoQuery;
use super::{Answer, AnyCaller, ApiState};
use crate::domain::OfficeId;
use crate::domain::staff::Role;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(office))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi))
}

/// The caller.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct You {
    /// An account name.
    account: String,
    role: Role,
}

#[derive(Serialize, ToSchema)]
#[schema(as = OfficeInfo)]
#[serde(deny_unknown_fields)]
pub(super) struct OfficeView {
    id: OfficeId,
    name: String,
    #[schema(inline)]
    you: You,
}

/// This office and the caller
#[utoipa::path(
    get,
    path = "/api/v1/office",
    tag = "meta",
    extensions(("x-staffel-roles" = json!(ANYONE))),
    responses((status = 200, description = "The office's id and name, and who you are.", body = OfficeView)),
)]
async fn office(State(s): State<ApiState>, AnyCaller(caller): AnyCaller, _: NoQuery) -> Answer<OfficeView> {
    axum::Json(OfficeView {
        id: s.office.id(),
        name: s.office.name().to_owned(),
        you: You { account: caller.account, role: caller.role },
    })
}

/// Liveness
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    responses((status = 200, description = "The service runs.", content_type = "text/plain",
        body = inline(HealthBody))),
)]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness
///
/// Whether the office can do its work now: its database answers, and the directory loaded at
/// start lists this office with its signing key (keys and directory are checked at start; the
/// server does not start without them). For load balancers and monitoring; no token needed.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    responses(
        (status = 200, description = "Ready.", content_type = "text/plain", body = inline(HealthBody)),
        super::doc::NotReady,
    ),
)]
async fn readyz(State(s): State<ApiState>) -> Response {
    match s.office.ready().await {
        Ok(()) => "ok".into_response(),
        Err(e) => {
            tracing::error!(error = %e, "not ready");
            crate::http::Problem::new(crate::http::ProblemType::NotReady).into_response()
        }
    }
}

/// `ok`, the body of `/healthz` and `/readyz`.
pub(super) struct HealthBody;

impl utoipa::PartialSchema for HealthBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["ok"]))
            .into()
    }
}

impl ToSchema for HealthBody {}

/// An OpenAPI document (this one).
pub(super) struct Document;

impl utoipa::PartialSchema for Document {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .required("openapi")
            .into()
    }
}

impl ToSchema for Document {}

/// This document
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document of this API.", body = inline(Document))),
)]
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::openapi_json()).into_response()
}
