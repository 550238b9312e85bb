//! The integration managers' web interface, served by the office on the caseworker listener:
//! server-rendered pages (minijinja templates in `templates/ui/`, texts in `ui/<lang>.toml`)
//! on KERN, the design system of the German administration, served from `assets/` by Staffel
//! itself. Every page works without JavaScript; there is none.
//!
//! Safety: a session cookie (HttpOnly, SameSite=Strict, Secure and `__Host-` when the office is
//! reached over TLS), a CSRF token in every form (derived from the session token) and a check of
//! `Origin`/`Sec-Fetch-Site` on every POST, a strict Content-Security-Policy (`'self'` styles and
//! fonts only, no scripts), no caching. The pages call the same use cases as the JSON API.

mod accounts;
pub mod assets;
mod clients;
mod forms;
mod handovers;
mod ledger;
mod session;
mod start;
pub mod texts;
pub mod timeline;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::http::api::ApiState;
use crate::http::problem::Problem;
use crate::service::ServiceError;

pub use session::Staff;
pub use texts::Lang;

/// What the pages need beside the office: how they are reached, and the accessibility
/// statement's contact.
#[derive(Debug, Clone, Default)]
pub struct UiSettings {
    /// Whether the office is reached over HTTPS (the listener's own TLS or a proxy's): cookies
    /// are then `Secure` and named with the `__Host-` prefix.
    pub secure_cookies: bool,
    /// Where users report accessibility barriers (an e-mail address or a web address), for the
    /// accessibility statement BITV 2.0 asks of a public body.
    pub accessibility_contact: String,
    /// The date the accessibility statement was last reviewed by the office (ISO date).
    pub accessibility_reviewed: String,
}

/// The state of the pages: the API's (office, accounts, proxies) and the UI settings.
#[derive(Clone)]
pub struct UiState {
    pub api: ApiState,
    pub settings: Arc<UiSettings>,
}

/// The pages' router, merged beside the JSON API on the caseworker listener.
pub fn router(api: ApiState, settings: UiSettings) -> Router {
    let state = UiState { api, settings: Arc::new(settings) };
    Router::new()
        .merge(start::router())
        .merge(clients::router())
        .merge(handovers::router())
        .merge(accounts::router())
        .merge(ledger::router())
        .merge(assets::router())
        .layer(axum::middleware::from_fn(super::limit_headers))
        .layer(axum::middleware::from_fn(server_timing))
        .with_state(state)
}

/// The server's time for a page (W3C Server-Timing), for browsers' tools and the bench. The
/// request's span, log line and metrics are the listener's ([`crate::http::observe`]).
async fn server_timing(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={:.3}", elapsed.as_secs_f64() * 1000.0)) {
        response.headers_mut().insert("server-timing", v);
    }
    response
}

/// The templates, parsed once.
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        env.add_filter("date", texts::format_date);
        env.add_filter("instant", texts::format_instant);
        env
    })
}

/// Every template of the pages, by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../templates/ui/base.html")),
    ("macros.html", include_str!("../../../templates/ui/macros.html")),
    ("login.html", include_str!("../../../templates/ui/login.html")),
    ("start.html", include_str!("../../../templates/ui/start.html")),
    ("clients.html", include_str!("../../../templates/ui/clients.html")),
    ("client_new.html", include_str!("../../../templates/ui/client_new.html")),
    ("client.html", include_str!("../../../templates/ui/client.html")),
    ("timeline.html", include_str!("../../../templates/ui/timeline.html")),
    ("consent_link.html", include_str!("../../../templates/ui/consent_link.html")),
    ("handover.html", include_str!("../../../templates/ui/handover.html")),
    ("incoming_list.html", include_str!("../../../templates/ui/incoming_list.html")),
    ("incoming.html", include_str!("../../../templates/ui/incoming.html")),
    ("audit.html", include_str!("../../../templates/ui/audit.html")),
    ("accounts.html", include_str!("../../../templates/ui/accounts.html")),
    ("account_delete.html", include_str!("../../../templates/ui/account_delete.html")),
    ("statement.html", include_str!("../../../templates/ui/statement.html")),
    ("ledger.html", include_str!("../../../templates/ui/ledger.html")),
    ("error.html", include_str!("../../../templates/ui/error.html")),
];

