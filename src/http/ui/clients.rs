//! Clients: search and list, a new client, the client page (identity, timeline, sessions, plan,
//! window, participation, consents and their ledger entries, handovers) and every form on it,
//! the client notice, and the audit log for team leads. Each form calls the same use case as
//! the JSON API; a refused form comes back with its values and the reason.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::forms::{FieldError, Fields, Form, Kind};
use super::session::{Counsel, Staff, Supervisor};
use super::start::staff_page;
use super::timeline::{self, Facts};
use super::{Ids, UiState, error_page, problem_message, see_other};
use crate::domain::case::{ClientRecord, ClientStatus};
use crate::domain::consent::{ConsentEnd, ConsentMethod};
use crate::domain::consent_request::ConsentAsk;
use crate::domain::eligibility::{Benefits, TargetGroup};
use crate::domain::participation::{ExitReason, ParticipationEvent};
use crate::domain::plan::{GoalDraft, GoalPatch};
use crate::domain::{
    ClientId, ClientIdentity, ConsentGrant, ConsentId, DataCategory, ExtensionGrounds, ExtensionReason, GoalArea,
    GoalId, GoalStatus, OfficeId, PersonName, Responsible, Step, Text,
};
use crate::service::{NewClient, ServiceError};
use crate::storage::{ClientCursor, ClientQuery};

pub fn router() -> Router<UiState> {
    Router::new()
        .route("/clients", get(list).post(create))
        .route("/clients/new", get(new_page))
        .route("/clients/{id}", get(show_page))
        .route("/clients/{id}/notice", get(notice))
        .route("/clients/{id}/export", get(export))
        .route("/clients/{id}/erasure", post(erase))
        .route("/clients/{id}/audit", get(audit))
        .route("/clients/{id}/sessions", post(record_session))
        .route("/clients/{id}/eligibility", post(set_eligibility))
        .route("/clients/{id}/goals", post(add_goal))
        .route("/clients/{id}/goals/{goal}", post(update_goal))
        .route("/clients/{id}/goals/{goal}/reviews", post(review_goal))
        .route("/clients/{id}/extensions", post(grant_extension))
        .route("/clients/{id}/extension-requests/{request}/approve", post(approve_extension))
        .route("/clients/{id}/exit", post(exit))
        .route("/clients/{id}/re-entry", post(re_enter))
        .route("/clients/{id}/consent-pages", post(open_consent_page))
        .route("/clients/{id}/consent-form", post(paper_form))
        .route("/clients/{id}/consents", post(record_paper_consent))
        .route("/clients/{id}/consents/{consent}/withdraw", post(withdraw_consent))
        .route("/clients/{id}/consents/{consent}/revoke", post(revoke_consent))
        .route("/clients/{id}/handovers", post(draft_handover))
}

/// The messages a redirect after a successful form may show (`?done=`).
const FLASHES: &[&str] = &[
    "client-created",
    "session-recorded",
    "eligibility-set",
    "goal-added",
    "goal-changed",
    "goal-reviewed",
    "extension-granted",
    "extension-requested",
    "extension-approved",
    "exit-recorded",
    "re-entry-recorded",
    "consent-withdrawn",
    "consent-revoked",
    "account-created",
    "account-disabled",
    "account-enabled",
    "account-deleted",
    "account-password",
    "paper-consent-recorded",
    "client-erased",
];

/// The flash key of a `?done=` value, if it is one.
pub fn flash(done: Option<&str>) -> Option<&'static str> {
    done.and_then(|d| FLASHES.iter().chain(super::handovers::FLASHES).find(|f| **f == d).copied())
}

fn options<T: serde::Serialize>(values: impl IntoIterator<Item = T>, texts: &Value, section: &str) -> Vec<Value> {
    values
        .into_iter()
        .map(|v| {
            let value = serde_json::to_value(&v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            let label = texts[section][&value].as_str().unwrap_or(&value).to_owned();
            json!({"value": value, "label": label})
        })
        .collect()
}

fn target_groups(t: &Value) -> Vec<Value> {
    options([TargetGroup::FollowUpAccommodation, TargetGroup::DisplacedFromUkraine], t, "target_group")
}

fn benefits(t: &Value) -> Vec<Value> {
    options([Benefits::Asylblg, Benefits::SgbIi, Benefits::SgbXii, Benefits::None], t, "benefits")
}

// ---------------------------------------------------------------------------------------------
// The list and a new client.

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

const PAGE: u32 = 50;

async fn list(State(s): State<UiState>, Counsel(staff): Counsel, Query(q): Query<ListQuery>) -> Response {
    let office = &s.api.office;
    let after = q.after.as_deref().and_then(|a| {
        let (key, id) = a.rsplit_once('~')?;
        Some(ClientCursor { sort_key: key.to_owned(), id: ClientId::parse(id)? })
    });
    let query = ClientQuery {
        words: crate::domain::search::query_words(&q.q),
        active_only: q.active.is_some(),
        limit: PAGE + 1,
        after,
    };
    let mut page = match office.list_clients(&office.author(&staff.caller.account), &query).await {
        Ok(p) => p,
        Err(e) => return error_page(&s, Some(&staff), staff.lang, e, "/"),
    };
    let next = (page.len() > PAGE as usize).then(|| {
        page.truncate(PAGE as usize);
        let last = page.last().expect("a full page has a last line");
        let cursor: String = format!("{}~{}", last.sort_key, last.id);
        let mut url = form_urlencoded::Serializer::new(String::from("/clients?"));
        url.append_pair("q", &q.q);
        if q.active.is_some() {
            url.append_pair("active", "1");
        }
        url.append_pair("after", &cursor);
        url.finish()
    });
    let items: Vec<Value> = page
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "given_name": c.identity.given_name, "family_name": c.identity.family_name,
                "date_of_birth": c.identity.date_of_birth, "first_session": c.first_session, "last_day": c.last_day,
                "status": status_key(&c.status),
            })
        })
        .collect();
    staff_page(
        &s,
        &staff,
        "clients.html",
        StatusCode::OK,
        json!({
            "nav": "clients", "q": q.q, "active": q.active.is_some(), "items": items, "next": next,
            "flash": flash(q.done.as_deref()),
        }),
    )
}

