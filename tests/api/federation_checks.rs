//! The receiving office's checks, each against a real server over mutual TLS: every rejection
//! has its documented problem type, and nothing rejected is stored.

use crate::harness::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use staffel::dev_pki as dev;
use staffel::federation::protocol::sha256_hex;

const P: &str = "urn:staffel:problem:";

/// Sends `payload` signed by `signer_office` over Stuttgart's TLS identity to Heidelberg and
/// returns the answer. Asserts afterwards that a refused message left no trace.
async fn send_from_stuttgart(payload: &Value, signer_office: &str) -> Answer {
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let heidelberg = &offices[0];
    let jws = sign_value(&signer(signer_office), payload);
    let answer = post(&mtls_client(STUTTGART), &handovers_url(heidelberg), jws).await.unwrap();
    let db = heidelberg.database.clone();
    stop_all(offices).await;
    if answer.status != 202 {
        assert_eq!(stored_incoming(&db).await, 0, "a refused message was stored");
    }
    answer
}

fn valid() -> Value {
    serde_json::to_value(handover(STUTTGART, HEIDELBERG)).unwrap()
}

#[tokio::test]
async fn a_valid_handover_gets_a_signed_receipt_for_the_exact_bytes() {
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let h = &offices[0];
    let payload = valid();
    let jws = sign_value(&signer(STUTTGART), &payload);
    let answer = post(&mtls_client(STUTTGART), &handovers_url(h), jws.clone()).await.unwrap();
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(answer.content_type, "application/jose");
    let directory = staffel::federation::Directory::load(&dev::directory_path(&certs())).unwrap();
    let verified = staffel::federation::jws::verify(&answer.body, &directory, "staffel.receipt.v1").unwrap();
    assert_eq!(verified.signer.as_str(), HEIDELBERG);
    let receipt: Value = serde_json::from_slice(&verified.payload).unwrap();
    assert_eq!(receipt["type"], "staffel.receipt.v1");
    assert_eq!(receipt["receipt_for"], payload["message_id"]);
    assert_eq!(receipt["sha256"], sha256_hex(jws.as_bytes()));
    assert_eq!(receipt["receiver"], STUTTGART);
    // One precision for every instant Staffel writes: milliseconds.
    assert_millis(&receipt["received_at"]);

    // The same bytes again: the same receipt. The same id with other bytes: a conflict.
    let again = post(&mtls_client(STUTTGART), &handovers_url(h), jws.clone()).await.unwrap();
    assert_eq!((again.status, &again.body), (202, &answer.body));
    let mut changed = payload.clone();
    changed["expires_at"] = ts(t0() + chrono::Duration::days(2));
    let other =
        post(&mtls_client(STUTTGART), &handovers_url(h), sign_value(&signer(STUTTGART), &changed)).await.unwrap();
    assert_eq!(other.status, 409);
    assert_eq!(other.problem_type(), format!("{P}duplicate-conflict"));
    let db = h.database.clone();
    stop_all(offices).await;

    // Acknowledged means committed: after the server is gone the message is in the file.
    let id = uuid::Uuid::parse_str(payload["message_id"].as_str().unwrap()).unwrap();
    let stored = stored_inbox(&db, id).await.expect("acknowledged message is stored");
    assert_eq!(stored.jws, jws);
    assert_eq!(stored.receipt, answer.body);
    assert_eq!(stored_incoming(&db).await, 1);
    // Receiving is audited once, as the sending office's doing; the replay added nothing.
    let received = audited(&db, "write:handover-received").await;
    assert_eq!(received, [("office:08111000".to_owned(), "write:handover-received".to_owned())]);
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let jws = sign_value(&signer(STUTTGART), &valid());
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["case"]["window"]["extensions"] = json!([]);
    payload["case"]["window"]["last_day"] = payload["case"]["window"]["first_session"].clone();
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    let answer = post(&mtls_client(STUTTGART), &handovers_url(&offices[0]), parts.join(".")).await.unwrap();
    assert_eq!(answer.status, 401);
    assert_eq!(answer.problem_type(), format!("{P}signature-invalid"));
    stop_all(offices).await;
}

#[tokio::test]
async fn unknown_kid_is_refused() {
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let (private, _) = dev::signing_key(office(STUTTGART)).unwrap();
    let stranger = staffel::federation::Signer::from_jwk(office(STUTTGART), &private).unwrap();
    let answer =
        post(&mtls_client(STUTTGART), &handovers_url(&offices[0]), sign_value(&stranger, &valid())).await.unwrap();
    assert_eq!(answer.status, 401);
    assert_eq!(answer.problem_type(), format!("{P}unknown-key"));
    stop_all(offices).await;
}