/// The security headers of every page.
pub fn page_headers(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self' data:; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
}

/// A page: its template, the texts of its language and what it shows. `ctx` is merged with the
/// common context (texts, language, the signed-in account, the CSRF token, the office).
pub struct Page<'a> {
    pub template: &'static str,
    pub status: StatusCode,
    pub lang: Lang,
    pub staff: Option<&'a Staff>,
    pub office_name: &'a str,
    pub ctx: serde_json::Value,
}

impl Page<'_> {
    pub fn render(self) -> Response {
        #[derive(Serialize)]
        struct Common<'a> {
            lang: &'static str,
            dir: &'static str,
            t: &'static serde_json::Value,
            office: &'a str,
            user: Option<UserView<'a>>,
            csrf: Option<&'a str>,
            assets: &'static str,
            page: &'a serde_json::Value,
        }
        #[derive(Serialize)]
        struct UserView<'a> {
            account: &'a str,
            role: &'static str,
            counsels: bool,
            leads: bool,
            administers: bool,
        }
        let user = self.staff.map(|s| UserView {
            account: &s.caller.account,
            role: s.caller.role.as_str(),
            counsels: s.caller.role.counsels(),
            leads: s.caller.role == crate::domain::staff::Role::TeamLead,
            administers: s.caller.role == crate::domain::staff::Role::Administrator,
        });
        let common = Common {
            lang: self.lang.code(),
            dir: "ltr",
            t: self.lang.texts(),
            office: self.office_name,
            user,
            csrf: self.staff.map(|s| s.csrf.as_str()),
            assets: assets::PREFIX,
            page: &self.ctx,
        };
        let html = environment()
            .get_template(self.template)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&common))));
        match html {
            Ok(html) => {
                let mut response = (self.status, html).into_response();
                page_headers(&mut response);
                response
            }
            Err(e) => {
                tracing::error!(template = self.template, error = %e, "a page could not be rendered");
                let mut response = (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
                page_headers(&mut response);
                response
            }
        }
    }
}

/// Typed ids in a page's path (client, goal, consent ids and the like parse strictly, in their
/// canonical form); anything else is a "not found" page, never a handler call.
pub struct Ids<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<UiState> for Ids<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &UiState,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Ids(v)),
            Err(_) => {
                let lang = session::lang_of(&parts.headers);
                Err(error_page(state, None, lang, ServiceError::NotFound("page"), "/"))
            }
        }
    }
}

/// The id of a handover (or another record named by a plain UUID), canonical form only.
#[derive(Debug, Clone, Copy)]
pub struct Uid(pub uuid::Uuid);

impl<'de> serde::Deserialize<'de> for Uid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        crate::domain::client::parse_canonical_uuid(&s)
            .map(Uid)
            .ok_or_else(|| serde::de::Error::custom("not a UUID in canonical form"))
    }
}

/// A redirect after a POST (303: the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The error page of a failed use case: the problem type's text in the page's language (the
/// catalogue of docs/problems.md), its status, and a way back.
pub fn error_page(state: &UiState, staff: Option<&Staff>, lang: Lang, e: ServiceError, back: &str) -> Response {
    let problem = Problem::from(e);
    let status = problem.kind.status();
    let slug = problem.kind.slug();
    Page {
        template: "error.html",
        status,
        lang,
        staff,
        office_name: state.api.office.name(),
        ctx: serde_json::json!({
            "slug": slug,
            "title": problem.kind.title(),
            "detail": problem.detail,
            "status": status.as_u16(),
            "back": back,
        }),
    }
    .render()
}

/// The message of a refused form, shown above it, with the problem type's text, and the status
/// the page is answered with.
pub fn problem_message(e: ServiceError) -> (StatusCode, serde_json::Value) {
    let problem = Problem::from(e);
    let status = problem.kind.status();
    let message = serde_json::json!({
        "slug": problem.kind.slug(),
        "title": problem.kind.title(),
        "detail": problem.detail,
        "status": status.as_u16(),
    });
    (status, message)
}