fn status_key(status: &ClientStatus) -> &'static str {
    match status {
        ClientStatus::Active => "active",
        ClientStatus::MovedOut { .. } => "moved-out",
    }
}

fn new_view(
    s: &UiState,
    staff: &Staff,
    status: StatusCode,
    posted: Option<Value>,
    household_of: Option<Value>,
) -> Response {
    let t = staff.lang.texts();
    staff_page(
        s,
        staff,
        "client_new.html",
        status,
        json!({
            "nav": "clients", "today": s.api.office.clock().today(), "posted": posted,
            "target_groups": target_groups(t), "benefits": benefits(t), "household_of": household_of,
        }),
    )
}

#[derive(Deserialize)]
struct NewQuery {
    household_of: Option<String>,
}

/// The client a new client joins the household of: id and name, for the form.
async fn household_of(s: &UiState, staff: &Staff, id: Option<&str>) -> Result<Option<Value>, Response> {
    let Some(id) = id.filter(|i| !i.is_empty()) else { return Ok(None) };
    let Some(id) = ClientId::parse(id) else {
        return Err(error_page(s, Some(staff), staff.lang, ServiceError::NotFound("client"), "/clients"));
    };
    let office = &s.api.office;
    match office.read_client(&office.author(&staff.caller.account), id).await {
        Ok(r) => Ok(Some(json!({
            "id": id,
            "name": format!("{}, {}", r.identity.family_name.as_str(), r.identity.given_name.as_str()),
        }))),
        Err(e) => Err(error_page(s, Some(staff), staff.lang, e, "/clients")),
    }
}

