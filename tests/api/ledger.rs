//! The consent ledger under attack and over time, with real offices and real database files:
//! the database refuses to change it; a row changed behind its back is named by `staffel ledger
//! verify` and by the API; a ledger rewritten consistently is caught by the head another office
//! holds; an expired consent is recorded and stops the handover; erasure keeps the chain.

use reqwest::Method;
use serde_json::{Value, json};
use staffel::demo::{Caseworker, DemoOffice};
use staffel::domain::ledger::{EntryKind, LedgerEntry, LedgerHead};
use staffel::service::rights::Erased;

use crate::consent::{confirm, consents, open_page, verify};
use crate::harness::*;

/// Runs SQL statements on an office's database (SQLite file or PostgreSQL), as someone with
/// access to the database would; returns the first error, if any.
async fn sql(db: &str, statements: &[&str]) -> Result<(), String> {
    if db.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&pool).await.map_err(|e| e.to_string())?;
        }
    } else {
        let pool = sqlx::PgPool::connect(db).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&pool).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// What an attacker runs first to change the ledger: the database's guard off.
fn guard_off(db: &str) -> Vec<&'static str> {
    if db.starts_with("sqlite:") {
        vec!["DROP TRIGGER ledger_no_update", "DROP TRIGGER ledger_no_delete"]
    } else {
        vec!["ALTER TABLE ledger DISABLE TRIGGER ledger_append_only"]
    }
}

