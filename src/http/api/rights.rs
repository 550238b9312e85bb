//! The client's rights and the ledger in the caseworker API: the export of everything held about
//! a client (JSON and a printable page), erasure on request, and verification of the ledger.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::extract::{NoQuery, PathIds, Query};
use super::views::{AuditLine, ClientView, ConsentView, OutgoingView};
use super::{ApiResult, ApiState, Manager, Supervisor};
use crate::domain::ClientId;
use crate::notice::escape;
use crate::service::ledger::{ChainReport, PeerReport};
use crate::service::rights::ClientExport;

/// The export as a JSON document.
fn export_json(e: &ClientExport, office: &crate::service::Office) -> Value {
    let ledger: Vec<Value> = e
        .ledger
        .iter()
        .map(|row| {
            json!({
                "seq": row.seq,
                "hash": row.hash,
                "entry": serde_json::from_str::<Value>(&row.canonical).unwrap_or(Value::Null),
            })
        })
        .collect();
    let received: Vec<Value> = e
        .received
        .iter()
        .map(|h| {
            json!({
                "id": h.id(),
                "sender": h.handover.sender,
                "received_at": crate::domain::time::format_ts(h.received_at),
                "state": h.state,
                "consent_id": h.handover.case.consent.consent_id,
                "categories": h.handover.case.consent.categories,
            })
        })
        .collect();
    json!({
        "exported_at": crate::domain::time::format_ts(e.exported_at),
        "office": { "id": office.id(), "name": office.name() },
        "client": ClientView::from(&e.record),
        "sessions": e.sessions,
        "consents": e.consents.iter().map(ConsentView::from).collect::<Vec<_>>(),
        "ledger": ledger,
        "handovers_sent": e.sent.iter().map(|h| OutgoingView::new(h, None)).collect::<Vec<_>>(),
        "handovers_received": received,
        "access_log": e.access_log.iter().map(|(_, a)| AuditLine::from(a.clone())).collect::<Vec<_>>(),
    })
}

pub(super) async fn export(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Response> {
    let export = s.office.export_client(&s.office.author(&account), id).await?;
    Ok(axum::Json(export_json(&export, &s.office)).into_response())
}

/// The export as a printable page: every part of the JSON document, as nested lists.
pub(super) async fn export_page(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Response> {
    let export = s.office.export_client(&s.office.author(&account), id).await?;
    let doc = export_json(&export, &s.office);
    let mut body = String::new();
    for (title, key) in [
        ("Beratungsstelle / Office", "office"),
        ("Ihre Daten / Your record", "client"),
        ("Beratungsgespräche / Sessions", "sessions"),
        ("Einwilligungen / Consents", "consents"),
        ("Einwilligungsverzeichnis / Consent ledger", "ledger"),
        ("Übergaben gesendet / Handovers sent", "handovers_sent"),
        ("Übergaben erhalten / Handovers received", "handovers_received"),
        ("Zugriffe / Access log", "access_log"),
    ] {
        body.push_str(&format!("<section>\n<h2>{}</h2>\n", escape(title)));
        render(&doc[key], &mut body);
        body.push_str("</section>\n");
    }
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n<title>Auskunft / Access (Art. 15 DSGVO)</title>\n\
         <style>body {{ font-family: \"Noto Sans\", \"DejaVu Sans\", Arial, sans-serif; font-size: 10.5pt; max-width: 60rem; \
         margin: 1rem auto; }} dl {{ margin: 0 0 0 1rem; }} dt {{ font-weight: bold; }} dd {{ margin: 0 0 0.2rem 1rem; \
         word-break: break-all; }} ol {{ margin: 0; }} @page {{ size: A4; margin: 14mm; }}</style>\n</head>\n<body>\n\
         <h1>Auskunft nach Art. 15 DSGVO / Access under Art. 15 GDPR</h1>\n<p>{}</p>\n{body}</body>\n</html>\n",
        escape(&format!("Stand / as of {}", crate::domain::time::format_ts(export.exported_at))),
    );
    Ok(crate::http::pages::html(StatusCode::OK, page))
}

/// A JSON value as nested HTML lists, every text escaped.
fn render(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push_str("<dl>\n");
            for (k, v) in map {
                out.push_str(&format!("<dt>{}</dt><dd>", escape(k)));
                render(v, out);
                out.push_str("</dd>\n");
            }
            out.push_str("</dl>\n");
        }
        Value::Array(items) if items.is_empty() => out.push('–'),
        Value::Array(items) => {
            out.push_str("<ol>\n");
            for v in items {
                out.push_str("<li>");
                render(v, out);
                out.push_str("</li>\n");
            }
            out.push_str("</ol>\n");
        }
        Value::String(s) => out.push_str(&escape(s)),
        Value::Null => out.push('–'),
        other => out.push_str(&escape(&other.to_string())),
    }
}

#[derive(Serialize)]
pub(super) struct ErasureView {
    client_id: ClientId,
    #[serde(with = "crate::domain::time::ts")]
    erased_at: DateTime<Utc>,
}

/// A team lead erases the client's personal data at their request.
pub(super) async fn erase(
    State(s): State<ApiState>,
    Manager(account, role): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Response> {
    let erased_at = s.office.erase_on_request(&s.office.author(&account), role, id).await?;
    Ok(axum::Json(ErasureView { client_id: id, erased_at }).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyQuery {
    /// Also ask every other office which heads of this ledger it holds, and compare.
    #[serde(default)]
    peers: bool,
}

#[derive(Serialize)]
pub(super) struct VerifyView {
    ok: bool,
    #[serde(flatten)]
    chain: ChainReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    peers: Option<Vec<PeerReport>>,
}

/// Recomputes the ledger's chain (team leads and administrators).
pub(super) async fn verify(
    State(s): State<ApiState>,
    Supervisor(_): Supervisor,
    Query(q): Query<VerifyQuery>,
) -> ApiResult<Response> {
    let chain = s.office.verify_ledger(&|_| {}).await?;
    let peers = if q.peers { Some(s.office.verify_against_peers().await?) } else { None };
    let ok = chain.first_mismatch.is_none()
        && peers.as_ref().is_none_or(|p| p.iter().all(|r| r.mismatch.is_none() && r.error.is_none()));
    Ok(axum::Json(VerifyView { ok, chain, peers }).into_response())
}