async fn new_page(State(s): State<UiState>, Counsel(staff): Counsel, Query(q): Query<NewQuery>) -> Response {
    match household_of(&s, &staff, q.household_of.as_deref()).await {
        Ok(h) => new_view(&s, &staff, StatusCode::OK, None, h),
        Err(page) => page,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewClientForm {
    given_name: PersonName,
    family_name: PersonName,
    #[serde(with = "crate::domain::time::date")]
    date_of_birth: NaiveDate,
    #[serde(with = "crate::domain::time::date")]
    first_session: NaiveDate,
    target_group: TargetGroup,
    benefits: Benefits,
    #[serde(default)]
    discretion_reason: Option<Text>,
    #[serde(default)]
    household_of: Option<ClientId>,
}

/// A refused form: its name, its values, and the field or the problem.
fn refused_field(form: &str, fields: &Fields, e: FieldError) -> Value {
    json!({"form": form, "field": e.field, "message": e.message, "values": fields.echo()})
}

fn refused_problem(form: &str, fields: &Fields, e: ServiceError) -> (StatusCode, Value) {
    let (status, problem) = problem_message(e);
    (status, json!({"form": form, "problem": problem, "values": fields.echo()}))
}

async fn create(State(s): State<UiState>, Counsel(staff): Counsel, Form(f): Form) -> Response {
    let spec = [
        ("given_name", Kind::Str),
        ("family_name", Kind::Str),
        ("date_of_birth", Kind::Str),
        ("first_session", Kind::Str),
        ("target_group", Kind::Str),
        ("benefits", Kind::Str),
        ("discretion_reason", Kind::Str),
        ("household_of", Kind::Str),
    ];
    let household = match household_of(&s, &staff, f.get("household_of")).await {
        Ok(h) => h,
        Err(page) => return page,
    };
    let req: NewClientForm = match f.typed(&spec) {
        Ok(r) => r,
        Err(e) => {
            let posted = Some(refused_field("new", &f, e));
            return new_view(&s, &staff, StatusCode::UNPROCESSABLE_ENTITY, posted, household);
        }
    };
    let new = NewClient {
        identity: ClientIdentity {
            given_name: req.given_name,
            family_name: req.family_name,
            date_of_birth: req.date_of_birth,
        },
        first_session: req.first_session,
        target_group: req.target_group,
        benefits: req.benefits,
        discretion_reason: req.discretion_reason,
        household_of: req.household_of,
    };
    let office = &s.api.office;
    match office.create_client(&office.author(&staff.caller.account), new).await {
        Ok(record) => see_other(&format!("/clients/{}?done=client-created", record.id)),
        Err(e) => {
            let (status, posted) = refused_problem("new", &f, e);
            new_view(&s, &staff, status, Some(posted), household)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The client page.

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn show_page(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Query(q): Query<Done>,
) -> Response {
    show(&s, &staff, id, StatusCode::OK, None, flash(q.done.as_deref())).await
}

fn consent_state(g: &ConsentGrant, now: chrono::DateTime<chrono::Utc>) -> &'static str {
    match &g.end {
        Some(ConsentEnd::Withdrawn(_)) => "withdrawn",
        Some(ConsentEnd::Revoked { .. }) => "revoked",
        Some(ConsentEnd::Expired) => "expired",
        None if g.expires_at.is_some_and(|e| e <= now) => "expired",
        None => "active",
    }
}

/// A plan's history as the pages show it: when, at which office (by name), by whom, which goal
/// (by its description), what changed.
pub fn history_view(office: &crate::service::Office, plan: &crate::domain::IntegrationPlan) -> Vec<Value> {
    plan.history
        .iter()
        .map(|e| {
            let goal = plan.goals.iter().find(|g| g.id == e.goal_id).map(|g| g.description.as_str().to_owned());
            json!({
                "at": crate::domain::time::format_ts(e.at), "office_name": office.office_name(e.office),
                "actor": e.actor, "goal": goal.unwrap_or_default(), "change": e.change,
            })
        })
        .collect()
}

/// Where a plan's history passes from one office to another: the day of the first entry at the
/// new office, and that office (the moves as far as the history tells them).
pub fn history_moves(history: &[crate::domain::plan::PlanEvent]) -> Vec<(NaiveDate, OfficeId)> {
    let mut events: Vec<&crate::domain::plan::PlanEvent> = history.iter().collect();
    events.sort_by_key(|e| e.at);
    let mut moves = Vec::new();
    let mut last = None;
    for e in events {
        if last.is_some_and(|o| o != e.office) {
            moves.push((crate::domain::time::german_date(e.at), e.office));
        }
        last = Some(e.office);
    }
    moves
}

/// The timeline's facts from a client record (and the moves this office saw).
pub fn timeline_facts(
    first_session: NaiveDate,
    extensions: &[crate::domain::Extension],
    participation: &[ParticipationEvent],
    moves: Vec<(NaiveDate, String)>,
    today: NaiveDate,
) -> Facts {
    let window = crate::domain::CounsellingWindow::from_parts(first_session, extensions.to_vec());
    let (regular, last, steps) = match &window {
        Ok(w) => {
            let mut sorted = w.extensions().to_vec();
            sorted.sort_by_key(|e| e.decided_on);
            let mut months = 0;
            let steps = sorted
                .iter()
                .map(|e| {
                    months += e.months;
                    (e.decided_on, e.months, crate::domain::calendar::add_months(first_session, 36 + months))
                })
                .collect();
            (w.regular_last_day(), w.last_day(), steps)
        }
        Err(_) => {
            let regular = crate::domain::calendar::add_months(first_session, 36);
            (regular, regular, Vec::new())
        }
    };
    let mut exits = Vec::new();
    for e in participation {
        match e {
            ParticipationEvent::Exit { on, .. } => exits.push((*on, None)),
            ParticipationEvent::ReEntry { on, .. } => {
                if let Some(last) = exits.last_mut() {
                    last.1 = Some(*on);
                }
            }
        }
    }
    Facts { first_session, regular_last_day: regular, last_day: last, extensions: steps, exits, moves, today }
}

async fn show(
    s: &UiState,
    staff: &Staff,
    id: ClientId,
    status: StatusCode,
    posted: Option<Value>,
    flash: Option<&'static str>,
) -> Response {
    let office = &s.api.office;
    let back = "/clients";
    let overview = match office.client_overview(&office.author(&staff.caller.account), id).await {
        Ok(o) => o,
        Err(e) => return error_page(s, Some(staff), staff.lang, e, back),
    };
    let (now, today) = (office.now(), office.clock().today());
    let t = staff.lang.texts();
    let r: &ClientRecord = &overview.record;
    let mut moves: Vec<(NaiveDate, String)> = overview
        .incoming
        .iter()
        .filter_map(|h| h.decided_at.map(|at| (crate::domain::time::german_date(at), office.name().to_owned())))
        .collect();
    if let ClientStatus::MovedOut { to, at } = &r.status {
        moves.push((crate::domain::time::german_date(*at), office.office_name(*to)));
    }
    // Earlier moves, between other offices: where the plan's history passes to another office.
    for (on, to) in history_moves(&r.plan.history) {
        if !moves.iter().any(|(_, name)| *name == office.office_name(to)) {
            moves.push((on, office.office_name(to)));
        }
    }
    let facts = timeline_facts(r.window.first_session(), r.window.extensions(), r.participation.events(), moves, today);
    let goals: Vec<Value> = r
        .plan
        .goals
        .iter()
        .map(|g| {
            let mut v = serde_json::to_value(g).unwrap_or_default();
            let steps: Vec<String> = g.steps.iter().map(|s| s.description.as_str().to_owned()).collect();
            v["steps_text"] = Value::from(steps.join("\n"));
            v
        })
        .collect();
    let history = history_view(office, &r.plan);
    let consents: Vec<Value> = overview
        .consents
        .iter()
        .map(|g| {
            json!({
                "id": g.id, "recipient_name": office.office_name(g.recipient),
                "categories": g.categories.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "given_at": crate::domain::time::format_ts(g.given_at),
                "method": match g.method { ConsentMethod::OnScreen => "on-screen", ConsentMethod::PaperForm { .. } => "paper-form" },
                "state": consent_state(g, now),
            })
        })
        .collect();
    let active_consents: Vec<Value> = overview
        .consents
        .iter()
        .filter(|g| consent_state(g, now) == "active" && g.recipient != office.id())
        .map(|g| {
            let label = format!(
                "{} ({})",
                office.office_name(g.recipient),
                super::texts::format_instant(
                    crate::domain::time::format_ts(g.given_at),
                    Some(staff.lang.code().into())
                )
            );
            json!({"value": g.id, "label": label})
        })
        .collect();
    let ledger: Vec<Value> = overview
        .ledger
        .iter()
        .map(|e| json!({"seq": e.seq, "at": crate::domain::time::format_ts(e.at), "kind": e.kind, "hash": e.hash}))
        .collect();
    let outgoing: Vec<Value> = overview
        .outgoing
        .iter()
        .map(|h| {
            json!({
                "id": h.id, "receiver_name": office.office_name(h.receiver), "state": h.state.as_str(),
                "created_at": crate::domain::time::format_ts(h.created_at),
            })
        })
        .collect();
    let incoming: Vec<Value> = overview
        .incoming
        .iter()
        .map(|h| {
            json!({
                "id": h.id(), "sender_name": office.office_name(h.handover.sender), "state": h.state.as_str(),
                "received_at": crate::domain::time::format_ts(h.received_at),
            })
        })
        .collect();
    let open_handover = overview.outgoing.iter().any(|h| {
        matches!(
            h.state,
            crate::domain::delivery::OutgoingState::Draft
                | crate::domain::delivery::OutgoingState::Approved
                | crate::domain::delivery::OutgoingState::Delivered
        )
    });
    let offices: Vec<Value> = office
        .directory()
        .offices()
        .filter(|o| *o != office.id())
        .map(|o| json!({"value": o, "label": office.office_name(o)}))
        .collect();
    // Health data (health goals, health-related grounds) is asked for on its own on the client's
    // page; it is not asked for unless chosen.
    let categories: Vec<Value> = DataCategory::all()
        .map(|c| {
            let key = c.to_string();
            let label = t["category"][&key].as_str().unwrap_or(&key).to_owned();
            json!({"value": key, "label": label})
        })
        .collect();
    let default_categories: Vec<String> = DataCategory::all()
        .filter(|c| !matches!(c, DataCategory::Health | DataCategory::Plan(GoalArea::Health)))
        .map(|c| c.to_string())
        .collect();
    let consent_languages: Vec<Value> = crate::consent_text::languages()
        .map(|code| {
            let name = crate::consent_text::language(code).map(|l| l.name().to_owned());
            json!({"value": code, "label": name.unwrap_or_else(|| code.to_owned())})
        })
        .collect();
    let areas = options(GoalArea::ALL, t, "area");
    let client = json!({
        "id": r.id, "case_id": r.case_id,
        "given_name": r.identity.given_name, "family_name": r.identity.family_name,
        "date_of_birth": r.identity.date_of_birth, "status": status_key(&r.status),
        "taking_part": r.participation.is_active(), "restricted": r.restricted.is_some(),
        "received_from": r.received_from.map(|o| office.office_name(o)),
        "eligibility": r.eligibility.as_ref().map(|e| json!({"target_group": e.target_group, "benefits": e.benefits})),
        "first_session": r.window.first_session(), "last_day": r.window.last_day(),
        "regular_last_day": r.window.regular_last_day(), "extension_months": r.window.extension_months(),
        "extensions": r.window.extensions(), "pending_extensions": r.pending_extensions,
        "participation": r.participation.events(),
    });
    let can_change = r.status == ClientStatus::Active && r.restricted.is_none();
    staff_page(
        s,
        staff,
        "client.html",
        status,
        json!({
            "nav": "clients", "flash": flash, "posted": posted, "today": today, "can_change": can_change,
            "client": client, "timeline": timeline::draw(&facts),
            "sessions": overview.sessions, "goals": goals, "history": history,
            "consents": consents, "active_consents": active_consents, "ledger": ledger,
            "outgoing": outgoing, "incoming": incoming, "open_handover": open_handover,
            "offices": offices, "categories": categories, "default_categories": default_categories,
            "consent_languages": consent_languages, "areas": areas,
            "goal_statuses": options([GoalStatus::Open, GoalStatus::InProgress, GoalStatus::Achieved, GoalStatus::Dropped], t, "goal_status"),
            "responsibles": [
                {"value": "client", "label": t["responsible"]["client"]},
                {"value": "integration-manager", "label": t["responsible"]["integration-manager"]},
                {"value": "regular-service", "label": t["responsible"]["regular-service"]},
            ],
            "reasons": options([ExtensionReason::Illiteracy, ExtensionReason::MentalIllness, ExtensionReason::ChronicIllness, ExtensionReason::Disability, ExtensionReason::MultiProblemSituation], t, "reason"),
            "exit_reasons": options([ExitReason::ManagesIndependently, ExitReason::NoLongerReceivesBenefits, ExitReason::MovedAway, ExitReason::Other], t, "exit_reason"),
            "target_groups": target_groups(t), "benefits": benefits(t),
            "health_answers": [
                {"value": "yes", "label": t["health_answer"]["yes"]},
                {"value": "no", "label": t["health_answer"]["no"]},
            ],
        }),
    )
}

/// After a form on the client page: to the page (with its message) on success, or the page
/// again with the refused form.
async fn after(
    s: &UiState,
    staff: &Staff,
    id: ClientId,
    form: &str,
    fields: &Fields,
    result: Result<&'static str, ServiceError>,
    anchor: &str,
) -> Response {
    match result {
        Ok(done) => see_other(&format!("/clients/{id}?done={done}#{anchor}")),
        Err(e) => {
            let (status, posted) = refused_problem(form, fields, e);
            show(s, staff, id, status, Some(posted), None).await
        }
    }
}

/// The page again with a field refused.
async fn refused(s: &UiState, staff: &Staff, id: ClientId, form: &str, fields: &Fields, e: FieldError) -> Response {
    show(s, staff, id, StatusCode::UNPROCESSABLE_ENTITY, Some(refused_field(form, fields, e)), None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionForm {
    #[serde(with = "crate::domain::time::date")]
    date: NaiveDate,
    note: Text,
}

async fn record_session(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Form(f): Form,
) -> Response {
    let req: SessionForm = match f.typed(&[("date", Kind::Str), ("note", Kind::Str)]) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, "session", &f, e).await,
    };
    let office = &s.api.office;
    let result = office.record_session(&office.author(&staff.caller.account), id, req.date, req.note).await;
    after(&s, &staff, id, "session", &f, result.map(|_| "session-recorded"), "sessions").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EligibilityForm {
    target_group: TargetGroup,
    benefits: Benefits,
    #[serde(default)]
    discretion_reason: Option<Text>,
}

async fn set_eligibility(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Form(f): Form,
) -> Response {
    let spec = [("target_group", Kind::Str), ("benefits", Kind::Str), ("discretion_reason", Kind::Str)];
    let req: EligibilityForm = match f.typed(&spec) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, "eligibility", &f, e).await,
    };
    let office = &s.api.office;
    let result = office
        .set_eligibility(
            &office.author(&staff.caller.account),
            id,
            req.target_group,
            req.benefits,
            req.discretion_reason,
        )
        .await;
    after(&s, &staff, id, "eligibility", &f, result.map(|_| "eligibility-set"), "window").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GoalForm {
    area: GoalArea,
    description: Text,
    steps: Vec<Text>,
    responsible: String,
    #[serde(default)]
    service: Option<Text>,
    #[serde(default, with = "crate::domain::time::date_opt")]
    target_date: Option<NaiveDate>,
}

fn responsible(kind: &str, service: Option<Text>) -> Result<Responsible, FieldError> {
    match (kind, service) {
        ("client", _) => Ok(Responsible::Client),
        ("integration-manager", _) => Ok(Responsible::IntegrationManager),
        ("regular-service", Some(name)) => Ok(Responsible::RegularService { name }),
        ("regular-service", None) => {
            Err(FieldError { field: "service".into(), message: "the regular service's name".into() })
        }
        _ => Err(FieldError { field: "responsible".into(), message: "unknown".into() }),
    }
}

fn steps(lines: Vec<Text>) -> Vec<Step> {
    lines.into_iter().map(|description| Step { description, done: false }).collect()
}

async fn add_goal(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Form(f): Form,
) -> Response {
    let spec = [
        ("area", Kind::Str),
        ("description", Kind::Str),
        ("steps", Kind::Lines),
        ("responsible", Kind::Str),
        ("service", Kind::Str),
        ("target_date", Kind::Str),
    ];
    let req: GoalForm = match f.typed(&spec) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, "goal", &f, e).await,
    };
    let who = match responsible(&req.responsible, req.service) {
        Ok(w) => w,
        Err(e) => return refused(&s, &staff, id, "goal", &f, e).await,
    };
    let draft = GoalDraft {
        area: req.area,
        description: req.description,
        steps: steps(req.steps),
        responsible: who,
        target_date: req.target_date,
    };
    let office = &s.api.office;
    let result = office.add_goal(&office.author(&staff.caller.account), id, draft).await;
    after(&s, &staff, id, "goal", &f, result.map(|_| "goal-added"), "plan").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeGoalForm {
    status: GoalStatus,
    description: Text,
    steps: Vec<Text>,
    responsible: String,
    #[serde(default)]
    service: Option<Text>,
    #[serde(default, with = "crate::domain::time::date_opt")]
    target_date: Option<NaiveDate>,
}

async fn update_goal(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids((id, goal)): Ids<(ClientId, GoalId)>,
    Form(f): Form,
) -> Response {
    let form = format!("goal-{goal}");
    let spec = [
        ("status", Kind::Str),
        ("description", Kind::Str),
        ("steps", Kind::Lines),
        ("responsible", Kind::Str),
        ("service", Kind::Str),
        ("target_date", Kind::Str),
    ];
    let req: ChangeGoalForm = match f.typed(&spec) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, &form, &f, e).await,
    };
    let who = match responsible(&req.responsible, req.service) {
        Ok(w) => w,
        Err(e) => return refused(&s, &staff, id, &form, &f, e).await,
    };
    let office = &s.api.office;
    let author = office.author(&staff.caller.account);
    // Only what changed is sent, so the plan's history names only real changes; steps keep
    // their `done` mark where their text stays.
    let current = match office.read_client(&author, id).await {
        Ok(r) => r.plan.goals.into_iter().find(|g| g.id == goal),
        Err(e) => return after(&s, &staff, id, &form, &f, Err(e), "plan").await,
    };
    let Some(current) = current else {
        return after(&s, &staff, id, &form, &f, Err(ServiceError::NotFound("goal")), "plan").await;
    };
    let new_steps: Vec<Step> = req
        .steps
        .into_iter()
        .map(|d| {
            let done = current.steps.iter().any(|s| s.description == d && s.done);
            Step { description: d, done }
        })
        .collect();
    let patch = GoalPatch {
        description: (req.description != current.description).then_some(req.description),
        steps: (new_steps != current.steps).then_some(new_steps),
        responsible: (who != current.responsible).then_some(who),
        target_date: (req.target_date != current.target_date).then_some(req.target_date),
        status: (req.status != current.status).then_some(req.status),
    };
    let result = office.update_goal(&author, id, goal, patch).await;
    after(&s, &staff, id, &form, &f, result.map(|_| "goal-changed"), "plan").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewForm {
    #[serde(with = "crate::domain::time::date")]
    on: NaiveDate,
    note: Text,
}

async fn review_goal(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids((id, goal)): Ids<(ClientId, GoalId)>,
    Form(f): Form,
) -> Response {
    let form = format!("review-{goal}");
    let req: ReviewForm = match f.typed(&[("on", Kind::Str), ("note", Kind::Str)]) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, &form, &f, e).await,
    };
    let office = &s.api.office;
    let result = office.review_goal(&office.author(&staff.caller.account), id, goal, req.on, req.note).await;
    after(&s, &staff, id, &form, &f, result.map(|_| "goal-reviewed"), "plan").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionForm {
    months: u32,
    reasons: BTreeSet<ExtensionReason>,
    justification: Text,
}

async fn grant_extension(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Form(f): Form,
) -> Response {
    let spec = [("months", Kind::Int), ("reasons", Kind::List), ("justification", Kind::Str)];
    let req: ExtensionForm = match f.typed(&spec) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, "extension", &f, e).await,
    };
    let grounds = match ExtensionGrounds::new(req.reasons, req.justification) {
        Ok(g) => g,
        Err(e) => return after(&s, &staff, id, "extension", &f, Err(e.into()), "window").await,
    };
    let office = &s.api.office;
    let result = office.grant_extension(&office.author(&staff.caller.account), id, req.months, grounds).await.map(
        |(_, extended)| match extended {
            crate::domain::case::Extended::Granted => "extension-granted",
            crate::domain::case::Extended::Requested(..) => "extension-requested",
        },
    );
    after(&s, &staff, id, "extension", &f, result, "window").await
}

