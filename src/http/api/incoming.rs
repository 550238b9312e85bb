//! Handovers this office received: the list, one with its case, accepting and declining it,
//! and recording that the client withdrew here the consent it came on.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyInvalid, COUNSEL, CursorUnknown, problems};
use super::extract::{Json, NoQuery, PathIds, Query, ReceivedHandoverId};
use super::views::{ClientView, IncomingLine, IncomingPage, IncomingView};
use super::{Answer, ApiResult, ApiState, Manager, checked_limit, cursor, default_limit};
use crate::domain::Text;
use crate::domain::delivery::IncomingState;
use crate::storage::{IncomingCursor, IncomingQuery};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_incoming))
        .routes(routes!(get_incoming))
        .routes(routes!(accept_incoming))
        .routes(routes!(decline_incoming))
        .routes(routes!(withdraw_received_consent))
}

problems! {
    NoSuchHandover: "No such handover." => [NotFound];
    NoSuchReceivedHandover: "No such received handover." => [NotFound];
    AcceptConflict: "Decided already, the window has ended since, or the record changed meanwhile." =>
        [InvalidState, WindowEnded, EditConflict, CaseActiveHere, CaseWindowConflict];
    DecidedAlready: "Decided already." => [InvalidState, EditConflict];
    WithdrawnAlready: "The withdrawal of this consent was recorded here already." => [ConsentWithdrawn];
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct IncomingListQuery {
    /// Only handovers in this state.
    #[serde(default)]
    state: Option<IncomingState>,
    /// At most this many items (1-200).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 200, default = 50, required = false)]
    limit: u32,
    /// Where the list goes on: the `next` of the previous page, as it was handed out. Anything
    /// else is `cursor-unknown`.
    #[serde(default)]
    #[param(min_length = 1)]
    after: Option<String>,
}

/// Where the list of received handovers goes on: the last one's time of receipt and id.
#[derive(serde::Serialize, Deserialize)]
struct IncomingAfter {
    #[serde(with = "crate::domain::time::ts")]
    t: chrono::DateTime<chrono::Utc>,
    i: uuid::Uuid,
}

/// List received handovers
///
/// Newest first, without the case; each audited as read.
#[utoipa::path(
    get,
    path = "/api/v1/incoming-handovers",
    tag = "incoming",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(IncomingListQuery),
    responses(
        (status = 200, description = "A page of handovers received, newest first. One audit entry names those shown.",
            body = IncomingPage),
        CursorUnknown,
    ),
)]
async fn list_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Query(q): Query<IncomingListQuery>,
) -> ApiResult<Answer<IncomingPage>> {
    let limit = checked_limit(q.limit)?;
    let after = q.after.as_deref().map(cursor::decode::<IncomingAfter>).transpose()?;
    let query = IncomingQuery {
        state: q.state,
        limit: limit + 1,
        after: after.map(|a| IncomingCursor { received_at: a.t, id: a.i }),
    };
    let list = s.office.list_incoming(&s.office.author(&account), &query).await?;
    let (items, next) = cursor::page(list, limit, |h| IncomingAfter { t: h.received_at, i: h.id });
    let items = items.iter().map(|h| IncomingLine::new(h, s.office.directory())).collect();
    Ok(axum::Json(IncomingPage { items, next }))
}

/// Read a received handover
#[utoipa::path(
    get,
    path = "/api/v1/incoming-handovers/{id}",
    tag = "incoming",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ReceivedHandoverId, Path, description = "The handover. Not a UUID: 404.")),
    responses((status = 200, description = "The handover with the case.", body = IncomingView), NoSuchHandover),
)]
async fn get_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ReceivedHandoverId>,
    _: NoQuery,
) -> ApiResult<Answer<IncomingView>> {
    let handover = s.office.read_incoming(&s.office.author(&account), id.0).await?;
    Ok(axum::Json(IncomingView::new(&handover, s.office.directory())))
}

/// Accept a received handover
///
/// The client continues here with the same first session, extensions and plan history (a case
/// held here before continues in its record); the decision is sent to the releasing office.
#[utoipa::path(
    post,
    path = "/api/v1/incoming-handovers/{id}/accept",
    tag = "incoming",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ReceivedHandoverId, Path, description = "The handover. Not a UUID: 404.")),
    responses(
        (status = 200, description = "The client record here.", body = ClientView),
        NoSuchHandover, AcceptConflict,
    ),
)]
async fn accept_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ReceivedHandoverId>,
    _: NoQuery,
) -> ApiResult<Answer<ClientView>> {
    let record = s.office.accept_incoming(&s.office.author(&account), id.0).await?;
    Ok(axum::Json(ClientView::from(&record)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Decline {
    /// Sent to the releasing office: no personal data.
    reason: Text,
}

/// Decline a received handover
///
/// The decision and reason are sent to the releasing office.
#[utoipa::path(
    post,
    path = "/api/v1/incoming-handovers/{id}/decline",
    tag = "incoming",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ReceivedHandoverId, Path, description = "The handover. Not a UUID: 404.")),
    request_body = Decline,
    responses(
        (status = 200, description = "The handover, declined.", body = IncomingView),
        NoSuchHandover, DecidedAlready, BodyInvalid,
    ),
)]
async fn decline_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ReceivedHandoverId>,
    _: NoQuery,
    Json(req): Json<Decline>,
) -> ApiResult<Answer<IncomingView>> {
    let handover = s.office.decline_incoming(&s.office.author(&account), id.0, req.reason).await?;
    Ok(axum::Json(IncomingView::new(&handover, s.office.directory())))
}

/// Record a withdrawal of the consent a received handover came on
///
/// The client withdrew here the consent they gave at the sending office. Recorded in the
/// ledger; the handover can no longer be accepted, or, accepted already, the record is
/// restricted (GDPR Art. 18); the sending office is told with a signed withdrawal message.
#[utoipa::path(
    post,
    path = "/api/v1/incoming-handovers/{id}/withdraw-consent",
    tag = "incoming",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ReceivedHandoverId, Path, description = "The received handover. Not a UUID: 404.")),
    responses(
        (status = 202, description = "The handover, as it now stands.", body = IncomingView),
        NoSuchReceivedHandover, WithdrawnAlready,
    ),
)]
async fn withdraw_received_consent(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ReceivedHandoverId>,
    _: NoQuery,
) -> ApiResult<Response> {
    s.office.withdraw_received_consent(&s.office.author(&account), id.0).await?;
    let handover = s.office.read_incoming(&s.office.author(&account), id.0).await?;
    let view = IncomingView::new(&handover, s.office.directory());
    Ok((StatusCode::ACCEPTED, axum::Json(view)).into_response())
}
