//! The caseworker API: JSON over HTTP for integration managers, each with a bearer token.
//! Routes are under `/api/v1`; every failure is a problem document (docs/problems.md).

pub mod auth;
mod views;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use auth::{Accounts, AnyCaller, Manager, Supervisor};
use views::{ClientLine, ClientView, ConsentView, IncomingView, OutgoingView};

use super::problem::{Problem, ProblemType};
use crate::domain::eligibility::{Benefits, TargetGroup};
use crate::domain::participation::ExitReason;
use crate::domain::plan::{GoalDraft, GoalPatch};
use crate::domain::staff::Role;
use crate::domain::{
    ClientId, ClientIdentity, ConsentId, DataCategory, ExtensionGrounds, ExtensionReason, GoalArea, GoalId, GoalStatus,
    OfficeId, PersonName, Responsible, Step, Text,
};
use crate::service::{ExtensionOutcome, NewClient, Office};
use crate::storage::ClientQuery;

#[derive(Clone)]
pub struct ApiState {
    pub office: Arc<Office>,
    pub accounts: Arc<Accounts>,
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
        .route("/api/v1/clients/{id}/consents", post(record_consent))
        .route("/api/v1/clients/{id}/consents/{consent}", get(get_consent))
        .route("/api/v1/clients/{id}/consents/{consent}/withdraw", post(withdraw_consent))
        .route("/api/v1/clients/{id}/audit", get(audit_log))
        .route("/api/v1/clients/{id}/notice", get(notice))
        .route("/api/v1/worklist/windows-ending", get(windows_ending))
        .route("/api/v1/handovers", post(draft_handover))
        .route("/api/v1/handovers/{id}", get(get_handover))
        .route("/api/v1/handovers/{id}/approve", post(approve_handover))
        .route("/api/v1/incoming-handovers", get(list_incoming))
        .route("/api/v1/incoming-handovers/{id}", get(get_incoming))
        .route("/api/v1/incoming-handovers/{id}/accept", post(accept_incoming))
        .route("/api/v1/incoming-handovers/{id}/decline", post(decline_incoming))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/openapi.json", get(openapi))
        .fallback(|| async { Problem::new(ProblemType::NotFound) })
        .method_not_allowed_fallback(|| async { Problem::new(ProblemType::MethodNotAllowed) })
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

/// A JSON body. One that does not parse is a `validation-failed` problem whose `errors` name
/// the field (JSON Pointer) and what is wrong with it.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .map_err(|_| Problem::new(ProblemType::PayloadTooLarge).with("limit_bytes", 1 << 20))?;
        let invalid = |pointer: String, reason: String| {
            Problem::new(ProblemType::ValidationFailed)
                .detail(format!("{pointer}: {reason}"))
                .with("errors", serde_json::json!([{ "pointer": pointer, "reason": reason }]))
        };
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| invalid(pointer_of(e.path()), e.into_inner().to_string()))?;
        de.end().map_err(|e| invalid(String::new(), e.to_string()))?;
        Ok(Body(value))
    }
}

/// A serde path as a JSON Pointer.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => format!("/{index}"),
            Segment::Map { key } => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => format!("/{variant}"),
            Segment::Unknown => "/?".to_owned(),
        })
        .collect()
}

fn parse_id(s: &str, what: &'static str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| Problem::new(ProblemType::NotFound).detail(format!("no such {what}")))
}

fn client_id(s: &str) -> ApiResult<ClientId> {
    parse_id(s, "client").map(ClientId::from_uuid)
}

