//! The client's pages on the caseworker API listener, without an account: the consent page
//! behind a one-time link (`/consent/<token>`), and the withdrawal page where the client enters
//! the code of their receipt (`/consent/withdraw`). Plain HTML forms, no scripts; every page is
//! sent with a strict Content-Security-Policy, no caching, and no referrer (the link's token
//! must not leak).

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::consent_text::{self, DEFAULT_LANGUAGE, ReceiptView, WithdrawMessage};
use crate::domain::DomainError;
use crate::http::api::ApiState;
use crate::service::{CodeWithdrawal, ServiceError};

/// The largest form body read.
const MAX_FORM_BYTES: usize = 4096;

/// Where the withdrawal page is.
pub const WITHDRAW_PATH: &str = "/consent/withdraw";

/// The client pages, served on the caseworker API listener beside the API (not part of the JSON
/// API and its OpenAPI document: they answer HTML, failures included).
pub fn router(state: ApiState) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route(WITHDRAW_PATH, get(withdraw_page).post(withdraw))
        .route("/consent/{token}", get(consent_page).post(give_consent))
        .layer(axum::middleware::from_fn(super::limit_headers))
        .with_state(state)
}

/// An HTML page with the headers every client page carries.
pub fn html(status: StatusCode, page: String) -> Response {
    let mut response = (status, page).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The values of a form body (`application/x-www-form-urlencoded`, at most 4 KiB): each named
/// field's last value; other fields are ignored.
async fn form(request: Request, names: &[&str]) -> Result<Vec<Option<String>>, Response> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(html(StatusCode::UNSUPPORTED_MEDIA_TYPE, String::from("a form was expected")));
    }
    let body: Bytes = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
        .await
        .map_err(|_| html(StatusCode::PAYLOAD_TOO_LARGE, String::from("the form is too large")))?;
    let mut values = vec![None; names.len()];
    for (k, v) in form_urlencoded::parse(&body) {
        if let Some(i) = names.iter().position(|n| *n == k) {
            values[i] = Some(v.into_owned());
        }
    }
    Ok(values)
}

fn link_invalid() -> Response {
    html(StatusCode::GONE, consent_text::link_invalid_page())
}

/// A failure on a client page: a link that cannot be used gets its page, anything else a plain
/// message (logged, no detail).
fn failed(e: ServiceError) -> Response {
    match e {
        ServiceError::Domain(DomainError::ConsentLinkExpired | DomainError::ConsentLinkUsed) => link_invalid(),
        other => {
            let status = crate::http::problem::Problem::from(other).kind.status();
            html(status, String::from("Die Seite kann gerade nicht angezeigt werden. / The page cannot be shown."))
        }
    }
}

async fn consent_page(State(s): State<ApiState>, Path(token): Path<String>) -> Response {
    let office = &s.office;
    match office.consent_page(&token).await {
        Ok(page) => {
            html(StatusCode::OK, page.language.consent_page(&page.statement, &format!("/consent/{token}"), false))
        }
        Err(e) => failed(e),
    }
}

async fn give_consent(State(s): State<ApiState>, Path(token): Path<String>, request: Request) -> Response {
    let values = match form(request, &["agree", "health"]).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let agree = values[0].as_deref() == Some("yes");
    let health = values[1].as_deref() == Some("yes");
    if !agree {
        return match s.office.consent_page(&token).await {
            Ok(page) => html(
                StatusCode::UNPROCESSABLE_ENTITY,
                page.language.consent_page(&page.statement, &format!("/consent/{token}"), true),
            ),
            Err(e) => failed(e),
        };
    }
    let office = &s.office;
    match office.give_consent(&token, health).await {
        Ok(given) => {
            let code = given.withdrawal_code.printed();
            let view = ReceiptView {
                office: &given.office_name,
                recipient: &given.recipient_name,
                given_on: crate::domain::time::german_date(given.grant.given_at),
                categories: &given.grant.categories,
                text: &given.grant.text,
                ledger_seq: given.entry.seq,
                ledger_hash: &given.entry.hash,
                withdrawal_code: &code,
                withdraw_url: &office.withdraw_url(),
                signed_receipt: &given.signed_receipt,
            };
            html(StatusCode::OK, given.language.receipt_page(&view))
        }
        Err(e) => failed(e),
    }
}

/// The language a withdrawal page is shown in (a code of `consents/`; German otherwise).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LangQuery {
    #[serde(default)]
    lang: Option<String>,
}

fn page_language(lang: Option<&str>) -> &'static consent_text::Language {
    lang.and_then(consent_text::language)
        .or_else(|| consent_text::language(DEFAULT_LANGUAGE))
        .expect("the default language has texts")
}

async fn withdraw_page(crate::http::api::extract::Query(q): crate::http::api::extract::Query<LangQuery>) -> Response {
    html(StatusCode::OK, page_language(q.lang.as_deref()).withdraw_page(WITHDRAW_PATH, None))
}

async fn withdraw(State(s): State<ApiState>, request: Request) -> Response {
    let values = match form(request, &["code", "lang"]).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let asked = page_language(values[1].as_deref());
    let office = &s.office;
    match office.withdraw_with_code(values[0].as_deref().unwrap_or_default()).await {
        Ok(CodeWithdrawal::Withdrawn { grant, recipient_name }) => {
            let lang = page_language(Some(&grant.text.language));
            let message = WithdrawMessage::Done { office: office.name(), recipient: &recipient_name };
            html(StatusCode::OK, lang.withdraw_page(WITHDRAW_PATH, Some(message)))
        }
        Ok(CodeWithdrawal::Already { grant }) => {
            let lang = page_language(Some(&grant.text.language));
            html(StatusCode::OK, lang.withdraw_page(WITHDRAW_PATH, Some(WithdrawMessage::Already)))
        }
        Ok(CodeWithdrawal::Unknown) => {
            html(StatusCode::UNPROCESSABLE_ENTITY, asked.withdraw_page(WITHDRAW_PATH, Some(WithdrawMessage::Unknown)))
        }
        Err(e) => failed(e),
    }
}
