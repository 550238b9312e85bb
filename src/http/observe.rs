//! Every request on both listeners, observed in one place: a span with a fresh request id (a v4
//! UUID, also sent back as `X-Request-Id`) that every log line of the request inherits, handlers
//! and use cases included; one `handled` line with status and time; and the request counted in
//! the office's metrics by route template and status.
//!
//! The route is the matched route template (`/api/v1/clients/{id}`), never the request's path:
//! paths hold ids and search words. A request id sent by the client is not used (a client could
//! otherwise put any text into the log, or make two requests look like one); the office's id is
//! the one to quote.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::service::Office;

/// The response header naming the request's id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What the layer needs: which listener it serves, and the office whose metrics it moves.
#[derive(Clone)]
pub struct Observed {
    pub listener: &'static str,
    pub office: Arc<Office>,
}

/// Puts [`observe`] around everything a listener's router does.
pub fn around(router: axum::Router, listener: &'static str, office: Arc<Office>) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(Observed { listener, office }, observe))
}

/// The request's span, log line, metrics and `X-Request-Id`.
pub async fn observe(State(o): State<Observed>, request: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4();
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        listener = o.listener,
        method = %method,
        route = %route,
        role = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        let mut response = next.run(request).await;
        let took = started.elapsed();
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        tracing::info!(micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX), "handled");
        o.office.metrics().request(o.listener, &method, &route, status, took);
        if let Ok(v) = HeaderValue::from_str(&request_id.to_string()) {
            response.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
        response
    }
    .instrument(span)
    .await
}
