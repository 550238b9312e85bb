//! Whole handovers between real offices: caseworker API over HTTP, federation over mutual TLS,
//! each office with its own SQLite file.

use std::time::Duration;

use crate::harness::*;
use reqwest::Method;
use serde_json::{Value, json};
use staffel::demo::{Caseworker, DemoOffice};

async fn create_client(cw: &Caseworker, at: &DemoOffice, first_session: chrono::NaiveDate) -> Value {
    let body = json!({"given_name": "Testa", "family_name": "Beispiel", "date_of_birth": "1990-01-31", "first_session": first_session, "target_group": "follow-up-accommodation", "benefits": "sgb-ii"});
    cw.expect(at, Method::POST, "/api/v1/clients", Some(body), 201).await.unwrap()
}

async fn add_goal(cw: &Caseworker, at: &DemoOffice, client: &str, area: &str) -> Value {
    let body = json!({"area": area, "description": format!("goal in {area}"), "responsible": {"kind": "regular-service", "name": "Jobcenter"}, "target_date": "2027-01-31"});
    cw.expect(at, Method::POST, &format!("/api/v1/clients/{client}/goals"), Some(body), 201).await.unwrap()
}

#[tokio::test]
async fn a_client_moves_and_the_clock_keeps_running() {
    let (_work, offices) = spawn_offices(&[STUTTGART, HEIDELBERG]).await;
    let (a, b) = (&offices[0], &offices[1]);
    let cw = Caseworker::new();

    // A leap-day start if the calendar allows it inside a running window, else 400 days ago.
    let first = if today() <= "2027-02-28".parse().unwrap() {
        "2024-02-29".parse().unwrap()
    } else {
        today() - chrono::Duration::days(400)
    };
    let client = create_client(&cw, a, first).await;
    let cid = client["id"].as_str().unwrap().to_owned();
    let language = add_goal(&cw, a, &cid, "language").await;
    add_goal(&cw, a, &cid, "health").await;
    cw.expect(
        a,
        Method::PATCH,
        &format!("/api/v1/clients/{cid}/goals/{}", language["id"].as_str().unwrap()),
        Some(json!({"status": "in-progress"})),
        200,
    )
    .await
    .unwrap();
    let extended = cw
        .expect(
            a,
            Method::POST,
            &format!("/api/v1/clients/{cid}/extensions"),
            Some(json!({"months": 1, "reasons": ["chronic-illness"], "justification": "documented"})),
            200,
        )
        .await
        .unwrap();
    let last_day = extended["window"]["last_day"].clone();
    if first == "2024-02-29".parse::<chrono::NaiveDate>().unwrap() {
        assert_eq!(last_day, "2027-03-29", "DOMAIN.md: 2024-02-29 plus one month's extension");
    }

    // Consent to identity, window and language only: the health goal and the extension's
    // health grounds stay at Stuttgart.
    let id = send_handover(&cw, a, b, &cid, json!(["identity", "window", "plan:language"])).await;

    let incoming = cw.expect(b, Method::GET, &format!("/api/v1/incoming-handovers/{id}"), None, 200).await.unwrap();
    assert_eq!(incoming["state"], "received");
    assert_eq!(incoming["sender"], STUTTGART);
    assert_eq!(incoming["case"]["plan"]["goals"].as_array().unwrap().len(), 1);
    assert_eq!(incoming["case"]["plan"]["goals"][0]["area"], "language");
    assert!(
        incoming["case"]["window"]["extensions"][0].get("grounds").is_none(),
        "health grounds travelled without consent"
    );
    assert_eq!(incoming["case"]["window"]["extensions"][0]["months"], 1);

    let accepted =
        cw.expect(b, Method::POST, &format!("/api/v1/incoming-handovers/{id}/accept"), None, 200).await.unwrap();
    assert_eq!(accepted["window"]["first_session"], json!(first));
    assert_eq!(accepted["window"]["last_day"], last_day);
    assert_eq!(accepted["case_id"], client["case_id"]);
    assert_eq!(accepted["received_from"], STUTTGART);
    // The history came along, marked with its origin, and continues here.
    let history = accepted["plan"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|e| e["office"] == STUTTGART));
    let bid = accepted["id"].as_str().unwrap();
    let goal = accepted["plan"]["goals"][0]["id"].as_str().unwrap();
    cw.expect(
        b,
        Method::PATCH,
        &format!("/api/v1/clients/{bid}/goals/{goal}"),
        Some(json!({"status": "achieved"})),
        200,
    )
    .await
    .unwrap();
    let continued = cw.expect(b, Method::GET, &format!("/api/v1/clients/{bid}"), None, 200).await.unwrap();
    let last = continued["plan"]["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["office"], HEIDELBERG);
    assert_eq!(last["change"], json!({"kind": "status-changed", "from": "in-progress", "to": "achieved"}));

    // Stuttgart gets the signed decision: handover accepted, client moved out, record closed.
    let done =
        cw.wait_for(a, &format!("/api/v1/handovers/{id}"), "state", "accepted", Duration::from_secs(20)).await.unwrap();
    assert!(done["decided_at"].is_string());
    let moved = cw.expect(a, Method::GET, &format!("/api/v1/clients/{cid}"), None, 200).await.unwrap();
    assert_eq!(moved["status"], json!({"state": "moved-out", "to": HEIDELBERG, "at": moved["status"]["at"]}));
    assert_eq!(moved["window"]["last_day"], last_day);
    let closed = cw
        .call(
            a,
            Method::POST,
            &format!("/api/v1/clients/{cid}/goals"),
            Some(json!({"area": "work", "description": "x", "responsible": {"kind": "client"}})),
        )
        .await
        .unwrap();
    assert_eq!(closed.0, 409);
    assert_eq!(closed.1["type"], "urn:staffel:problem:client-moved-out");
    // Deciding twice is refused.
    let twice = cw.call(b, Method::POST, &format!("/api/v1/incoming-handovers/{id}/accept"), None).await.unwrap();
    assert_eq!(twice.1["type"], "urn:staffel:problem:invalid-state");
    stop_all(offices).await;
}

