//! The caseworker API: JSON over HTTP for integration managers, each with a bearer token.
//! Routes are under `/api/v1`; every failure is a problem document (docs/problems.md).

pub mod auth;
mod consents;
mod cursor;
pub mod extract;
mod rights;
mod views;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;

pub use auth::{Accounts, Administrator, AnyCaller, Manager, Supervisor};
use extract::{Id, Json, NoQuery, PathIds, Query};
use views::{AccountView, AuditLine, ClientLine, ClientView, IncomingView, LoginView, OutgoingView, Page};

use super::problem::{Problem, ProblemType};
use crate::domain::case::Extended;
use crate::domain::delivery::IncomingState;
use crate::domain::eligibility::{Benefits, TargetGroup};
use crate::domain::participation::ExitReason;
use crate::domain::plan::{GoalDraft, GoalPatch};
use crate::domain::staff::Role;
use crate::domain::{
    ClientId, ClientIdentity, ConsentId, ExtensionGrounds, ExtensionReason, GoalArea, GoalId, GoalStatus, OfficeId,
    PersonName, Responsible, Step, Text,
};
use crate::service::{NewClient, Office};
use crate::storage::{ClientCursor, ClientQuery, IncomingCursor, IncomingQuery};

#[derive(Clone)]
pub struct ApiState {
    pub office: Arc<Office>,
    pub accounts: Arc<Accounts>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (config `api.trusted_proxies`).
    pub trusted_proxies: Arc<Vec<std::net::IpAddr>>,
}

type ApiResult<T> = Result<T, Problem>;

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/office", get(office))
        .route("/api/v1/clients", post(create_client).get(list_clients))
        .route("/api/v1/clients/{id}", get(get_client))
        .route("/api/v1/clients/{id}/household", get(household))
        .route("/api/v1/clients/{id}/eligibility", axum::routing::put(set_eligibility))
        .route("/api/v1/clients/{id}/sessions", post(record_session).get(list_sessions))
        .route("/api/v1/clients/{id}/exit", post(exit))
        .route("/api/v1/clients/{id}/re-entry", post(re_enter))
        .route("/api/v1/clients/{id}/goals", post(add_goal))
        .route("/api/v1/clients/{id}/goals/{goal}", axum::routing::patch(update_goal))
        .route("/api/v1/clients/{id}/goals/{goal}/reviews", post(review_goal))
        .route("/api/v1/clients/{id}/extensions", post(grant_extension))
        .route("/api/v1/clients/{id}/extension-requests/{request}/approve", post(approve_extension))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/accounts", post(create_account).get(list_accounts))
        .route("/api/v1/clients/{id}/consent-pages", post(consents::open_page))
        .route("/api/v1/clients/{id}/consent-form", get(consents::paper_form))
        .route("/api/v1/clients/{id}/consents", post(consents::record_paper).get(consents::list))
        .route("/api/v1/clients/{id}/consents/{consent}", get(consents::get))
        .route("/api/v1/clients/{id}/consents/{consent}/withdraw", post(consents::withdraw))
        .route("/api/v1/clients/{id}/consents/{consent}/revoke", post(consents::revoke))
        .route("/api/v1/clients/{id}/export", get(rights::export))
        .route("/api/v1/clients/{id}/export/page", get(rights::export_page))
        .route("/api/v1/clients/{id}/erasure", post(rights::erase))
        .route("/api/v1/ledger/verify", get(rights::verify))
        .route("/api/v1/clients/{id}/audit", get(audit_log))
        .route("/api/v1/clients/{id}/notice", get(notice))
        .route("/api/v1/worklist/windows-ending", get(windows_ending))
        .route("/api/v1/handovers", post(draft_handover))
        .route("/api/v1/handovers/{id}", get(get_handover))
        .route("/api/v1/handovers/{id}/approve", post(approve_handover))
        .route("/api/v1/handovers/{id}/cancel", post(cancel_handover))
        .route("/api/v1/incoming-handovers", get(list_incoming))
        .route("/api/v1/incoming-handovers/{id}", get(get_incoming))
        .route("/api/v1/incoming-handovers/{id}/accept", post(accept_incoming))
        .route("/api/v1/incoming-handovers/{id}/decline", post(decline_incoming))
        .route("/api/v1/incoming-handovers/{id}/withdraw-consent", post(consents::withdraw_received))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/openapi.json", get(openapi))
        .fallback(|| async { Problem::new(ProblemType::NotFound) })
        .method_not_allowed_fallback(|| async { Problem::new(ProblemType::MethodNotAllowed) })
        .layer(axum::middleware::from_fn(super::limit_headers))
        .layer(axum::middleware::from_fn(trace))
        .with_state(state)
}

