//! The consent ledger checked from the pages (team leads and administrators): every entry
//! recomputed from the first, and on request compared with the heads other offices hold of it.
//! The same use cases as `staffel ledger verify` and the API's `GET /api/v1/ledger/verify`.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::session::Supervisor;
use super::start::staff_page;
use super::{UiState, error_page};

pub fn router() -> Router<UiState> {
    Router::new().route("/ledger", get(verify))
}

#[derive(Deserialize)]
struct VerifyQuery {
    peers: Option<String>,
}

async fn verify(State(s): State<UiState>, Supervisor(staff): Supervisor, Query(q): Query<VerifyQuery>) -> Response {
    let office = &s.api.office;
    let chain = match office.verify_ledger(&|_| {}).await {
        Ok(c) => c,
        Err(e) => return error_page(&s, Some(&staff), staff.lang, e, "/"),
    };
    let peers = if q.peers.is_some() {
        match office.verify_against_peers().await {
            Ok(p) => Some(p),
            Err(e) => return error_page(&s, Some(&staff), staff.lang, e, "/ledger"),
        }
    } else {
        None
    };
    let peers = peers.map(|ps| {
        ps.iter()
            .map(|p| {
                json!({
                    "office": office.office_name(p.office), "heads": p.heads,
                    "mismatch": p.mismatch, "error": p.error,
                })
            })
            .collect::<Vec<_>>()
    });
    staff_page(
        &s,
        &staff,
        "ledger.html",
        StatusCode::OK,
        json!({
            "nav": "ledger", "ok": chain.first_mismatch.is_none(), "verified": chain.verified,
            "head_seq": chain.head.seq, "head_hash": chain.head.hash, "mismatch": chain.first_mismatch,
            "peers": peers,
        }),
    )
}
