//! The start page (what needs doing), signing in and out, the page language, and the
//! accessibility statement.

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::forms::{Form, LoginForm};
use super::session::{self, Staff};
use super::texts::Lang;
use super::{Page, UiState, error_page, see_other};
use crate::service::ServiceError;

pub fn router() -> Router<UiState> {
    Router::new()
        .route("/", get(start))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/language/{code}", get(language))
        .route("/barrierefreiheit", get(statement))
}

/// A page for a signed-in member of staff.
pub fn staff_page(
    state: &UiState,
    staff: &Staff,
    template: &'static str,
    status: StatusCode,
    ctx: serde_json::Value,
) -> Response {
    Page { template, status, lang: staff.lang, staff: Some(staff), office_name: state.api.office.name(), ctx }.render()
}

/// The tone of a KERN badge for an outgoing handover's state.
pub fn outgoing_tone(state: &str) -> &'static str {
    match state {
        "accepted" => "success",
        "rejected" | "declined" | "cancelled" | "withdrawn" => "danger",
        "draft" => "warning",
        _ => "info",
    }
}

async fn start(State(s): State<UiState>, staff: Staff) -> Response {
    if !staff.caller.role.counsels() {
        return staff_page(&s, &staff, "start.html", StatusCode::OK, json!({"nav": "start"}));
    }
    let office = &s.api.office;
    let today = office.clock().today();
    let list = match office.worklist(&office.author(&staff.caller.account)).await {
        Ok(l) => l,
        Err(e) => return error_page(&s, Some(&staff), staff.lang, e, "/"),
    };
    let incoming: Vec<_> = list
        .incoming
        .iter()
        .map(|i| {
            json!({
                "id": i.id, "given_name": i.identity.given_name, "family_name": i.identity.family_name,
                "sender_name": office.office_name(i.sender), "received_at": crate::domain::time::format_ts(i.received_at),
                "last_day": i.last_day,
            })
        })
        .collect();
    let outgoing: Vec<_> = list
        .outgoing
        .iter()
        .map(|(h, c)| {
            let state = h.state.as_str();
            json!({
                "id": h.id, "given_name": c.identity.given_name, "family_name": c.identity.family_name,
                "receiver_name": office.office_name(h.receiver), "state": state, "tone": outgoing_tone(state),
                "created_by": h.created_by,
            })
        })
        .collect();
    let ending: Vec<_> = list
        .ending
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "given_name": c.identity.given_name, "family_name": c.identity.family_name,
                "last_day": c.last_day, "days_left": (c.last_day - today).num_days(),
            })
        })
        .collect();
    staff_page(
        &s,
        &staff,
        "start.html",
        StatusCode::OK,
        json!({"nav": "start", "incoming": incoming, "outgoing": outgoing, "ending": ending}),
    )
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

fn login_view(s: &UiState, lang: Lang, status: StatusCode, ctx: serde_json::Value) -> Response {
    Page { template: "login.html", status, lang, staff: None, office_name: s.api.office.name(), ctx }.render()
}

async fn login_page(State(s): State<UiState>, headers: axum::http::HeaderMap, Query(q): Query<Next>) -> Response {
    let lang = session::lang_of(&headers);
    let next = session::safe_next(q.next.as_deref());
    login_view(&s, lang, StatusCode::OK, json!({"next": next, "account": ""}))
}

/// The address a login comes from, for throttling (as the API's: trusted proxies honoured).
pub struct Source(Option<std::net::IpAddr>);

impl FromRequestParts<UiState> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, Self::Rejection> {
        let source = crate::http::api::auth::ClientSource::from_request_parts(parts, &state.api).await;
        Ok(Source(source.ok().and_then(|s| s.0)))
    }
}

async fn login(
    State(s): State<UiState>,
    headers: axum::http::HeaderMap,
    source: Source,
    LoginForm(form): LoginForm,
) -> Response {
    let lang = session::lang_of(&headers);
    let account = form.get("account").unwrap_or_default().trim().to_owned();
    let next = session::safe_next(form.get("next")).to_owned();
    let password = form.get("password").unwrap_or_default().to_owned();
    match s.api.office.login(&account, password, source.0).await {
        Ok(session) => {
            // The cookie lives as long as the session it carries (issued just now).
            let max_age = crate::service::accounts::SESSION_HOURS * 3600;
            let mut response = see_other(&next);
            response.headers_mut().insert(
                header::SET_COOKIE,
                session::session_cookie(s.settings.secure_cookies, &session.token, max_age),
            );
            response
        }
        Err(ServiceError::Throttled { retry_after }) => {
            let mut response = login_view(
                &s,
                lang,
                StatusCode::TOO_MANY_REQUESTS,
                json!({"next": next, "account": account, "failed": "throttled", "retry_after": retry_after.num_seconds().max(1)}),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.num_seconds().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Err(ServiceError::LoginFailed) => login_view(
            &s,
            lang,
            StatusCode::UNAUTHORIZED,
            json!({"next": next, "account": account, "failed": "failed"}),
        ),
        Err(e) => error_page(&s, None, lang, e, "/login"),
    }
}

async fn logout(State(s): State<UiState>, staff: Staff, Form(_): Form) -> Response {
    if let Err(e) = s.api.office.logout(&staff.token).await {
        return error_page(&s, Some(&staff), staff.lang, e, "/");
    }
    let mut response = see_other("/login");
    response.headers_mut().insert(header::SET_COOKIE, session::clear_cookie(s.settings.secure_cookies));
    response
}

/// Sets the page language and goes back to the page the link was on (a path of this office).
async fn language(Path(code): Path<String>, headers: axum::http::HeaderMap) -> Response {
    let Some(lang) = Lang::parse(&code) else { return StatusCode::NOT_FOUND.into_response() };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix("http://").or_else(|| r.strip_prefix("https://")))
        .and_then(|r| r.strip_prefix(host))
        .filter(|_| !host.is_empty());
    let mut response = see_other(session::safe_next(back));
    let cookie = format!("{}={}; Path=/; Max-Age=31536000; SameSite=Lax", session::LANG_COOKIE, lang.code());
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ASCII"));
    response
}

async fn statement(State(s): State<UiState>, mut parts: Parts) -> Response {
    let lang = session::lang_of(&parts.headers);
    let staff = Staff::from_request_parts(&mut parts, &s).await.ok();
    let contact = s.settings.accessibility_contact.clone();
    let ctx = json!({
        "contact_is_mail": contact.contains('@') && !contact.contains("://"),
        "contact_is_web": contact.starts_with("https://") || contact.starts_with("http://"),
        "contact": contact,
        "reviewed": s.settings.accessibility_reviewed,
    });
    Page {
        template: "statement.html",
        status: StatusCode::OK,
        lang: staff.as_ref().map_or(lang, |st| st.lang),
        staff: staff.as_ref(),
        office_name: s.api.office.name(),
        ctx,
    }
    .render()
}
