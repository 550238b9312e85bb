//! The caseworker API around client, window and plan: eligibility, sessions, exit and re-entry,
//! households, lists, the work list, review notes, the audit log and the client notice.

use crate::harness::*;
use chrono::{Datelike, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};
use staffel::demo::{Caseworker, DemoOffice};

fn person(given: &str, family: &str, first_session: NaiveDate) -> Value {
    json!({"given_name": given, "family_name": family, "date_of_birth": "1985-06-30", "first_session": first_session,
           "target_group": "displaced-from-ukraine", "benefits": "sgb-ii"})
}

async fn create(cw: &Caseworker, a: &DemoOffice, body: Value) -> Value {
    cw.expect(a, Method::POST, "/api/v1/clients", Some(body), 201).await.unwrap()
}

fn problem(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["type"].as_str().unwrap_or("-"))
}

const P: &str = "urn:staffel:problem:";

#[tokio::test]
async fn eligibility_needs_benefits_or_a_recorded_decision_and_only_adults_get_a_window() {
    let (_work, offices) = spawn_offices(&[STUTTGART]).await;
    let (a, cw) = (&offices[0], Caseworker::new());
    let mut body = person("Testa", "Beispiel", today());
    body["benefits"] = json!("none");
    let refused = cw.call(a, Method::POST, "/api/v1/clients", Some(body.clone())).await.unwrap();
    assert_eq!(problem(&refused), (422, &*format!("{P}discretion-required")));
    body["discretion_reason"] = json!("Needs support with the recognition of a nursing degree");
    let client = create(&cw, a, body).await;
    assert_eq!(client["eligibility"]["benefits"], "none");
    assert_eq!(client["eligibility"]["discretion"]["decided_by"], format!("im-{STUTTGART}"));
    assert_eq!(client["eligibility"]["discretion"]["decided_on"], json!(today()));

    // Benefits start again: the decision is no longer needed.
    let id = client["id"].as_str().unwrap();
    let changed = cw
        .expect(
            a,
            Method::PUT,
            &format!("/api/v1/clients/{id}/eligibility"),
            Some(json!({"target_group": "displaced-from-ukraine", "benefits": "sgb-xii"})),
            200,
        )
        .await
        .unwrap();
    assert_eq!(changed["eligibility"], json!({"target_group": "displaced-from-ukraine", "benefits": "sgb-xii"}));

    // Seventeen on the day of the first session.
    let mut minor = person("Junia", "Beispiel", today());
    let dob = NaiveDate::from_ymd_opt(today().year() - 17, 1, 1).unwrap();
    minor["date_of_birth"] = json!(dob);
    let refused = cw.call(a, Method::POST, "/api/v1/clients", Some(minor)).await.unwrap();
    assert_eq!(problem(&refused), (422, &*format!("{P}not-adult")));

    // Field-level detail for a malformed body.
    let mut bad = person("Testa", "Beispiel", today());
    bad["target_group"] = json!("tourists");
    let refused = cw.call(a, Method::POST, "/api/v1/clients", Some(bad)).await.unwrap();
    assert_eq!(problem(&refused), (422, &*format!("{P}validation-failed")));
    assert_eq!(refused.1["errors"][0]["pointer"], "/target_group");
    stop_all(offices).await;
}

