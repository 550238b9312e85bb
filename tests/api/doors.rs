//! The caseworker API is as strict as the inbox, and no door can be worn down: bodies only as
//! I-JSON `application/json` of the documented shape, ids only in canonical form, known query
//! parameters only, bounded headers; failed logins throttled; slow and surplus connections cut
//! off on both listeners.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use staffel::demo::{Caseworker, DemoOffice};
use staffel::dev_pki as dev;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;

const P: &str = "urn:staffel:problem:";

/// A raw request to the API: (status, content type, body as JSON or null).
async fn raw(o: &DemoOffice, method: Method, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", o.api)).bearer_auth(&o.token);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.body(body.to_owned()).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let text = response.text().await.unwrap();
    (status, content_type, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn person() -> Value {
    json!({"given_name": "Testa", "family_name": "Beispiel", "date_of_birth": "1990-01-01",
           "first_session": today(), "target_group": "displaced-from-ukraine", "benefits": "sgb-ii"})
}

#[tokio::test]
async fn the_api_stores_only_what_it_could_send() {
    let f = offices(&[STUTTGART]).start().await;
    let a = &f.offices[0];
    let json_type = [("content-type", "application/json")];
    let create =
        |body: Value| async move { raw(a, Method::POST, "/api/v1/clients", &json_type, &body.to_string()).await };

    for (field, value) in [
        ("given_name", json!("")),
        ("given_name", json!("\u{feff}")),
        ("family_name", json!("\u{3000}\u{a0}")),
        ("given_name", json!("Te\u{7}sta")),
        ("first_session", json!("2024-2-3")),
        ("first_session", json!(" 2024-02-03")),
        ("date_of_birth", json!("0000-01-01")),
    ] {
        let mut body = person();
        body[field] = value.clone();
        let (status, _, problem) = create(body).await;
        assert_eq!((status, problem["type"].as_str().unwrap()), (422, &*format!("{P}validation-failed")), "{value}");
        assert_eq!(problem["errors"][0]["pointer"], format!("/{field}"), "{problem}");
    }

    // The body's media type and I-JSON.
    let body = person().to_string();
    let (status, content_type, problem) =
        raw(a, Method::POST, "/api/v1/clients", &[("content-type", "text/plain")], &body).await;
    assert_eq!((status, problem["type"].as_str().unwrap()), (415, &*format!("{P}unsupported-media-type")));
    assert_eq!(content_type, "application/problem+json");
    let (status, ..) = raw(a, Method::POST, "/api/v1/clients", &[], &body).await;
    assert_eq!(status, 415);
    let twice = body.replacen("{", r#"{"given_name":"Other","#, 1);
    let (status, _, problem) = raw(a, Method::POST, "/api/v1/clients", &json_type, &twice).await;
    assert_eq!((status, problem["type"].as_str().unwrap()), (400, &*format!("{P}not-i-json")), "{problem}");
    assert_eq!((problem["location"].as_str(), problem["pointer"].as_str()), (Some("body"), Some("/given_name")));

    // Nothing of it was stored; a valid body is.
    let (status, _, client) = create(person()).await;
    assert_eq!(status, 201, "{client}");
    let (_, _, list) = raw(a, Method::GET, "/api/v1/clients", &[], "").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Ids only in canonical form, and a path that is not UTF-8 is a problem document too.
    let id = client["id"].as_str().unwrap().to_owned();
    for variant in [id.to_uppercase(), id.replace('-', ""), format!("{{{id}}}"), format!("urn:uuid:{id}"), "%FF".into()]
    {
        let (status, content_type, problem) = raw(a, Method::GET, &format!("/api/v1/clients/{variant}"), &[], "").await;
        assert_eq!((status, content_type.as_str()), (404, "application/problem+json"), "{variant}");
        assert_eq!(problem["type"], format!("{P}not-found"));
    }
    assert_eq!(raw(a, Method::GET, &format!("/api/v1/clients/{id}"), &[], "").await.0, 200);

    // Query strings: known parameters only, each problem naming the parameter.
    for (path, pointer) in [
        (format!("/api/v1/clients/{id}?verbose=1"), "/verbose"),
        ("/api/v1/clients?colour=blue".to_owned(), "/colour"),
        ("/api/v1/clients?page=0".to_owned(), "/page"),
        ("/api/v1/clients?per_page=x".to_owned(), "/per_page"),
        ("/api/v1/clients?page=1&page=2".to_owned(), "/page"),
    ] {
        let (status, _, problem) = raw(a, Method::GET, &path, &[], "").await;
        assert_eq!((status, problem["type"].as_str().unwrap()), (422, &*format!("{P}validation-failed")), "{path}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{path}: {problem}");
    }

    // Header fields: too many, or too large, get a problem document.
    let many: Vec<(String, String)> = (0..120).map(|i| (format!("x-filler-{i}"), "1".to_owned())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, content_type, problem) = raw(a, Method::GET, "/api/v1/office", &many, "").await;
    assert_eq!((status, content_type.as_str()), (431, "application/problem+json"));
    assert_eq!(problem["type"], format!("{P}headers-too-large"));
    let big = "x".repeat(20_000);
    let (status, _, problem) = raw(a, Method::GET, "/api/v1/office", &[("x-big", &big)], "").await;
    assert_eq!((status, problem["type"].as_str()), (431, Some(&*format!("{P}headers-too-large"))));
    f.stop().await;
}

#[tokio::test]
async fn failed_logins_are_throttled_without_locking_a_user_out_for_long() {
    let f = offices(&[STUTTGART]).start().await;
    let a = &f.offices[0];
    let cw = Caseworker::new();
    let admin = a.as_user(&dev::dev_admin_token(STUTTGART));
    let account = json!({"name": "ida.manager", "role": "integration-manager", "password": "correct horse battery"});
    cw.expect(&admin, Method::POST, "/api/v1/accounts", Some(account), 201).await.unwrap();
    let login = |password: &'static str| {
        let body = json!({"account": "ida.manager", "password": password});
        async move { reqwest::Client::new().post(format!("{}/api/v1/login", a.api)).json(&body).send().await.unwrap() }
    };

    let (mut checked, mut throttled) = (0, 0);
    for _ in 0..150 {
        let response = login("wrong password!").await;
        match response.status().as_u16() {
            401 => checked += 1,
            429 => {
                throttled += 1;
                let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=900).contains(&retry), "{retry}");
                let problem: Value = response.json().await.unwrap();
                assert_eq!(problem["type"], format!("{P}login-throttled"));
                assert_eq!(problem["retry_after"], retry);
            }
            other => panic!("unexpected {other}"),
        }
    }
    // Five free failures, then at most a few more as the first short waits pass.
    assert!((6..=12).contains(&checked), "{checked} attempts reached the password check");
    assert_eq!(checked + throttled, 150);
    // The right password does not help while throttled: it is not even checked.
    assert_eq!(login("correct horse battery").await.status(), 429);

    // Time passes (the longest wait is a quarter of an hour): the user gets in again.
    f.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(login("correct horse battery").await.status(), 200);
    let db = a.database.clone();
    let _files = f.stop().await;

    // The moment throttling began is in the audit log, naming the account, no password.
    let rows = audited(&db, "login-throttled").await;
    assert_eq!(rows, vec![("ida.manager".to_owned(), "login-throttled".to_owned())]);
}

