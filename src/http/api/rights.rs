//! The client's rights and the ledger in the caseworker API: the export of everything held about
//! a client (JSON and a printable page), erasure on request, and verification of the ledger.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::doc::{COUNSEL, Erased, NoSuchClient, SUPERVISORS, TEAM_LEADS, problems};
use super::extract::{NoQuery, PathIds, Query};
use super::schema::{DateTime as DateTimeSchema, Uuid as UuidSchema};
use super::views::{AuditLine, ClientView, ConsentView, OutgoingView};
use super::{ApiResult, ApiState, Manager, Supervisor};
use crate::domain::delivery::IncomingState;
use crate::domain::ledger::LedgerHead;
use crate::domain::participation::CounsellingSession;
use crate::domain::{ClientId, ConsentId, DataCategory, OfficeId};
use crate::notice::escape;
use crate::service::ledger::{Mismatch, PeerReport};
use crate::service::rights::ClientExport;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(export_client))
        .routes(routes!(export_client_page))
        .routes(routes!(erase_client))
        .routes(routes!(verify_ledger))
}

problems! {
    HandoverOpen: "A handover of the client is open." => [HandoverOpen];
}

/// The office that exports.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportOffice {
    id: OfficeId,
    name: String,
}

/// An entry of the consent ledger about the client.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportLedgerEntry {
    #[schema(minimum = 1)]
    seq: u64,
    hash: String,
    /// The canonical form, parsed.
    #[schema(value_type = Object)]
    entry: Value,
}

/// A handover of the client this office received.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportReceived {
    #[schema(value_type = UuidSchema)]
    id: Uuid,
    sender: OfficeId,
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    received_at: DateTime<Utc>,
    state: IncomingState,
    consent_id: ConsentId,
    categories: BTreeSet<DataCategory>,
}

/// Everything this office holds about a client (GDPR Art. 15): the record, sessions, consents,
/// the ledger entries about them (canonical form parsed), handovers sent and received, and who
/// accessed the data when.
#[derive(Serialize, ToSchema)]
#[schema(as = ClientExport)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportView {
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    exported_at: DateTime<Utc>,
    #[schema(inline)]
    office: ExportOffice,
    client: ClientView,
    sessions: Vec<CounsellingSession>,
    consents: Vec<ConsentView>,
    #[schema(inline)]
    ledger: Vec<ExportLedgerEntry>,
    handovers_sent: Vec<OutgoingView>,
    #[schema(inline)]
    handovers_received: Vec<ExportReceived>,
    access_log: Vec<AuditLine>,
}

impl ExportView {
    fn new(e: &ClientExport, office: &crate::service::Office) -> Self {
        Self {
            exported_at: e.exported_at,
            office: ExportOffice { id: office.id(), name: office.name().to_owned() },
            client: ClientView::from(&e.record),
            sessions: e.sessions.clone(),
            consents: e.consents.iter().map(ConsentView::from).collect(),
            ledger: e
                .ledger
                .iter()
                .map(|row| ExportLedgerEntry {
                    seq: row.seq,
                    hash: row.hash.clone(),
                    entry: serde_json::from_str::<Value>(&row.canonical).unwrap_or(Value::Null),
                })
                .collect(),
            handovers_sent: e.sent.iter().map(|h| OutgoingView::new(h, None)).collect(),
            handovers_received: e
                .received
                .iter()
                .map(|h| ExportReceived {
                    id: h.id(),
                    sender: h.handover.sender,
                    received_at: h.received_at,
                    state: h.state,
                    consent_id: h.handover.case.consent.consent_id,
                    categories: h.handover.case.consent.categories.clone(),
                })
                .collect(),
            access_log: e.access_log.iter().map(|(_, a)| AuditLine::from(a.clone())).collect(),
        }
    }
}

