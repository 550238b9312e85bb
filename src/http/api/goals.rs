//! The integration plan of a client: adding a goal, changing it, and review notes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BodyInvalid, COUNSEL, ClientConflict, Erased, NoSuchClient, problems};
use super::extract::{Json, NoQuery, PathIds};
use super::schema::{Date, StepInput};
use super::{Answer, ApiResult, ApiState, Manager};
use crate::domain::plan::{GoalDraft, GoalPatch};
use crate::domain::{ClientId, Goal, GoalArea, GoalId, GoalStatus, Responsible, Step, Text};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(add_goal)).routes(routes!(update_goal)).routes(routes!(review_goal))
}

problems! {
    NoSuchGoal: "No such client or goal." => [NotFound];
    ReviewInvalid: "The body is not valid, or the date lies in the future." => [ValidationFailed, DateInvalid];
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewGoal {
    area: GoalArea,
    description: Text,
    #[serde(default)]
    #[schema(value_type = Vec<StepInput>, default = json!([]), required = false)]
    steps: Vec<Step>,
    responsible: Responsible,
    #[serde(default, with = "crate::domain::time::date_opt")]
    #[schema(value_type = Option<Date>)]
    target_date: Option<NaiveDate>,
}

/// Add a goal to the plan
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/goals",
    tag = "plan",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    request_body = NewGoal,
    responses(
        (status = 201, description = "The new goal (status `open`).", body = Goal),
        NoSuchClient, ClientConflict, Erased, BodyInvalid,
    ),
)]
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

/// Absent members (and `null`, except for `target_date`) leave a field as it is.
#[derive(Deserialize, ToSchema)]
#[schema(as = GoalPatch)]
#[serde(deny_unknown_fields)]
pub(super) struct ChangeGoal {
    #[schema(required = false)]
    description: Option<Text>,
    #[schema(value_type = Option<Vec<StepInput>>, required = false)]
    steps: Option<Vec<Step>>,
    #[schema(required = false)]
    responsible: Option<Responsible>,
    /// `null` clears the target date.
    #[serde(default, deserialize_with = "present_date")]
    #[schema(value_type = Option<Date>, required = false)]
    target_date: Option<Option<NaiveDate>>,
    #[schema(required = false)]
    status: Option<GoalStatus>,
}

/// Change a goal
///
/// Only real changes enter the plan's history.
#[utoipa::path(
    patch,
    path = "/api/v1/clients/{id}/goals/{goal}",
    tag = "plan",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(
        ("id" = ClientId, Path, description = "The client. Not a UUID: 404."),
        ("goal" = GoalId, Path, description = "The goal. Not a UUID: 404."),
    ),
    request_body = ChangeGoal,
    responses(
        (status = 200, description = "The goal.", body = Goal),
        NoSuchGoal, ClientConflict, Erased, BodyInvalid,
    ),
)]
async fn update_goal(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds((id, goal)): PathIds<(ClientId, GoalId)>,
    _: NoQuery,
    Json(req): Json<ChangeGoal>,
) -> ApiResult<Answer<Goal>> {
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewReview {
    #[serde(with = "crate::domain::time::date")]
    #[schema(value_type = Date)]
    on: NaiveDate,
    note: Text,
}

/// Add a review note to a goal
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/goals/{goal}/reviews",
    tag = "plan",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(
        ("id" = ClientId, Path, description = "The client. Not a UUID: 404."),
        ("goal" = GoalId, Path, description = "The goal. Not a UUID: 404."),
    ),
    request_body = NewReview,
    responses(
        (status = 201, description = "The goal with the note.", body = Goal),
        NoSuchGoal, ClientConflict, Erased, ReviewInvalid,
    ),
)]
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
