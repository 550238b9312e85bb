//! HTTP: the federation listener (mutual TLS, for other offices) and the caseworker API listener
//! (bearer tokens, for integration managers; beside it the client's consent pages and the
//! integration managers' web pages, `ui`). Handlers are thin: they parse, call the service
//! layer, and map its errors to RFC 9457 problem documents.

pub mod api;
pub mod federation;
pub mod observe;
pub mod pages;
pub mod problem;
pub mod serve;
pub mod ui;

pub use problem::{Problem, ProblemType};

/// At most this many header fields in a request.
pub const MAX_HEADER_FIELDS: usize = 100;
/// At most this many bytes of header names and values in a request.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Refuses a request with too many or too large header fields with a `headers-too-large` problem
/// (431). Far larger heads (beyond 64 KiB or 200 fields) never reach this layer: the HTTP parser
/// answers them with a bare 431 and closes the connection.
pub async fn limit_headers(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let headers = request.headers();
    let bytes: usize = headers.iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if headers.len() > MAX_HEADER_FIELDS || bytes > MAX_HEADER_BYTES {
        return Problem::new(ProblemType::HeadersTooLarge)
            .detail(format!("at most {MAX_HEADER_FIELDS} header fields and {MAX_HEADER_BYTES} bytes"))
            .into_response();
    }
    next.run(request).await
}
