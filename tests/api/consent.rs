//! The client's consent and its ledger, with real offices: the consent page and its one-time
//! link, the receipt and its withdrawal code, the withdrawal following the data to the office
//! that received it (before and after acceptance, across two and three offices), the tamper
//! test of the ledger, heads held by another office, expiry, export and erasure.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use staffel::demo::{Caseworker, DemoOffice};

use crate::harness::*;

/// Opens a consent page at `at` for client `client` and `to`; returns its path.
pub async fn open_page(
    cw: &Caseworker,
    at: &DemoOffice,
    client: &str,
    to: &str,
    categories: Value,
    lang: &str,
) -> String {
    let body = json!({"recipient": to, "categories": categories, "language": lang});
    let link =
        cw.expect(at, Method::POST, &format!("/api/v1/clients/{client}/consent-pages"), Some(body), 201).await.unwrap();
    link["url"].as_str().unwrap().to_owned()
}

/// The client confirms the page at `url` (with `health` ticked or not): the receipt page.
pub async fn confirm(cw: &Caseworker, at: &DemoOffice, url: &str, health: bool) -> String {
    let mut form = vec![("agree", "yes")];
    if health {
        form.push(("health", "yes"));
    }
    let (status, receipt) = cw.page(at, url, Some(&form)).await.unwrap();
    assert_eq!(status, 200, "{receipt}");
    receipt
}

/// The withdrawal code printed on a receipt page.
pub fn withdrawal_code(receipt: &str) -> String {
    let at = receipt.find("class=\"code\"").expect("the receipt shows a code");
    let text = &receipt[at..];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.len() == 19 && w.matches('-').count() == 3)
        .expect("a code of four groups of four")
        .to_owned()
}

/// The client's consents at `at`, oldest first.
pub async fn consents(cw: &Caseworker, at: &DemoOffice, client: &str) -> Vec<Value> {
    let list = cw.expect(at, Method::GET, &format!("/api/v1/clients/{client}/consents"), None, 200).await.unwrap();
    list["items"].as_array().unwrap().clone()
}

/// Drafts and approves a handover on `consent`; returns its id once delivered.
pub async fn hand_over(cw: &Caseworker, from: &DemoOffice, to: &DemoOffice, client: &str, consent: &str) -> String {
    let body = json!({"client_id": client, "receiver": to.id, "consent_id": consent});
    let draft = cw.expect(from, Method::POST, "/api/v1/handovers", Some(body), 201).await.unwrap();
    let id = draft["id"].as_str().unwrap().to_owned();
    cw.expect(from, Method::POST, &format!("/api/v1/handovers/{id}/approve"), None, 202).await.unwrap();
    cw.wait_for(from, &format!("/api/v1/handovers/{id}"), "state", "delivered", Duration::from_secs(20)).await.unwrap();
    id
}

/// The ledger of an office as its verification sees it.
pub async fn verify(cw: &Caseworker, at: &DemoOffice, peers: bool) -> Value {
    let lead = at.as_user(&staffel::dev_pki::dev_lead_token(&at.id));
    let path = if peers { "/api/v1/ledger/verify?peers=true" } else { "/api/v1/ledger/verify" };
    cw.expect(&lead, Method::GET, path, None, 200).await.unwrap()
}