async fn approve_extension(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids((id, request)): Ids<(ClientId, super::Uid)>,
    Form(f): Form,
) -> Response {
    let office = &s.api.office;
    let result = office
        .approve_extension(&office.author(&staff.caller.account), staff.caller.role, id, request.0)
        .await
        .map(|_| "extension-approved");
    after(&s, &staff, id, "", &f, result, "window").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExitForm {
    #[serde(with = "crate::domain::time::date")]
    on: NaiveDate,
    reason: ExitReason,
    #[serde(default)]
    note: Option<Text>,
}

async fn exit(State(s): State<UiState>, Counsel(staff): Counsel, Ids(id): Ids<ClientId>, Form(f): Form) -> Response {
    let req: ExitForm = match f.typed(&[("on", Kind::Str), ("reason", Kind::Str), ("note", Kind::Str)]) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, "exit", &f, e).await,
    };
    let office = &s.api.office;
    let result = office.exit(&office.author(&staff.caller.account), id, req.on, req.reason, req.note).await;
    after(&s, &staff, id, "exit", &f, result.map(|_| "exit-recorded"), "participation").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReEntryForm {
    #[serde(with = "crate::domain::time::date")]
    on: NaiveDate,
}

async fn re_enter(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Form(f): Form,
) -> Response {
    let req: ReEntryForm = match f.typed(&[("on", Kind::Str)]) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, "re-entry", &f, e).await,
    };
    let office = &s.api.office;
    let result = office.re_enter(&office.author(&staff.caller.account), id, req.on).await;
    after(&s, &staff, id, "re-entry", &f, result.map(|_| "re-entry-recorded"), "participation").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentPageForm {
    recipient: OfficeId,
    categories: BTreeSet<DataCategory>,
    language: String,
    #[serde(default, with = "crate::domain::time::date_opt")]
    valid_until: Option<NaiveDate>,
}

