//! Handovers on the pages: an outgoing handover with exactly what its approval sends and what
//! stays here, approve (four eyes) and cancel; received handovers, one with its plan and
//! timeline, accept or decline with a reason code.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::clients::{flash, timeline_facts};
use super::forms::Form;
use super::session::{Counsel, Staff};
use super::start::{outgoing_tone, staff_page};
use super::{Ids, UiState, Uid, error_page, problem_message, see_other};
use crate::domain::Text;
use crate::storage::{IncomingCursor, IncomingQuery};

pub fn router() -> Router<UiState> {
    Router::new()
        .route("/handovers/{id}", get(outgoing))
        .route("/handovers/{id}/approve", post(approve))
        .route("/handovers/{id}/cancel", post(cancel))
        .route("/incoming", get(incoming_list))
        .route("/incoming/{id}", get(incoming))
        .route("/incoming/{id}/accept", post(accept))
        .route("/incoming/{id}/decline", post(decline))
        .route("/incoming/{id}/withdraw-consent", post(withdraw_consent))
}

/// The messages a redirect after a handover form may show.
pub const FLASHES: &[&str] = &[
    "handover-drafted",
    "handover-approved",
    "handover-cancelled",
    "incoming-accepted",
    "incoming-declined",
    "received-consent-withdrawn",
];

/// The reasons a receiving office declines for, as codes (the decision message carries the
/// code, and an optional note after it).
pub const DECLINE_REASONS: &[&str] = &["not-responsible", "client-not-arrived", "client-declined", "other"];

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn outgoing(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(Uid(id)): Ids<Uid>,
    Query(q): Query<Done>,
) -> Response {
    show_outgoing(&s, &staff, id, StatusCode::OK, None, flash(q.done.as_deref())).await
}

async fn show_outgoing(
    s: &UiState,
    staff: &Staff,
    id: uuid::Uuid,
    status: StatusCode,
    posted: Option<Value>,
    flash: Option<&'static str>,
) -> Response {
    let office = &s.api.office;
    let p = match office.preview_handover(&office.author(&staff.caller.account), id).await {
        Ok(p) => p,
        Err(e) => return error_page(s, Some(staff), staff.lang, e, "/"),
    };
    let h = &p.handover;
    let state = h.state.as_str();
    let (sent, cannot_send) = match &p.sent {
        Ok(case) => (serde_json::to_value(case).ok(), None),
        Err(e) => (None, Some(problem_message(crate::service::ServiceError::Domain(e.clone())).1)),
    };
    let withheld_goals: Vec<Value> =
        p.withheld.goals.iter().map(|g| json!({"area": g.area, "description": g.description})).collect();
    let delivery = p.outbox.as_ref().map(|m| {
        let state = if m.delivered_at.is_some() {
            "delivered"
        } else if m.failed_at.is_some() {
            "failed"
        } else {
            "queued"
        };
        json!({"state": state, "attempts": m.attempts, "error": m.last_error})
    });
    let consent = json!({
        "categories": p.consent.categories.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "given_at": crate::domain::time::format_ts(p.consent.given_at),
    });
    staff_page(
        s,
        staff,
        "handover.html",
        status,
        json!({
            "nav": "start", "flash": flash, "posted": posted,
            "handover": h, "tone": outgoing_tone(state),
            "client": {"given_name": p.client.identity.given_name, "family_name": p.client.identity.family_name},
            "receiver_name": office.office_name(h.receiver),
            "sent": sent, "cannot_send": cannot_send, "consent": consent,
            "withheld_goals": withheld_goals, "withheld_grounds": p.withheld.extension_grounds,
            "delivery": delivery,
            "own_draft": h.created_by == staff.caller.account,
            "four_eyes": office.four_eyes(),
        }),
    )
}

async fn approve(State(s): State<UiState>, Counsel(staff): Counsel, Ids(Uid(id)): Ids<Uid>, Form(f): Form) -> Response {
    let office = &s.api.office;
    match office.approve_handover(&office.author(&staff.caller.account), staff.caller.role, id).await {
        Ok(_) => see_other(&format!("/handovers/{id}?done=handover-approved")),
        Err(e) => {
            let (status, problem) = problem_message(e);
            show_outgoing(&s, &staff, id, status, Some(json!({"problem": problem, "values": f.echo()})), None).await
        }
    }
}

async fn cancel(State(s): State<UiState>, Counsel(staff): Counsel, Ids(Uid(id)): Ids<Uid>, Form(f): Form) -> Response {
    let office = &s.api.office;
    match office.cancel_handover(&office.author(&staff.caller.account), id).await {
        Ok(_) => see_other(&format!("/handovers/{id}?done=handover-cancelled")),
        Err(e) => {
            let (status, problem) = problem_message(e);
            show_outgoing(&s, &staff, id, status, Some(json!({"problem": problem, "values": f.echo()})), None).await
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    after: Option<String>,
}

const PAGE: u32 = 50;

async fn incoming_list(State(s): State<UiState>, Counsel(staff): Counsel, Query(q): Query<ListQuery>) -> Response {
    let office = &s.api.office;
    let after = q.after.as_deref().and_then(|a| {
        let (at, id) = a.split_once('~')?;
        Some(IncomingCursor {
            received_at: crate::domain::time::parse_ts(at).ok()?,
            id: crate::domain::client::parse_canonical_uuid(id)?,
        })
    });
    let query = IncomingQuery { state: None, limit: PAGE + 1, after };
    let mut items = match office.list_incoming(&office.author(&staff.caller.account), &query).await {
        Ok(i) => i,
        Err(e) => return error_page(&s, Some(&staff), staff.lang, e, "/"),
    };
    let next = (items.len() > PAGE as usize).then(|| {
        items.truncate(PAGE as usize);
        let last = items.last().expect("a full page");
        let cursor = format!("{}~{}", crate::domain::time::format_ts(last.received_at), last.id);
        let mut url = form_urlencoded::Serializer::new(String::from("/incoming?"));
        url.append_pair("after", &cursor);
        url.finish()
    });
    let items: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "id": i.id, "given_name": i.identity.given_name, "family_name": i.identity.family_name,
                "sender_name": office.office_name(i.sender), "received_at": crate::domain::time::format_ts(i.received_at),
                "state": i.state.as_str(),
            })
        })
        .collect();
    staff_page(
        &s,
        &staff,
        "incoming_list.html",
        StatusCode::OK,
        json!({"nav": "incoming", "items": items, "next": next}),
    )
}