#[tokio::test]
async fn an_area_an_office_added_travels_with_its_own_consent_category() {
    let (_work, offices) = spawn_offices(&[STUTTGART, HEIDELBERG]).await;
    let (a, b) = (&offices[0], &offices[1]);
    let cw = Caseworker::new();
    let client = create_client(&cw, a, today() - chrono::Duration::days(30)).await;
    let cid = client["id"].as_str().unwrap().to_owned();
    add_goal(&cw, a, &cid, "x-driving-licence").await;
    add_goal(&cw, a, &cid, "work").await;
    let bad = cw
        .call(
            a,
            Method::POST,
            &format!("/api/v1/clients/{cid}/goals"),
            Some(json!({"area": "x-Bad Area", "description": "x", "responsible": {"kind": "client"}})),
        )
        .await
        .unwrap();
    assert_eq!(bad.1["errors"][0]["pointer"], "/area");
    let id = send_handover(&cw, a, b, &cid, json!(["identity", "window", "plan:x-driving-licence"])).await;
    let incoming = cw.expect(b, Method::GET, &format!("/api/v1/incoming-handovers/{id}"), None, 200).await.unwrap();
    let areas: Vec<&str> =
        incoming["case"]["plan"]["goals"].as_array().unwrap().iter().map(|g| g["area"].as_str().unwrap()).collect();
    assert_eq!(areas, ["x-driving-licence"]);
    assert!(incoming["case"]["consent"]["categories"].as_array().unwrap().contains(&json!("plan:x-driving-licence")));
    stop_all(offices).await;
}

#[tokio::test]
async fn a_declined_handover_leaves_the_client_where_it_was() {
    let (_work, offices) = spawn_offices(&[STUTTGART, FREIBURG]).await;
    let (a, c) = (&offices[0], &offices[1]);
    let cw = Caseworker::new();
    let client = create_client(&cw, a, today() - chrono::Duration::days(30)).await;
    let cid = client["id"].as_str().unwrap().to_owned();
    let id = send_handover(&cw, a, c, &cid, json!(["identity", "window"])).await;
    let declined = cw
        .expect(
            c,
            Method::POST,
            &format!("/api/v1/incoming-handovers/{id}/decline"),
            Some(json!({"reason": "The client did not move here after all"})),
            200,
        )
        .await
        .unwrap();
    assert_eq!(declined["state"], "declined");
    let done =
        cw.wait_for(a, &format!("/api/v1/handovers/{id}"), "state", "declined", Duration::from_secs(20)).await.unwrap();
    assert_eq!(done["decline_reason"], "The client did not move here after all");
    let still = cw.expect(a, Method::GET, &format!("/api/v1/clients/{cid}"), None, 200).await.unwrap();
    assert_eq!(still["status"]["state"], "active");
    stop_all(offices).await;
}