/// The health goals need the consent to health data too: asked for with them.
fn with_health_if_asked(mut categories: BTreeSet<DataCategory>) -> BTreeSet<DataCategory> {
    if categories.contains(&DataCategory::Plan(GoalArea::Health)) {
        categories.insert(DataCategory::Health);
    }
    categories
}

/// What the consent form (the page to open, or the paper form to print) asks the client.
fn consent_ask(client: ClientId, f: &Fields) -> Result<ConsentAsk, FieldError> {
    let spec =
        [("recipient", Kind::Str), ("categories", Kind::List), ("language", Kind::Str), ("valid_until", Kind::Str)];
    let req: ConsentPageForm = f.typed(&spec)?;
    Ok(ConsentAsk {
        client,
        recipient: req.recipient,
        categories: with_health_if_asked(req.categories),
        language: req.language,
        consent_expires_at: req.valid_until.map(crate::domain::time::german_day_end),
    })
}

async fn open_consent_page(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Form(f): Form,
) -> Response {
    let ask = match consent_ask(id, &f) {
        Ok(a) => a,
        Err(e) => return refused(&s, &staff, id, "consent", &f, e).await,
    };
    let office = &s.api.office;
    match office.open_consent(&office.author(&staff.caller.account), ask).await {
        Ok(link) => staff_page(
            &s,
            &staff,
            "consent_link.html",
            StatusCode::OK,
            json!({
                "nav": "clients", "client_id": id, "url": format!("/consent/{}", link.token),
                "expires_at": crate::domain::time::format_ts(link.request.expires_at),
            }),
        ),
        Err(e) => after(&s, &staff, id, "consent", &f, Err(e), "consents").await,
    }
}

