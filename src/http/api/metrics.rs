//! The office's Prometheus metrics (`GET /metrics`), for a scraper that presents the scrape token
//! of the config (`[metrics] token_sha256`); without one configured the endpoint is off. The
//! metrics carry no personal data, but they show how busy the office is: so not for anyone who
//! reaches the caseworker listener. The scrape token grants nothing else.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::doc::problems;
use crate::http::problem::{Problem, ProblemType};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

problems! {
    MetricsUnauthorized: "No bearer token, or not the scrape token." => [Unauthorized];
    MetricsOff: "The office has no scrape token configured: metrics are off." => [NotFound];
}

/// The exposition (OpenMetrics text).
pub(super) struct Exposition;

impl utoipa::PartialSchema for Exposition {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String).into()
    }
}

impl utoipa::ToSchema for Exposition {}

/// Metrics
///
/// The office's metrics in the OpenMetrics text format, for Prometheus: requests by route template
/// and status, messages received by result, delivery attempts and times, the outbox per
/// destination office, handovers by state, failed logins, readiness, the end of the TLS
/// certificates. No label holds personal data.
/// Needs the scrape token of the config (`[metrics] token_sha256`), not an account's token.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    security(("metrics" = [])),
    responses(
        (status = 200, description = "The metrics.", content_type = "application/openmetrics-text",
            body = inline(Exposition)),
        MetricsUnauthorized, MetricsOff,
    ),
)]
async fn metrics(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    let Some(expected) = s.metrics_token_sha256.as_deref() else {
        return Problem::new(ProblemType::NotFound).into_response();
    };
    let presented = super::auth::bearer_of(&headers).map(crate::digest::token_digest);
    if !presented.is_some_and(|digest| crate::digest::same(&digest, expected)) {
        tracing::info!("metrics: scrape refused (no or a wrong token)");
        return Problem::new(ProblemType::Unauthorized).into_response();
    }
    let mut response = s.office.metrics_text().await.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(crate::metrics::CONTENT_TYPE));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
