//! Who is signed in to the pages: the session cookie (the same sessions as the API's login,
//! kept by the office only as digests), the CSRF token derived from it, the page language
//! cookie, and the check that a form was sent from a page of this office.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use super::texts::Lang;
use super::{UiState, see_other};
use crate::service::Caller;

/// The session cookie's name over plain HTTP.
pub const COOKIE: &str = "staffel_session";
/// Its name over HTTPS: the `__Host-` prefix binds it to this host, path `/`, Secure.
pub const COOKIE_SECURE: &str = "__Host-staffel_session";
/// The language cookie.
pub const LANG_COOKIE: &str = "staffel_lang";

/// A signed-in member of staff.
#[derive(Debug, Clone)]
pub struct Staff {
    pub caller: Caller,
    pub token: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    pub lang: Lang,
}

/// The value of a cookie in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The CSRF token of a session: derived from the session token, so it needs no storage and
/// cannot be known without the (HttpOnly) session cookie.
pub fn csrf_token(session: &str) -> String {
    crate::digest::sha256_hex(format!("staffel-ui-csrf\0{session}").as_bytes())[..32].to_owned()
}

/// The page language: the language cookie, else German.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE).and_then(Lang::parse).unwrap_or_default()
}

/// Whether a POST comes from a page of this office: a browser's `Sec-Fetch-Site` must say
/// `same-origin` (or `none`, typed by the user), and an `Origin` must name the host the request
/// is addressed to. Requests from other sites are refused before anything is read.
pub fn same_origin(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::POST {
        return true;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), headers.get(header::HOST)) {
        (Some("null"), _) => false,
        (Some(origin), Some(host)) => {
            let host = host.to_str().unwrap_or_default();
            origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")) == Some(host)
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The session cookie for a new session (`Max-Age` as long as the session is valid).
pub fn session_cookie(secure: bool, token: &str, max_age_secs: i64) -> HeaderValue {
    let value = if secure {
        format!("{COOKIE_SECURE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; Secure; SameSite=Strict")
    } else {
        format!("{COOKIE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict")
    };
    HeaderValue::from_str(&value).expect("tokens are URL-safe base64")
}

/// The cookie that ends a session in the browser.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static("__Host-staffel_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
    } else {
        HeaderValue::from_static("staffel_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
    }
}

/// The session token in the request's cookie, if any.
pub fn session_token<'a>(state: &UiState, headers: &'a HeaderMap) -> Option<&'a str> {
    let name = if state.settings.secure_cookies { COOKIE_SECURE } else { COOKIE };
    cookie(headers, name).filter(|t| !t.is_empty() && t.len() <= 128)
}

/// Not signed in: pages send the browser to the login page (and back afterwards).
pub struct SignIn(Response);

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequestParts<UiState> for Staff {
    type Rejection = SignIn;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let back = if parts.method == Method::GET {
            parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned()
        } else {
            "/".to_owned()
        };
        let to_login = || {
            let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
            SignIn(see_other(&format!("/login?next={next}")))
        };
        if !same_origin(&parts.method, &parts.headers) {
            return Err(SignIn(super::forms::forbidden(lang)));
        }
        let Some(token) = session_token(state, &parts.headers) else { return Err(to_login()) };
        match state.api.office.session_caller(token).await {
            Ok(Some(caller)) => {
                // The role, not the account: staff names stay out of the log (the audit log says who).
                tracing::Span::current().record("role", caller.role.as_str());
                Ok(Staff { caller, token: token.to_owned(), csrf: csrf_token(token), lang })
            }
            Ok(None) => Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                Err(SignIn((axum::http::StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response()))
            }
        }
    }
}

/// A member of staff who works with client data (integration manager or team lead); an
/// administrator gets a "not allowed" page before anything is read.
pub struct Counsel(pub Staff);

impl FromRequestParts<UiState> for Counsel {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, Self::Rejection> {
        let staff = Staff::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        if !staff.caller.role.counsels() {
            let back = "/";
            return Err(super::error_page(
                state,
                Some(&staff),
                staff.lang,
                crate::service::ServiceError::Forbidden,
                back,
            ));
        }
        Ok(Counsel(staff))
    }
}

/// A team lead or an administrator: may read a client's audit log.
pub struct Supervisor(pub Staff);

impl FromRequestParts<UiState> for Supervisor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, Self::Rejection> {
        let staff = Staff::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        if staff.caller.role == crate::domain::staff::Role::IntegrationManager {
            let back = "/";
            return Err(super::error_page(
                state,
                Some(&staff),
                staff.lang,
                crate::service::ServiceError::Forbidden,
                back,
            ));
        }
        Ok(Supervisor(staff))
    }
}

/// A path to return to after login: only a path on this office (never `//host` or a scheme).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() < 512 => n,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn forms_from_other_sites_are_refused() {
        let post = Method::POST;
        assert!(same_origin(&post, &headers(&[("host", "office.example"), ("origin", "https://office.example")])));
        assert!(same_origin(&post, &headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&post, &headers(&[("host", "office.example"), ("origin", "https://evil.example")])));
        assert!(!same_origin(&post, &headers(&[("host", "office.example"), ("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&post, &headers(&[("host", "office.example"), ("sec-fetch-site", "same-site")])));
        assert!(!same_origin(&post, &headers(&[("host", "office.example"), ("origin", "null")])));
        assert!(same_origin(&Method::GET, &headers(&[("origin", "https://evil.example")])));
    }

    #[test]
    fn the_way_back_after_login_stays_on_this_office() {
        assert_eq!(safe_next(Some("/clients?q=a")), "/clients?q=a");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn cookies_are_read_by_exact_name_and_csrf_tokens_differ_per_session() {
        let h = headers(&[("cookie", "a=1; staffel_session_x=2; staffel_session=tok; staffel_lang=en")]);
        assert_eq!(cookie(&h, COOKIE), Some("tok"));
        assert_eq!(lang_of(&h), Lang::En);
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert!(crate::digest::same(&csrf_token("a"), &csrf_token("a")));
    }
}