/// The consent page's statement as a printable form to sign (opened in a new tab).
async fn paper_form(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Form(f): Form,
) -> Response {
    let ask = match consent_ask(id, &f) {
        Ok(a) => a,
        Err(e) => return refused(&s, &staff, id, "consent", &f, e).await,
    };
    let office = &s.api.office;
    match office.paper_form(&office.author(&staff.caller.account), ask).await {
        Ok(page) => crate::http::pages::html(StatusCode::OK, page),
        Err(e) => after(&s, &staff, id, "consent", &f, Err(e), "consents").await,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaperForm {
    recipient: OfficeId,
    categories: BTreeSet<DataCategory>,
    language: String,
    #[serde(with = "crate::domain::time::date")]
    signed_on: NaiveDate,
    #[serde(default)]
    health_granted: Option<String>,
    #[serde(default, with = "crate::domain::time::date_opt")]
    valid_until: Option<NaiveDate>,
}

async fn record_paper_consent(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Form(f): Form,
) -> Response {
    let spec = [
        ("recipient", Kind::Str),
        ("categories", Kind::List),
        ("language", Kind::Str),
        ("signed_on", Kind::Str),
        ("health_granted", Kind::Str),
        ("valid_until", Kind::Str),
    ];
    let req: PaperForm = match f.typed(&spec) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, "paper", &f, e).await,
    };
    let paper = crate::service::PaperConsent {
        recipient: req.recipient,
        categories: with_health_if_asked(req.categories),
        language: req.language,
        signed_on: req.signed_on,
        health_granted: req.health_granted.as_deref().map(|a| a == "yes"),
        valid_until: req.valid_until,
    };
    let office = &s.api.office;
    let result = office.record_paper_consent(&office.author(&staff.caller.account), id, paper).await;
    after(&s, &staff, id, "paper", &f, result.map(|_| "paper-consent-recorded"), "consents").await
}