#[tokio::test]
async fn sessions_exit_and_re_entry_never_move_the_last_day() {
    let (_work, offices) = spawn_offices(&[STUTTGART]).await;
    let (a, cw) = (&offices[0], Caseworker::new());
    let first = today() - chrono::Duration::days(200);
    let client = create(&cw, a, person("Testa", "Beispiel", first)).await;
    let id = client["id"].as_str().unwrap();
    let last_day = client["window"]["last_day"].clone();
    let sessions = format!("/api/v1/clients/{id}/sessions");

    cw.expect(a, Method::POST, &sessions, Some(json!({"date": first, "note": "First session: goals agreed"})), 201)
        .await
        .unwrap();
    let future = cw
        .call(a, Method::POST, &sessions, Some(json!({"date": today() + chrono::Duration::days(1), "note": "x"})))
        .await
        .unwrap();
    assert_eq!(problem(&future), (422, &*format!("{P}date-invalid")));

    let exit_day = today() - chrono::Duration::days(100);
    let exited = cw
        .expect(
            a,
            Method::POST,
            &format!("/api/v1/clients/{id}/exit"),
            Some(json!({"on": exit_day, "reason": "no-longer-receives-benefits"})),
            200,
        )
        .await
        .unwrap();
    assert_eq!(exited["taking_part"], false);
    assert_eq!(exited["window"]["last_day"], last_day);
    let refused = cw.call(a, Method::POST, &sessions, Some(json!({"date": today(), "note": "x"}))).await.unwrap();
    assert_eq!(problem(&refused), (409, &*format!("{P}client-not-active")));
    // Nor goals, extensions or a change of eligibility while the client is out.
    for (path, body) in [
        ("goals", json!({"area": "work", "description": "x", "responsible": {"kind": "client"}})),
        ("extensions", json!({"months": 2, "reasons": ["illiteracy"], "justification": "x"})),
    ] {
        let refused = cw.call(a, Method::POST, &format!("/api/v1/clients/{id}/{path}"), Some(body)).await.unwrap();
        assert_eq!(problem(&refused), (409, &*format!("{P}client-not-active")), "{path}");
    }
    let eligibility = json!({"target_group": "displaced-from-ukraine", "benefits": "sgb-ii"});
    let refused =
        cw.call(a, Method::PUT, &format!("/api/v1/clients/{id}/eligibility"), Some(eligibility)).await.unwrap();
    assert_eq!(problem(&refused), (409, &*format!("{P}client-not-active")));

    let back = cw
        .expect(a, Method::POST, &format!("/api/v1/clients/{id}/re-entry"), Some(json!({"on": today()})), 200)
        .await
        .unwrap();
    assert_eq!(back["taking_part"], true);
    assert_eq!(back["window"]["last_day"], last_day);
    assert_eq!(back["participation"].as_array().unwrap().len(), 2);
    cw.expect(a, Method::POST, &sessions, Some(json!({"date": today(), "note": "Back after job loss"})), 201)
        .await
        .unwrap();
    let listed = cw.expect(a, Method::GET, &sessions, None, 200).await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    stop_all(offices).await;
}