#[tokio::test]
async fn the_sender_refuses_what_the_consent_does_not_allow() {
    let (_work, offices) = spawn_offices(&[STUTTGART, HEIDELBERG]).await;
    let (a, b) = (&offices[0], &offices[1]);
    let cw = Caseworker::new();
    let client = create_client(&cw, a, today() - chrono::Duration::days(30)).await;
    let cid = client["id"].as_str().unwrap().to_owned();
    let consents = format!("/api/v1/clients/{cid}/consents");

    // Consent without the window: no handover could carry the clock, so it is not even recorded.
    let narrow = json!({"recipient": b.id, "categories": ["identity"], "language": "de", "signed_on": today()});
    let (status, problem) = cw.call(a, Method::POST, &consents, Some(narrow)).await.unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (422, "urn:staffel:problem:consent-missing"));

    // A consent withdrawn after the draft cancels the draft; no new draft can use it.
    let consent = cw
        .expect(a, Method::POST, &consents, Some(json!({"recipient": b.id, "categories": ["identity", "window"], "language": "de", "signed_on": today()})), 201)
        .await
        .unwrap();
    assert_eq!(consent["legal_bases"], json!(["gdpr-art-6-1-a"]));
    let draft = cw
        .expect(
            a,
            Method::POST,
            "/api/v1/handovers",
            Some(json!({"client_id": cid, "receiver": b.id, "consent_id": consent["id"]})),
            201,
        )
        .await
        .unwrap();
    let withdrawn = cw
        .expect(a, Method::POST, &format!("{consents}/{}/withdraw", consent["id"].as_str().unwrap()), None, 200)
        .await
        .unwrap();
    assert!(withdrawn["withdrawn_at"].is_string());
    let handover = format!("/api/v1/handovers/{}", draft["id"].as_str().unwrap());
    assert_eq!(cw.expect(a, Method::GET, &handover, None, 200).await.unwrap()["state"], "cancelled");
    let (status, problem) = cw.call(a, Method::POST, &format!("{handover}/approve"), None).await.unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (409, "urn:staffel:problem:invalid-state"));
    let (status, problem) = cw
        .call(
            a,
            Method::POST,
            "/api/v1/handovers",
            Some(json!({"client_id": cid, "receiver": b.id, "consent_id": consent["id"]})),
        )
        .await
        .unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (409, "urn:staffel:problem:consent-withdrawn"));

    // An office outside the directory.
    let (status, problem) = cw
        .call(
            a,
            Method::POST,
            "/api/v1/handovers",
            Some(json!({"client_id": cid, "receiver": "08222000", "consent_id": consent["id"]})),
        )
        .await
        .unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (422, "urn:staffel:problem:unknown-office"));
    assert!(
        cw.expect(b, Method::GET, "/api/v1/incoming-handovers", None, 200).await.unwrap()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    stop_all(offices).await;
}

#[tokio::test]
async fn the_caseworker_api_needs_a_token_and_answers_problems() {
    let (_work, offices) = spawn_offices(&[STUTTGART]).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/clients", offices[0].api);
    let anonymous = http.post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["content-type"], "application/problem+json");
    let wrong = http.post(&url).bearer_auth("dev-token-08221000").json(&json!({})).send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    let cw = Caseworker::new();
    let a = &offices[0];
    let (status, problem) = cw
        .call(a, Method::POST, "/api/v1/clients", Some(json!({"given_name": " ", "family_name": "B", "date_of_birth": "1990-01-01", "first_session": "2025-01-01", "target_group": "displaced-from-ukraine", "benefits": "sgb-ii"})))
        .await
        .unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (422, "urn:staffel:problem:validation-failed"));
    let tomorrow = today() + chrono::Duration::days(1);
    let (status, problem) = cw
        .call(a, Method::POST, "/api/v1/clients", Some(json!({"given_name": "A", "family_name": "B", "date_of_birth": "1990-01-01", "first_session": tomorrow, "target_group": "displaced-from-ukraine", "benefits": "sgb-ii"})))
        .await
        .unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (422, "urn:staffel:problem:first-session-in-future"));
    let (status, _) = cw.call(a, Method::GET, "/api/v1/clients/not-a-uuid", None).await.unwrap();
    assert_eq!(status, 404);
    let (status, _) =
        cw.call(a, Method::GET, &format!("/api/v1/clients/{}", uuid::Uuid::new_v4()), None).await.unwrap();
    assert_eq!(status, 404);
    stop_all(offices).await;
}

#[tokio::test]
async fn the_demo_runs_and_both_offices_agree() {
    let mut out = Vec::new();
    let same = staffel::demo::run(&certs(), &staffel::clock::Clock::starting_at(t0()), None, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(same, "{text}");
    assert!(text.contains("both offices agree"), "{text}");
}

#[tokio::test]
async fn the_demo_runs_on_postgresql_and_cleans_up() {
    let Some(server) = postgres_server() else { return };
    let mut out = Vec::new();
    let clock = staffel::clock::Clock::starting_at(t0());
    let same = staffel::demo::run(&certs(), &clock, Some(&server), &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(same && text.contains("on PostgreSQL"), "{text}");
    // Its scratch databases are gone.
    let pool = sqlx::PgPool::connect(&server).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname LIKE 'staffel_demo_%'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