async fn incoming(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(Uid(id)): Ids<Uid>,
    Query(q): Query<Done>,
) -> Response {
    show_incoming(&s, &staff, id, StatusCode::OK, None, flash(q.done.as_deref())).await
}

async fn show_incoming(
    s: &UiState,
    staff: &Staff,
    id: uuid::Uuid,
    status: StatusCode,
    posted: Option<Value>,
    flash: Option<&'static str>,
) -> Response {
    let office = &s.api.office;
    let i = match office.read_incoming(&office.author(&staff.caller.account), id).await {
        Ok(i) => i,
        Err(e) => return error_page(s, Some(staff), staff.lang, e, "/incoming"),
    };
    let case = &i.handover.case;
    let t = staff.lang.texts();
    let facts = timeline_facts(
        case.window.first_session,
        &case.window.extensions,
        &[],
        super::clients::history_moves(&case.plan.history)
            .into_iter()
            .map(|(on, to)| (on, office.office_name(to)))
            .chain([(crate::domain::time::german_date(i.received_at), office.name().to_owned())])
            .collect(),
        office.clock().today(),
    );
    let history = super::clients::history_view(office, &case.plan);
    let reasons: Vec<Value> = DECLINE_REASONS
        .iter()
        .map(|r| json!({"value": r, "label": t["decline_reason"][*r].as_str().unwrap_or(r)}))
        .collect();
    let view = json!({
        "id": id, "state": i.state.as_str(), "received_at": crate::domain::time::format_ts(i.received_at),
        "decided_by": i.decided_by, "client_id": i.client_id, "case": case,
    });
    staff_page(
        s,
        staff,
        "incoming.html",
        status,
        json!({
            "nav": "incoming", "flash": flash, "posted": posted, "incoming": view,
            "sender_name": office.office_name(i.handover.sender), "timeline": super::timeline::draw(&facts),
            "history": history, "decline_reasons": reasons,
        }),
    )
}

async fn accept(State(s): State<UiState>, Counsel(staff): Counsel, Ids(Uid(id)): Ids<Uid>, Form(f): Form) -> Response {
    let office = &s.api.office;
    match office.accept_incoming(&office.author(&staff.caller.account), id).await {
        Ok(record) => see_other(&format!("/clients/{}?done=incoming-accepted", record.id)),
        Err(e) => {
            let (status, problem) = problem_message(e);
            show_incoming(&s, &staff, id, status, Some(json!({"problem": problem, "values": f.echo()})), None).await
        }
    }
}

async fn decline(State(s): State<UiState>, Counsel(staff): Counsel, Ids(Uid(id)): Ids<Uid>, Form(f): Form) -> Response {
    let code = f.get("reason").unwrap_or_default();
    if !DECLINE_REASONS.contains(&code) {
        let posted = json!({"form": "decline", "field": "reason", "message": "unknown", "values": f.echo()});
        return show_incoming(&s, &staff, id, StatusCode::UNPROCESSABLE_ENTITY, Some(posted), None).await;
    }
    let note = f.get("note").map(str::trim).filter(|n| !n.is_empty());
    let reason = match note {
        Some(n) => format!("{code}: {n}"),
        None => code.to_owned(),
    };
    let reason = match Text::parse(&reason, "note") {
        Ok(r) => r,
        Err(e) => {
            let posted = json!({"form": "decline", "field": "note", "message": e.to_string(), "values": f.echo()});
            return show_incoming(&s, &staff, id, StatusCode::UNPROCESSABLE_ENTITY, Some(posted), None).await;
        }
    };
    let office = &s.api.office;
    match office.decline_incoming(&office.author(&staff.caller.account), id, reason).await {
        Ok(_) => see_other(&format!("/incoming/{id}?done=incoming-declined")),
        Err(e) => {
            let (status, problem) = problem_message(e);
            let posted = json!({"form": "decline", "problem": problem, "values": f.echo()});
            show_incoming(&s, &staff, id, status, Some(posted), None).await
        }
    }
}

/// The client withdrew here the consent a received handover came on: recorded, the sending
/// office told, the record restricted (the same use case as the API's).
async fn withdraw_consent(
    State(s): State<UiState>,
    Counsel(staff): Counsel,
    Ids(Uid(id)): Ids<Uid>,
    Form(f): Form,
) -> Response {
    let office = &s.api.office;
    match office.withdraw_received_consent(&office.author(&staff.caller.account), id).await {
        Ok(()) => see_other(&format!("/incoming/{id}?done=received-consent-withdrawn")),
        Err(e) => {
            let (status, problem) = problem_message(e);
            show_incoming(&s, &staff, id, status, Some(json!({"problem": problem, "values": f.echo()})), None).await
        }
    }
}