/// The OpenAPI document of this API (`docs/openapi.json`, kept true by `tests/openapi.rs`).
async fn openapi() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], include_str!("../../../docs/openapi.json"))
        .into_response()
}

/// A span per request with method and matched route (never the raw path: it holds ids).
async fn trace(request: Request, next: axum::middleware::Next) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!(
        "api_request",
        method = %request.method(),
        route = %route,
        account = tracing::field::Empty,
        status = tracing::field::Empty
    );
    tracing::Instrument::instrument(
        async move {
            let response = next.run(request).await;
            tracing::Span::current().record("status", response.status().as_u16());
            tracing::info!("handled");
            response
        },
        span,
    )
    .await
}

/// A JSON answer (serialised with the types' own rules: timestamps with milliseconds).
type Answer<T> = axum::Json<T>;

async fn office(State(s): State<ApiState>, AnyCaller(caller): AnyCaller, _: NoQuery) -> Answer<serde_json::Value> {
    axum::Json(serde_json::json!({
        "id": s.office.id(),
        "name": s.office.name(),
        "you": { "account": caller.account, "role": caller.role },
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    account: String,
    password: String,
}

async fn login(
    State(s): State<ApiState>,
    source: auth::ClientSource,
    _: NoQuery,
    Json(req): Json<Login>,
) -> ApiResult<Answer<LoginView>> {
    let session = s.office.login(&req.account, req.password, source.0).await?;
    Ok(axum::Json(LoginView { token: session.token, expires_at: session.expires_at }))
}

async fn logout(
    State(s): State<ApiState>,
    AnyCaller(_): AnyCaller,
    _: NoQuery,
    headers: axum::http::HeaderMap,
) -> ApiResult<StatusCode> {
    s.office.logout(auth::bearer_of(&headers).unwrap_or_default()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    role: Role,
    password: String,
}

async fn create_account(
    State(s): State<ApiState>,
    Administrator(caller): Administrator,
    _: NoQuery,
    Json(req): Json<NewAccount>,
) -> ApiResult<Response> {
    let account = s.office.create_account(&caller, &req.name, req.role, req.password).await?;
    Ok((StatusCode::CREATED, axum::Json(AccountView::from(&account))).into_response())
}

async fn list_accounts(
    State(s): State<ApiState>,
    Administrator(caller): Administrator,
    _: NoQuery,
) -> ApiResult<Answer<Vec<AccountView>>> {
    Ok(axum::Json(s.office.list_accounts(&caller).await?.iter().map(AccountView::from).collect()))
}

async fn approve_extension(
    State(s): State<ApiState>,
    Manager(account, role): Manager,
    PathIds((id, Id(request))): PathIds<(ClientId, Id)>,
    _: NoQuery,
) -> ApiResult<Answer<ClientView>> {
    let record = s.office.approve_extension(&s.office.author(&account), role, id, request).await?;
    Ok(axum::Json(ClientView::from(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateClient {
    given_name: PersonName,
    family_name: PersonName,
    #[serde(with = "crate::domain::time::date")]
    date_of_birth: NaiveDate,
    #[serde(with = "crate::domain::time::date")]
    first_session: NaiveDate,
    target_group: TargetGroup,
    benefits: Benefits,
    #[serde(default)]
    discretion_reason: Option<Text>,
    #[serde(default)]
    household_of: Option<ClientId>,
}

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

async fn get_client(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Answer<ClientView>> {
    let record = s.office.read_client(&s.office.author(&account), id).await?;
    Ok(axum::Json(ClientView::from(&record)))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    active_only: bool,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    after: Option<String>,
}

/// Where the client list goes on: the last client's sort key and id.
#[derive(serde::Serialize, Deserialize)]
struct ClientAfter {
    k: String,
    i: ClientId,
}

async fn list_clients(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Query(q): Query<ListQuery>,
) -> ApiResult<Answer<Page<ClientLine>>> {
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
    Ok(axum::Json(Page { items: items.iter().map(ClientLine::from).collect(), next }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndingQuery {
    #[serde(default = "default_days")]
    days: u32,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
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

async fn windows_ending(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Query(q): Query<EndingQuery>,
) -> ApiResult<Answer<Page<ClientLine>>> {
    if q.days > 3660 {
        return Err(extract::invalid("/days".into(), "days is at most 3660".into()));
    }
    let limit = checked_limit(q.limit)?;
    let after = q.after.as_deref().map(cursor::decode::<EndingAfter>).transpose()?.map(|a| (a.d, a.k, a.i));
    let clients = s.office.windows_ending(&s.office.author(&account), q.days, limit + 1, after).await?;
    let (items, next) = cursor::page(clients, limit, |c| EndingAfter { d: c.last_day, k: c.sort_key.clone(), i: c.id });
    Ok(axum::Json(Page { items: items.iter().map(ClientLine::from).collect(), next }))
}

async fn household(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Answer<Vec<ClientLine>>> {
    let members = s.office.household(&s.office.author(&account), id).await?;
    Ok(axum::Json(members.iter().map(ClientLine::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetEligibility {
    target_group: TargetGroup,
    benefits: Benefits,
    #[serde(default)]
    discretion_reason: Option<Text>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSession {
    #[serde(with = "crate::domain::time::date")]
    date: NaiveDate,
    note: Text,
}

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

async fn list_sessions(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Answer<Vec<crate::domain::participation::CounsellingSession>>> {
    Ok(axum::Json(s.office.sessions(&s.office.author(&account), id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Exit {
    #[serde(with = "crate::domain::time::date")]
    on: NaiveDate,
    reason: ExitReason,
    #[serde(default)]
    note: Option<Text>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReEntry {
    #[serde(with = "crate::domain::time::date")]
    on: NaiveDate,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewReview {
    #[serde(with = "crate::domain::time::date")]
    on: NaiveDate,
    note: Text,
}

async fn review_goal(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds((id, goal)): PathIds<(ClientId, GoalId)>,
    _: NoQuery,
    Json(req): Json<NewReview>,
) -> ApiResult<Response> {
    let goal = s.office.review_goal(&s.office.author(&account), id, goal, req.on, req.note).await?;
    Ok((StatusCode::CREATED, axum::Json(goal)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeQuery {
    #[serde(default = "german")]
    lang: String,
}

fn german() -> String {
    "de".into()
}

/// The printable client notice (HTML), `?lang=de` (default) or another language with texts.
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
    Ok(([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    after: Option<String>,
}

async fn audit_log(
    State(s): State<ApiState>,
    Supervisor(caller): Supervisor,
    PathIds(id): PathIds<ClientId>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Answer<Page<AuditLine>>> {
    let limit = checked_limit(q.limit)?;
    let after = q.after.as_deref().map(cursor::decode::<i64>).transpose()?;
    let lines = s.office.audit_log(&s.office.author(&caller.account), id, after, limit + 1).await?;
    let (items, next) = cursor::page(lines, limit, |(seq, _)| *seq);
    Ok(axum::Json(Page { items: items.into_iter().map(|(_, e)| AuditLine::from(e)).collect(), next }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGoal {
    area: GoalArea,
    description: Text,
    #[serde(default)]
    steps: Vec<Step>,
    responsible: Responsible,
    #[serde(default, with = "crate::domain::time::date_opt")]
    target_date: Option<NaiveDate>,
}

async fn add_goal(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
    Json(req): Json<NewGoal>,
) -> ApiResult<Response> {
    let draft = GoalDraft {
        area: req.area,
        description: req.description,
        steps: req.steps,
        responsible: req.responsible,
        target_date: req.target_date,
    };
    let goal = s.office.add_goal(&s.office.author(&account), id, draft).await?;
    Ok((StatusCode::CREATED, axum::Json(goal)).into_response())
}

/// `Some(None)` for an explicit `null`, `None` for an absent field; dates read strictly.
fn present_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<NaiveDate>>, D::Error> {
    crate::domain::time::date_opt::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeGoal {
    description: Option<Text>,
    steps: Option<Vec<Step>>,
    responsible: Option<Responsible>,
    #[serde(default, deserialize_with = "present_date")]
    target_date: Option<Option<NaiveDate>>,
    status: Option<GoalStatus>,
}

async fn update_goal(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds((id, goal)): PathIds<(ClientId, GoalId)>,
    _: NoQuery,
    Json(req): Json<ChangeGoal>,
) -> ApiResult<Answer<crate::domain::Goal>> {
    let patch = GoalPatch {
        description: req.description,
        steps: req.steps,
        responsible: req.responsible,
        target_date: req.target_date,
        status: req.status,
    };
    let goal = s.office.update_goal(&s.office.author(&account), id, goal, patch).await?;
    Ok(axum::Json(goal))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewExtension {
    months: u32,
    reasons: BTreeSet<ExtensionReason>,
    justification: Text,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewHandover {
    client_id: ClientId,
    receiver: OfficeId,
    consent_id: ConsentId,
}

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

async fn get_handover(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(Id(id)): PathIds<Id>,
    _: NoQuery,
) -> ApiResult<Response> {
    let (handover, outbox) = s.office.outgoing_handover(&s.office.author(&account), id).await?;
    Ok(axum::Json(OutgoingView::new(&handover, outbox.as_ref())).into_response())
}

async fn approve_handover(
    State(s): State<ApiState>,
    Manager(account, role): Manager,
    PathIds(Id(id)): PathIds<Id>,
    _: NoQuery,
) -> ApiResult<Response> {
    let (handover, outbox) = s.office.approve_handover(&s.office.author(&account), role, id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(OutgoingView::new(&handover, Some(&outbox)))).into_response())
}

async fn cancel_handover(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(Id(id)): PathIds<Id>,
    _: NoQuery,
) -> ApiResult<Response> {
    let (handover, outbox) = s.office.cancel_handover(&s.office.author(&account), id).await?;
    Ok(axum::Json(OutgoingView::new(&handover, outbox.as_ref())).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncomingListQuery {
    #[serde(default)]
    state: Option<IncomingState>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    after: Option<String>,
}

/// Where the list of received handovers goes on: the last one's time of receipt and id.
#[derive(serde::Serialize, Deserialize)]
struct IncomingAfter {
    #[serde(with = "crate::domain::time::ts")]
    t: chrono::DateTime<chrono::Utc>,
    i: uuid::Uuid,
}

async fn list_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Query(q): Query<IncomingListQuery>,
) -> ApiResult<Answer<Page<IncomingView>>> {
    let limit = checked_limit(q.limit)?;
    let after = q.after.as_deref().map(cursor::decode::<IncomingAfter>).transpose()?;
    let query = IncomingQuery {
        state: q.state,
        limit: limit + 1,
        after: after.map(|a| IncomingCursor { received_at: a.t, id: a.i }),
    };
    let list = s.office.list_incoming(&s.office.author(&account), &query).await?;
    let (items, next) = cursor::page(list, limit, |h| IncomingAfter { t: h.received_at, i: h.id });
    let items = items.iter().map(|h| IncomingView::summary(h, s.office.directory())).collect();
    Ok(axum::Json(Page { items, next }))
}

async fn get_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(Id(id)): PathIds<Id>,
    _: NoQuery,
) -> ApiResult<Answer<IncomingView>> {
    let handover = s.office.read_incoming(&s.office.author(&account), id).await?;
    Ok(axum::Json(IncomingView::full(&handover, s.office.directory())))
}

async fn accept_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(Id(id)): PathIds<Id>,
    _: NoQuery,
) -> ApiResult<Answer<ClientView>> {
    let record = s.office.accept_incoming(&s.office.author(&account), id).await?;
    Ok(axum::Json(ClientView::from(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decline {
    reason: Text,
}

async fn decline_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(Id(id)): PathIds<Id>,
    _: NoQuery,
    Json(req): Json<Decline>,
) -> ApiResult<Answer<IncomingView>> {
    let handover = s.office.decline_incoming(&s.office.author(&account), id, req.reason).await?;
    Ok(axum::Json(IncomingView::full(&handover, s.office.directory())))
}
