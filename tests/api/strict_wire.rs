//! One message, one meaning: the receiver reads JWS headers and payloads as I-JSON, takes no
//! header member but `alg`, `kid` and `typ`, and accepts only dates and instants that every JSON
//! Schema validator accepts too. Each case against a real office over mutual TLS.

use serde_json::{Value, json};

use crate::harness::*;

const P: &str = "urn:staffel:problem:";

fn header(kid: &str) -> String {
    format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"staffel.handover.v1"}}"#)
}

async fn send_raw(header: &str, payload: &[u8]) -> Answer {
    let f = offices(&[HEIDELBERG]).start().await;
    let jws = raw_jws(STUTTGART, header.as_bytes(), payload);
    let answer = post(&mtls_client(STUTTGART), &handovers_url(&f.offices[0]), jws).await.unwrap();
    f.stop().await;
    answer
}

fn valid() -> Value {
    serde_json::to_value(handover(STUTTGART, HEIDELBERG)).unwrap()
}

#[tokio::test]
async fn the_header_is_exactly_alg_kid_and_typ() {
    let kid = signer(STUTTGART).kid().to_owned();
    let payload = serde_json::to_vec(&valid()).unwrap();
    // The plain header passes: the helper signs correctly.
    assert_eq!(send_raw(&header(&kid), &payload).await.status, 202);
    let variants = [
        format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"staffel.handover.v1","crit":[]}}"#),
        format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"staffel.handover.v1","b64":false}}"#),
        format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"staffel.handover.v1","cty":"json"}}"#),
        format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"staffel.handover.v1","jwk":{{"kty":"EC"}}}}"#),
        format!(r#"["ES256","{kid}","staffel.handover.v1"]"#),
        format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#),
        r#"{"alg":"ES256","kid":"","typ":"staffel.handover.v1"}"#.to_owned(),
        format!(r#"{{"alg":"ES256","kid":"{kid}","typ":["staffel.handover.v1"]}}"#),
        format!(r#"{{"alg":"none","kid":"{kid}","typ":"staffel.handover.v1"}}"#),
    ];
    for h in variants {
        let answer = send_raw(&h, &payload).await;
        assert_eq!((answer.status, answer.problem_type()), (400, format!("{P}malformed-jws")), "{h}: {answer:?}");
    }
}

#[tokio::test]
async fn a_member_twice_in_the_header_or_the_payload_is_refused() {
    let kid = signer(STUTTGART).kid().to_owned();
    let payload = serde_json::to_vec(&valid()).unwrap();
    let twice = format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"staffel.handover.v1","typ":"staffel.handover.v1"}}"#);
    let answer = send_raw(&twice, &payload).await;
    assert_eq!((answer.status, answer.problem_type()), (400, format!("{P}not-i-json")), "{answer:?}");
    assert_eq!(answer.json()["violation"], "duplicate-member");
    assert_eq!(answer.json()["location"], "jws-header");
    assert_eq!(answer.json()["pointer"], "/typ");

    // `receiver` twice: a reader taking the first and one taking the last would disagree.
    let text = String::from_utf8(payload).unwrap();
    let doubled = text.replacen(r#""receiver":"08221000""#, r#""receiver":"08311000","receiver":"08221000""#, 1);
    assert_ne!(doubled, text);
    let answer = send_raw(&header(&kid), doubled.as_bytes()).await;
    assert_eq!((answer.status, answer.problem_type()), (400, format!("{P}not-i-json")), "{answer:?}");
    assert_eq!(answer.json()["location"], "payload");
    assert_eq!(answer.json()["pointer"], "/receiver");

    // Deep inside the case, too.
    let deep = text.replacen(r#""given_name":"Testa""#, r#""given_name":"Testa","given_name":"Other""#, 1);
    let answer = send_raw(&header(&kid), deep.as_bytes()).await;
    assert_eq!(answer.json()["pointer"], "/case/client/given_name", "{answer:?}");
}

#[tokio::test]
async fn lone_surrogates_and_numbers_beyond_a_double_are_refused() {
    let kid = signer(STUTTGART).kid().to_owned();
    let text = serde_json::to_string(&valid()).unwrap();
    let lone = text.replacen(r#""given_name":"Testa""#, r#""given_name":"Te\ud800sta""#, 1);
    let answer = send_raw(&header(&kid), lone.as_bytes()).await;
    assert_eq!((answer.status, answer.problem_type()), (400, format!("{P}not-i-json")), "{answer:?}");
    assert_eq!(answer.json()["violation"], "invalid-string");

    let huge = text.replacen(r#""months":3"#, r#""months":1e400"#, 1);
    assert_ne!(huge, text);
    let answer = send_raw(&header(&kid), huge.as_bytes()).await;
    assert_eq!(answer.json()["violation"], "number-out-of-range", "{answer:?}");
    assert_eq!(answer.json()["pointer"], "/case/window/extensions/0/months");

    // 3.0 is the number 3 to every JSON reader, and so to Staffel.
    let float = text.replacen(r#""months":3"#, r#""months":3.0"#, 1);
    assert_eq!(send_raw(&header(&kid), float.as_bytes()).await.status, 202);
}

#[tokio::test]
async fn dates_and_instants_are_those_every_validator_accepts() {
    let cases: [(&str, Value, &str); 4] = [
        ("/case/client/date_of_birth", json!("0000-01-01"), "pattern"),
        ("/case/plan/history/0/at", json!("2016-12-31T23:59:60Z"), "pattern"),
        ("/case/plan/history/0/at", json!("2026-11-25t09:30:00z"), "pattern"),
        ("/case/consent/witnessed_by", json!(" im-test"), "pattern"),
    ];
    for (pointer, value, keyword) in cases {
        let mut payload = valid();
        *payload.pointer_mut(pointer).unwrap() = value.clone();
        let f = offices(&[HEIDELBERG]).start().await;
        let answer = deliver_value(&payload, &f.offices[0]).await;
        f.stop().await;
        assert_eq!(answer.problem_type(), format!("{P}schema-violation"), "{value}: {answer:?}");
        let v = &answer.json()["violations"];
        assert!(
            v.as_array().unwrap().iter().any(|x| x["pointer"] == pointer && x["keyword"] == keyword),
            "{value}: {v}"
        );
    }
    // Read before the schema: an issued_at in the year 0 is refused as such.
    let mut payload = valid();
    payload["issued_at"] = json!("0000-11-25T09:30:00Z");
    let f = offices(&[HEIDELBERG]).start().await;
    let answer = deliver_value(&payload, &f.offices[0]).await;
    f.stop().await;
    assert_eq!(answer.json()["violations"], json!([{"pointer": "/issued_at", "keyword": "format"}]), "{answer:?}");
}
