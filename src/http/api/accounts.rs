//! Staff accounts and sessions: logging in and out, and the accounts administrators manage.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{ADMINISTRATORS, ANYONE, BodyInvalid, problems};
use super::extract::{Json, NoQuery, PathIds};
use super::views::{AccountView, LoginView};
use super::{Administrator, Answer, AnyCaller, ApiResult, ApiState, auth};
use crate::domain::staff::Role;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(create_account, list_accounts))
        .routes(routes!(delete_account))
        .routes(routes!(disable_account))
        .routes(routes!(enable_account))
        .routes(routes!(reset_password))
}

problems! {
    LoginFailed: "Account unknown or disabled, or wrong password (which, is not said)." => [LoginFailed];
    AccountExists: "An account with this name exists already." => [AccountExists];
    AccountInvalid: "The body is not valid, the name is not 1-64 of a-z 0-9 . _ - (its first not .), or the password is shorter than \
        12 characters." => [ValidationFailed];
    NoSuchAccount: "No account with a password has this name." => [NotFound];
    CannotRemove: "`last-administrator`: the office's last enabled administrator, and the config has none. \
        `invalid-state`: disabled already, or an account of the config (changed in the config). `edit-conflict`: \
        the account changed meanwhile." => [LastAdministrator, InvalidState, EditConflict];
    CannotEnable: "`invalid-state`: not disabled, or an account of the config. `edit-conflict`: the account changed \
        meanwhile." => [InvalidState, EditConflict];
    PasswordConflict: "`invalid-state`: an account of the config (it has an API token, no password). \
        `edit-conflict`: the account changed meanwhile." => [InvalidState, EditConflict];
    PasswordInvalid: "The body is not valid, or the password is shorter than 12 characters." => [ValidationFailed];
}

/// Too many failed logins: 429 with `Retry-After`.
pub(super) struct Throttled;

impl utoipa::IntoResponses for Throttled {
    fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        use crate::http::problem::ProblemType;
        let (status, mut response) = super::doc::problem_response(
            "Too many failed logins for this account or from this address: wait `Retry-After` seconds.",
            &[ProblemType::LoginThrottled],
        );
        let seconds = utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(1));
        let mut header = utoipa::openapi::header::Header::new(seconds);
        header.description = Some("Seconds until the next attempt is allowed.".into());
        response.headers.insert("Retry-After".into(), header);
        [(status, response.into())].into_iter().collect()
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Login {
    account: String,
    password: String,
}

/// Log in
///
/// Issues a session token for an account with a password.
#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "accounts",
    request_body = Login,
    responses(
        (status = 200, description = "A session token.", body = LoginView),
        LoginFailed, BodyInvalid, Throttled,
    ),
)]
async fn login(
    State(s): State<ApiState>,
    source: auth::ClientSource,
    _: NoQuery,
    Json(req): Json<Login>,
) -> ApiResult<Answer<LoginView>> {
    let session = s.office.login(&req.account, req.password, source.0).await?;
    Ok(axum::Json(LoginView { token: session.token, expires_at: session.expires_at }))
}

/// Log out
///
/// Ends the session token used; an API token from the config stays valid.
#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "accounts",
    extensions(("x-staffel-roles" = json!(ANYONE))),
    responses((status = 204, description = "Logged out.")),
)]
async fn logout(
    State(s): State<ApiState>,
    AnyCaller(_): AnyCaller,
    _: NoQuery,
    headers: axum::http::HeaderMap,
) -> ApiResult<StatusCode> {
    s.office.logout(auth::bearer_of(&headers).unwrap_or_default()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewAccount {
    #[schema(pattern = "^[a-z0-9._-]{1,64}$")]
    name: String,
    role: Role,
    #[schema(min_length = 12)]
    password: String,
}

/// Create an account
///
/// Administrators only. The role is checked before the body: a caller who is no administrator
/// gets 403 whatever the body.
#[utoipa::path(
    post,
    path = "/api/v1/accounts",
    tag = "accounts",
    extensions(("x-staffel-roles" = json!(ADMINISTRATORS))),
    request_body = NewAccount,
    responses((status = 201, description = "The new account.", body = AccountView), AccountExists, AccountInvalid),
)]
async fn create_account(
    State(s): State<ApiState>,
    Administrator(caller): Administrator,
    _: NoQuery,
    Json(req): Json<NewAccount>,
) -> ApiResult<Response> {
    let account = s.office.create_account(&caller, &req.name, req.role, req.password).await?;
    Ok((StatusCode::CREATED, axum::Json(AccountView::from(&account))).into_response())
}

