//! The work list: clients whose window ends soon.

use axum::extract::State;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{COUNSEL, CursorUnknown, QueryInvalid};
use super::extract::Query;
use super::views::{ClientLine, ClientPage};
use super::{Answer, ApiResult, ApiState, Manager, checked_limit, cursor, default_limit, extract};
use crate::domain::ClientId;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(windows_ending))
}

/// The furthest ahead the work list looks, in days.
const MAX_DAYS: u32 = 3660;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct EndingQuery {
    /// Windows ending within this many days from today.
    #[serde(default = "default_days")]
    #[param(minimum = 0, maximum = 3660, default = 90, required = false)]
    days: u32,
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

fn default_days() -> u32 {
    90
}

/// Where the work list goes on: the last client's last day, sort key and id.
#[derive(serde::Serialize, Deserialize)]
struct EndingAfter {
    d: NaiveDate,
    k: String,
    i: ClientId,
}

/// Windows ending soon
///
/// Clients at this office taking part whose window ends within `days` days from today,
/// soonest first (at most 500); each audited as read.
#[utoipa::path(
    get,
    path = "/api/v1/worklist/windows-ending",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(EndingQuery),
    responses(
        (status = 200, description = "The clients, soonest last day first.", body = ClientPage),
        CursorUnknown, QueryInvalid,
    ),
)]
async fn windows_ending(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Query(q): Query<EndingQuery>,
) -> ApiResult<Answer<ClientPage>> {
    if q.days > MAX_DAYS {
        return Err(extract::invalid("/days".into(), format!("days is at most {MAX_DAYS}")));
    }
    let limit = checked_limit(q.limit)?;
    let after = q.after.as_deref().map(cursor::decode::<EndingAfter>).transpose()?.map(|a| (a.d, a.k, a.i));
    let clients = s.office.windows_ending(&s.office.author(&account), q.days, limit + 1, after).await?;
    let (items, next) = cursor::page(clients, limit, |c| EndingAfter { d: c.last_day, k: c.sort_key.clone(), i: c.id });
    Ok(axum::Json(ClientPage { items: items.iter().map(ClientLine::from).collect(), next }))
}