#[tokio::test]
async fn an_ended_window_refuses_sessions_extensions_re_entry_and_handovers_naming_the_last_day() {
    let (_work, offices) = spawn_offices(&[STUTTGART, HEIDELBERG]).await;
    let (a, cw) = (&offices[0], Caseworker::new());
    let first = today() - chrono::Duration::days(3 * 366 + 10);
    let client = create(&cw, a, person("Testa", "Beispiel", first)).await;
    let id = client["id"].as_str().unwrap();
    let last_day = client["window"]["last_day"].clone();
    assert!(serde_json::from_value::<NaiveDate>(last_day.clone()).unwrap() < today());

    let session = cw
        .call(a, Method::POST, &format!("/api/v1/clients/{id}/sessions"), Some(json!({"date": today(), "note": "x"})))
        .await
        .unwrap();
    assert_eq!(problem(&session), (409, &*format!("{P}window-ended")));
    assert_eq!(session.1["last_day"], last_day);
    let extension = cw
        .call(
            a,
            Method::POST,
            &format!("/api/v1/clients/{id}/extensions"),
            Some(json!({"months": 3, "reasons": ["disability"], "justification": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(problem(&extension), (409, &*format!("{P}window-ended")));
    assert_eq!(extension.1["last_day"], last_day);

    let consent = cw
        .expect(
            a,
            Method::POST,
            &format!("/api/v1/clients/{id}/consents"),
            Some(json!({"recipient": HEIDELBERG, "categories": ["identity", "window"], "language": "de", "signed_on": crate::harness::today()})),
            201,
        )
        .await
        .unwrap();
    let handover = cw
        .call(
            a,
            Method::POST,
            "/api/v1/handovers",
            Some(json!({"client_id": id, "receiver": HEIDELBERG, "consent_id": consent["id"]})),
        )
        .await
        .unwrap();
    assert_eq!(problem(&handover), (409, &*format!("{P}window-ended")));
    assert_eq!(handover.1["last_day"], last_day);

    // Leaving is still recorded; coming back after the last day is not possible.
    let exit_day = serde_json::from_value::<NaiveDate>(last_day.clone()).unwrap() - chrono::Duration::days(30);
    cw.expect(
        a,
        Method::POST,
        &format!("/api/v1/clients/{id}/exit"),
        Some(json!({"on": exit_day, "reason": "manages-independently"})),
        200,
    )
    .await
    .unwrap();
    let back = cw
        .call(a, Method::POST, &format!("/api/v1/clients/{id}/re-entry"), Some(json!({"on": today()})))
        .await
        .unwrap();
    assert_eq!(problem(&back), (409, &*format!("{P}window-ended")));
    assert_eq!(back.1["last_day"], last_day);
    stop_all(offices).await;
}

#[tokio::test]
async fn family_reunification_links_a_household_with_a_window_each() {
    let (_work, offices) = spawn_offices(&[STUTTGART]).await;
    let (a, cw) = (&offices[0], Caseworker::new());
    let first = create(&cw, a, person("Testa", "Beispiel", today() - chrono::Duration::days(700))).await;
    let mut joining = person("Tero", "Beispiel", today());
    joining["household_of"] = first["id"].clone();
    let second = create(&cw, a, joining).await;
    assert!(second["household_id"].is_string());
    assert_ne!(second["window"]["last_day"], first["window"]["last_day"]);
    assert_eq!(second["window"]["first_session"], json!(today()));
    let members = cw
        .expect(a, Method::GET, &format!("/api/v1/clients/{}/household", first["id"].as_str().unwrap()), None, 200)
        .await
        .unwrap();
    assert_eq!(members.as_array().unwrap().len(), 2);
    let reread = cw
        .expect(a, Method::GET, &format!("/api/v1/clients/{}", first["id"].as_str().unwrap()), None, 200)
        .await
        .unwrap();
    assert_eq!(reread["household_id"], second["household_id"]);
    stop_all(offices).await;
}

#[tokio::test]
async fn lists_search_pages_and_the_work_list_of_ending_windows() {
    let (_work, offices) = spawn_offices(&[STUTTGART]).await;
    let (a, cw) = (&offices[0], Caseworker::new());
    // Last day in about 40 days: first session 36 months minus 40 days ago.
    let soon = (today() + chrono::Duration::days(40)) - chrono::Months::new(36);
    create(&cw, a, person("Anna", "Muster_frau", soon)).await;
    create(&cw, a, person("Bert", "Beispiel", today())).await;
    create(&cw, a, person("Cora", "Beispielsen", today() - chrono::Duration::days(10))).await;

    create(&cw, a, person("Jürgen", "Müller-Lüdenscheidt", today())).await;

    // Pages of one, in the order of the names, led by the cursor of each page.
    let page = cw.expect(a, Method::GET, "/api/v1/clients?search=beisp&limit=1", None, 200).await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["family_name"], "Beispiel");
    let next = page["next"].as_str().expect("a second page");
    let path = format!("/api/v1/clients?search=beisp&limit=1&after={next}");
    let page2 = cw.expect(a, Method::GET, &path, None, 200).await.unwrap();
    assert_eq!(page2["items"][0]["family_name"], "Beispielsen");
    assert!(page2["next"].is_null(), "the last page: {page2}");
    // A search finds the beginning of any word of a name, whatever the case or accents.
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|c| c["family_name"].as_str().unwrap().to_owned()).collect()
    };
    for (search, found) in [
        ("FRAU", vec!["Muster_frau"]),
        ("mull", vec!["Müller-Lüdenscheidt"]),
        ("muell", vec!["Müller-Lüdenscheidt"]),
        ("ludensch jurg", vec!["Müller-Lüdenscheidt"]),
        ("beispiel cora", vec!["Beispielsen"]),
        ("eispiel", vec![]),
    ] {
        let v = cw.expect(a, Method::GET, &format!("/api/v1/clients?search={search}"), None, 200).await.unwrap();
        assert_eq!(names(&v), found, "{search}");
    }
    let all = cw.expect(a, Method::GET, "/api/v1/clients", None, 200).await.unwrap();
    // In the order of the folded names (ü as u, as in a German dictionary).
    assert_eq!(names(&all), ["Beispiel", "Beispielsen", "Müller-Lüdenscheidt", "Muster_frau"]);
    for bad in ["limit=0", "limit=201"] {
        let refused = cw.call(a, Method::GET, &format!("/api/v1/clients?{bad}"), None).await.unwrap();
        assert_eq!(problem(&refused), (422, &*format!("{P}validation-failed")), "{bad}");
    }
    let refused = cw.call(a, Method::GET, "/api/v1/clients?after=nonsense", None).await.unwrap();
    assert_eq!(problem(&refused), (400, &*format!("{P}cursor-unknown")));

    let ending = cw.expect(a, Method::GET, "/api/v1/worklist/windows-ending?days=60", None, 200).await.unwrap();
    assert_eq!(ending["items"].as_array().unwrap().len(), 1, "{ending}");
    assert_eq!(ending["items"][0]["given_name"], "Anna");
    let later = cw.expect(a, Method::GET, "/api/v1/worklist/windows-ending?days=30", None, 200).await.unwrap();
    assert!(later["items"].as_array().unwrap().is_empty());
    stop_all(offices).await;
}

#[tokio::test]
async fn reads_and_writes_are_audited_and_the_notice_is_printable() {
    let (_work, offices) = spawn_offices(&[STUTTGART]).await;
    let (a, cw) = (&offices[0], Caseworker::new());
    let client = create(&cw, a, person("Testa", "Beispiel", today())).await;
    let id = client["id"].as_str().unwrap();
    let goal = cw
        .expect(
            a,
            Method::POST,
            &format!("/api/v1/clients/{id}/goals"),
            Some(json!({"area": "language", "description": "B1", "responsible": {"kind": "client"}})),
            201,
        )
        .await
        .unwrap();
    let reviewed = cw
        .expect(
            a,
            Method::POST,
            &format!("/api/v1/clients/{id}/goals/{}/reviews", goal["id"].as_str().unwrap()),
            Some(json!({"on": today(), "note": "A2 exam passed"})),
            201,
        )
        .await
        .unwrap();
    assert_eq!(reviewed["reviews"][0]["note"], "A2 exam passed");
    cw.expect(a, Method::GET, &format!("/api/v1/clients/{id}"), None, 200).await.unwrap();
    cw.expect(a, Method::GET, "/api/v1/clients?search=Testa", None, 200).await.unwrap();

    let http = reqwest::Client::new();
    let page =
        http.get(format!("{}/api/v1/clients/{id}/notice?lang=en", a.api)).bearer_auth(&a.token).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    let last_day: NaiveDate = serde_json::from_value(client["window"]["last_day"].clone()).unwrap();
    assert!(html.contains(&last_day.year().to_string()) && html.contains("Testa"), "{html}");
    let missing = cw.call(a, Method::GET, &format!("/api/v1/clients/{id}/notice?lang=xx"), None).await.unwrap();
    assert_eq!(missing.0, 404);
    assert!(missing.1["languages"].as_array().unwrap().contains(&json!("de")));

    let lead = a.as_user(&staffel::dev_pki::dev_lead_token(STUTTGART));
    let log = cw.expect(&lead, Method::GET, &format!("/api/v1/clients/{id}/audit"), None, 200).await.unwrap();
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "write:client",
            "write:plan",
            "write:plan",
            "read:client",
            "read:client-list",
            "read:notice",
            "read:audit-log"
        ],
        "{log}"
    );
    let accounts: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["account"].as_str().unwrap()).collect();
    // Paged: one entry at a time, the cursor leads through them, oldest first. (Reading the log
    // is itself audited, so every page read adds an entry at the end.)
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/clients/{id}/audit?limit=1");
    while seen.len() < actions.len() {
        let page = cw.expect(&lead, Method::GET, &path, None, 200).await.unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()));
        let next = page["next"].as_str().expect("more entries");
        path = format!("/api/v1/clients/{id}/audit?limit=1&after={next}");
    }
    assert_eq!(seen, actions);
    let im = format!("im-{STUTTGART}");
    let lead_account = format!("lead-{STUTTGART}");
    assert_eq!(accounts, [&im, &im, &im, &im, &im, &im, &lead_account]);
    stop_all(offices).await;
}
