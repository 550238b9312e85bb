//! Watching an office: the Prometheus metrics at `/metrics` (scrape token only; counters moved by
//! a real handover between two offices, a refused message and failed logins; gauges read from
//! storage; route templates, never paths, and no names anywhere), and the request id on every
//! log line of a request, and the message id on the delivery worker's, from the real binary.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use staffel::dev_pki as dev;
use x509_parser::prelude::FromDer;

use crate::harness::*;
use crate::process::{Served, api_address, today_in};

const SCRAPE_TOKEN: &str = "scrape-token-of-the-tests";

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

/// `/metrics` of `office` with `token`: status, content type, body.
async fn scrape(office: &staffel::demo::DemoOffice, token: Option<&str>) -> (u16, String, String) {
    let mut request = http().get(format!("{}/metrics", office.api));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, response.text().await.unwrap())
}

/// The value of the sample `series` (name and labels exactly as exposed), if it is there.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
}

fn expect_sample(body: &str, series: &str) -> f64 {
    sample(body, series).unwrap_or_else(|| panic!("no sample {series} in\n{body}"))
}

#[tokio::test]
async fn metrics_count_a_handover_refusals_and_failed_logins_without_personal_data() {
    let federation = offices(&[STUTTGART, HEIDELBERG])
        .configure(|c| c.metrics.token_sha256 = Some(staffel::digest::token_digest(SCRAPE_TOKEN)))
        .start()
        .await;
    let offices = &federation.offices;
    let (a, b) = (&offices[0], &offices[1]);
    let cw = staffel::demo::Caseworker::new();

    // Only the scrape token: not none, not a wrong one, not even an administrator's.
    for token in [None, Some("wrong"), Some(dev::dev_admin_token(STUTTGART).as_str())] {
        let (status, content_type, body) = scrape(a, token).await;
        assert_eq!((status, content_type.as_str()), (401, "application/problem+json"), "{token:?}: {body}");
        assert!(body.contains("unauthorized"), "{body}");
    }
    let (status, content_type, _) = scrape(a, Some(SCRAPE_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");

    // The end of the federation certificate, as the certificate itself says; no api line, as the
    // caseworker listener has no certificate of its own here.
    let pem = std::fs::read(dev::office_paths(&certs(), STUTTGART).tls_cert).unwrap();
    let der = rustls_pemfile::certs(&mut pem.as_slice()).next().unwrap().unwrap();
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der.as_ref()).unwrap();
    let (_, _, body) = scrape(a, Some(SCRAPE_TOKEN)).await;
    let end = expect_sample(&body, r#"staffel_tls_certificate_not_after_seconds{listener="federation"}"#);
    assert_eq!(end, cert.validity().not_after.timestamp() as f64);
    assert!(sample(&body, r#"staffel_tls_certificate_not_after_seconds{listener="api"}"#).is_none(), "{body}");

    // A client with names found nowhere else, searched for by name, and handed over to Heidelberg.
    let body = json!({"given_name": "Zenobia", "family_name": "Quastenflosser", "date_of_birth": "1979-02-28",
        "first_session": today() - chrono::Duration::days(300), "target_group": "follow-up-accommodation",
        "benefits": "asylblg"});
    let client = cw.expect(a, Method::POST, "/api/v1/clients", Some(body), 201).await.unwrap();
    let client_id = client["id"].as_str().unwrap().to_owned();
    cw.expect(a, Method::GET, "/api/v1/clients?search=quastenflosser", None, 200).await.unwrap();
    let accepted = move_client_with(&cw, a, b, &client_id, json!(["identity", "window"])).await;
    let handover_id =
        cw.expect(b, Method::GET, "/api/v1/incoming-handovers", None, 200).await.unwrap()["items"][0]["id"]
            .as_str()
            .map(str::to_owned);

    // A message Heidelberg refuses: addressed to Freiburg.
    let refused = deliver(&handover(STUTTGART, FREIBURG), b).await;
    assert_eq!(refused.status, 421, "{refused:?}");
    let refused_type = refused.problem_type();
    let slug = refused_type.rsplit(':').next().unwrap().to_owned();

    // Failed logins: on the API and on the login page (the page's form with its origin).
    let wrong = json!({"account": "zenobia.staff", "password": "not the password at all"});
    let (status, _) = cw.call(a, Method::POST, "/api/v1/login", Some(wrong)).await.unwrap();
    assert_eq!(status, 401);
    let page = http()
        .post(format!("{}/login", a.api))
        .header("origin", &a.api)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("account=zenobia.staff&password=not+the+password+either")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 401, "the login page refuses");

    let (_, _, at_a) = scrape(a, Some(SCRAPE_TOKEN)).await;
    let (_, _, at_b) = scrape(b, Some(SCRAPE_TOKEN)).await;
    // Stuttgart: its requests by route template, its delivery, the decision it received, its
    // handover's state, nothing waiting for Heidelberg, the failed logins.
    let route = |method: &str, route: &str, status: u16| {
        format!(r#"staffel_http_requests_total{{listener="api",method="{method}",route="{route}",status="{status}"}}"#)
    };
    assert_eq!(expect_sample(&at_a, &route("POST", "/api/v1/clients", 201)), 1.0);
    assert!(expect_sample(&at_a, &route("GET", "/api/v1/clients/{id}", 200)) >= 1.0);
    assert_eq!(expect_sample(&at_a, &route("POST", "/api/v1/handovers/{id}/approve", 202)), 1.0);
    assert_eq!(expect_sample(&at_a, &route("POST", "/api/v1/login", 401)), 1.0);
    assert_eq!(expect_sample(&at_a, &route("POST", "/login", 401)), 1.0);
    assert!(
        expect_sample(&at_a, r#"staffel_http_request_duration_seconds_count{listener="api",route="/api/v1/clients"}"#)
            >= 2.0
    );
    assert_eq!(
        expect_sample(
            &at_a,
            r#"staffel_delivery_attempts_total{kind="handover",destination="08221000",result="delivered"}"#
        ),
        1.0
    );
    assert_eq!(expect_sample(&at_a, r#"staffel_delivery_latency_seconds_count{kind="handover"}"#), 1.0);
    assert_eq!(
        expect_sample(&at_a, r#"staffel_delivery_attempt_duration_seconds_count{kind="handover",result="delivered"}"#),
        1.0
    );
    assert_eq!(expect_sample(&at_a, r#"staffel_federation_inbox_total{kind="decision",result="accepted"}"#), 1.0);
    assert_eq!(expect_sample(&at_a, r#"staffel_handovers{direction="outgoing",state="accepted"}"#), 1.0);
    assert_eq!(expect_sample(&at_a, r#"staffel_handovers{direction="outgoing",state="draft"}"#), 0.0);
    assert_eq!(expect_sample(&at_a, r#"staffel_outbox_pending_messages{destination="08221000"}"#), 0.0);
    assert_eq!(expect_sample(&at_a, r#"staffel_outbox_oldest_pending_age_seconds{destination="08221000"}"#), 0.0);
    assert_eq!(expect_sample(&at_a, r#"staffel_login_failures_total{reason="credentials"}"#), 2.0);
    assert_eq!(expect_sample(&at_a, "staffel_ready"), 1.0);
    // Heidelberg: the handover received and the refused message, on the federation listener by
    // route; its decision delivered; the handover taken over.
    assert_eq!(expect_sample(&at_b, r#"staffel_federation_inbox_total{kind="handover",result="accepted"}"#), 1.0);
    assert_eq!(
        expect_sample(&at_b, &format!(r#"staffel_federation_inbox_total{{kind="handover",result="{slug}"}}"#)),
        1.0
    );
    assert_eq!(
        expect_sample(
            &at_b,
            r#"staffel_http_requests_total{listener="federation",method="POST",route="/federation/v1/handovers",status="202"}"#
        ),
        1.0
    );
    assert_eq!(
        expect_sample(
            &at_b,
            r#"staffel_delivery_attempts_total{kind="decision",destination="08111000",result="delivered"}"#
        ),
        1.0
    );
    assert_eq!(expect_sample(&at_b, r#"staffel_handovers{direction="incoming",state="accepted"}"#), 1.0);

    // No personal data and no raw path anywhere: not the client's names, not the words searched
    // for, not the ids in the paths, not an account name (staff names), not a login's name.
    let config = staffel::config::Config::load(&dev::office_paths(&certs(), STUTTGART).config).unwrap();
    let mut secret: Vec<String> = vec![
        "Zenobia".into(),
        "Quastenflosser".into(),
        "quastenflosser".into(),
        "zenobia".into(),
        client_id.clone(),
        accepted["id"].as_str().unwrap().to_owned(),
    ];
    secret.extend(handover_id);
    secret.extend(config.api.managers.iter().map(|m| m.account.clone()));
    for body in [&at_a, &at_b] {
        for s in &secret {
            assert!(!body.contains(s.as_str()), "{s} in the metrics:\n{body}");
        }
        assert!(!body.contains("/api/v1/clients/") || body.contains("/api/v1/clients/{id}"));
        for line in body.lines().filter(|l| l.contains("route=\"")) {
            let route = line.split("route=\"").nth(1).unwrap().split('"').next().unwrap();
            assert!(route == "unmatched" || route.starts_with('/'), "{line}");
            assert!(
                route.split('/').all(|s| uuid::Uuid::parse_str(s).is_err() && !s.contains('?')),
                "a raw path in {line}"
            );
        }
    }
    stop_all(federation.offices).await;
}

#[tokio::test]
async fn the_outbox_gauges_show_what_waits_for_an_office_that_does_not_answer() {
    let federation = offices(&[STUTTGART])
        .configure(|c| c.metrics.token_sha256 = Some(staffel::digest::token_digest(SCRAPE_TOKEN)))
        .start()
        .await;
    let a = &federation.offices[0];
    let cw = staffel::demo::Caseworker::new();
    let client = start_client(&cw, a).await;
    let client_id = client["id"].as_str().unwrap();
    // Heidelberg is in the directory, but its door is closed: the handover waits.
    let consent = cw
        .expect(
            a,
            Method::POST,
            &format!("/api/v1/clients/{client_id}/consents"),
            Some(json!({"recipient": HEIDELBERG, "categories": ["identity", "window"], "language": "de", "signed_on": today()})),
            201,
        )
        .await
        .unwrap();
    let body = json!({"client_id": client_id, "receiver": HEIDELBERG, "consent_id": consent["id"]});
    let draft = cw.expect(a, Method::POST, "/api/v1/handovers", Some(body), 201).await.unwrap();
    let id = draft["id"].as_str().unwrap();
    cw.expect(a, Method::POST, &format!("/api/v1/handovers/{id}/approve"), None, 202).await.unwrap();
    let retried = r#"staffel_delivery_attempts_total{kind="handover",destination="08221000",result="retry"}"#;
    eventually("a failed attempt counted", || async {
        let (_, _, body) = scrape(a, Some(SCRAPE_TOKEN)).await;
        sample(&body, retried).filter(|n| *n >= 1.0)
    })
    .await;
    federation.clock.advance(chrono::Duration::seconds(90));
    let (_, _, body) = scrape(a, Some(SCRAPE_TOKEN)).await;
    assert_eq!(expect_sample(&body, r#"staffel_outbox_pending_messages{destination="08221000"}"#), 1.0);
    let age = expect_sample(&body, r#"staffel_outbox_oldest_pending_age_seconds{destination="08221000"}"#);
    assert!((90.0..150.0).contains(&age), "{age}");
    assert_eq!(expect_sample(&body, r#"staffel_outbox_pending_messages{destination="08311000"}"#), 0.0);
    assert_eq!(expect_sample(&body, r#"staffel_handovers{direction="outgoing",state="approved"}"#), 1.0);
    assert!(sample(&body, r#"staffel_outbox_pending_messages{destination="08111000"}"#).is_none(), "not to itself");
    stop_all(federation.offices).await;
}

#[tokio::test]
async fn metrics_are_off_without_a_scrape_token() {
    let federation = offices(&[STUTTGART]).start().await;
    let a = &federation.offices[0];
    let (status, content_type, _) = scrape(a, Some(SCRAPE_TOKEN)).await;
    assert_eq!((status, content_type.as_str()), (404, "application/problem+json"));
    stop_all(federation.offices).await;
}

/// The request ids of the JSON log line `line`'s spans, and its delivery spans' message ids.
fn span_ids(line: &Value, span: &str, field: &str) -> Vec<String> {
    line["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["name"] == span)
        .filter_map(|s| s[field].as_str().map(str::to_owned))
        .collect()
}

/// Requests to the real binary: a failed login (logged by the use case), an authenticated list,
/// a handover approved (logged by the use case; its delivery by the worker). Returns the request
/// ids the office answered with, and the handover's id.
async fn requests(api: &str) -> (Vec<String>, String) {
    let http = http();
    let token = dev::dev_token(STUTTGART);
    let mut ids = Vec::new();
    let mut call = async |method: Method, path: &str, body: Option<Value>| {
        let mut request = http.request(method, format!("http://{api}{path}")).bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        // A request id of the client's own is not taken over.
        let response = request.header("x-request-id", "client-chosen").send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok_and(|u| u.get_version_num() == 4), "{id}");
        ids.push(id);
        // The office runs on the real clock (this test maybe on a faked one): its today.
        let today = today_in(response.headers());
        (response.json::<Value>().await.unwrap_or(Value::Null), today)
    };
    call(Method::POST, "/api/v1/login", Some(json!({"account": "nobody.here", "password": "wrong password!"}))).await;
    let (_, today) = call(Method::GET, "/api/v1/clients", None).await;
    let body = json!({"given_name": "Testa", "family_name": "Beispiel", "date_of_birth": "1979-02-28",
        "first_session": today - chrono::Duration::days(100), "target_group": "follow-up-accommodation",
        "benefits": "asylblg"});
    let (client, _) = call(Method::POST, "/api/v1/clients", Some(body)).await;
    let client_id = client["id"].as_str().unwrap().to_owned();
    let consent =
        json!({"recipient": HEIDELBERG, "categories": ["identity", "window"], "language": "de", "signed_on": today});
    let (consent, _) = call(Method::POST, &format!("/api/v1/clients/{client_id}/consents"), Some(consent)).await;
    let body = json!({"client_id": client_id, "receiver": HEIDELBERG, "consent_id": consent["id"]});
    let (draft, _) = call(Method::POST, "/api/v1/handovers", Some(body)).await;
    let handover = draft["id"].as_str().unwrap().to_owned();
    call(Method::POST, &format!("/api/v1/handovers/{handover}/approve"), None).await;
    (ids, handover)
}

#[cfg(unix)]
#[tokio::test]
async fn every_log_line_of_a_request_carries_its_id_and_a_delivery_its_message_id() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // JSON lines: each line's spans are fields to check.
    let mut served = Served::start(true);
    let api = api_address(&served.wait_for("office serving"));
    let (ids, handover) = requests(&api).await;
    // The delivery worker tries Heidelberg (not running here, or whatever answers at its address).
    served.wait_for(&format!("\"message\":\"{handover}\""));
    served.stop();

    let lines: Vec<Value> = served.seen.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let start = lines.iter().position(|l| l["fields"]["message"] == "office serving").unwrap();
    let end = lines.iter().position(|l| l["fields"]["message"] == "shutdown requested").unwrap();
    let mut seen_ids = std::collections::BTreeSet::new();
    for line in &lines[start + 1..end] {
        let request = span_ids(line, "request", "request_id");
        let message = span_ids(line, "deliver", "message");
        match (request.as_slice(), message.as_slice()) {
            ([id], []) => {
                assert!(ids.contains(id), "a request id the office did not answer with: {line}");
                seen_ids.insert(id.clone());
            }
            ([], [id]) => assert_eq!(id, &handover, "{line}"),
            _ => panic!("a line with neither a request id nor a message id, or both: {line}"),
        }
    }
    for id in &ids {
        assert!(seen_ids.contains(id), "no log line of request {id}");
    }
    // Lines of the use cases inherit the id: the failed login's, the approval's.
    let of = |text: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["message"].as_str().is_some_and(|m| m.contains(text)))
            .unwrap_or_else(|| panic!("no line {text}"))
    };
    assert_eq!(span_ids(of("login failed"), "request", "request_id"), [ids[0].clone()]);
    let handled = of("handled");
    assert_eq!(handled["span"]["name"], "request");
    assert!(handled["span"]["route"].is_string() && handled["span"]["status"].is_number(), "{handled}");
    assert!(!served.seen.iter().any(|l| l.contains("client-chosen")), "the client's request id is not logged");
    // Ids, never names: neither the client's nor a staff account's (the audit log says who).
    let account = format!("im-{STUTTGART}");
    for name in ["Testa", "Beispiel", "nobody.here", account.as_str()] {
        assert!(!served.seen.iter().any(|l| l.contains(name)), "{name} in the log");
    }

    // Plain text: the span with the request id leads the line.
    let mut served = Served::start(false);
    let api = api_address(&served.wait_for("office serving"));
    let (ids, _) = requests(&api).await;
    let failed = served.wait_for("login failed");
    assert!(failed.contains(&format!("request_id={}", ids[0])), "{failed}");
    served.stop();
}
