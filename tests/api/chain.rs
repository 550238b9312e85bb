//! Chains of moves across three real offices: A → B → C keeps the first session and the
//! extensions; A → B → A continues A's own record instead of creating a second one.

use reqwest::Method;
use serde_json::json;
use staffel::demo::Caseworker;

use crate::harness::*;

#[tokio::test]
async fn a_to_b_to_c_keeps_the_first_session_and_the_extensions() {
    let (_work, offices) = spawn_offices(&[STUTTGART, HEIDELBERG, FREIBURG]).await;
    let (a, b, c) = (&offices[0], &offices[1], &offices[2]);
    let cw = Caseworker::new();
    let at_a = start_client(&cw, a).await;
    let at_b = move_client(&cw, a, b, at_a["id"].as_str().unwrap()).await;
    // B works with the plan and grants more time before the next move.
    let bid = at_b["id"].as_str().unwrap();
    cw.expect(
        b,
        Method::POST,
        &format!("/api/v1/clients/{bid}/goals"),
        Some(json!({"area": "work", "description": "Apprenticeship", "responsible": {"kind": "integration-manager"}})),
        201,
    )
    .await
    .unwrap();
    let at_b = cw
        .expect(
            b,
            Method::POST,
            &format!("/api/v1/clients/{bid}/extensions"),
            Some(json!({"months": 4, "reasons": ["illiteracy"], "justification": "Second course"})),
            200,
        )
        .await
        .unwrap();
    let at_c = move_client(&cw, b, c, bid).await;

    assert_eq!(at_c["case_id"], at_a["case_id"]);
    assert_eq!(at_c["window"]["first_session"], at_a["window"]["first_session"]);
    assert_eq!(at_c["window"]["extension_months"], 9);
    assert_eq!(at_c["window"]["last_day"], at_b["window"]["last_day"]);
    let first: chrono::NaiveDate = serde_json::from_value(at_a["window"]["first_session"].clone()).unwrap();
    assert_eq!(at_c["window"]["last_day"], json!(staffel::domain::calendar::add_months(first, 36 + 9)));
    let offices_in_history: Vec<&str> =
        at_c["plan"]["history"].as_array().unwrap().iter().map(|e| e["office"].as_str().unwrap()).collect();
    assert!(
        offices_in_history.contains(&STUTTGART) && offices_in_history.contains(&HEIDELBERG),
        "{offices_in_history:?}"
    );
    stop_all(offices).await;
}

#[tokio::test]
async fn a_to_b_to_a_continues_the_record_at_a() {
    let (_work, offices) = spawn_offices(&[STUTTGART, HEIDELBERG]).await;
    let (a, b) = (&offices[0], &offices[1]);
    let cw = Caseworker::new();
    let at_a = start_client(&cw, a).await;
    let aid = at_a["id"].as_str().unwrap();
    let at_b = move_client(&cw, a, b, aid).await;
    let back = move_client(&cw, b, a, at_b["id"].as_str().unwrap()).await;

    assert_eq!(back["id"], at_a["id"], "A continued its own record");
    assert_eq!(back["status"]["state"], "active");
    assert_eq!(back["received_from"], HEIDELBERG);
    assert_eq!(back["window"]["last_day"], at_a["window"]["last_day"]);
    assert_eq!(back["window"]["first_session"], at_a["window"]["first_session"]);
    let listed = cw.expect(a, Method::GET, "/api/v1/clients", None, 200).await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "no duplicate record: {listed}");
    // The history is not doubled by the round trip.
    assert_eq!(back["plan"]["history"].as_array().unwrap().len(), 1);
    stop_all(offices).await;
}
