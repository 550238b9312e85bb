//! Forms of the pages: the body (`application/x-www-form-urlencoded`, at most 32 KiB) with its
//! CSRF token checked before anything else is read, and the values turned into the same typed
//! requests the domain parses everywhere (names, texts, dates, enumerations), field by field, so
//! that a refused form comes back with its values and the field that was wrong.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::session::{csrf_token, lang_of, same_origin, session_token};
use super::texts::Lang;
use super::{UiState, page_headers};
use crate::digest::same;

/// The largest form body read.
pub const MAX_FORM_BYTES: usize = 32 * 1024;

/// The fields of a form, in the order sent.
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

/// How a field becomes part of the typed request.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// One value; an empty one counts as absent.
    Str,
    /// A whole number.
    Int,
    /// Every value sent under the name (checkboxes, multiple selects).
    List,
    /// A text area with one item per line (blank lines dropped).
    Lines,
}

/// A form field the domain refused, and why.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The last value of a field, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The values as the page shows them again after a refusal (no CSRF token, no passwords).
    pub fn echo(&self) -> Value {
        let mut map = Map::new();
        for (k, v) in &self.0 {
            if k == "csrf" || k.contains("password") {
                continue;
            }
            match map.get_mut(k) {
                Some(Value::Array(a)) => a.push(Value::from(v.as_str())),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::from(v.as_str())]);
                }
                None => {
                    map.insert(k.clone(), Value::from(v.as_str()));
                }
            }
        }
        Value::Object(map)
    }

    /// The typed request `T` from the named fields.
    pub fn typed<T: DeserializeOwned>(&self, spec: &[(&str, Kind)]) -> Result<T, FieldError> {
        let mut map = Map::new();
        for (name, kind) in spec {
            let value = match kind {
                Kind::Str => self.get(name).filter(|v| !v.trim().is_empty()).map(|v| Value::from(v.trim())),
                Kind::Int => match self.get(name).map(str::trim).filter(|v| !v.is_empty()) {
                    Some(v) => match v.parse::<i64>() {
                        Ok(n) => Some(Value::from(n)),
                        Err(_) => return Err(FieldError { field: (*name).into(), message: "a whole number".into() }),
                    },
                    None => None,
                },
                Kind::List => Some(Value::Array(self.all(name).into_iter().map(Value::from).collect())),
                Kind::Lines => Some(Value::Array(
                    self.get(name)
                        .unwrap_or_default()
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(Value::from)
                        .collect(),
                )),
            };
            if let Some(v) = value {
                map.insert((*name).to_owned(), v);
            }
        }
        serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
            let path = e.path().to_string();
            let field = path.split(['.', '[']).next().unwrap_or_default().to_owned();
            let message = e.into_inner().to_string();
            // serde names a missing field in its message, not its path.
            let field = if field.is_empty() || field == "?" {
                message.split('`').nth(1).map(str::to_owned).unwrap_or_default()
            } else {
                field
            };
            FieldError { field, message }
        })
    }
}

/// A form whose CSRF token matched this session's.
pub struct Form(pub Fields);

/// A refused form request: not a form, too large, or not from this office.
pub struct Refused(Response);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        self.0
    }
}

/// The page for a request that did not come from a form of this office.
pub fn forbidden(lang: Lang) -> Response {
    let text = match lang {
        Lang::De => {
            "Dieses Formular wurde nicht von einer Seite dieser Stelle gesendet oder ist abgelaufen. \
                     Bitte laden Sie die Seite neu und senden Sie es noch einmal."
        }
        Lang::En => {
            "This form was not sent from a page of this office, or it has expired. \
                     Please reload the page and send it again."
        }
    };
    plain(StatusCode::FORBIDDEN, text)
}

fn plain(status: StatusCode, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Staffel</title></head>\
         <body><main><p>{text}</p><p><a href=\"/\">Staffel</a></p></main></body></html>"
    );
    let mut response = (status, body).into_response();
    page_headers(&mut response);
    response
}

impl FromRequest<UiState> for Form {
    type Rejection = Refused;

    async fn from_request(request: Request, state: &UiState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(request.headers());
        if !same_origin(request.method(), request.headers()) {
            return Err(Refused(forbidden(lang)));
        }
        let expected = session_token(state, request.headers()).map(csrf_token);
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(Refused(plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, "a form was expected")));
        }
        let body = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| Refused(plain(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large")))?;
        let fields = Fields::parse(&body);
        match (expected, fields.get("csrf")) {
            (Some(expected), Some(sent)) if same(&expected, sent) => Ok(Form(fields)),
            _ => Err(Refused(forbidden(lang))),
        }
    }
}

/// A login form: no session yet, so only the origin is checked.
pub struct LoginForm(pub Fields);

impl FromRequest<UiState> for LoginForm {
    type Rejection = Refused;

    async fn from_request(request: Request, _: &UiState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(request.headers());
        if !same_origin(request.method(), request.headers()) {
            return Err(Refused(forbidden(lang)));
        }
        let body = axum::body::to_bytes(request.into_body(), 4096)
            .await
            .map_err(|_| Refused(plain(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large")))?;
        Ok(LoginForm(Fields::parse(&body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Session {
        #[serde(with = "crate::domain::time::date")]
        date: chrono::NaiveDate,
        note: crate::domain::Text,
        steps: Vec<String>,
    }

    const SPEC: &[(&str, Kind)] = &[("date", Kind::Str), ("note", Kind::Str), ("steps", Kind::Lines)];

    #[test]
    fn fields_become_typed_requests_or_name_the_field_refused() {
        let f = Fields::parse(b"csrf=x&date=2026-11-25&note=Termin+beim+Amt&steps=eins%0D%0A%0D%0Azwei");
        let s: Session = f.typed(SPEC).unwrap();
        assert_eq!(s.date, chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        assert_eq!(s.steps, ["eins", "zwei"]);
        assert_eq!(s.note.as_str(), "Termin beim Amt");
        let bad = Fields::parse(b"date=25.11.2026&note=x").typed::<Session>(SPEC).unwrap_err();
        assert_eq!(bad.field, "date");
        let missing = Fields::parse(b"date=2026-11-25&note=+").typed::<Session>(SPEC).unwrap_err();
        assert_eq!(missing.field, "note", "{missing:?}");
        let echoed = Fields::parse(b"csrf=secret&note=a&password=p&k=1&k=2").echo();
        assert_eq!(echoed, serde_json::json!({"note": "a", "k": ["1", "2"]}));
    }
}
