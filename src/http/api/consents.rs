//! Consents of a client: opening a consent page for the client, printing and recording a paper
//! form, reading, withdrawing (as the client tells the office) and revoking (recorded in error).
//! A withdrawal of the consent a received handover came on is in `incoming.rs`.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{COUNSEL, Erased, NoSuchClient, problems};
use super::extract::{Json, NoQuery, PathIds, Query};
use super::schema::{Date, DateTime};
use super::views::{ConsentList, ConsentView};
use super::{Answer, ApiResult, ApiState, Manager};
use crate::domain::consent_request::ConsentAsk;
use crate::domain::{ClientId, ConsentId, DataCategory, OfficeId};
use crate::service::PaperConsent;

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(open_consent_page))
        .routes(routes!(consent_form))
        .routes(routes!(record_paper_consent, list_consents))
        .routes(routes!(get_consent))
        .routes(routes!(withdraw_consent))
        .routes(routes!(revoke_consent))
}

problems! {
    PageConflict: "The client moved out, or processing is restricted (a page for another office), or a page for \
        this office is asked while nothing is restricted." =>
        [ClientMovedOut, ClientRestricted, InvalidState, ConsentExpired];
    PageInvalid: "The body is not valid, the language has no texts, the office is not in the directory, the \
        categories would not carry a handover (`consent-missing`), or `valid_until` has passed (`consent-expired` is \
        409 otherwise)." => [ValidationFailed, UnknownOffice, ConsentMissing];
    FormExpired: "`valid_until` has passed." => [ConsentExpired];
    FormInvalid: "A parameter is missing or not valid, the language has no texts, the office is not in the \
        directory, or the categories would not carry a handover." => [ValidationFailed, UnknownOffice, ConsentMissing];
    PaperConflict: "The client moved out, processing is restricted, or `valid_until` has passed." =>
        [ClientMovedOut, ClientRestricted, ConsentExpired];
    PaperInvalid: "The body is not valid (`health_granted` given or missing wrongly, an unknown language), the \
        office is not in the directory, or the categories would not carry a handover; `signed_on` lies in the \
        future (`date-invalid`)." => [ValidationFailed, UnknownOffice, ConsentMissing, DateInvalid];
    NoSuchConsent: "No such consent of this client." => [NotFound];
    ConsentChanged: "The consent was changed meanwhile; reload and try again." => [EditConflict];
}

/// The consent page's and the paper form's language (one of `consents/`).
pub(super) struct ConsentLanguage;

impl utoipa::PartialSchema for ConsentLanguage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::schema::consent_language().into()
    }
}

impl ToSchema for ConsentLanguage {}

/// Known data categories, comma-separated.
pub(super) struct CategoryList;

impl utoipa::PartialSchema for CategoryList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(super::schema::category_list_pattern()))
            .into()
    }
}

impl ToSchema for CategoryList {}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewConsentPage {
    /// The receiving office, or this office itself (the client consents to counselling going on
    /// here while the record is restricted).
    recipient: OfficeId,
    /// At least `identity` and `window`; `plan:health` only with `health`. `health` is asked on
    /// the page separately; the client may refuse it and consent to the rest.
    categories: BTreeSet<DataCategory>,
    #[schema(value_type = ConsentLanguage, inline)]
    language: String,
    /// The last day the consent holds; absent: until withdrawn.
    #[serde(default, with = "crate::domain::time::date_opt")]
    #[schema(value_type = Date, required = false)]
    valid_until: Option<NaiveDate>,
}

/// A consent page for the client: open `url` on the office's screen (same listener). The link
/// works once, until `expires_at` (config `privacy.consent_link_minutes`); it is shown only here.
#[derive(Serialize, ToSchema)]
#[schema(as = ConsentPageLink)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsentPageView {
    /// Where the client's page is, on this listener: `/consent/<token>`. Shown once.
    #[schema(pattern = "^/consent/[A-Za-z0-9_-]{43}$")]
    url: String,
    #[serde(with = "crate::domain::time::ts")]
    #[schema(value_type = DateTime)]
    expires_at: chrono::DateTime<Utc>,
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

