//! One case, one window, one active office (issue "no sender can restart a client's clock"):
//! an office that knows a case refuses a handover that would start its window later or drop an
//! extension, refuses a case it holds as active, and keeps what it recorded itself when the
//! client comes back; a client has one open handover at a time. Real offices over mutual TLS.

use reqwest::Method;
use serde_json::{Value, json};
use staffel::demo::Caseworker;
use staffel::domain::CaseId;

use crate::harness::*;

const P: &str = "urn:staffel:problem:";

fn case_of(client: &Value) -> CaseId {
    serde_json::from_value(client["case_id"].clone()).unwrap()
}

fn date(v: &Value) -> chrono::NaiveDate {
    serde_json::from_value(v.clone()).unwrap()
}

#[tokio::test]
async fn a_move_back_may_neither_start_the_window_later_nor_drop_an_extension() {
    let f = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&f.offices[0], &f.offices[1]);
    let cw = Caseworker::new();
    let at_a = start_client(&cw, a).await;
    let held_first = date(&at_a["window"]["first_session"]);
    move_client(&cw, a, b, at_a["id"].as_str().unwrap()).await;

    // Heidelberg (or anyone else holding its keys) sends the case back with another first
    // session: Stuttgart knows the case and refuses it, naming the part.
    let later =
        handover_of(HEIDELBERG, STUTTGART, case_of(&at_a), held_first + chrono::Duration::days(30), &[(5, today())]);
    let answer = deliver(&later, a).await;
    assert_eq!((answer.status, answer.problem_type()), (409, format!("{P}case-window-conflict")), "{answer:?}");
    assert_eq!(answer.json()["conflict"], "first-session");
    assert_eq!(answer.json()["pointer"], "/case/window/first_session");

    // The same first session, but without the 5 months Stuttgart granted.
    let dropped = handover_of(HEIDELBERG, STUTTGART, case_of(&at_a), held_first, &[]);
    let answer = deliver(&dropped, a).await;
    assert_eq!((answer.status, answer.problem_type()), (409, format!("{P}case-window-conflict")), "{answer:?}");
    assert_eq!(answer.json()["conflict"], "extension-dropped");
    // Another extension of the same length on another day is not the one Stuttgart holds.
    let moved =
        handover_of(HEIDELBERG, STUTTGART, case_of(&at_a), held_first, &[(5, today() - chrono::Duration::days(1))]);
    assert_eq!(deliver(&moved, a).await.problem_type(), format!("{P}case-window-conflict"));

    // Nothing of them was stored.
    let incoming = cw.expect(a, Method::GET, "/api/v1/incoming-handovers", None, 200).await.unwrap();
    assert_eq!(incoming["items"].as_array().unwrap().len(), 0, "{incoming}");
    f.stop().await;
}

#[tokio::test]
async fn a_move_back_adding_an_extension_is_accepted_with_the_same_first_session() {
    let f = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&f.offices[0], &f.offices[1]);
    let cw = Caseworker::new();
    let at_a = start_client(&cw, a).await;
    let at_b = move_client(&cw, a, b, at_a["id"].as_str().unwrap()).await;
    let bid = at_b["id"].as_str().unwrap();
    let more = json!({"months": 4, "reasons": ["illiteracy"], "justification": "Second course"});
    let extended =
        cw.expect(b, Method::POST, &format!("/api/v1/clients/{bid}/extensions"), Some(more), 200).await.unwrap();
    let back = move_client(&cw, b, a, bid).await;
    assert_eq!(back["id"], at_a["id"]);
    assert_eq!(back["window"]["first_session"], at_a["window"]["first_session"]);
    assert_eq!(back["window"]["extension_months"], 9);
    assert_eq!(back["window"]["last_day"], extended["window"]["last_day"]);
    // Instants written by both offices, in the plan history and the record: milliseconds.
    for event in back["plan"]["history"].as_array().unwrap() {
        assert_millis(&event["at"]);
    }
    assert_millis(&back["created_at"]);
    assert_millis(&back["updated_at"]);
    f.stop().await;
}

#[tokio::test]
async fn an_office_keeps_the_grounds_it_recorded_when_the_client_comes_back() {
    let f = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&f.offices[0], &f.offices[1]);
    let cw = Caseworker::new();
    let at_a = start_client(&cw, a).await;
    let aid = at_a["id"].as_str().unwrap();
    let health = json!({"months": 2, "reasons": ["mental-illness"], "justification": "Therapy continues until spring"});
    let granted =
        cw.expect(a, Method::POST, &format!("/api/v1/clients/{aid}/extensions"), Some(health), 200).await.unwrap();
    let grounds = granted["window"]["extensions"][1]["grounds"].clone();
    assert_eq!(grounds["reasons"], json!(["mental-illness"]));

    // No consent to health data: Heidelberg gets the two months without their grounds.
    let at_b = move_client(&cw, a, b, aid).await;
    assert!(at_b["window"]["extensions"][1].get("grounds").is_none(), "{}", at_b["window"]);
    let back = move_client(&cw, b, a, at_b["id"].as_str().unwrap()).await;
    assert_eq!(back["window"]["extensions"][1]["grounds"], grounds, "Stuttgart's own record keeps its grounds");
    assert_eq!(back["window"]["extensions"][1]["decided_by"], granted["window"]["extensions"][1]["decided_by"]);
    assert_eq!(back["window"]["last_day"], granted["window"]["last_day"]);
    f.stop().await;
}