#[tokio::test]
async fn the_client_consents_on_the_page_and_withdraws_with_the_receipt_code() {
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let url = open_page(&cw, a, cid, &b.id, json!(["identity", "window", "plan:language", "health"]), "de").await;

    // The page: what goes where, health asked separately; unticked, nothing is given.
    let (status, page) = cw.page(a, &url, None).await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("name=\"agree\"") && page.contains("name=\"health\""));
    let (status, again) = cw.page(a, &url, Some(&[("health", "yes")])).await.unwrap();
    assert_eq!(status, 422);
    assert!(again.contains("class=\"error\""));
    assert!(consents(&cw, a, cid).await.is_empty());

    // Consent without health data; the link is used up.
    let receipt = confirm(&cw, a, &url, false).await;
    assert!(receipt.contains("Gesundheit"), "the receipt says health data is not sent");
    let (status, _) = cw.page(a, &url, None).await.unwrap();
    assert_eq!(status, 410);
    let (status, _) = cw.page(a, &url, Some(&[("agree", "yes")])).await.unwrap();
    assert_eq!(status, 410);
    let given = consents(&cw, a, cid).await;
    assert_eq!(given.len(), 1);
    assert_eq!(given[0]["categories"], json!(["identity", "window", "plan:language"]));
    assert_eq!(given[0]["method"], json!({"kind": "on-screen"}));
    assert_eq!(given[0]["witnessed_by"], "im-08111000");

    // The code withdraws, once; a wrong code is refused without effect.
    let code = withdrawal_code(&receipt);
    let (status, _) = cw.page(a, "/consent/withdraw", Some(&[("code", "0000-0000-0000-0000")])).await.unwrap();
    assert_eq!(status, 422);
    let typed = code.to_lowercase().replace('-', " ");
    let (status, done) = cw.page(a, "/consent/withdraw", Some(&[("code", &typed), ("lang", "de")])).await.unwrap();
    assert_eq!(status, 200);
    assert!(done.contains("class=\"done\""), "{done}");
    let (status, already) = cw.page(a, "/consent/withdraw", Some(&[("code", &code)])).await.unwrap();
    assert_eq!(status, 200);
    assert!(already.contains("schon widerrufen"));
    let ended = &consents(&cw, a, cid).await[0];
    assert_eq!(ended["ended"], json!({"kind": "withdrawn", "via": "withdrawal-code"}));

    // The ledger: given, then withdrawn; it verifies.
    let v = verify(&cw, a, false).await;
    assert_eq!((v["ok"].as_bool(), v["verified"].as_u64()), (Some(true), Some(2)));
    fed.stop().await;
}

#[tokio::test]
async fn a_consent_link_expires() {
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let url = open_page(&cw, a, cid, &b.id, json!(["identity", "window"]), "en").await;
    fed.clock.advance(chrono::Duration::minutes(31));
    let (status, page) = cw.page(a, &url, Some(&[("agree", "yes")])).await.unwrap();
    assert_eq!(status, 410);
    assert!(page.contains("dir=\"rtl\""), "the page speaks every language, Arabic right to left");
    assert!(consents(&cw, a, cid).await.is_empty());
    fed.stop().await;
}

#[tokio::test]
async fn withdrawn_before_acceptance_the_handover_cannot_be_accepted() {
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let url = open_page(&cw, a, cid, &b.id, json!(["identity", "window", "plan:language"]), "de").await;
    let receipt = confirm(&cw, a, &url, false).await;
    let consent = consents(&cw, a, cid).await[0]["id"].as_str().unwrap().to_owned();
    let h = hand_over(&cw, a, b, cid, &consent).await;

    let (status, _) = cw.page(a, "/consent/withdraw", Some(&[("code", &withdrawal_code(&receipt))])).await.unwrap();
    assert_eq!(status, 200);
    let sent = cw.expect(a, Method::GET, &format!("/api/v1/handovers/{h}"), None, 200).await.unwrap();
    assert_eq!(sent["state"], "withdrawn");
    cw.wait_for(b, &format!("/api/v1/incoming-handovers/{h}"), "state", "withdrawn", Duration::from_secs(20))
        .await
        .unwrap();
    let (status, problem) =
        cw.call(b, Method::POST, &format!("/api/v1/incoming-handovers/{h}/accept"), None).await.unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (409, "urn:staffel:problem:invalid-state"));

    // Both ledgers: Stuttgart given + withdrawn; Heidelberg basis received + withdrawal received,
    // and what Heidelberg holds of Stuttgart's ledger agrees with it.
    // (Freiburg, in the directory but not running, cannot be asked: `ok` is false for that.)
    let va = verify(&cw, a, true).await;
    assert_eq!((va["first_mismatch"].is_null(), va["verified"].as_u64()), (true, Some(2)), "{va}");
    let peers = va["peers"].as_array().unwrap();
    let held = peers.iter().find(|p| p["office"] == HEIDELBERG).unwrap();
    assert_eq!((held["heads"].as_u64(), held["mismatch"].is_null()), (Some(2), true), "handover and withdrawal: {va}");
    let unreachable = peers.iter().find(|p| p["office"] == FREIBURG).unwrap();
    assert!(unreachable["error"].is_string() && va["ok"] == false, "{va}");
    let vb = verify(&cw, b, false).await;
    assert_eq!((vb["ok"].as_bool(), vb["verified"].as_u64()), (Some(true), Some(2)), "{vb}");
    fed.stop().await;
}