/// Everything held about a client
///
/// The client's right of access (GDPR Art. 15), as JSON. The export is audited.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/export",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    responses((status = 200, description = "The export.", body = ExportView), NoSuchClient, Erased),
)]
async fn export_client(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Response> {
    let export = s.office.export_client(&s.office.author(&account), id).await?;
    Ok(axum::Json(ExportView::new(&export, &s.office)).into_response())
}

/// Everything held about a client, printable
///
/// The export as a printable HTML page.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/export/page",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    responses(
        (status = 200, description = "The page.", content_type = "text/html", body = String),
        NoSuchClient, Erased,
    ),
)]
async fn export_client_page(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Response> {
    let export = s.office.export_client(&s.office.author(&account), id).await?;
    Ok(crate::http::pages::html(StatusCode::OK, printable_export(&export, &s.office)))
}

/// The export as a printable page (here and on the integration managers' pages): every part of
/// the JSON document, as nested lists.
pub(crate) fn printable_export(export: &ClientExport, office: &crate::service::Office) -> String {
    // The page shows every part of the JSON document, as nested lists.
    let doc = serde_json::to_value(ExportView::new(export, office)).expect("the export serialises");
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
    format!(
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n<title>Auskunft / Access (Art. 15 DSGVO)</title>\n\
         <style>body {{ font-family: \"Noto Sans\", \"DejaVu Sans\", Arial, sans-serif; font-size: 10.5pt; max-width: 60rem; \
         margin: 1rem auto; }} dl {{ margin: 0 0 0 1rem; }} dt {{ font-weight: bold; }} dd {{ margin: 0 0 0.2rem 1rem; \
         word-break: break-all; }} ol {{ margin: 0; }} @page {{ size: A4; margin: 14mm; }}</style>\n</head>\n<body>\n\
         <h1>Auskunft nach Art. 15 DSGVO / Access under Art. 15 GDPR</h1>\n<p>{}</p>\n{body}</body>\n</html>\n",
        escape(&format!("Stand / as of {}", crate::domain::time::format_ts(export.exported_at))),
    )
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

#[derive(Serialize, ToSchema)]
#[schema(as = Erasure)]
#[serde(deny_unknown_fields)]
pub(super) struct ErasureView {
    client_id: ClientId,
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTimeSchema)]
    erased_at: DateTime<Utc>,
}

/// Erase a client's personal data on request
///
/// A team lead erases the client's personal data at their request (GDPR Art. 17) after
/// checking that no duty to keep it stands in the way. The record, sessions, consents and
/// handovers go; the ledger keeps its entries (ids and hashes) and records the erasure. Not
/// while a handover of the client is open.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/erasure",
    tag = "clients",
    extensions(("x-staffel-roles" = json!(TEAM_LEADS))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    responses((status = 200, description = "Erased.", body = ErasureView), NoSuchClient, HandoverOpen, Erased),
)]
async fn erase_client(
    State(s): State<ApiState>,
    Manager(account, role): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Response> {
    let erased_at = s.office.erase_on_request(&s.office.author(&account), role, id).await?;
    Ok(axum::Json(ErasureView { client_id: id, erased_at }).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyQuery {
    /// Also ask every other office which heads of this ledger it holds, and compare.
    #[serde(default)]
    #[param(required = false)]
    peers: bool,
}

/// The consent ledger recomputed: how many entries verified from the first, the last that did,
/// and the first that does not match (null if none). With `peers=true` also what each other
/// office holds of this ledger.
#[derive(Serialize, ToSchema)]
#[schema(as = LedgerVerification)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyView {
    ok: bool,
    #[schema(minimum = 0)]
    verified: u64,
    head: LedgerHead,
    #[schema(required = true)]
    first_mismatch: Option<Mismatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<PeerReport>, required = false)]
    peers: Option<Vec<PeerReport>>,
}

/// Verify the consent ledger
///
/// Recomputes every entry's hash from its canonical form and its link to the one before; names
/// the first entry that does not match. With `peers=true` it also asks every other office which
/// heads of this ledger it holds and compares them.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/verify",
    tag = "meta",
    extensions(("x-staffel-roles" = json!(SUPERVISORS))),
    params(VerifyQuery),
    responses((status = 200, description = "The result.", body = VerifyView)),
)]
async fn verify_ledger(
    State(s): State<ApiState>,
    Supervisor(_): Supervisor,
    Query(q): Query<VerifyQuery>,
) -> ApiResult<Response> {
    let chain = s.office.verify_ledger(&|_| {}).await?;
    let peers = if q.peers { Some(s.office.verify_against_peers().await?) } else { None };
    let ok = chain.first_mismatch.is_none()
        && peers.as_ref().is_none_or(|p| p.iter().all(|r| r.mismatch.is_none() && r.error.is_none()));
    Ok(axum::Json(VerifyView {
        ok,
        verified: chain.verified,
        head: chain.head,
        first_mismatch: chain.first_mismatch,
        peers,
    })
    .into_response())
}
