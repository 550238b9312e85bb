//! The audit log of a client: every read and write of its data, for team leads and
//! administrators.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{CursorUnknown, Erased, NoSuchClient, SUPERVISORS};
use super::extract::{PathIds, Query};
use super::views::{AuditLine, AuditPage};
use super::{Answer, ApiResult, ApiState, Supervisor, checked_limit, cursor, default_limit};
use crate::domain::ClientId;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
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

/// The audit log of a client
///
/// Every read and write of the client's data, oldest first. Team leads and administrators only.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/audit",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(SUPERVISORS))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404."), AuditQuery),
    responses(
        (status = 200, description = "A page of the audit entries, oldest first.", body = AuditPage),
        CursorUnknown, NoSuchClient, Erased,
    ),
)]
async fn audit_log(
    State(s): State<ApiState>,
    Supervisor(caller): Supervisor,
    PathIds(id): PathIds<ClientId>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Answer<AuditPage>> {
    let limit = checked_limit(q.limit)?;
    let after = q.after.as_deref().map(cursor::decode::<i64>).transpose()?;
    let lines = s.office.audit_log(&s.office.author(&caller.account), id, after, limit + 1).await?;
    let (items, next) = cursor::page(lines, limit, |(seq, _)| *seq);
    Ok(axum::Json(AuditPage { items: items.into_iter().map(|(_, e)| AuditLine::from(e)).collect(), next }))
}