/// `staffel ledger verify` of Stuttgart's dev config on database `db`: (exit success, stdout).
fn verify_command(db: &str, peers: bool) -> (bool, String) {
    let config = staffel::dev_pki::office_paths(&certs(), STUTTGART).config;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_staffel"));
    cmd.args(["ledger", "verify", "--config"]).arg(&config).env("STAFFEL_DATABASE_URL", db);
    if peers {
        cmd.arg("--peers");
    }
    let out = cmd.output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

/// A client at `a` with three consents to `to` recorded from paper forms, one withdrawn: four
/// ledger entries.
async fn four_entries(cw: &Caseworker, a: &DemoOffice, to: &str) -> String {
    let client = start_client(cw, a).await;
    let cid = client["id"].as_str().unwrap().to_owned();
    let mut last = String::new();
    for categories in [
        json!(["identity", "window"]),
        json!(["identity", "window", "plan:language"]),
        json!(["identity", "window", "plan:work"]),
    ] {
        let body = json!({"recipient": to, "categories": categories, "language": "de", "signed_on": today()});
        let c = cw.expect(a, Method::POST, &format!("/api/v1/clients/{cid}/consents"), Some(body), 201).await.unwrap();
        last = c["id"].as_str().unwrap().to_owned();
    }
    cw.expect(a, Method::POST, &format!("/api/v1/clients/{cid}/consents/{last}/withdraw"), None, 200).await.unwrap();
    cid
}

#[tokio::test]
async fn a_row_changed_in_the_database_is_named_by_verify() {
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    four_entries(&cw, a, &b.id).await;
    let v = verify(&cw, a, false).await;
    assert_eq!((v["ok"].as_bool(), v["verified"].as_u64()), (Some(true), Some(4)), "{v}");

    // The database itself refuses to change or remove an entry.
    let db = a.database.clone();
    assert!(sql(&db, &["UPDATE ledger SET kind = kind WHERE seq = 1"]).await.is_err());
    assert!(sql(&db, &["DELETE FROM ledger WHERE seq = 1"]).await.is_err());
    let (ok, out) = verify_command(&db, false);
    assert!(ok, "{out}");
    assert!(out.contains("Chain intact: 4 entries"), "{out}");

    // With the guard off, entry 2 is changed: the witness of a consent replaced.
    let mut statements = guard_off(&db);
    statements.push("UPDATE ledger SET canonical = replace(canonical, 'im-08111000', 'im-forged') WHERE seq = 2");
    sql(&db, &statements).await.unwrap();
    let v = verify(&cw, a, false).await;
    assert_eq!(v["ok"], false);
    assert_eq!((v["first_mismatch"]["seq"].as_u64(), v["verified"].as_u64()), (Some(2), Some(1)), "{v}");
    let files = fed.stop().await;
    let (ok, out) = verify_command(&db, false);
    assert!(!ok, "{out}");
    assert!(out.contains("MISMATCH at entry 2:"), "{out}");
    assert!(out.contains("Entries 1 to 1 verify."), "{out}");

    // A removed entry: the one after it is named, and why.
    sql(&db, &["DELETE FROM ledger WHERE seq = 3"]).await.unwrap();
    sql(&db, &["UPDATE ledger SET canonical = replace(canonical, 'im-forged', 'im-08111000') WHERE seq = 2"])
        .await
        .unwrap();
    let (ok, out) = verify_command(&db, false);
    assert!(!ok && out.contains("MISMATCH at entry 4: entry 4: expected sequence number 3"), "{out}");
    drop(files);
}

#[tokio::test]
async fn a_ledger_rewritten_consistently_is_caught_by_the_head_another_office_holds() {
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    // Entry 1: the consent; the handover carries head 1 to Heidelberg. Entry 2: a later consent.
    send_handover(&cw, a, b, cid, json!(["identity", "window", "plan:language"])).await;
    let body = json!({"recipient": b.id, "categories": ["identity", "window"], "language": "en", "signed_on": today()});
    cw.expect(a, Method::POST, &format!("/api/v1/clients/{cid}/consents"), Some(body), 201).await.unwrap();

    // Someone rewrites Stuttgart's whole ledger so that it chains again: entry 1 says another
    // witness, every hash after it recomputed.
    let db = a.database.clone();
    let rows = staffel::storage::open(&db).await.unwrap().read().await.unwrap().ledger().rows(0, 100).await.unwrap();
    assert_eq!(rows.len(), 2);
    let mut head = LedgerHead::empty();
    let mut statements = guard_off(&db).into_iter().map(str::to_owned).collect::<Vec<_>>();
    for row in rows {
        let mut kind = EntryKind::from_canonical(&row.canonical).unwrap();
        if let EntryKind::ConsentGiven { witnessed_by, .. } = &mut kind {
            if row.seq == 1 {
                *witnessed_by = "im-forged".into();
            }
        }
        let entry = LedgerEntry::next(&head, row.at, kind);
        statements.push(format!(
            "UPDATE ledger SET prev = '{}', hash = '{}', canonical = '{}' WHERE seq = {}",
            entry.prev,
            entry.hash,
            entry.canonical.replace('\'', "''"),
            entry.seq
        ));
        head = entry.head();
    }
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    sql(&db, &statements).await.unwrap();

    // On its own the chain verifies; against what Heidelberg holds it does not, at entry 1.
    let v = verify(&cw, a, false).await;
    assert_eq!((v["ok"].as_bool(), v["verified"].as_u64()), (Some(true), Some(2)), "{v}");
    let v = verify(&cw, a, true).await;
    let held = v["peers"].as_array().unwrap().iter().find(|p| p["office"] == HEIDELBERG).unwrap().clone();
    assert_eq!(held["mismatch"]["seq"], 1, "{v}");
    assert!(held["mismatch"]["problem"].as_str().unwrap().contains("another office holds hash"), "{v}");
    assert_eq!(v["ok"], false);
    fed.stop().await;
}

#[tokio::test]
async fn an_expired_consent_is_recorded_and_stops_the_handover() {
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let body =
        json!({"recipient": b.id, "categories": ["identity", "window"], "language": "de", "valid_until": today()});
    let link =
        cw.expect(a, Method::POST, &format!("/api/v1/clients/{cid}/consent-pages"), Some(body), 201).await.unwrap();
    let (_, page) = cw.page(a, link["url"].as_str().unwrap(), None).await.unwrap();
    assert!(page.contains(&today().format("%d.%m.%Y").to_string()), "the page says until when");
    confirm(&cw, a, link["url"].as_str().unwrap(), false).await;
    let consent = consents(&cw, a, cid).await[0]["id"].as_str().unwrap().to_owned();
    let body = json!({"client_id": cid, "receiver": b.id, "consent_id": consent});
    let draft = cw.expect(a, Method::POST, "/api/v1/handovers", Some(body), 201).await.unwrap();
    let h = draft["id"].as_str().unwrap();

    fed.clock.advance(chrono::Duration::days(2));
    let (status, problem) = cw.call(a, Method::POST, &format!("/api/v1/handovers/{h}/approve"), None).await.unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (409, "urn:staffel:problem:consent-expired"));
    let ended = &consents(&cw, a, cid).await[0];
    assert_eq!(ended["ended"], json!({"kind": "expired"}));
    let handover = cw.expect(a, Method::GET, &format!("/api/v1/handovers/{h}"), None, 200).await.unwrap();
    assert_eq!(handover["state"], "cancelled");
    let export = cw.expect(a, Method::GET, &format!("/api/v1/clients/{cid}/export"), None, 200).await.unwrap();
    let kinds: Vec<&str> =
        export["ledger"].as_array().unwrap().iter().map(|e| e["entry"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["consent-given", "consent-expired"]);
    fed.stop().await;
}

#[tokio::test]
async fn after_the_retention_period_personal_data_is_erased_and_the_ledger_still_verifies() {
    let fed = offices(&[STUTTGART, HEIDELBERG]).configure(|c| c.privacy.retention_days = 30).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let moving = start_client(&cw, a).await;
    let moving = moving["id"].as_str().unwrap().to_owned();
    move_client(&cw, a, b, &moving).await;
    let staying = start_client(&cw, a).await;
    let staying = staying["id"].as_str().unwrap().to_owned();

    // A third client's handover Heidelberg declines: its case data there is never taken over.
    let declined = start_client(&cw, a).await;
    let declined = declined["id"].as_str().unwrap().to_owned();
    let h = send_handover(&cw, a, b, &declined, json!(["identity", "window"])).await;
    let reason = json!({"reason": "No capacity"});
    cw.expect(b, Method::POST, &format!("/api/v1/incoming-handovers/{h}/decline"), Some(reason), 200).await.unwrap();

    // 30 days later: not yet. 31 days later: the moved client's data goes at Stuttgart, the
    // declined handover's at Heidelberg.
    fed.clock.advance(chrono::Duration::days(30));
    assert_eq!(a.office.erase_expired(&|_| {}).await.unwrap(), Erased::default());
    assert_eq!(b.office.erase_expired(&|_| {}).await.unwrap(), Erased::default());
    fed.clock.advance(chrono::Duration::days(1));
    let erased = std::sync::Mutex::new(Vec::new());
    let counted = a.office.erase_expired(&|what| erased.lock().unwrap().push(what.to_owned())).await.unwrap();
    assert_eq!(counted, Erased { clients: 1, received_handovers: 0 });
    assert_eq!(*erased.lock().unwrap(), vec![format!("client record {moving}")]);
    let (status, problem) = cw.call(a, Method::GET, &format!("/api/v1/clients/{moving}"), None).await.unwrap();
    assert_eq!((status, problem["type"].as_str().unwrap()), (410, "urn:staffel:problem:client-erased"));
    cw.expect(a, Method::GET, &format!("/api/v1/clients/{staying}"), None, 200).await.unwrap();
    let at_b = b.office.erase_expired(&|_| {}).await.unwrap();
    assert_eq!(at_b, Erased { clients: 0, received_handovers: 1 });
    let (status, _) = cw.call(b, Method::GET, &format!("/api/v1/incoming-handovers/{h}"), None).await.unwrap();
    assert_eq!(status, 404);
    let vb = verify(&cw, b, false).await;
    assert_eq!(
        (vb["ok"].as_bool(), vb["verified"].as_u64()),
        (Some(true), Some(3)),
        "basis received twice, erased: {vb}"
    );

    // What stays: the ledger, verifiable, with the erasure in it; no name in it.
    let v = verify(&cw, a, false).await;
    assert_eq!((v["ok"].as_bool(), v["verified"].as_u64()), (Some(true), Some(3)), "{v}");
    let rows =
        staffel::storage::open(&a.database).await.unwrap().read().await.unwrap().ledger().rows(0, 10).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(), ["consent-given", "consent-given", "erased"]);
    assert!(rows.iter().all(|r| !r.canonical.contains("Testa") && !r.canonical.contains("Beispiel")));
    fed.stop().await;
}