/// Open a consent page for the client
///
/// A one-time link to the page on which the client reads, in their language, what would be
/// sent to whom, and consents themself (health data asked separately). Nothing is sent until
/// the client confirms.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/consent-pages",
    tag = "consents",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    request_body = NewConsentPage,
    responses(
        (status = 201, description = "The link, shown only now.", body = ConsentPageView),
        NoSuchClient, PageConflict, Erased, PageInvalid,
    ),
)]
async fn open_consent_page(
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct FormQuery {
    recipient: OfficeId,
    /// Comma-separated data categories.
    #[param(value_type = CategoryList, inline)]
    categories: String,
    #[param(value_type = ConsentLanguage, inline)]
    language: String,
    #[serde(default, with = "crate::domain::time::date_opt")]
    #[param(value_type = Date, required = false)]
    valid_until: Option<NaiveDate>,
}

/// Print the consent form
///
/// The same statement the consent page shows, as a printable page with boxes to tick and a line
/// to sign; at its foot the text's id, version, language and SHA-256.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/consent-form",
    tag = "consents",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404."), FormQuery),
    responses(
        (status = 200, description = "The form, HTML.", content_type = "text/html", body = String),
        NoSuchClient, Erased, FormInvalid, FormExpired,
    ),
)]
async fn consent_form(
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

/// A consent the client gave on a signed paper form (printed by `GET
/// /api/v1/clients/{id}/consent-form` with the same recipient, categories, language and
/// `valid_until`: the hash recorded is that of the statement printed).
#[derive(Deserialize, ToSchema)]
#[schema(as = NewConsent)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPaperConsent {
    recipient: OfficeId,
    /// The categories printed on the form (as for a consent page).
    categories: BTreeSet<DataCategory>,
    #[schema(value_type = ConsentLanguage, inline)]
    language: String,
    /// The day the client signed; not after today, may be before.
    #[serde(with = "crate::domain::time::date")]
    #[schema(value_type = Date)]
    signed_on: NaiveDate,
    /// The client's answer to the separate question on health data; required exactly when
    /// `health` is among the categories.
    #[serde(default)]
    #[schema(value_type = bool, required = false)]
    health_granted: Option<bool>,
    #[serde(default, with = "crate::domain::time::date_opt")]
    #[schema(value_type = Date, required = false)]
    valid_until: Option<NaiveDate>,
}

/// Record a consent given on a signed paper form
///
/// The client signed the printed form (`GET .../consent-form`) on `signed_on`; the caller
/// records it. The ledger records the text's hash, the paper form and the caller.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/consents",
    tag = "consents",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    request_body = NewPaperConsent,
    responses(
        (status = 201, description = "The consent.", body = ConsentView),
        NoSuchClient, PaperConflict, Erased, PaperInvalid,
    ),
)]
async fn record_paper_consent(
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

/// A client's consents
///
/// Every consent of the client, oldest first, with how it was given and whether it still holds.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/consents",
    tag = "consents",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(("id" = ClientId, Path, description = "The client. Not a UUID: 404.")),
    responses((status = 200, description = "The consents.", body = ConsentList), NoSuchClient, Erased),
)]
async fn list_consents(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds(id): PathIds<ClientId>,
    _: NoQuery,
) -> ApiResult<Answer<ConsentList>> {
    let consents = s.office.consents(&s.office.author(&account), id).await?;
    Ok(axum::Json(ConsentList { items: consents.iter().map(ConsentView::from).collect(), next: None }))
}

/// Read a consent
#[utoipa::path(
    get,
    path = "/api/v1/clients/{id}/consents/{consent}",
    tag = "consents",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(
        ("id" = ClientId, Path, description = "The client. Not a UUID: 404."),
        ("consent" = ConsentId, Path, description = "The consent. Not a UUID: 404."),
    ),
    responses((status = 200, description = "The consent.", body = ConsentView), NoSuchConsent, Erased),
)]
async fn get_consent(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds((id, consent)): PathIds<(ClientId, ConsentId)>,
    _: NoQuery,
) -> ApiResult<Answer<ConsentView>> {
    let grant = s.office.read_consent(&s.office.author(&account), id, consent).await?;
    Ok(axum::Json(ConsentView::from(&grant)))
}

/// Withdraw a consent
///
/// The client withdrew at the office; the caller records it. With effect for the future:
/// handovers on it not yet delivered are cancelled; a receiver that holds data sent on it is
/// told with a signed withdrawal message. Withdrawing twice changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/consents/{consent}/withdraw",
    tag = "consents",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(
        ("id" = ClientId, Path, description = "The client. Not a UUID: 404."),
        ("consent" = ConsentId, Path, description = "The consent. Not a UUID: 404."),
    ),
    responses(
        (status = 200, description = "The consent, withdrawn.", body = ConsentView),
        NoSuchConsent, ConsentChanged, Erased,
    ),
)]
async fn withdraw_consent(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds((id, consent)): PathIds<(ClientId, ConsentId)>,
    _: NoQuery,
) -> ApiResult<Answer<ConsentView>> {
    let grant = s.office.withdraw_consent(&s.office.author(&account), id, consent).await?;
    Ok(axum::Json(ConsentView::from(&grant)))
}

/// Revoke a consent recorded in error
///
/// The office recorded the consent in error. It ends as a withdrawal does (handovers cancelled,
/// receivers told), and the ledger records a revocation by the caller.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{id}/consents/{consent}/revoke",
    tag = "consents",
    extensions(("x-staffel-roles" = json!(COUNSEL))),
    params(
        ("id" = ClientId, Path, description = "The client. Not a UUID: 404."),
        ("consent" = ConsentId, Path, description = "The consent. Not a UUID: 404."),
    ),
    responses(
        (status = 200, description = "The consent, revoked.", body = ConsentView),
        NoSuchConsent, ConsentChanged, Erased,
    ),
)]
async fn revoke_consent(
    State(s): State<ApiState>,
    Manager(account, _): Manager,
    PathIds((id, consent)): PathIds<(ClientId, ConsentId)>,
    _: NoQuery,
) -> ApiResult<Answer<ConsentView>> {
    let grant = s.office.revoke_consent(&s.office.author(&account), id, consent).await?;
    Ok(axum::Json(ConsentView::from(&grant)))
}