async fn withdraw_consent(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids((id, consent)): Ids<(ClientId, ConsentId)>,
    Form(f): Form,
) -> Response {
    let office = &s.api.office;
    let result = office.withdraw_consent(&office.author(&staff.caller.account), id, consent).await;
    after(&s, &staff, id, "", &f, result.map(|_| "consent-withdrawn"), "consents").await
}

async fn revoke_consent(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids((id, consent)): Ids<(ClientId, ConsentId)>,
    Form(f): Form,
) -> Response {
    let office = &s.api.office;
    let result = office.revoke_consent(&office.author(&staff.caller.account), id, consent).await;
    after(&s, &staff, id, "", &f, result.map(|_| "consent-revoked"), "consents").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftForm {
    consent: ConsentId,
}

async fn draft_handover(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Form(f): Form,
) -> Response {
    let req: DraftForm = match f.typed(&[("consent", Kind::Str)]) {
        Ok(r) => r,
        Err(e) => return refused(&s, &staff, id, "draft", &f, e).await,
    };
    let office = &s.api.office;
    let author = office.author(&staff.caller.account);
    let receiver = match office.read_consent(&author, id, req.consent).await {
        Ok(g) => g.recipient,
        Err(e) => return after(&s, &staff, id, "draft", &f, Err(e), "handover").await,
    };
    match office.draft_handover(&author, id, receiver, req.consent).await {
        Ok(h) => see_other(&format!("/handovers/{}?done=handover-drafted", h.id)),
        Err(e) => after(&s, &staff, id, "draft", &f, Err(e), "handover").await,
    }
}

// ---------------------------------------------------------------------------------------------
// The notice and the audit log.

#[derive(Deserialize)]
struct NoticeQuery {
    lang: Option<String>,
}

async fn notice(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(id): Ids<ClientId>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let office = &s.api.office;
    let lang = q.lang.as_deref().unwrap_or("de");
    match office.notice(&office.author(&staff.caller.account), id, lang).await {
        // A printable document, sent as the API sends it.
        Ok(Some(page)) => crate::http::pages::html(StatusCode::OK, page),
        Ok(None) => error_page(&s, Some(&staff), staff.lang, ServiceError::NotFound("notice texts"), "/clients"),
        Err(e) => error_page(&s, Some(&staff), staff.lang, e, "/clients"),
    }
}

#[derive(Deserialize)]
struct AuditQuery {
    after: Option<i64>,
}

async fn audit(
    State(s): State<UiState>,
    Supervisor(staff): Supervisor,
    Ids(id): Ids<ClientId>,
    Query(q): Query<AuditQuery>,
) -> Response {
    let office = &s.api.office;
    let author = office.author(&staff.caller.account);
    // An administrator sees the log, not whose it is.
    let name = if staff.caller.role.counsels() {
        match office.read_client(&author, id).await {
            Ok(r) => format!("{}, {}", r.identity.family_name.as_str(), r.identity.given_name.as_str()),
            Err(e) => return error_page(&s, Some(&staff), staff.lang, e, "/clients"),
        }
    } else {
        id.to_string()
    };
    let mut lines = match office.audit_log(&author, id, q.after, PAGE + 1).await {
        Ok(l) => l,
        Err(e) => return error_page(&s, Some(&staff), staff.lang, e, "/clients"),
    };
    let next = (lines.len() > PAGE as usize).then(|| {
        lines.truncate(PAGE as usize);
        format!("/clients/{id}/audit?after={}", lines.last().expect("a full page").0)
    });
    let items: Vec<Value> = lines
        .iter()
        .map(|(seq, e)| {
            json!({"seq": seq, "at": crate::domain::time::format_ts(e.at), "account": e.account, "action": e.action})
        })
        .collect();
    staff_page(
        &s,
        &staff,
        "audit.html",
        StatusCode::OK,
        json!({"nav": "clients", "client_id": id, "name": name, "items": items, "next": next}),
    )
}

/// Everything held about the client (GDPR Art. 15), printable: the same page as the API's.
async fn export(State(s): State<UiState>, Counsel(staff): Counsel, Ids(id): Ids<ClientId>) -> Response {
    let office = &s.api.office;
    match office.export_client(&office.author(&staff.caller.account), id).await {
        Ok(export) => {
            crate::http::pages::html(StatusCode::OK, crate::http::api::rights::printable_export(&export, office))
        }
        Err(e) => error_page(&s, Some(&staff), staff.lang, e, "/clients"),
    }
}

/// Erasure at the client's request (GDPR Art. 17), by a team lead who checked that no duty to
/// keep the data stands in the way (the form asks them to confirm it).
async fn erase(State(s): State<UiState>, Counsel(staff): Counsel, Ids(id): Ids<ClientId>, Form(f): Form) -> Response {
    if f.get("confirm") != Some("yes") {
        let e = FieldError { field: "confirm".into(), message: "confirm the check".into() };
        return refused(&s, &staff, id, "erasure", &f, e).await;
    }
    let office = &s.api.office;
    match office.erase_on_request(&office.author(&staff.caller.account), staff.caller.role, id).await {
        Ok(_) => see_other("/clients?done=client-erased"),
        Err(e) => after(&s, &staff, id, "erasure", &f, Err(e), "rights").await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::{PlanChange, PlanEvent};

    #[test]
    fn the_history_tells_the_moves_between_offices() {
        let at = |d: &str| crate::domain::time::parse_ts(&format!("{d}T10:00:00.000Z")).unwrap();
        let event = |d: &str, office: &str| PlanEvent {
            at: at(d),
            office: OfficeId::parse(office).unwrap(),
            actor: "a".into(),
            goal_id: GoalId::new(),
            change: PlanChange::Reviewed,
        };
        let history = vec![
            event("2025-03-01", "08221000"),
            event("2024-01-10", "08111000"),
            event("2024-02-01", "08111000"),
            event("2025-09-02", "08311000"),
        ];
        let moves = history_moves(&history);
        assert_eq!(
            moves,
            [
                (NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(), OfficeId::parse("08221000").unwrap()),
                (NaiveDate::from_ymd_opt(2025, 9, 2).unwrap(), OfficeId::parse("08311000").unwrap()),
            ]
        );
    }
}