#[tokio::test]
async fn an_office_refuses_a_case_it_holds_as_active() {
    let f = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let a = &f.offices[0];
    let cw = Caseworker::new();
    let at_a = start_client(&cw, a).await;
    let same =
        handover_of(HEIDELBERG, STUTTGART, case_of(&at_a), date(&at_a["window"]["first_session"]), &[(5, today())]);
    let answer = deliver(&same, a).await;
    assert_eq!((answer.status, answer.problem_type()), (409, format!("{P}case-active-here")), "{answer:?}");
    let record = cw
        .expect(a, Method::GET, &format!("/api/v1/clients/{}", at_a["id"].as_str().unwrap()), None, 200)
        .await
        .unwrap();
    assert_eq!(record["received_from"], Value::Null, "the active record was not touched");
    f.stop().await;
}

#[tokio::test]
async fn a_client_has_one_open_handover_at_a_time() {
    let f = offices(&[STUTTGART, HEIDELBERG, FREIBURG]).start().await;
    let (a, b, c) = (&f.offices[0], &f.offices[1], &f.offices[2]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let consent = |to: &str| json!({"recipient": to, "categories": ["identity", "window"], "language": "de", "signed_on": crate::harness::today()});
    let to_b = cw
        .expect(a, Method::POST, &format!("/api/v1/clients/{cid}/consents"), Some(consent(&b.id)), 201)
        .await
        .unwrap();
    let to_c = cw
        .expect(a, Method::POST, &format!("/api/v1/clients/{cid}/consents"), Some(consent(&c.id)), 201)
        .await
        .unwrap();
    let draft = |to: &str, consent: &Value| json!({"client_id": cid, "receiver": to, "consent_id": consent["id"]});

    let first = cw.expect(a, Method::POST, "/api/v1/handovers", Some(draft(&b.id, &to_b)), 201).await.unwrap();
    let first_id = first["id"].as_str().unwrap();
    let second = cw.call(a, Method::POST, "/api/v1/handovers", Some(draft(&c.id, &to_c))).await.unwrap();
    assert_eq!((second.0, second.1["type"].as_str().unwrap()), (409, &*format!("{P}handover-open")), "{second:?}");

    // Approved and delivered, it is still open until Heidelberg decides.
    cw.expect(a, Method::POST, &format!("/api/v1/handovers/{first_id}/approve"), None, 202).await.unwrap();
    cw.wait_for(a, &format!("/api/v1/handovers/{first_id}"), "state", "delivered", std::time::Duration::from_secs(20))
        .await
        .unwrap();
    let again = cw.call(a, Method::POST, "/api/v1/handovers", Some(draft(&c.id, &to_c))).await.unwrap();
    assert_eq!(again.0, 409, "{again:?}");
    let cancel = cw.call(a, Method::POST, &format!("/api/v1/handovers/{first_id}/cancel"), None).await.unwrap();
    assert_eq!(
        (cancel.0, cancel.1["type"].as_str().unwrap()),
        (409, &*format!("{P}invalid-state")),
        "delivered: no cancel"
    );

    // Declined: now another handover may follow.
    cw.expect(
        b,
        Method::POST,
        &format!("/api/v1/incoming-handovers/{first_id}/decline"),
        Some(json!({"reason": "Keine Kapazität"})),
        200,
    )
    .await
    .unwrap();
    cw.wait_for(a, &format!("/api/v1/handovers/{first_id}"), "state", "declined", std::time::Duration::from_secs(20))
        .await
        .unwrap();
    let to_freiburg = cw.expect(a, Method::POST, "/api/v1/handovers", Some(draft(&c.id, &to_c)), 201).await.unwrap();

    // A draft that is cancelled frees the way too.
    let id = to_freiburg["id"].as_str().unwrap();
    let cancelled = cw.expect(a, Method::POST, &format!("/api/v1/handovers/{id}/cancel"), None, 200).await.unwrap();
    assert_eq!(cancelled["state"], "cancelled");
    cw.expect(a, Method::POST, "/api/v1/handovers", Some(draft(&c.id, &to_c)), 201).await.unwrap();
    f.stop().await;
}