#[tokio::test]
async fn withdrawn_after_acceptance_the_record_is_restricted_until_the_client_consents_there() {
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let at_b = move_client(&cw, a, b, cid).await;
    let bid = at_b["id"].as_str().unwrap();
    assert!(at_b["restricted"].is_null());

    // The client tells Stuttgart; Stuttgart records it; Heidelberg, told, restricts the record.
    let consent = consents(&cw, a, cid).await[0]["id"].as_str().unwrap().to_owned();
    let withdraw = format!("/api/v1/clients/{cid}/consents/{consent}/withdraw");
    cw.expect(a, Method::POST, &withdraw, None, 200).await.unwrap();
    let record = format!("/api/v1/clients/{bid}");
    let restricted = eventually("the record restricted at Heidelberg", || async {
        let r = cw.expect(b, Method::GET, &record, None, 200).await.unwrap();
        (!r["restricted"].is_null()).then_some(r)
    })
    .await;
    assert_eq!(restricted["restricted"]["consent_id"], consent.as_str());
    assert_eq!(restricted["restricted"]["from"], STUTTGART);
    let session = json!({"date": today(), "note": "Kept, not changed"});
    let (status, problem) =
        cw.call(b, Method::POST, &format!("/api/v1/clients/{bid}/sessions"), Some(session.clone())).await.unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (409, "urn:staffel:problem:client-restricted"));
    // Still there for the client's rights.
    let export = cw.expect(b, Method::GET, &format!("/api/v1/clients/{bid}/export"), None, 200).await.unwrap();
    assert!(export["ledger"].as_array().unwrap().iter().any(|e| e["entry"]["kind"] == "withdrawal-received"));

    // The client consents at Heidelberg to counselling going on there: the restriction ends.
    let url = open_page(&cw, b, bid, &b.id, json!(["identity", "window", "plan:language"]), "uk").await;
    confirm(&cw, b, &url, false).await;
    let lifted = cw.expect(b, Method::GET, &format!("/api/v1/clients/{bid}"), None, 200).await.unwrap();
    assert!(lifted["restricted"].is_null(), "{lifted}");
    cw.expect(b, Method::POST, &format!("/api/v1/clients/{bid}/sessions"), Some(session), 201).await.unwrap();

    // That consent ends too (the client withdraws it at Heidelberg): restricted again.
    let own = consents(&cw, b, bid).await.last().unwrap()["id"].as_str().unwrap().to_owned();
    cw.expect(b, Method::POST, &format!("/api/v1/clients/{bid}/consents/{own}/withdraw"), None, 200).await.unwrap();
    let again = cw.expect(b, Method::GET, &format!("/api/v1/clients/{bid}"), None, 200).await.unwrap();
    assert_eq!(
        (again["restricted"]["consent_id"].as_str(), again["restricted"]["from"].as_str()),
        (Some(own.as_str()), Some(HEIDELBERG))
    );
    fed.stop().await;
}

