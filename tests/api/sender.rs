//! The releasing office's side: it talks only to the office it means, and a withdrawn consent
//! stops what has not been delivered.

use std::sync::Arc;
use std::time::Duration;

use crate::harness::*;
use reqwest::Method;
use serde_json::json;
use staffel::demo::Caseworker;
use staffel::dev_pki as dev;
use staffel::federation::directory::DirectoryFile;
use staffel::federation::outbound::OutboundError;
use staffel::federation::protocol::MessageKind;
use staffel::federation::tls::ClientIdentity;
use staffel::federation::{Directory, FederationClient};
use staffel::pki;

#[tokio::test]
async fn nothing_is_sent_to_a_server_that_is_not_the_intended_office() {
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    // A directory in which Freiburg's address leads to Heidelberg's server (a wrong entry, or a
    // redirected address): the handshake must fail before a byte of the handover is sent.
    let mut file: DirectoryFile =
        serde_json::from_slice(&std::fs::read(dev::directory_path(&certs())).unwrap()).unwrap();
    for e in &mut file.offices {
        if e.id.as_str() == FREIBURG {
            e.federation_url = offices[0].federation.clone();
        }
    }
    let directory = Arc::new(Directory::from_file(file).unwrap());
    let paths = dev::office_paths(&certs(), STUTTGART);
    let identity = ClientIdentity {
        ca: pki::load_certs(&dev::ca_path(&certs())).unwrap(),
        chain: pki::load_certs(&paths.tls_cert).unwrap(),
        key: pki::load_key(&paths.tls_key).unwrap(),
    };
    let client = FederationClient::new(identity, directory, office(STUTTGART), Duration::from_secs(5));
    let message = handover(STUTTGART, FREIBURG);
    let jws = sign_value(&signer(STUTTGART), &serde_json::to_value(&message).unwrap());
    let result = client.send(office(FREIBURG), MessageKind::Handover, message.message_id, &jws).await;
    assert!(matches!(result, Err(OutboundError::Transport(_))), "{result:?}");

    let db = offices[0].database.clone();
    stop_all(offices).await;
    assert!(stored_inbox(&db, message.message_id).await.is_none());
}

#[tokio::test]
async fn withdrawing_consent_cancels_a_handover_not_yet_delivered() {
    // Heidelberg is not running: the approved handover waits in the outbox, retrying.
    let (_work, offices) = spawn_offices(&[STUTTGART]).await;
    let a = &offices[0];
    let cw = Caseworker::new();
    let client = cw
        .expect(a, Method::POST, "/api/v1/clients", Some(json!({"given_name": "Testa", "family_name": "Beispiel", "date_of_birth": "1990-01-01", "first_session": today(), "target_group": "displaced-from-ukraine", "benefits": "asylblg"})), 201)
        .await
        .unwrap();
    let cid = client["id"].as_str().unwrap();
    let consent = cw
        .expect(
            a,
            Method::POST,
            &format!("/api/v1/clients/{cid}/consents"),
            Some(json!({"recipient": HEIDELBERG, "categories": ["identity", "window"], "language": "de", "signed_on": crate::harness::today()})),
            201,
        )
        .await
        .unwrap();
    let draft = cw
        .expect(
            a,
            Method::POST,
            "/api/v1/handovers",
            Some(json!({"client_id": cid, "receiver": HEIDELBERG, "consent_id": consent["id"]})),
            201,
        )
        .await
        .unwrap();
    let path = format!("/api/v1/handovers/{}", draft["id"].as_str().unwrap());
    cw.expect(a, Method::POST, &format!("{path}/approve"), None, 202).await.unwrap();
    // Wait for a failed attempt, so the message is really queued for a retry.
    let start = std::time::Instant::now();
    loop {
        let h = cw.expect(a, Method::GET, &path, None, 200).await.unwrap();
        assert_eq!(h["state"], "approved");
        if h["delivery"]["attempts"].as_u64() >= Some(1) {
            assert!(h["delivery"]["last_error"].is_string());
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no delivery attempt: {h}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    cw.expect(
        a,
        Method::POST,
        &format!("/api/v1/clients/{cid}/consents/{}/withdraw", consent["id"].as_str().unwrap()),
        None,
        200,
    )
    .await
    .unwrap();
    let h = cw.expect(a, Method::GET, &path, None, 200).await.unwrap();
    assert_eq!(h["state"], "cancelled");
    assert_eq!(h["delivery"]["last_error"], "cancelled: consent withdrawn");
    assert!(h["delivery"]["failed_at"].is_string());
    assert!(h["delivery"]["next_attempt_at"].is_null());
    stop_all(offices).await;
}