#[tokio::test]
async fn the_receipt_file_is_signed_by_the_office_and_matches_its_schema() {
    use base64::Engine as _;
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let url = open_page(&cw, a, cid, &b.id, json!(["identity", "window", "health"]), "de").await;
    let receipt = confirm(&cw, a, &url, true).await;
    let start = receipt.find("data:application/jose;base64,").unwrap() + "data:application/jose;base64,".len();
    let encoded = &receipt[start..start + receipt[start..].find('"').unwrap()];
    let jws = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    let directory = staffel::federation::Directory::load(&fed.files.work.path().join("directory.json")).unwrap();
    let verified = staffel::federation::jws::verify(&jws, &directory, "staffel.consent-receipt.v1").unwrap();
    assert_eq!(verified.signer.as_str(), STUTTGART);
    let payload: Value = serde_json::from_slice(&verified.payload).unwrap();
    let schema: Value = serde_json::from_str(include_str!("../../schemas/consent-receipt.v1.schema.json")).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&payload).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{payload:#}");
    let given = &consents(&cw, a, cid).await[0];
    assert_eq!(payload["consentReceiptID"], given["id"]);
    assert_eq!((payload["sensitive"].as_bool(), payload["spiCat"].clone()), (Some(true), json!(["health"])));
    assert_eq!(payload["staffel"]["text"], given["text"]);
    assert_eq!(payload["staffel"]["ledger"]["seq"], 1);
    fed.stop().await;
}
