//! The federation routes, behind mutual TLS.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::problem::{Problem, ProblemType};
use super::serve::PeerOffice;
use crate::federation::outbound::HeadsAnswer;
use crate::federation::protocol::{
    DECISIONS_PATH, HANDOVERS_PATH, KEYS_PATH, LEDGER_HEADS_PATH, MEDIA_TYPE, MessageKind, WITHDRAWALS_PATH,
};
use crate::service::{Office, Rejection};

#[derive(Clone)]
struct FederationState {
    office: Arc<Office>,
    max_body_bytes: usize,
}

pub fn router(office: Arc<Office>, max_body_bytes: usize) -> Router {
    Router::new()
        .route(HANDOVERS_PATH, post(receive_handover))
        .route(DECISIONS_PATH, post(receive_decision))
        .route(WITHDRAWALS_PATH, post(receive_withdrawal))
        .route(KEYS_PATH, get(keys))
        .route(LEDGER_HEADS_PATH, get(ledger_heads))
        .fallback(|| async { Problem::new(ProblemType::NotFound) })
        .method_not_allowed_fallback(|| async { Problem::new(ProblemType::MethodNotAllowed) })
        .layer(axum::middleware::from_fn(super::limit_headers))
        .with_state(FederationState { office, max_body_bytes })
}

async fn receive_handover(state: State<FederationState>, peer: Extension<PeerOffice>, request: Request) -> Response {
    receive(state, peer, request, MessageKind::Handover).await
}

async fn receive_decision(state: State<FederationState>, peer: Extension<PeerOffice>, request: Request) -> Response {
    receive(state, peer, request, MessageKind::Decision).await
}

async fn receive_withdrawal(state: State<FederationState>, peer: Extension<PeerOffice>, request: Request) -> Response {
    receive(state, peer, request, MessageKind::Withdrawal).await
}

/// The heads of the calling office's ledger this office holds (from its signed messages), for
/// the caller to compare with its own ledger.
async fn ledger_heads(
    State(state): State<FederationState>,
    Extension(PeerOffice(peer)): Extension<PeerOffice>,
) -> Response {
    match state.office.heads_held_of(peer).await {
        Ok(heads) => Json(HeadsAnswer { office: state.office.id(), about: peer, heads }).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Reads at most `limit` bytes; a declared or actual larger body is refused first of all.
async fn read_limited(body: Body, declared: Option<usize>, limit: usize) -> Result<axum::body::Bytes, Rejection> {
    if declared.is_some_and(|len| len > limit) {
        return Err(Rejection::TooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| Rejection::TooLarge { limit })
}

#[tracing::instrument(name = "federation_receive", skip_all, fields(kind = kind.as_str()))]
async fn receive(
    State(state): State<FederationState>,
    Extension(PeerOffice(peer)): Extension<PeerOffice>,
    request: Request,
    kind: MessageKind,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let result = match read_limited(request.into_body(), declared, state.max_body_bytes).await {
        Ok(body) => state.office.receive(kind, peer, &body).await,
        Err(rejection) => Err(rejection),
    };
    match result {
        Ok(receipt) => {
            state.office.metrics().inbox(kind.as_str(), "accepted");
            let mut response = (StatusCode::ACCEPTED, receipt).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
            response
        }
        Err(rejection) => {
            let problem = Problem::from(rejection);
            tracing::info!(problem = problem.kind.slug(), "message refused");
            state.office.metrics().inbox(kind.as_str(), problem.kind.slug());
            problem.into_response()
        }
    }
}

/// This office's public signing keys as a JWK Set, as the directory lists them.
async fn keys(State(state): State<FederationState>) -> Response {
    match state.office.directory().jwks(state.office.id()) {
        Some(jwks) => Json(jwks).into_response(),
        None => Problem::new(ProblemType::NotFound).into_response(),
    }
}