/// List accounts
///
/// Administrators only.
#[utoipa::path(
    get,
    path = "/api/v1/accounts",
    tag = "accounts",
    extensions(("x-staffel-roles" = json!(ADMINISTRATORS))),
    responses((status = 200, description = "The accounts with passwords, by name.", body = Vec<AccountView>)),
)]
async fn list_accounts(
    State(s): State<ApiState>,
    Administrator(caller): Administrator,
    _: NoQuery,
) -> ApiResult<Answer<Vec<AccountView>>> {
    Ok(axum::Json(s.office.list_accounts(&caller).await?.iter().map(AccountView::from).collect()))
}

/// Delete an account
///
/// Administrators only. Deletes an account with a password and ends its sessions; the audit log
/// keeps what it did. The office's last enabled administrator is refused while the config has
/// no administrator.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{name}",
    tag = "accounts",
    extensions(("x-staffel-roles" = json!(ADMINISTRATORS))),
    params(("name" = String, Path, description = "The account's name.")),
    responses((status = 204, description = "Deleted."), NoSuchAccount, CannotRemove),
)]
async fn delete_account(
    State(s): State<ApiState>,
    Administrator(caller): Administrator,
    PathIds(name): PathIds<String>,
    _: NoQuery,
) -> ApiResult<StatusCode> {
    s.office.delete_account(&caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disable an account
///
/// Administrators only. The account can no longer log in, and its sessions end at once. The
/// office's last enabled administrator is refused while the config has no administrator.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{name}/disable",
    tag = "accounts",
    extensions(("x-staffel-roles" = json!(ADMINISTRATORS))),
    params(("name" = String, Path, description = "The account's name.")),
    responses((status = 200, description = "The account, disabled.", body = AccountView), NoSuchAccount, CannotRemove),
)]
async fn disable_account(
    State(s): State<ApiState>,
    Administrator(caller): Administrator,
    PathIds(name): PathIds<String>,
    _: NoQuery,
) -> ApiResult<Answer<AccountView>> {
    Ok(axum::Json(AccountView::from(&s.office.disable_account(&caller, &name).await?)))
}

/// Enable an account
///
/// Administrators only. A disabled account may log in again, with the password it had.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{name}/enable",
    tag = "accounts",
    extensions(("x-staffel-roles" = json!(ADMINISTRATORS))),
    params(("name" = String, Path, description = "The account's name.")),
    responses((status = 200, description = "The account, enabled.", body = AccountView), NoSuchAccount, CannotEnable),
)]
async fn enable_account(
    State(s): State<ApiState>,
    Administrator(caller): Administrator,
    PathIds(name): PathIds<String>,
    _: NoQuery,
) -> ApiResult<Answer<AccountView>> {
    Ok(axum::Json(AccountView::from(&s.office.enable_account(&caller, &name).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPassword {
    #[schema(min_length = 12)]
    password: String,
}

/// Give an account a new password
///
/// Administrators only. The account's sessions end: it logs in again with the new password.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{name}/password",
    tag = "accounts",
    extensions(("x-staffel-roles" = json!(ADMINISTRATORS))),
    params(("name" = String, Path, description = "The account's name.")),
    request_body = NewPassword,
    responses((status = 204, description = "The password is set."), NoSuchAccount, PasswordConflict, PasswordInvalid),
)]
async fn reset_password(
    State(s): State<ApiState>,
    Administrator(caller): Administrator,
    PathIds(name): PathIds<String>,
    _: NoQuery,
    Json(req): Json<NewPassword>,
) -> ApiResult<StatusCode> {
    s.office.reset_password(&caller, &name, req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