#[tokio::test]
async fn across_three_offices_a_withdrawal_reaches_exactly_the_office_that_received_the_data() {
    let fed = offices(&[STUTTGART, HEIDELBERG, FREIBURG]).start().await;
    let (a, b, c) = (&fed.offices[0], &fed.offices[1], &fed.offices[2]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    // Stuttgart → Heidelberg on consent 1 (given on the page), Heidelberg → Mannheim on consent 2.
    let url = open_page(&cw, a, cid, &b.id, json!(["identity", "window", "plan:language"]), "de").await;
    let receipt = confirm(&cw, a, &url, false).await;
    let consent1 = consents(&cw, a, cid).await[0]["id"].as_str().unwrap().to_owned();
    let h1 = hand_over(&cw, a, b, cid, &consent1).await;
    let at_b = cw.expect(b, Method::POST, &format!("/api/v1/incoming-handovers/{h1}/accept"), None, 200).await.unwrap();
    let bid = at_b["id"].as_str().unwrap().to_owned();
    cw.wait_for(a, &format!("/api/v1/handovers/{h1}"), "state", "accepted", Duration::from_secs(20)).await.unwrap();
    let at_c = move_client(&cw, b, c, &bid).await;
    let cid_c = at_c["id"].as_str().unwrap().to_owned();
    let consent2 = consents(&cw, b, &bid).await[0]["id"].as_str().unwrap().to_owned();

    // The client withdraws consent 1 with the code of Stuttgart's receipt: Heidelberg, which
    // received data under it, is told; Mannheim received nothing under it and hears nothing.
    let (status, _) = cw.page(a, "/consent/withdraw", Some(&[("code", &withdrawal_code(&receipt))])).await.unwrap();
    assert_eq!(status, 200);
    let export_b = wait_for_ledger(&cw, b, &bid, "withdrawal-received").await;
    assert!(export_b["ledger"].as_array().unwrap().iter().any(|e| e["entry"]["consent_id"] == consent1.as_str()));
    let moved_out = cw.expect(b, Method::GET, &format!("/api/v1/clients/{bid}"), None, 200).await.unwrap();
    assert!(moved_out["restricted"].is_null(), "a record that moved on is not Heidelberg's to restrict");

    // The client withdraws consent 2 at Mannheim (where the data went): recorded there,
    // Mannheim's record restricted, Heidelberg told; Stuttgart hears nothing.
    let incoming = cw.expect(c, Method::GET, "/api/v1/incoming-handovers", None, 200).await.unwrap();
    let h2 = incoming["items"][0]["id"].as_str().unwrap().to_owned();
    cw.expect(c, Method::POST, &format!("/api/v1/incoming-handovers/{h2}/withdraw-consent"), None, 202).await.unwrap();
    let restricted = cw.expect(c, Method::GET, &format!("/api/v1/clients/{cid_c}"), None, 200).await.unwrap();
    assert_eq!(restricted["restricted"]["consent_id"], consent2.as_str());
    let consent2_path = format!("/api/v1/clients/{bid}/consents/{consent2}");
    let c2 = eventually("consent 2 withdrawn at Heidelberg", || async {
        let c2 = cw.expect(b, Method::GET, &consent2_path, None, 200).await.unwrap();
        (c2["ended"]["via"] == "other-office").then_some(c2)
    })
    .await;
    assert_eq!(c2["ended"]["office"], FREIBURG);

    // The ledgers agree: Stuttgart given + withdrawn (code), nothing about consent 2; every
    // chain verifies, and so do the heads each office holds of the others'.
    let va = verify(&cw, a, true).await;
    assert_eq!((va["ok"].as_bool(), va["verified"].as_u64()), (Some(true), Some(2)), "{va}");
    let vb = verify(&cw, b, true).await;
    assert_eq!(vb["ok"], true, "{vb}");
    let vc = verify(&cw, c, true).await;
    assert_eq!(vc["ok"], true, "{vc}");
    fed.stop().await;
}

/// Polls the export of `client` at `at` until its ledger has an entry of `kind`.
async fn wait_for_ledger(cw: &Caseworker, at: &DemoOffice, client: &str, kind: &str) -> Value {
    let path = format!("/api/v1/clients/{client}/export");
    eventually(&format!("a {kind} entry"), || async {
        let export = cw.expect(at, Method::GET, &path, None, 200).await.unwrap();
        export["ledger"].as_array().unwrap().iter().any(|e| e["entry"]["kind"] == kind).then_some(export)
    })
    .await
}
