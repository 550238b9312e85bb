//! Test helpers: real offices on loopback (dev PKI, own SQLite files), real mTLS clients, and
//! handover messages built with the library's own domain code and signed with real keys.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use serde_json::Value;
use serde_json::json;
use staffel::demo::{self, Caseworker, DemoOffice};
use staffel::domain::calendar::german_date;
use staffel::domain::handover::{self, CaseAtSender};
use staffel::domain::plan::{Author, GoalDraft};
use staffel::domain::{
    CaseId, ClientId, ClientIdentity, ConsentGrant, CounsellingWindow, DataCategory, ExtensionGrounds, ExtensionReason,
    GoalArea, IntegrationPlan, OfficeId, PersonName, Responsible, Text,
};
use staffel::federation::Signer;
use staffel::federation::protocol::{HandoverMessage, HandoverType, MessageKind};
use staffel::pki::{self, dev};
use uuid::Uuid;

pub const STUTTGART: &str = "08111000";
pub const HEIDELBERG: &str = "08221000";
pub const FREIBURG: &str = "08311000";

pub fn certs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs-dev")
}

pub fn office(id: &str) -> OfficeId {
    OfficeId::parse(id).unwrap()
}

/// Real offices on loopback port 0, each with its own SQLite file in the returned folder.
pub async fn spawn_offices(ids: &[&str]) -> (tempfile::TempDir, Vec<DemoOffice>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let work = tempfile::tempdir().unwrap();
    let offices = demo::start_dev_offices(&certs(), work.path(), ids).await.unwrap();
    (work, offices)
}

/// An HTTPS client presenting `identity` (a TLS cert and key in PEM files) and trusting the dev CA.
pub fn mtls_client_with(identity: Option<(PathBuf, PathBuf)>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = pki::load_certs(&dev::ca_path(&certs())).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in &ca {
        roots.add(c.clone()).unwrap();
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => {
            builder.with_client_auth_cert(pki::load_certs(&cert).unwrap(), pki::load_key(&key).unwrap()).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// An HTTPS client presenting the development certificate of `office`.
pub fn mtls_client(office: &str) -> reqwest::Client {
    let p = dev::office_paths(&certs(), office);
    mtls_client_with(Some((p.tls_cert, p.tls_key)))
}

/// The signing key of a development office.
pub fn signer(office_id: &str) -> Signer {
    let jwk = pki::load_jwk(&dev::office_paths(&certs(), office_id).signing_key).unwrap();
    Signer::from_jwk(office(office_id), &jwk).unwrap()
}

pub fn today() -> NaiveDate {
    german_date(Utc::now())
}

/// A valid handover from `sender` to `receiver`, built with the domain's own rules: first session
/// 400 days ago, a 3-month extension for illiteracy, goals in language and work, consent for
/// identity, window and both plan areas.
pub fn handover(sender: &str, receiver: &str) -> HandoverMessage {
    let now = Utc::now();
    let identity = ClientIdentity {
        given_name: PersonName::parse("Testa", "g").unwrap(),
        family_name: PersonName::parse("Beispiel", "f").unwrap(),
        date_of_birth: "1988-08-08".parse().unwrap(),
    };
    let first = today() - chrono::Duration::days(400);
    let mut window = CounsellingWindow::open(first, today()).unwrap();
    let grounds =
        ExtensionGrounds::new([ExtensionReason::Illiteracy].into(), Text::parse("course", "j").unwrap()).unwrap();
    window.grant_extension(3, grounds, "im-test".into(), today()).unwrap();
    let mut plan = IntegrationPlan::default();
    let author = Author { office: office(sender), account: "im-test".into() };
    for area in [GoalArea::Language, GoalArea::Work] {
        let draft = GoalDraft {
            area,
            description: Text::parse("a goal", "d").unwrap(),
            steps: vec![],
            responsible: Responsible::Client,
            target_date: None,
        };
        plan.add_goal(draft, &author, now);
    }
    let categories = [
        DataCategory::Identity,
        DataCategory::Window,
        DataCategory::Plan(GoalArea::Language),
        DataCategory::Plan(GoalArea::Work),
    ];
    let consent =
        ConsentGrant::record(ClientId::new(), office(receiver), categories.into(), now, "im-test".into()).unwrap();
    let case = handover::prepare(
        CaseAtSender { case_id: CaseId::new(), identity: &identity, window: &window, plan: &plan },
        &consent,
        office(sender),
        office(receiver),
        today(),
    )
    .unwrap();
    HandoverMessage {
        message_type: HandoverType::V1,
        message_id: Uuid::new_v4(),
        sender: office(sender),
        receiver: office(receiver),
        issued_at: now,
        expires_at: now + chrono::Duration::days(1),
        case,
    }
}

pub fn sign_value(signer: &Signer, payload: &Value) -> String {
    signer.sign(&serde_json::to_vec(payload).unwrap(), MessageKind::Handover.type_name())
}

pub fn ts(t: DateTime<Utc>) -> Value {
    serde_json::to_value(t).unwrap()
}

/// What a federation endpoint answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    pub fn problem_type(&self) -> String {
        assert_eq!(self.content_type, "application/problem+json", "not a problem document: {self:?}");
        let v: Value = serde_json::from_str(&self.body).unwrap();
        assert_eq!(v["status"].as_u64(), Some(u64::from(self.status)));
        v["type"].as_str().unwrap().to_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

pub async fn post(
    client: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
) -> Result<Answer, reqwest::Error> {
    let response = client.post(url).header("content-type", "application/jose").body(body).send().await?;
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = response.text().await?;
    Ok(Answer { status, content_type, body })
}

pub fn handovers_url(o: &DemoOffice) -> String {
    format!("{}/federation/v1/handovers", o.federation)
}

pub fn decisions_url(o: &DemoOffice) -> String {
    format!("{}/federation/v1/decisions", o.federation)
}

/// Records consent to `categories` for `to`, drafts and approves a handover of `client` (the id
/// at `from`); returns the handover's id once `to` has acknowledged it.
pub async fn send_handover(
    cw: &Caseworker,
    from: &DemoOffice,
    to: &DemoOffice,
    client: &str,
    categories: Value,
) -> String {
    let consent = cw
        .expect(
            from,
            Method::POST,
            &format!("/api/v1/clients/{client}/consents"),
            Some(json!({"recipient": to.id, "categories": categories})),
            201,
        )
        .await
        .unwrap();
    let body = json!({"client_id": client, "receiver": to.id, "consent_id": consent["id"]});
    let draft = cw.expect(from, Method::POST, "/api/v1/handovers", Some(body), 201).await.unwrap();
    assert_eq!(draft["state"], "draft");
    let id = draft["id"].as_str().unwrap().to_owned();
    cw.expect(from, Method::POST, &format!("/api/v1/handovers/{id}/approve"), None, 202).await.unwrap();
    cw.wait_for(from, &format!("/api/v1/handovers/{id}"), "state", "delivered", Duration::from_secs(20)).await.unwrap();
    id
}

pub async fn stop_all(offices: Vec<DemoOffice>) {
    for o in offices {
        o.stop().await.unwrap();
    }
}