#[tokio::test]
async fn key_of_another_office_under_our_kid_does_not_verify() {
    let mut freiburg_key = staffel::pki::load_jwk(&dev::office_paths(&certs(), FREIBURG).signing_key).unwrap();
    freiburg_key.set_key_id(signer(STUTTGART).kid());
    let forged = staffel::federation::Signer::from_jwk(office(STUTTGART), &freiburg_key).unwrap();
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let answer =
        post(&mtls_client(STUTTGART), &handovers_url(&offices[0]), sign_value(&forged, &valid())).await.unwrap();
    assert_eq!(answer.status, 401);
    assert_eq!(answer.problem_type(), format!("{P}signature-invalid"));
    stop_all(offices).await;
}

#[tokio::test]
async fn signature_of_another_office_than_the_tls_peer_is_refused() {
    // Freiburg's genuine signature, sent over Stuttgart's TLS identity.
    let answer = send_from_stuttgart(&valid(), FREIBURG).await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.problem_type(), format!("{P}signer-not-peer"));
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let payload = serde_json::to_value(handover(STUTTGART, FREIBURG)).unwrap();
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 421);
    assert_eq!(answer.problem_type(), format!("{P}wrong-audience"));
}

#[tokio::test]
async fn expired_message_is_refused() {
    let mut payload = valid();
    payload["issued_at"] = ts(t0() - chrono::Duration::days(8));
    payload["expires_at"] = ts(t0() - chrono::Duration::seconds(1));
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.problem_type(), format!("{P}message-expired"));
}

#[tokio::test]
async fn message_valid_for_too_long_is_refused() {
    let mut payload = valid();
    payload["expires_at"] = ts(t0() + chrono::Duration::days(31));
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.problem_type(), format!("{P}lifetime-too-long"));
}

#[tokio::test]
async fn history_of_a_goal_not_sent_is_refused() {
    let mut payload = valid();
    payload["case"]["plan"]["history"][1]["goal_id"] = json!(uuid::Uuid::new_v4());
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.problem_type(), format!("{P}consent-missing"));
}

#[tokio::test]
async fn blank_or_control_characters_in_text_are_named() {
    // Blank only (the schema's `not`), or with a control character (its `pattern`).
    for (bad, keyword) in
        [("\u{00a0}", "not"), ("\u{feff}", "not"), ("Te\u{0007}sta", "pattern"), ("\u{0085}", "pattern")]
    {
        let mut payload = valid();
        payload["case"]["client"]["given_name"] = json!(bad);
        let answer = send_from_stuttgart(&payload, STUTTGART).await;
        assert_eq!(answer.problem_type(), format!("{P}schema-violation"));
        let violation = &answer.json()["violations"][0];
        assert_eq!(violation["pointer"], "/case/client/given_name", "{answer:?}");
        assert_eq!(violation["keyword"], keyword, "{answer:?}");
    }
}

#[tokio::test]
async fn message_issued_in_the_future_is_refused() {
    let mut payload = valid();
    payload["issued_at"] = ts(t0() + chrono::Duration::hours(1));
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.problem_type(), format!("{P}not-yet-valid"));
}

#[tokio::test]
async fn schema_violation_is_refused_without_echoing_values() {
    let mut payload = valid();
    payload["case"]["plan"]["goals"][0]["area"] = json!("secret-area-value");
    payload["case"]["client"]["nickname"] = json!("Tes");
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.problem_type(), format!("{P}schema-violation"));
    let pointers: Vec<String> = answer.json()["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["pointer"].as_str().unwrap().to_owned())
        .collect();
    assert!(pointers.contains(&"/case/plan/goals/0/area".to_owned()), "{pointers:?}");
    assert!(pointers.contains(&"/case/client".to_owned()), "{pointers:?}");
    assert!(!answer.body.contains("secret-area-value"));
}

#[tokio::test]
async fn first_session_in_the_future_is_refused() {
    let mut payload = valid();
    let tomorrow = today() + chrono::Duration::days(1);
    let last_day = staffel::domain::calendar::add_months(tomorrow, 36 + 3);
    payload["case"]["window"]["first_session"] = json!(tomorrow);
    payload["case"]["window"]["last_day"] = json!(last_day);
    payload["case"]["window"]["extensions"][0]["decided_on"] = json!(tomorrow);
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.problem_type(), format!("{P}first-session-in-future"));
}

#[tokio::test]
async fn a_minor_at_the_first_session_is_refused() {
    let mut payload = valid();
    let first: chrono::NaiveDate = serde_json::from_value(payload["case"]["window"]["first_session"].clone()).unwrap();
    payload["case"]["client"]["date_of_birth"] = json!(first - chrono::Months::new(17 * 12));
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.problem_type(), format!("{P}not-adult"));
}