/// Whether the server closes `stream` (EOF or reset) before `within`; sends `trickle` bytes, one
/// a second, meanwhile.
async fn closed_within<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    trickle: &[u8],
    within: Duration,
) -> bool {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    for byte in trickle.iter().cycle() {
        if start.elapsed() > within {
            return false;
        }
        if stream.write_all(&[*byte]).await.is_err() {
            return true;
        }
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => panic!("the server answered a request head that was never finished"),
            Err(_) => {}
        }
    }
    unreachable!()
}

#[tokio::test]
async fn slow_request_heads_and_surplus_connections_are_cut_off_on_both_listeners() {
    let f = offices(&[HEIDELBERG])
        .configure(|c| {
            c.limits.request_head_timeout_secs = 2;
            c.limits.max_connections_per_source = 4;
        })
        .start()
        .await;
    let b = &f.offices[0];
    let api_addr = b.api.trim_start_matches("http://").to_owned();
    let head = b"GET /api/v1/office HTTP/1.1\r\nHost: x\r\nX-Slow: ";

    // The API: a head a byte a second is cut off after the 2 s allowed (bounded wait of 15 s).
    let mut slow = tokio::net::TcpStream::connect(&api_addr).await.unwrap();
    assert!(closed_within(&mut slow, head, Duration::from_secs(15)).await, "API kept a slow head open");

    // The federation listener, after a complete TLS handshake with a valid certificate.
    let fed_addr = b.federation.trim_start_matches("https://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&fed_addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(mtls_config(STUTTGART, &[b"http/1.1"])));
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let fed_head = b"POST /federation/v1/handovers HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    assert!(closed_within(&mut tls, fed_head, Duration::from_secs(15)).await, "federation kept a slow head open");

    // Four connections from one address are the most; the fifth is closed at once.
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(tokio::net::TcpStream::connect(&api_addr).await.unwrap());
    }
    let mut fifth = tokio::net::TcpStream::connect(&api_addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), fifth.read(&mut buf)).await.expect("closed at once");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // The four still work.
    open[0].write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), open[0].read(&mut buf)).await.unwrap().unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&buf[..n]));
    drop(open);
    f.stop().await;
}
