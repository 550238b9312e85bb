//! The client's pages on the caseworker API listener, without an account: the consent page
//! behind a one-time link (`/consent/<token>`), and the withdrawal page where the client enters
//! the code of their receipt (`/consent/withdraw`). Plain HTML forms rendered from the templates
//! in `templates/consent/` (see [`crate::consent_text`]), on KERN, no scripts; every page is sent
//! under the strict Content-Security-Policy of the office's pages (no inline styles), no
//! caching, and no referrer (the link's token must not leak).
//!
//! Also here: [`html`], the headers of the printable documents (the printed consent form, the
//! export), which carry their own inline print styles.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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
/// API and its OpenAPI document: they answer HTML, failures included), with their stylesheet.
/// KERN's stylesheets and fonts are served by the pages of the office (`crate::http::ui`).
pub fn router(state: ApiState) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route(WITHDRAW_PATH, get(withdraw_page).post(withdraw))
        .route(consent_text::STYLE_PATH, get(style))
        .route("/consent/{token}", get(consent_page).post(give_consent))
        .layer(axum::middleware::from_fn(super::limit_headers))
        .with_state(state)
}

/// A client page with its headers: those of the office's pages (strict Content-Security-Policy:
/// stylesheets and fonts from the office only, no scripts, no inline styles; no caching), and no
/// referrer at all. A page that could not be rendered (a mistake in a template) is logged and
/// answered with a plain 500.
fn client_page(status: StatusCode, page: Result<String, minijinja::Error>) -> Response {
    let mut response = match page {
        Ok(page) => (status, page).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a client page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    };
    crate::http::ui::page_headers(&mut response);
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// A printable document (the printed consent form, the export as a page) with its headers. Such
/// a document is self-contained, to be saved and printed as it is: its print styles are inline,
/// so this Content-Security-Policy allows inline styles, and only for these documents; the
/// client pages are sent with [`client_page`]'s.
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

/// The client pages' own stylesheet (`templates/consent/client.css`), revalidated by its digest.
async fn style(headers: HeaderMap) -> Response {
    static ETAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let etag = ETAG.get_or_init(|| format!("\"{}\"", &crate::digest::sha256_hex(consent_text::STYLE.as_bytes())[..32]));
    let mut response = if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, consent_text::STYLE).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::ETAG, HeaderValue::from_str(etag).expect("hex"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The values of a form body (`application/x-www-form-urlencoded`, at most 4 KiB): each named
/// field's last value; other fields are ignored. Anything else is answered with the page for a
/// page that cannot be shown (in every language), with its status.
async fn form(office: &str, request: Request, names: &[&str]) -> Result<Vec<Option<String>>, Response> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(client_page(StatusCode::UNSUPPORTED_MEDIA_TYPE, consent_text::unavailable_page(office)));
    }
    let body: Bytes = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
        .await
        .map_err(|_| client_page(StatusCode::PAYLOAD_TOO_LARGE, consent_text::unavailable_page(office)))?;
    let mut values = vec![None; names.len()];
    for (k, v) in form_urlencoded::parse(&body) {
        if let Some(i) = names.iter().position(|n| *n == k) {
            values[i] = Some(v.into_owned());
        }
    }
    Ok(values)
}

/// A failure on a client page: a link that cannot be used gets its page, anything else the page
/// for a page that cannot be shown, with the problem's status (no detail; an internal failure is
/// logged as the problem is made). Both in every language: who opened the page is not known.
fn failed(office: &str, e: ServiceError) -> Response {
    match e {
        ServiceError::Domain(DomainError::ConsentLinkExpired | DomainError::ConsentLinkUsed) => {
            client_page(StatusCode::GONE, consent_text::link_invalid_page(office))
        }
        other => {
            let status = crate::http::problem::Problem::from(other).kind.status();
            client_page(status, consent_text::unavailable_page(office))
        }
    }
}

async fn consent_page(State(s): State<ApiState>, Path(token): Path<String>) -> Response {
    let office = &s.office;
    match office.consent_page(&token).await {
        Ok(page) => client_page(
            StatusCode::OK,
            page.language.consent_page(office.name(), &page.statement, &format!("/consent/{token}"), false),
        ),
        Err(e) => failed(office.name(), e),
    }
}

async fn give_consent(State(s): State<ApiState>, Path(token): Path<String>, request: Request) -> Response {
    let office = &s.office;
    let values = match form(office.name(), request, &["agree", "health"]).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let agree = values[0].as_deref() == Some("yes");
    let health = values[1].as_deref() == Some("yes");
    if !agree {
        return match office.consent_page(&token).await {
            Ok(page) => client_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                page.language.consent_page(office.name(), &page.statement, &format!("/consent/{token}"), true),
            ),
            Err(e) => failed(office.name(), e),
        };
    }
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
            client_page(StatusCode::OK, given.language.receipt_page(&view))
        }
        Err(e) => failed(office.name(), e),
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

async fn withdraw_page(
    State(s): State<ApiState>,
    crate::http::api::extract::Query(q): crate::http::api::extract::Query<LangQuery>,
) -> Response {
    client_page(StatusCode::OK, page_language(q.lang.as_deref()).withdraw_page(s.office.name(), WITHDRAW_PATH, None))
}

async fn withdraw(State(s): State<ApiState>, request: Request) -> Response {
    let office = &s.office;
    let values = match form(office.name(), request, &["code", "lang"]).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let asked = page_language(values[1].as_deref());
    let name = office.name();
    match office.withdraw_with_code(values[0].as_deref().unwrap_or_default()).await {
        Ok(CodeWithdrawal::Withdrawn { grant, recipient_name }) => {
            let lang = page_language(Some(&grant.text.language));
            let message = WithdrawMessage::Done { office: name, recipient: &recipient_name };
            client_page(StatusCode::OK, lang.withdraw_page(name, WITHDRAW_PATH, Some(message)))
        }
        Ok(CodeWithdrawal::Already { grant }) => {
            let lang = page_language(Some(&grant.text.language));
            client_page(StatusCode::OK, lang.withdraw_page(name, WITHDRAW_PATH, Some(WithdrawMessage::Already)))
        }
        Ok(CodeWithdrawal::Unknown) => client_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            asked.withdraw_page(name, WITHDRAW_PATH, Some(WithdrawMessage::Unknown)),
        ),
        Err(e) => failed(name, e),
    }
}