#[tokio::test]
async fn inconsistent_last_day_is_refused() {
    let mut payload = valid();
    // The regular last day, as if the 3-month extension had not been granted: a reset clock.
    let first: chrono::NaiveDate = serde_json::from_value(payload["case"]["window"]["first_session"].clone()).unwrap();
    payload["case"]["window"]["last_day"] = json!(staffel::domain::calendar::add_months(first, 36));
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.problem_type(), format!("{P}last-day-inconsistent"));
}

#[tokio::test]
async fn data_beyond_the_consent_is_refused() {
    let mut payload = valid();
    payload["case"]["consent"]["categories"] = json!(["identity", "window", "plan:language"]);
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.problem_type(), format!("{P}consent-missing"));
    assert!(answer.json()["detail"].as_str().unwrap().contains("plan:work"));
}

#[tokio::test]
async fn consent_for_another_recipient_is_refused() {
    let mut payload = valid();
    payload["case"]["consent"]["recipient"] = json!(FREIBURG);
    let answer = send_from_stuttgart(&payload, STUTTGART).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.problem_type(), format!("{P}consent-missing"));
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_refused() {
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let client = mtls_client(STUTTGART);
    let big = post(&client, &handovers_url(&offices[0]), vec![b'a'; 600 * 1024]).await.unwrap();
    assert_eq!(big.status, 413);
    assert_eq!(big.problem_type(), format!("{P}payload-too-large"));
    let junk = post(&client, &handovers_url(&offices[0]), "not a jws").await.unwrap();
    assert_eq!(junk.status, 400);
    assert_eq!(junk.problem_type(), format!("{P}malformed-jws"));
    stop_all(offices).await;
}

#[tokio::test]
async fn no_client_certificate_never_reaches_a_handler() {
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let result =
        post(&mtls_client_with(None), &handovers_url(&offices[0]), sign_value(&signer(STUTTGART), &valid())).await;
    assert!(result.is_err(), "a request without a client certificate was answered: {result:?}");
    // Even the key endpoint, which needs no body, is out of reach.
    let keys = mtls_client_with(None).get(format!("{}/federation/v1/keys", offices[0].federation)).send().await;
    assert!(keys.is_err());
    let db = offices[0].database.clone();
    stop_all(offices).await;
    assert_eq!(stored_incoming(&db).await, 0);
}

#[tokio::test]
async fn certificate_from_a_foreign_ca_is_refused() {
    let ca = dev::DevCa::generate("Some other CA").unwrap();
    let (cert, key) = ca.office_tls(office(STUTTGART), "Stuttgart").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let client = mtls_client_with(Some((cert_path, key_path)));
    let result = post(&client, &handovers_url(&offices[0]), sign_value(&signer(STUTTGART), &valid())).await;
    assert!(result.is_err(), "a certificate from a foreign CA was accepted: {result:?}");
    stop_all(offices).await;
}

#[tokio::test]
async fn a_decision_for_no_known_handover_is_refused() {
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let now = t0();
    let decision = json!({
        "type": "staffel.decision.v1",
        "message_id": uuid::Uuid::new_v4(),
        "sender": STUTTGART,
        "receiver": HEIDELBERG,
        "issued_at": ts(now),
        "expires_at": ts(now + chrono::Duration::days(1)),
        "handover_id": uuid::Uuid::new_v4(),
        "decision": "accepted",
        "decided_at": ts(now),
    });
    let jws = signer(STUTTGART).sign(&serde_json::to_vec(&decision).unwrap(), "staffel.decision.v1");
    let answer = post(&mtls_client(STUTTGART), &decisions_url(&offices[0]), jws).await.unwrap();
    assert_eq!(answer.status, 409, "{answer:?}");
    assert_eq!(answer.problem_type(), format!("{P}unknown-handover"));
    // A handover posted to the decisions endpoint: its JWS typ says what it is.
    let wrong = post(&mtls_client(STUTTGART), &decisions_url(&offices[0]), sign_value(&signer(STUTTGART), &valid()))
        .await
        .unwrap();
    assert_eq!(wrong.problem_type(), format!("{P}malformed-jws"));
    // A handover typed as a decision reaches the schema, which refuses it.
    let typed = signer(STUTTGART).sign(&serde_json::to_vec(&valid()).unwrap(), "staffel.decision.v1");
    let wrong = post(&mtls_client(STUTTGART), &decisions_url(&offices[0]), typed).await.unwrap();
    assert_eq!(wrong.problem_type(), format!("{P}schema-violation"));
    stop_all(offices).await;
}
