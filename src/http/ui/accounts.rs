//! Accounts of the office, for administrators: the list, a new account (argon2id password), and
//! per account disable, enable, delete and a new password (the same use cases as the API's).
//! Deleting asks first: its own page names the account, and the deletion is done only with its
//! confirmation box checked. Administrators see no client data anywhere.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::forms::Form;
use super::session::Staff;
use super::start::staff_page;
use super::{UiState, error_page, problem_message, see_other};
use crate::domain::staff::Role;
use crate::service::ServiceError;

pub fn router() -> Router<UiState> {
    Router::new()
        .route("/accounts", get(list).post(create))
        .route("/accounts/{name}/disable", post(disable))
        .route("/accounts/{name}/enable", post(enable))
        .route("/accounts/{name}/delete", get(confirm_delete).post(delete))
        .route("/accounts/{name}/password", post(password))
}

/// An account as the pages show it (no password hash).
fn shown(a: &crate::domain::staff::Account) -> Value {
    json!({
        "name": a.name, "role": a.role.as_str(), "created_by": a.created_by,
        "created_at": crate::domain::time::format_ts(a.created_at), "disabled_at": a.disabled_at.is_some(),
    })
}

async fn view(s: &UiState, staff: &Staff, status: StatusCode, posted: Option<Value>, flash: Option<&str>) -> Response {
    let accounts = match s.api.office.list_accounts(&staff.caller).await {
        Ok(a) => a,
        Err(e) => return error_page(s, Some(staff), staff.lang, e, "/"),
    };
    let t = staff.lang.texts();
    let accounts: Vec<Value> = accounts.iter().map(shown).collect();
    let roles: Vec<Value> = [Role::IntegrationManager, Role::TeamLead, Role::Administrator]
        .iter()
        .map(|r| json!({"value": r.as_str(), "label": t["roles"][r.as_str()]}))
        .collect();
    staff_page(
        s,
        staff,
        "accounts.html",
        status,
        json!({"nav": "accounts", "accounts": accounts, "roles": roles, "posted": posted, "flash": flash}),
    )
}

#[derive(serde::Deserialize)]
struct Done {
    done: Option<String>,
}

async fn list(State(s): State<UiState>, staff: Staff, axum::extract::Query(q): axum::extract::Query<Done>) -> Response {
    view(&s, &staff, StatusCode::OK, None, super::clients::flash(q.done.as_deref())).await
}

async fn create(State(s): State<UiState>, staff: Staff, Form(f): Form) -> Response {
    let name = f.get("name").unwrap_or_default().trim().to_owned();
    let Some(role) = f.get("role").and_then(Role::parse) else {
        let posted = json!({"field": "role", "message": "unknown role", "values": f.echo()});
        return view(&s, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(posted), None).await;
    };
    let password = f.get("password").unwrap_or_default().to_owned();
    match s.api.office.create_account(&staff.caller, &name, role, password).await {
        Ok(_) => see_other("/accounts?done=account-created"),
        Err(e @ ServiceError::Forbidden) => error_page(&s, Some(&staff), staff.lang, e, "/"),
        Err(e) => {
            let (status, problem) = problem_message(e);
            view(&s, &staff, status, Some(json!({"problem": problem, "values": f.echo()})), None).await
        }
    }
}

/// After a change of one account: back to the list with its message, or the list with the
/// refusal (the last administrator, a state it is in already).
async fn changed(
    s: &UiState,
    staff: &Staff,
    f: &super::forms::Fields,
    done: &str,
    result: crate::service::Result<()>,
) -> Response {
    match result {
        Ok(()) => see_other(&format!("/accounts?done={done}")),
        Err(e @ ServiceError::Forbidden) => error_page(s, Some(staff), staff.lang, e, "/"),
        Err(e) => {
            let (status, problem) = problem_message(e);
            let posted = json!({"problem": problem, "values": f.echo(), "form": "change"});
            view(s, staff, status, Some(posted), None).await
        }
    }
}

async fn disable(State(s): State<UiState>, staff: Staff, Path(name): Path<String>, Form(f): Form) -> Response {
    let result = s.api.office.disable_account(&staff.caller, &name).await.map(|_| ());
    changed(&s, &staff, &f, "account-disabled", result).await
}

async fn enable(State(s): State<UiState>, staff: Staff, Path(name): Path<String>, Form(f): Form) -> Response {
    let result = s.api.office.enable_account(&staff.caller, &name).await.map(|_| ());
    changed(&s, &staff, &f, "account-enabled", result).await
}

/// The page that asks before an account is deleted: the account, what deleting it means, and
/// the confirmation box; `refused` is the form sent without it.
async fn delete_page(s: &UiState, staff: &Staff, name: &str, status: StatusCode, refused: Option<Value>) -> Response {
    let accounts = match s.api.office.list_accounts(&staff.caller).await {
        Ok(a) => a,
        Err(e) => return error_page(s, Some(staff), staff.lang, e, "/accounts"),
    };
    let Some(a) = accounts.iter().find(|a| a.name == name) else {
        return error_page(s, Some(staff), staff.lang, ServiceError::NotFound("account"), "/accounts");
    };
    let account = shown(a);
    staff_page(
        s,
        staff,
        "account_delete.html",
        status,
        json!({"nav": "accounts", "account": account, "posted": refused}),
    )
}

async fn confirm_delete(State(s): State<UiState>, staff: Staff, Path(name): Path<String>) -> Response {
    delete_page(&s, &staff, &name, StatusCode::OK, None).await
}

/// Deletes the account if the confirmation box was checked; without it nothing changes and the
/// page that asks says why.
async fn delete(State(s): State<UiState>, staff: Staff, Path(name): Path<String>, Form(f): Form) -> Response {
    if f.get("confirm") != Some("yes") {
        let message = &staff.lang.texts()["accounts"]["confirm_missing"];
        let refused = json!({"field": "confirm", "message": message, "values": f.echo()});
        return delete_page(&s, &staff, &name, StatusCode::UNPROCESSABLE_ENTITY, Some(refused)).await;
    }
    let result = s.api.office.delete_account(&staff.caller, &name).await;
    changed(&s, &staff, &f, "account-deleted", result).await
}

async fn password(State(s): State<UiState>, staff: Staff, Path(name): Path<String>, Form(f): Form) -> Response {
    let password = f.get("password").unwrap_or_default().to_owned();
    let result = s.api.office.reset_password(&staff.caller, &name, password).await.map(|_| ());
    changed(&s, &staff, &f, "account-password", result).await
}
