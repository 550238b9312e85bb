//! Client records: creating, listing and reading them, the household, eligibility, exits and
//! re-entries, and the printable client notice.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{COUNSEL, ClientConflict, CursorUnknown, Erased, NoSuchClient, QueryInvalid, problems};
use super::extract::{Json, NoQuery, PathIds, Query};
use super::schema::Date;
use super::views::{ClientLine, ClientPage, ClientView};
use super::{Answer, ApiResult, ApiState, Manager, checked_limit, cursor, default_limit};
use crate::domain::eligibility::{Benefits, TargetGroup};
use crate::domain::participation::ExitReason;
use crate::domain::{ClientId, ClientIdentity, PersonName, Text};
use crate::http::problem::{Problem, ProblemType};
use crate::service::NewClient;
use crate::storage::{ClientCursor, ClientQuery};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create_client, list_clients))
        .routes(routes!(get_client))
        .routes(routes!(household))
        .routes(routes!(set_eligibility))
        .routes(routes!(exit))
        .routes(routes!(re_enter))
        .routes(routes!(notice))
}

problems! {
    HouseholdOfUnknown: "`household_of` names no client." => [NotFound];
    HouseholdOfChanged: "The `household_of` record changed meanwhile." => [EditConflict];
    NewClientInvalid: "The body is not valid, the person is not 18 on the first session, the first session lies in \
        the future, or there are no benefits and no `discretion_reason`." =>
        [ValidationFailed, NotAdult, FirstSessionInFuture, DiscretionRequired];
    EligibilityInvalid: "The body is not valid, or no benefits and no `discretion_reason`." =>
        [ValidationFailed, DiscretionRequired];
    ExitConflict: "The client moved out or has left already, or the record changed meanwhile; or processing of the \
        record is restricted (`client-restricted`)." => [ClientMovedOut, ClientNotActive, EditConflict, ClientRestricted];
    ExitInvalid: "The body is not valid, or the date lies in the future or before the last event." =>
        [ValidationFailed, DateInvalid];
    ReEntryConflict: "The client moved out or takes part already, the date lies after the last day, or the record \
        changed meanwhile; or processing of the record is restricted (`client-restricted`)." =>
        [ClientMovedOut, InvalidState, WindowEnded, EditConflict, ClientRestricted];
    ReEntryInvalid: "The body is not valid, or the date lies in the future or before the exit." =>
        [ValidationFailed, DateInvalid];
    NoClientOrNotice: "No such client, or no texts in this language (`languages` lists those there are)." =>
        [NotFound];
    NoticeQueryInvalid: "A query parameter is unknown." => [ValidationFailed];
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NewClient)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateClient {
    given_name: PersonName,
    family_name: PersonName,
    #[serde(with = "crate::domain::time::date")]
    #[schema(value_type = Date)]
    date_of_birth: NaiveDate,
    /// Not in the future; the client is 18 on this day.
    #[serde(with = "crate::domain::time::date")]
    #[schema(value_type = Date)]
    first_session: NaiveDate,
    target_group: TargetGroup,
    benefits: Benefits,
    /// Why counselling goes on without benefits; required when `benefits` is `none`.
    #[serde(default)]
    discretion_reason: Option<Text>,
    /// An adult joining the household of this client (own window, linked).
    #[serde(default)]
    household_of: Option<ClientId>,
}

/// Create a client
///
/// Opens the client's window with the first session; the client is audited as written.
#[utoipa::path(
    post,
    path = "/api/v1/clients",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    request_body = CreateClient,
    responses(
        (status = 201, description = "The new client record.", body = ClientView),
        HouseholdOfUnknown, HouseholdOfChanged, NewClientInvalid,
    ),
)]
async fn create_client(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    _: NoQuery,
    Json(req): Json<CreateClient>,
) -> ApiResult<Response> {
    let identity =
        ClientIdentity { given_name: req.given_name, family_name: req.family_name, date_of_birth: req.date_of_birth };
    let new = NewClient {
        identity,
        first_session: req.first_session,
        target_group: req.target_group,
        benefits: req.benefits,
        discretion_reason: req.discretion_reason,
        household_of: req.household_of,
    };
    let record = s.office.create_client(&s.office.author(&account), new).await?;
    Ok((StatusCode::CREATED, axum::Json(ClientView::from(&record))).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    /// Words that each begin a word of the client's given or family name, in any case, with or
    /// without accents (`mull`, `muell` and `MÜLL` find Müller). Up to 4 words are used; blank
    /// means none.
    #[serde(default)]
    search: Option<String>,
    /// Only clients not moved out.
    #[serde(default)]
    #[param(default = false, required = false)]
    active_only: bool,
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

/// Where the client list goes on: the last client's sort key and id.
#[derive(serde::Serialize, Deserialize)]
struct ClientAfter {
    k: String,
    i: ClientId,
}

/// List clients
///
/// Clients in the order of their names (family name, then given name, folded: case, accents
/// and umlauts aside), a page at a time. Every page read is one audit entry naming the clients
/// it showed.
#[utoipa::path(
    get,
    path = "/api/v1/clients",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(ListQuery),
    responses((status = 200, description = "A page of clients.", body = ClientPage), CursorUnknown, QueryInvalid),
)]
async fn list_clients(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Query(q): Query<ListQuery>,
) -> ApiResult<Answer<ClientPage>> {
    let limit = checked_limit(q.limit)?;
    let after = q.after.as_deref().map(cursor::decode::<ClientAfter>).transpose()?;
    let query = ClientQuery {
        words: q.search.as_deref().map(crate::domain::search::query_words).unwrap_or_default(),
        active_only: q.active_only,
        limit: limit + 1,
        after: after.map(|a| ClientCursor { sort_key: a.k, id: a.i }),
    };
    let clients = s.office.list_clients(&s.office.author(&account), &query).await?;
    let (items, next) = cursor::page(clients, limit, |c| ClientAfter { k: c.sort_key.clone(), i: c.id });
    Ok(axum::Json(ClientPage { items: items.iter().map(ClientLine::from).collect(), next }))
}

