//! Extensions of a client's window: granting one, and approving one that waits for a team lead
//! (four eyes).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{COUNSEL, ClientConflict, Erased, NoSuchClient, NotAnotherTeamLead, problems};
use super::extract::{ExtensionRequestId, Json, NoQuery, PathIds};
use super::views::ClientView;
use super::{Answer, ApiResult, ApiState, Manager};
use crate::domain::case::Extended;
use crate::domain::{ClientId, ExtensionGrounds, ExtensionReason, Text};
use crate::http::problem::Problem;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(grant_extension)).routes(routes!(approve_extension))
}

problems! {
    ExtensionInvalid: "The body is not valid, or the extension breaks the rules." =>
        [ValidationFailed, ExtensionInvalid];
    NoSuchRequest: "No such client or pending request." => [NotFound];
    ApprovalInvalid: "The extension breaks the rules (e.g. more than 12 months in all)." =>
        [ExtensionInvalid, ValidationFailed];
}

/// Months outside 1-12, no reason, or more than 12 months in all are `extension-invalid`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewExtension {
    #[schema(minimum = 1, maximum = 12)]
    months: u32,
    #[schema(value_type = Vec<ExtensionReason>, min_items = 1)]
    reasons: BTreeSet<ExtensionReason>,
    justification: Text,
}

/// Extend the window
///
/// Decided today by the caller. Where the office requires four eyes, the extension becomes a
/// request a team lead approves (202).
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/extensions",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    request_body = NewExtension,
    responses(
        (status = 200, description = "Granted: the client record with the new last day.", body = ClientView),
        (status = 202, description = "Four eyes: the request waits in `pending_extensions`.", body = ClientView),
        NoSuchClient, ClientConflict, Erased, ExtensionInvalid,
    ),
)]
async fn grant_extension(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
    Json(req): Json<NewExtension>,
) -> ApiResult<Response> {
    let grounds = ExtensionGrounds::new(req.reasons, req.justification).map_err(|e| Problem::from(&e))?;
    let (record, outcome) = s.office.grant_extension(&s.office.author(&account), id, req.months, grounds).await?;
    Ok(match outcome {
        Extended::Granted => axum::Json(ClientView::from(&record)).into_response(),
        // Four eyes: 202, the request waits for a team lead; `pending_extensions` lists it.
        Extended::Requested(_) => (StatusCode::ACCEPTED, axum::Json(ClientView::from(&record))).into_response(),
    })
}

/// Approve a pending extension
///
/// Four eyes: a team lead other than the one who asked; the extension is granted as decided by
/// the approver, today.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/extension-requests/{request}/approve",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(
        ("id" = ClientId, Path, description = "The client. Not a UUID: 404."),
        ("request" = ExtensionRequestId, Path, description = "The extension request. Not a UUID: 404."),
    ),
    responses(
        (status = 200, description = "The client record with the new last day.", body = ClientView),
        NotAnotherTeamLead, NoSuchRequest, ClientConflict, Erased, ApprovalInvalid,
    ),
)]
async fn approve_extension(
    State(s): State<ApiState>,
    Manager(account, role): Manager,
    PathIds((id, request)): PathIds<(ClientId, ExtensionRequestId)>,
    _: NoQuery,
) -> ApiResult<Answer<ClientView>> {
    let record = s.office.approve_extension(&s.office.author(&account), role, id, request.0).await?;
    Ok(axum::Json(ClientView::from(&record)))
}
