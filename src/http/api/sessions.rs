//! Counselling sessions of a client: recording one, and listing them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{COUNSEL, Erased, NoSuchClient, problems};
use super::extract::{Json, NoQuery, PathIds};
use super::schema::Date;
use super::{Answer, ApiResult, ApiState, Manager};
use crate::domain::participation::CounsellingSession;
use crate::domain::{ClientId, Text};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(record_session, list_sessions))
}

problems! {
    SessionConflict: "The client moved out, the date lies after the window's last day, or the client has left \
        counselling; or processing of the record is restricted (`client-restricted`)." =>
        [ClientMovedOut, WindowEnded, ClientNotActive, ClientRestricted];
    SessionInvalid: "The body is not valid, or the date lies in the future or before the first session." =>
        [ValidationFailed, DateInvalid];
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewSession {
    #[serde(with = "crate::domain::time::date")]
    #[schema(value_type = Date)]
    date: NaiveDate,
    note: Text,
}

/// Record a counselling session
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/sessions",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    request_body = NewSession,
    responses(
        (status = 201, description = "The session recorded.", body = CounsellingSession),
        NoSuchClient, SessionConflict, Erased, SessionInvalid,
    ),
)]
async fn record_session(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
    Json(req): Json<NewSession>,
) -> ApiResult<Response> {
    let session = s.office.record_session(&s.office.author(&account), id, req.date, req.note).await?;
    Ok((StatusCode::CREATED, axum::Json(session)).into_response())
}

/// List the client's sessions
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/sessions",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    responses(
        (status = 200, description = "The sessions recorded.", body = Vec<CounsellingSession>),
        NoSuchClient, Erased,
    ),
)]
async fn list_sessions(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Answer<Vec<CounsellingSession>>> {
    Ok(axum::Json(s.office.sessions(&s.office.author(&account), id).await?))
}