async fn office(State(s): State<ApiState>, AnyCaller(caller): AnyCaller) -> Json<serde_json::Value> {
    Json(serde_json::json!({
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

async fn login(State(s): State<ApiState>, Body(req): Body<Login>) -> ApiResult<Json<serde_json::Value>> {
    let session = s.office.login(&req.account, req.password).await?;
    Ok(Json(serde_json::json!({ "token": session.token, "expires_at": session.expires_at })))
}

async fn logout(
    State(s): State<ApiState>,
    AnyCaller(_): AnyCaller,
    headers: axum::http::HeaderMap,
) -> ApiResult<StatusCode> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    s.office.logout(token.trim()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    role: Role,
    password: String,
}

fn account_json(a: &crate::storage::AccountRecord) -> serde_json::Value {
    serde_json::json!({ "name": a.name, "role": a.role, "created_by": a.created_by, "created_at": a.created_at, "disabled_at": a.disabled_at })
}

async fn create_account(
    State(s): State<ApiState>,
    AnyCaller(caller): AnyCaller,
    Body(req): Body<NewAccount>,
) -> ApiResult<Response> {
    let account = s.office.create_account(&caller, &req.name, req.role, req.password).await?;
    Ok((StatusCode::CREATED, Json(account_json(&account))).into_response())
}

async fn list_accounts(
    State(s): State<ApiState>,
    AnyCaller(caller): AnyCaller,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    Ok(Json(s.office.list_accounts(&caller).await?.iter().map(account_json).collect()))
}

async fn approve_extension(
    State(s): State<ApiState>,
    Manager(account, role): Manager,
    Path((id, request)): Path<(String, String)>,
) -> ApiResult<Json<ClientView>> {
    let request = parse_id(&request, "extension request")?;
    let record = s.office.approve_extension(&s.office.author(&account), role, client_id(&id)?, request).await?;
    Ok(Json(ClientView::from(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateClient {
    given_name: PersonName,
    family_name: PersonName,
    date_of_birth: NaiveDate,
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
    Body(req): Body<CreateClient>,
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
    Ok((StatusCode::CREATED, Json(ClientView::from(&record))).into_response())
}

async fn get_client(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
) -> ApiResult<Json<ClientView>> {
    let record = s.office.read_client(&s.office.author(&account), client_id(&id)?).await?;
    Ok(Json(ClientView::from(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    active_only: bool,
    #[serde(default = "first_page")]
    page: u32,
    #[serde(default = "default_per_page")]
    per_page: u32,
}

fn first_page() -> u32 {
    1
}

fn default_per_page() -> u32 {
    50
}

/// A query string; one that does not parse is a `validation-failed` problem.
fn query<T: DeserializeOwned>(raw: Option<&str>) -> ApiResult<T> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| Problem::new(ProblemType::ValidationFailed).detail(e.to_string()))
}

async fn list_clients(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    uri: axum::http::Uri,
) -> ApiResult<Json<serde_json::Value>> {
    let q: ListQuery = query(uri.query())?;
    if q.page == 0 || !(1..=200).contains(&q.per_page) {
        return Err(Problem::new(ProblemType::ValidationFailed).detail("page starts at 1; per_page is 1 to 200"));
    }
    let search = q.search.filter(|t| !t.trim().is_empty());
    let query = ClientQuery {
        search,
        active_only: q.active_only,
        limit: q.per_page,
        offset: (q.page - 1).saturating_mul(q.per_page),
    };
    let (clients, total) = s.office.list_clients(&s.office.author(&account), &query).await?;
    let items: Vec<ClientLine> = clients.iter().map(ClientLine::from).collect();
    Ok(Json(serde_json::json!({ "items": items, "page": q.page, "per_page": q.per_page, "total": total })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndingQuery {
    #[serde(default = "default_days")]
    days: u32,
}

fn default_days() -> u32 {
    90
}

async fn windows_ending(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    uri: axum::http::Uri,
) -> ApiResult<Json<Vec<ClientLine>>> {
    let q: EndingQuery = query(uri.query())?;
    if q.days > 3660 {
        return Err(Problem::new(ProblemType::ValidationFailed).detail("days is at most 3660"));
    }
    let clients = s.office.windows_ending(&s.office.author(&account), q.days, 500).await?;
    Ok(Json(clients.iter().map(ClientLine::from).collect()))
}

async fn household(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ClientLine>>> {
    let members = s.office.household(&s.office.author(&account), client_id(&id)?).await?;
    Ok(Json(members.iter().map(ClientLine::from).collect()))
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
    Path(id): Path<String>,
    Body(req): Body<SetEligibility>,
) -> ApiResult<Json<ClientView>> {
    let record = s
        .office
        .set_eligibility(
            &s.office.author(&account),
            client_id(&id)?,
            req.target_group,
            req.benefits,
            req.discretion_reason,
        )
        .await?;
    Ok(Json(ClientView::from(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSession {
    date: NaiveDate,
    note: Text,
}

async fn record_session(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
    Body(req): Body<NewSession>,
) -> ApiResult<Response> {
    let session = s.office.record_session(&s.office.author(&account), client_id(&id)?, req.date, req.note).await?;
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

async fn list_sessions(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<crate::domain::participation::CounsellingSession>>> {
    Ok(Json(s.office.sessions(&s.office.author(&account), client_id(&id)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Exit {
    on: NaiveDate,
    reason: ExitReason,
    #[serde(default)]
    note: Option<Text>,
}

async fn exit(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
    Body(req): Body<Exit>,
) -> ApiResult<Json<ClientView>> {
    let record = s.office.exit(&s.office.author(&account), client_id(&id)?, req.on, req.reason, req.note).await?;
    Ok(Json(ClientView::from(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReEntry {
    on: NaiveDate,
}

async fn re_enter(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
    Body(req): Body<ReEntry>,
) -> ApiResult<Json<ClientView>> {
    let record = s.office.re_enter(&s.office.author(&account), client_id(&id)?, req.on).await?;
    Ok(Json(ClientView::from(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewReview {
    on: NaiveDate,
    note: Text,
}

async fn review_goal(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path((id, goal)): Path<(String, String)>,
    Body(req): Body<NewReview>,
) -> ApiResult<Response> {
    let goal_id = GoalId::from_uuid(parse_id(&goal, "goal")?);
    let goal = s.office.review_goal(&s.office.author(&account), client_id(&id)?, goal_id, req.on, req.note).await?;
    Ok((StatusCode::CREATED, Json(goal)).into_response())
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
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    let q: NoticeQuery = query(uri.query())?;
    let page = s.office.notice(&s.office.author(&account), client_id(&id)?, &q.lang).await?;
    let page = page.ok_or_else(|| {
        let available: Vec<&str> = crate::notice::languages().collect();
        Problem::new(ProblemType::NotFound)
            .detail(format!("no notice texts in this language; available: {}", available.join(", ")))
            .with("languages", available)
    })?;
    Ok(([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

async fn audit_log(
    State(s): State<ApiState>,
    Supervisor(caller): Supervisor,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<crate::storage::AuditEntry>>> {
    Ok(Json(s.office.audit_log(&s.office.author(&caller.account), client_id(&id)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGoal {
    area: GoalArea,
    description: Text,
    #[serde(default)]
    steps: Vec<Step>,
    responsible: Responsible,
    #[serde(default)]
    target_date: Option<NaiveDate>,
}

async fn add_goal(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
    Body(req): Body<NewGoal>,
) -> ApiResult<Response> {
    let draft = GoalDraft {
        area: req.area,
        description: req.description,
        steps: req.steps,
        responsible: req.responsible,
        target_date: req.target_date,
    };
    let goal = s.office.add_goal(&s.office.author(&account), client_id(&id)?, draft).await?;
    Ok((StatusCode::CREATED, Json(goal)).into_response())
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeGoal {
    description: Option<Text>,
    steps: Option<Vec<Step>>,
    responsible: Option<Responsible>,
    #[serde(default, deserialize_with = "present")]
    target_date: Option<Option<NaiveDate>>,
    status: Option<GoalStatus>,
}

async fn update_goal(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path((id, goal)): Path<(String, String)>,
    Body(req): Body<ChangeGoal>,
) -> ApiResult<Json<crate::domain::Goal>> {
    let patch = GoalPatch {
        description: req.description,
        steps: req.steps,
        responsible: req.responsible,
        target_date: req.target_date,
        status: req.status,
    };
    let goal_id = GoalId::from_uuid(parse_id(&goal, "goal")?);
    let goal = s.office.update_goal(&s.office.author(&account), client_id(&id)?, goal_id, patch).await?;
    Ok(Json(goal))
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
    Path(id): Path<String>,
    Body(req): Body<NewExtension>,
) -> ApiResult<Response> {
    let grounds = ExtensionGrounds::new(req.reasons, req.justification).map_err(|e| Problem::from(&e))?;
    let outcome = s.office.grant_extension(&s.office.author(&account), client_id(&id)?, req.months, grounds).await?;
    Ok(match outcome {
        ExtensionOutcome::Granted(record) => Json(ClientView::from(&record)).into_response(),
        // Four eyes: 202, the request waits for a team lead; `pending_extensions` lists it.
        ExtensionOutcome::Pending(record, _) => (StatusCode::ACCEPTED, Json(ClientView::from(&record))).into_response(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewConsent {
    recipient: OfficeId,
    categories: BTreeSet<DataCategory>,
}

async fn record_consent(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
    Body(req): Body<NewConsent>,
) -> ApiResult<Response> {
    let grant =
        s.office.record_consent(&s.office.author(&account), client_id(&id)?, req.recipient, req.categories).await?;
    Ok((StatusCode::CREATED, Json(ConsentView::from(&grant))).into_response())
}

async fn get_consent(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path((id, consent)): Path<(String, String)>,
) -> ApiResult<Json<ConsentView>> {
    let consent_id = ConsentId::from_uuid(parse_id(&consent, "consent")?);
    let grant = s.office.read_consent(&s.office.author(&account), client_id(&id)?, consent_id).await?;
    Ok(Json(ConsentView::from(&grant)))
}

async fn withdraw_consent(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path((id, consent)): Path<(String, String)>,
) -> ApiResult<Json<ConsentView>> {
    let consent_id = ConsentId::from_uuid(parse_id(&consent, "consent")?);
    let grant = s.office.withdraw_consent(&s.office.author(&account), client_id(&id)?, consent_id).await?;
    Ok(Json(ConsentView::from(&grant)))
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
    Body(req): Body<NewHandover>,
) -> ApiResult<Response> {
    let draft =
        s.office.draft_handover(&s.office.author(&account), req.client_id, req.receiver, req.consent_id).await?;
    Ok((StatusCode::CREATED, Json(OutgoingView::new(&draft, None))).into_response())
}

async fn get_handover(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (handover, outbox) = s.office.outgoing_handover(&s.office.author(&account), parse_id(&id, "handover")?).await?;
    Ok(Json(OutgoingView::new(&handover, outbox.as_ref())).into_response())
}

async fn approve_handover(
    State(s): State<ApiState>,
    Manager(account, role): Manager,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "handover")?;
    let author = s.office.author(&account);
    s.office.approve_handover(&author, role, id).await?;
    let (handover, outbox) = s.office.outgoing_handover(&author, id).await?;
    Ok((StatusCode::ACCEPTED, Json(OutgoingView::new(&handover, outbox.as_ref()))).into_response())
}

async fn list_incoming(State(s): State<ApiState>, Manager(account, _): Manager) -> ApiResult<Json<Vec<IncomingView>>> {
    let list = s.office.list_incoming(&s.office.author(&account)).await?;
    Ok(Json(list.iter().map(|h| IncomingView::summary(h, s.office.directory())).collect()))
}

async fn get_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
) -> ApiResult<Json<IncomingView>> {
    let handover = s.office.read_incoming(&s.office.author(&account), parse_id(&id, "handover")?).await?;
    Ok(Json(IncomingView::full(&handover, s.office.directory())))
}

async fn accept_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
) -> ApiResult<Json<ClientView>> {
    let record = s.office.accept_incoming(&s.office.author(&account), parse_id(&id, "handover")?).await?;
    Ok(Json(ClientView::from(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decline {
    reason: Text,
}

async fn decline_incoming(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    Path(id): Path<String>,
    Body(req): Body<Decline>,
) -> ApiResult<Json<IncomingView>> {
    let handover =
        s.office.decline_incoming(&s.office.author(&account), parse_id(&id, "handover")?, req.reason).await?;
    Ok(Json(IncomingView::full(&handover, s.office.directory())))
}