/// Read a client
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    responses((status = 200, description = "The client record.", body = ClientView), NoSuchClient, Erased),
)]
async fn get_client(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Answer<ClientView>> {
    let record = s.office.read_client(&s.office.author(&account), id).await?;
    Ok(axum::Json(ClientView::from(&record)))
}

/// A client's household members, the client included.
pub(super) struct Household;

impl utoipa::PartialSchema for Household {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name("ClientLine"))
            .min_items(Some(1))
            .into()
    }
}

impl ToSchema for Household {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push(("ClientLine".into(), <ClientLine as utoipa::PartialSchema>::schema()));
        <ClientLine as ToSchema>::schemas(schemas);
    }
}

/// The client's household
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/household",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    responses(
        (status = 200, description = "The members of the client's household, the client included (only the client \
            without one).", body = inline(Household)),
        NoSuchClient, Erased,
    ),
)]
async fn household(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Answer<Vec<ClientLine>>> {
    let members = s.office.household(&s.office.author(&account), id).await?;
    Ok(axum::Json(members.iter().map(ClientLine::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SetEligibility {
    target_group: TargetGroup,
    benefits: Benefits,
    /// Required when `benefits` is `none`.
    #[serde(default)]
    discretion_reason: Option<Text>,
}

/// Record target group and benefits
#[utoipa::path(
    put,
    path = "/api/v1/clients/{id}/eligibility",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    request_body = SetEligibility,
    responses(
        (status = 200, description = "The client record.", body = ClientView),
        NoSuchClient, ClientConflict, Erased, EligibilityInvalid,
    ),
)]
async fn set_eligibility(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
    Json(req): Json<SetEligibility>,
) -> ApiResult<Answer<ClientView>> {
    let author = s.office.author(&account);
    let record = s.office.set_eligibility(&author, id, req.target_group, req.benefits, req.discretion_reason).await?;
    Ok(axum::Json(ClientView::from(&record)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Exit {
    #[serde(with = "crate::domain::time::date")]
    #[schema(value_type = Date)]
    on: NaiveDate,
    reason: ExitReason,
    #[serde(default)]
    note: Option<Text>,
}

/// Record an exit
///
/// Counselling ends early, with a reason. The window keeps running.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/exit",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    request_body = Exit,
    responses(
        (status = 200, description = "The client record.", body = ClientView),
        NoSuchClient, ExitConflict, Erased, ExitInvalid,
    ),
)]
async fn exit(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
    Json(req): Json<Exit>,
) -> ApiResult<Answer<ClientView>> {
    let record = s.office.exit(&s.office.author(&account), id, req.on, req.reason, req.note).await?;
    Ok(axum::Json(ClientView::from(&record)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReEntry {
    #[serde(with = "crate::domain::time::date")]
    #[schema(value_type = Date)]
    on: NaiveDate,
}

/// Record a re-entry
///
/// The client comes back, at the latest on the window's last day, which stays as it was.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/re-entry",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    request_body = ReEntry,
    responses(
        (status = 200, description = "The client record.", body = ClientView),
        NoSuchClient, ReEntryConflict, Erased, ReEntryInvalid,
    ),
)]
async fn re_enter(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
    Json(req): Json<ReEntry>,
) -> ApiResult<Answer<ClientView>> {
    let record = s.office.re_enter(&s.office.author(&account), id, req.on).await?;
    Ok(axum::Json(ClientView::from(&record)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct NoticeQuery {
    /// A language code with notice texts (ASCII case ignored).
    #[serde(default = "german")]
    #[param(default = "de", required = false, example = "de")]
    lang: String,
}

fn german() -> String {
    "de".into()
}

/// The printable client notice
///
/// What Integrationsmanagement is for and until when the window runs, as an HTML page.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/notice",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404."), NoticeQuery),
    responses(
        (status = 200, description = "The notice.", content_type = "text/html", body = String),
        NoClientOrNotice, Erased, NoticeQueryInvalid,
    ),
)]
async fn notice(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    Query(q): Query<NoticeQuery>,
) -> ApiResult<Response> {
    let page = s.office.notice(&s.office.author(&account), id, &q.lang).await?;
    let page = page.ok_or_else(|| {
        let available: Vec<&str> = crate::notice::languages().collect();
        Problem::new(ProblemType::NotFound)
            .detail(format!("no notice texts in this language; available: {}", available.join(", ")))
            .with("languages", available)
    })?;
    // A printable document: the headers (and the Content-Security-Policy) of every such page.
    Ok(crate::http::pages::html(axum::http::StatusCode::OK, page))
}
