//! Consents in the caseworker API: opening a consent page for the client, printing and recording
//! a paper form, reading, withdrawing (as the client tells the office) and revoking (recorded in
//! error), and recording a withdrawal of a basis received with a handover.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::extract::{Id, Json, NoQuery, PathIds, Query};
use super::views::ConsentView;
use super::{Answer, ApiResult, ApiState, Manager};
use crate::domain::consent_request::ConsentAsk;
use crate::domain::{ClientId, ConsentId, DataCategory, OfficeId};
use crate::service::PaperConsent;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewConsentPage {
    recipient: OfficeId,
    categories: BTreeSet<DataCategory>,
    language: String,
    #[serde(default, with = "crate::domain::time::date_opt")]
    valid_until: Option<NaiveDate>,
}

#[derive(Serialize)]
pub(super) struct ConsentPageView {
    /// Where the client's page is, on this listener: `/consent/<token>`. Shown once.
    url: String,
    #[serde(with = "crate::domain::time::ts")]
    expires_at: DateTime<Utc>,
    language: String,
    recipient: OfficeId,
    categories: BTreeSet<DataCategory>,
}

fn ask(
    client: ClientId,
    recipient: OfficeId,
    categories: BTreeSet<DataCategory>,
    language: String,
    valid_until: Option<NaiveDate>,
) -> ConsentAsk {
    ConsentAsk {
        client,
        recipient,
        categories,
        language,
        consent_expires_at: valid_until.map(crate::domain::time::german_day_end),
    }
}

pub(super) async fn open_page(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
    Json(req): Json<NewConsentPage>,
) -> ApiResult<Response> {
    let ask = ask(id, req.recipient, req.categories, req.language, req.valid_until);
    let link = s.office.open_consent(&s.office.author(&account), ask).await?;
    let view = ConsentPageView {
        url: format!("/consent/{}", link.token),
        expires_at: link.request.expires_at,
        language: link.request.ask.language.clone(),
        recipient: link.request.ask.recipient,
        categories: link.request.ask.categories.clone(),
    };
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], axum::Json(view)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FormQuery {
    recipient: OfficeId,
    /// Comma-separated data categories.
    categories: String,
    language: String,
    #[serde(default, with = "crate::domain::time::date_opt")]
    valid_until: Option<NaiveDate>,
}

/// The printable consent form, HTML.
pub(super) async fn paper_form(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    Query(q): Query<FormQuery>,
) -> ApiResult<Response> {
    let mut categories = BTreeSet::new();
    for name in q.categories.split(',') {
        let c = DataCategory::parse(name.trim()).ok_or_else(|| {
            super::extract::invalid("/categories".into(), format!("unknown data category {:?}", name.trim()))
        })?;
        categories.insert(c);
    }
    let ask = ask(id, q.recipient, categories, q.language, q.valid_until);
    let page = s.office.paper_form(&s.office.author(&account), ask).await?;
    Ok(crate::http::pages::html(StatusCode::OK, page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPaperConsent {
    recipient: OfficeId,
    categories: BTreeSet<DataCategory>,
    language: String,
    #[serde(with = "crate::domain::time::date")]
    signed_on: NaiveDate,
    #[serde(default)]
    health_granted: Option<bool>,
    #[serde(default, with = "crate::domain::time::date_opt")]
    valid_until: Option<NaiveDate>,
}

pub(super) async fn record_paper(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
    Json(req): Json<NewPaperConsent>,
) -> ApiResult<Response> {
    let paper = PaperConsent {
        recipient: req.recipient,
        categories: req.categories,
        language: req.language,
        signed_on: req.signed_on,
        health_granted: req.health_granted,
        valid_until: req.valid_until,
    };
    let grant = s.office.record_paper_consent(&s.office.author(&account), id, paper).await?;
    Ok((StatusCode::CREATED, axum::Json(ConsentView::from(&grant))).into_response())
}

pub(super) async fn list(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Answer<super::views::Page<ConsentView>>> {
    let consents = s.office.consents(&s.office.author(&account), id).await?;
    Ok(axum::Json(super::views::Page { items: consents.iter().map(ConsentView::from).collect(), next: None }))
}

pub(super) async fn get(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds((id, consent)): PathIds<(ClientId, ConsentId)>,
    _: NoQuery,
) -> ApiResult<Answer<ConsentView>> {
    let grant = s.office.read_consent(&s.office.author(&account), id, consent).await?;
    Ok(axum::Json(ConsentView::from(&grant)))
}

pub(super) async fn withdraw(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds((id, consent)): PathIds<(ClientId, ConsentId)>,
    _: NoQuery,
) -> ApiResult<Answer<ConsentView>> {
    let grant = s.office.withdraw_consent(&s.office.author(&account), id, consent).await?;
    Ok(axum::Json(ConsentView::from(&grant)))
}

pub(super) async fn revoke(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds((id, consent)): PathIds<(ClientId, ConsentId)>,
    _: NoQuery,
) -> ApiResult<Answer<ConsentView>> {
    let grant = s.office.revoke_consent(&s.office.author(&account), id, consent).await?;
    Ok(axum::Json(ConsentView::from(&grant)))
}

/// The client withdrew here the consent a received handover came on: 202, the sending office is
/// told through the outbox.
pub(super) async fn withdraw_received(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(Id(id)): PathIds<Id>,
    _: NoQuery,
) -> ApiResult<Response> {
    s.office.withdraw_received_consent(&s.office.author(&account), id).await?;
    let handover = s.office.read_incoming(&s.office.author(&account), id).await?;
    let view = super::views::IncomingView::full(&handover, s.office.directory());
    Ok((StatusCode::ACCEPTED, axum::Json(view)).into_response())
}
