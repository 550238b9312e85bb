//! Handovers this office sends: drafting one, reading it with its delivery, approving
//! (sending) and cancelling it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{COUNSEL, NotAnotherTeamLead, problems};
use super::extract::{HandoverId, Json, NoQuery, PathIds};
use super::views::OutgoingView;
use super::{ApiResult, ApiState, Manager};
use crate::domain::{ClientId, ConsentId, OfficeId};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(draft_handover))
        .routes(routes!(get_handover))
        .routes(routes!(approve_handover))
        .routes(routes!(cancel_handover))
}

problems! {
    NoSuchClientOrConsent: "No such client, or no such consent of the client." => [NotFound];
    DraftConflict: "The client moved out, the consent was withdrawn, or the window ended; or processing of the \
        record is restricted (`client-restricted`); or the consent was revoked or has expired." =>
        [ClientMovedOut, ConsentWithdrawn, WindowEnded, HandoverOpen, ClientRestricted, ConsentRevoked, ConsentExpired];
    DraftInvalid: "The body is not valid or names this office, the receiver is not in the directory, or the consent \
        does not name the receiver or does not cover identity and window." =>
        [ValidationFailed, UnknownOffice, ConsentMissing, HandoverToSelf];
    NoSuchHandover: "No such handover." => [NotFound];
    ApproveConflict: "Not a draft (e.g. cancelled), the client moved out, the consent was withdrawn, the window \
        ended, or it was approved meanwhile; or processing of the record is restricted (`client-restricted`); or the \
        consent was revoked or has expired." =>
        [InvalidState, ClientMovedOut, ConsentWithdrawn, WindowEnded, EditConflict, ClientRestricted, ConsentRevoked,
         ConsentExpired];
    NoClientData: "Not a role with client data." => [Forbidden];
    CancelConflict: "Delivered, decided, or cancelled already." => [InvalidState, EditConflict];
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewHandover {
    client_id: ClientId,
    receiver: OfficeId,
    consent_id: ConsentId,
}

/// Draft a handover
///
/// Checked as if sent now; sent only when approved.
#[utoipa::path(
    post,
    path = "/api/v1/handovers",
    tag = "handovers",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    request_body = NewHandover,
    responses(
        (status = 201, description = "The draft.", body = OutgoingView),
        NoSuchClientOrConsent, DraftConflict, DraftInvalid,
    ),
)]
async fn draft_handover(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    _: NoQuery,
    Json(req): Json<NewHandover>,
) -> ApiResult<Response> {
    let draft =
        s.office.draft_handover(&s.office.author(&account), req.client_id, req.receiver, req.consent_id).await?;
    Ok((StatusCode::CREATED, axum::Json(OutgoingView::new(&draft, None))).into_response())
}

/// Read an outgoing handover
#[utoipa::path(
    get,
    path = "/api/v1/handovers/{id}",
    tag = "handovers",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = HandoverId, Path, description = "The handover. Not a UUID: 404.")),
    responses((status = 200, description = "The handover with its delivery.", body = OutgoingView), NoSuchHandover),
)]
async fn get_handover(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<HandoverId>,
    _: NoQuery,
) -> ApiResult<Response> {
    let (handover, outbox) = s.office.outgoing_handover(&s.office.author(&account), id.0).await?;
    Ok(axum::Json(OutgoingView::new(&handover, outbox.as_ref())).into_response())
}

/// Approve and send a handover
///
/// Built afresh from the current record and consent, signed, and queued for delivery. Where the
/// office requires four eyes, a team lead other than the author approves.
#[utoipa::path(
    post,
    path = "/api/v1/handovers/{id}/approve",
    tag = "handovers",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = HandoverId, Path, description = "The handover. Not a UUID: 404.")),
    responses(
        (status = 202, description = "Approved and queued.", body = OutgoingView),
        NotAnotherTeamLead, NoSuchHandover, ApproveConflict,
    ),
)]
async fn approve_handover(
    State(s): State<ApiState>,
    Manager(account, role): Manager,
    PathIds(id): PathIds<HandoverId>,
    _: NoQuery,
) -> ApiResult<Response> {
    let (handover, outbox) = s.office.approve_handover(&s.office.author(&account), role, id.0).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(OutgoingView::new(&handover, Some(&outbox)))).into_response())
}

/// Cancel a handover not yet delivered
///
/// A draft, or an approved handover whose message is still queued (its delivery stops), becomes
/// `cancelled`. A delivered handover waits for the receiver's decision and cannot be cancelled.
/// A client has one open handover at a time: cancelling frees the way for another.
#[utoipa::path(
    post,
    path = "/api/v1/handovers/{id}/cancel",
    tag = "handovers",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = HandoverId, Path, description = "The handover. Not a UUID: 404.")),
    responses(
        (status = 200, description = "Cancelled.", body = OutgoingView),
        NoClientData, NoSuchHandover, CancelConflict,
    ),
)]
async fn cancel_handover(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<HandoverId>,
    _: NoQuery,
) -> ApiResult<Response> {
    let (handover, outbox) = s.office.cancel_handover(&s.office.author(&account), id.0).await?;
    Ok(axum::Json(OutgoingView::new(&handover, outbox.as_ref())).into_response())
}
