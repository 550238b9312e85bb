//! The one harness of the integration tests: real offices on loopback (dev PKI, own SQLite
//! files, a clock that starts at a fixed instant), real mTLS clients, and handover messages built
//! with the library's own domain code and signed with real keys.
//!
//! Every office reads the time from a clock that starts at [`T0`], so no outcome depends on the
//! day the tests run; a test moves the clock ahead with `Clock::advance` where it needs time to
//! pass.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use serde_json::Value;
use serde_json::json;
use staffel::clock::Clock;
use staffel::config::Config;
use staffel::demo::{self, Caseworker, DemoOffice};
use staffel::dev_pki as dev;
use staffel::domain::handover::{self, CaseAtSender};
use staffel::domain::plan::{Author, GoalDraft};
use staffel::domain::time::german_date;
use staffel::domain::{
    CaseId, ClientId, ClientIdentity, ConsentGrant, CounsellingWindow, DataCategory, ExtensionGrounds, ExtensionReason,
    GoalArea, IntegrationPlan, OfficeId, PersonName, Responsible, Text,
};
use staffel::federation::Signer;
use staffel::federation::protocol::{HandoverMessage, HandoverType, MessageKind, WireKind as _};
use staffel::pki;
use staffel::storage::postgres::scratch::ScratchDatabases;
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

/// The instant every test office's clock starts at (a Wednesday morning in Germany).
pub const T0: &str = "2026-11-25T09:30:00Z";

pub fn t0() -> DateTime<Utc> {
    T0.parse().unwrap()
}

/// The date in Germany at [`T0`]: "today" for the offices of a test that does not move the clock.
pub fn today() -> NaiveDate {
    german_date(t0())
}

/// A change to an office's config before it starts.
type Configure = Box<dyn Fn(&mut Config)>;

/// The environment variable naming a PostgreSQL server for tests (e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`); the tests create a database of their own on
/// it for every office and every contract test, and drop it afterwards.
pub const POSTGRES_ENV: &str = "STAFFEL_TEST_POSTGRES";
/// `postgres` runs the integration tests' offices on PostgreSQL (default: SQLite).
pub const BACKEND_ENV: &str = "STAFFEL_TEST_BACKEND";

/// The store the tests' offices run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend of this test run ([`BACKEND_ENV`]).
pub fn backend() -> Backend {
    match std::env::var(BACKEND_ENV).as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("{BACKEND_ENV}={other}: expected sqlite or postgres"),
    }
}

/// The PostgreSQL server of the tests. Without one, PostgreSQL tests are skipped, except in CI
/// (`CI` set), where a missing server fails the test: there they must run.
pub fn postgres_server() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but {POSTGRES_ENV} is not: PostgreSQL tests must run")
        }
        _ => {
            eprintln!("{POSTGRES_ENV} is not set: skipping a PostgreSQL test");
            None
        }
    }
}

/// Databases made on the test PostgreSQL server; dropped with this.
pub struct PgDatabases(Option<ScratchDatabases>);

impl PgDatabases {
    pub fn new(server: &str) -> Self {
        Self(Some(ScratchDatabases::new(server)))
    }

    /// A fresh, empty database; its URL.
    pub async fn create(&mut self) -> String {
        self.0.as_mut().expect("not dropped").create("staffel_test").await.expect("the test PostgreSQL server answers")
    }
}

impl Drop for PgDatabases {
    fn drop(&mut self) {
        let Some(mut made) = self.0.take().filter(|m| !m.is_empty()) else { return };
        // Drop runs outside async code: a thread of its own with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(made.drop_all())
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("test databases not dropped: {e}");
        }
    }
}

/// What stays of stopped offices until dropped: their folder and their databases.
pub struct Files {
    pub work: tempfile::TempDir,
    _databases: Option<PgDatabases>,
}

/// Offices to start: which, with what settings.
pub struct Offices {
    ids: Vec<&'static str>,
    four_eyes: bool,
    start: DateTime<Utc>,
    backend: Backend,
    configure: Vec<Configure>,
}

/// The development offices `ids`, to be started with [`Offices::start`] on the backend of this
/// test run.
pub fn offices(ids: &[&'static str]) -> Offices {
    Offices { ids: ids.to_vec(), four_eyes: false, start: t0(), backend: backend(), configure: Vec::new() }
}

impl Offices {
    /// Handovers and extensions need a second person, a team lead.
    pub fn four_eyes(mut self) -> Self {
        self.four_eyes = true;
        self
    }

    /// The offices' clock starts at `start` instead of [`T0`].
    pub fn clock_at(mut self, start: DateTime<Utc>) -> Self {
        self.start = start;
        self
    }

    /// Any other change to each office's config.
    pub fn configure(mut self, f: impl Fn(&mut Config) + 'static) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    /// Starts the offices on loopback port 0, all on one clock, each with a database of its own:
    /// a SQLite file in the returned folder, or a fresh PostgreSQL database.
    pub async fn start(self) -> Federation {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let work = tempfile::tempdir().unwrap();
        let clock = Clock::starting_at(self.start);
        let mut databases = None;
        let mut urls = std::collections::HashMap::new();
        if self.backend == Backend::Postgres {
            let server =
                std::env::var(POSTGRES_ENV).unwrap_or_else(|_| panic!("{BACKEND_ENV}=postgres needs {POSTGRES_ENV}"));
            let mut made = PgDatabases::new(&server);
            for id in &self.ids {
                urls.insert(id.to_string(), made.create().await);
            }
            databases = Some(made);
        }
        let four_eyes = self.four_eyes;
        let configure = self.configure;
        let offices = demo::start_dev_offices(&certs(), work.path(), &self.ids, &clock, |c| {
            c.office.four_eyes = four_eyes;
            if let Some(url) = urls.get(c.office.id.as_str()) {
                c.database.url = url.clone();
            }
            for f in &configure {
                f(c);
            }
        })
        .await
        .unwrap();
        Federation { files: Files { work, _databases: databases }, offices, clock }
    }
}

/// Running offices, their files and databases, and their shared clock.
pub struct Federation {
    pub files: Files,
    pub offices: Vec<DemoOffice>,
    pub clock: Clock,
}

impl Federation {
    /// Stops the offices; their files and databases stay until the returned value is dropped.
    pub async fn stop(self) -> Files {
        stop_all(self.offices).await;
        self.files
    }
}

/// Real offices on loopback port 0, each with its own database (see [`Offices::start`]).
pub async fn spawn_offices(ids: &[&'static str]) -> (Files, Vec<DemoOffice>) {
    let f = offices(ids).start().await;
    (f.files, f.offices)
}

/// A TLS client config presenting the development certificate of `office`, trusting the dev CA,
/// offering `alpn`.
pub fn mtls_config(office: &str, alpn: &[&[u8]]) -> rustls::ClientConfig {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let p = dev::office_paths(&certs(), office);
    let mut roots = rustls::RootCertStore::empty();
    for c in pki::load_certs(&dev::ca_path(&certs())).unwrap() {
        roots.add(c).unwrap();
    }
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(pki::load_certs(&p.tls_cert).unwrap(), pki::load_key(&p.tls_key).unwrap())
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    config
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

/// A valid handover from `sender` to `receiver`, built with the domain's own rules: first session
/// 400 days ago, a 3-month extension for illiteracy, goals in language and work, consent for
/// identity, window and both plan areas.
pub fn handover(sender: &str, receiver: &str) -> HandoverMessage {
    handover_of(sender, receiver, CaseId::new(), today() - chrono::Duration::days(400), &[(3, today())])
}

/// A valid handover of the case `case_id` from `sender` to `receiver`, whose window starts on
/// `first_session` with `extensions` (months, decided on; reason illiteracy), the plan and consent
/// as in [`handover`].
pub fn handover_of(
    sender: &str,
    receiver: &str,
    case_id: CaseId,
    first_session: NaiveDate,
    extensions: &[(u32, NaiveDate)],
) -> HandoverMessage {
    let now = t0();
    let identity = ClientIdentity {
        given_name: PersonName::parse("Testa", "g").unwrap(),
        family_name: PersonName::parse("Beispiel", "f").unwrap(),
        date_of_birth: "1979-02-28".parse().unwrap(),
    };
    let mut window = CounsellingWindow::open(first_session, today()).unwrap();
    for (months, on) in extensions {
        let grounds =
            ExtensionGrounds::new([ExtensionReason::Illiteracy].into(), Text::parse("course", "j").unwrap()).unwrap();
        window.grant_extension(*months, grounds, "im-test".into(), *on).unwrap();
    }
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
    let consent = ConsentGrant::record(
        ClientId::new(),
        office(receiver),
        categories.into(),
        now,
        "im-test".into(),
        consent_form(),
    )
    .unwrap();
    let case = handover::prepare(
        CaseAtSender { case_id, identity: &identity, window: &window, plan: &plan },
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
        ledger_head: None,
    }
}

/// Posts `message`, signed by its sender, over the sender's TLS identity to `to`.
pub async fn deliver(message: &HandoverMessage, to: &DemoOffice) -> Answer {
    let payload = serde_json::to_value(message).unwrap();
    let jws = sign_value(&signer(message.sender.as_str()), &payload);
    post(&mtls_client(message.sender.as_str()), &handovers_url(to), jws).await.unwrap()
}

/// A client at `a`: first session 500 days before [`T0`], a goal in language, a 5-month
/// extension for illiteracy decided today.
pub async fn start_client(cw: &Caseworker, a: &DemoOffice) -> Value {
    let first = today() - chrono::Duration::days(500);
    let body = json!({"given_name": "Testa", "family_name": "Beispiel", "date_of_birth": "1979-02-28", "first_session": first, "target_group": "follow-up-accommodation", "benefits": "asylblg"});
    let client = cw.expect(a, Method::POST, "/api/v1/clients", Some(body), 201).await.unwrap();
    let id = client["id"].as_str().unwrap();
    let goal = json!({"area": "language", "description": "B1", "responsible": {"kind": "client"}});
    cw.expect(a, Method::POST, &format!("/api/v1/clients/{id}/goals"), Some(goal), 201).await.unwrap();
    let extension = json!({"months": 5, "reasons": ["illiteracy"], "justification": "Literacy course"});
    cw.expect(a, Method::POST, &format!("/api/v1/clients/{id}/extensions"), Some(extension), 200).await.unwrap()
}

/// Hands the client `client` (id at `from`) over to `to` with consent to `categories`, accepts it
/// there, and waits until `from` has the decision; returns the client record at `to`.
pub async fn move_client_with(
    cw: &Caseworker,
    from: &DemoOffice,
    to: &DemoOffice,
    client: &str,
    categories: Value,
) -> Value {
    let id = send_handover(cw, from, to, client, categories).await;
    let accepted =
        cw.expect(to, Method::POST, &format!("/api/v1/incoming-handovers/{id}/accept"), None, 200).await.unwrap();
    cw.wait_for(from, &format!("/api/v1/handovers/{id}"), "state", "accepted", Duration::from_secs(20)).await.unwrap();
    let left = cw.expect(from, Method::GET, &format!("/api/v1/clients/{client}"), None, 200).await.unwrap();
    assert_eq!(left["status"]["state"], "moved-out");
    assert_eq!(left["status"]["to"], to.id);
    accepted
}

/// [`move_client_with`] consent to identity, window, and the plan areas language and work.
pub async fn move_client(cw: &Caseworker, from: &DemoOffice, to: &DemoOffice, client: &str) -> Value {
    move_client_with(cw, from, to, client, json!(["identity", "window", "plan:language", "plan:work"])).await
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
            Some(json!({"recipient": to.id, "categories": categories, "language": "de", "signed_on": today()})),
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

/// Polls `probe` every 25 ms until it gives a value; fails naming `what` after 20 s.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "not within 20 s: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub async fn stop_all(offices: Vec<DemoOffice>) {
    for o in offices {
        o.stop().await.unwrap();
    }
}

/// A compact JWS with exactly `header` (any bytes) and `payload`, validly signed with the ES256
/// key of `office`: for headers and payloads the library would never write.
pub fn raw_jws(office_id: &str, header: &[u8], payload: &[u8]) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use josekit::jws::{ES256, JwsSigner as _};
    let jwk = pki::load_jwk(&dev::office_paths(&certs(), office_id).signing_key).unwrap();
    let key = ES256.signer_from_jwk(&jwk).unwrap();
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Posts a payload, signed by Stuttgart, over Stuttgart's TLS identity to `to`.
pub async fn deliver_value(payload: &Value, to: &DemoOffice) -> Answer {
    post(&mtls_client(STUTTGART), &handovers_url(to), sign_value(&signer(STUTTGART), payload)).await.unwrap()
}

/// Asserts that `v` is an instant as Staffel writes them: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn assert_millis(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    let b = s.as_bytes();
    assert!(b.len() == 24 && b[19] == b'.' && b[23] == b'Z' && b[20..23].iter().all(u8::is_ascii_digit), "{s}");
}

/// How many received handovers the office with database `db` has stored (read after it stopped).
pub async fn stored_incoming(db: &str) -> usize {
    let storage = staffel::storage::open(db).await.unwrap();
    let query = staffel::storage::IncomingQuery { limit: 1000, ..Default::default() };
    storage.read().await.unwrap().handovers().incoming_page(&query).await.unwrap().len()
}

/// The inbox record of message `id` at the office with database `db`.
pub async fn stored_inbox(db: &str, id: Uuid) -> Option<staffel::storage::InboxRecord> {
    let storage = staffel::storage::open(db).await.unwrap();
    storage.read().await.unwrap().inbox().get(id).await.unwrap()
}

/// The (account, action) of every audit entry with `action` at the office with database `db`,
/// read straight from the database (on either backend).
pub async fn audited(db: &str, action: &str) -> Vec<(String, String)> {
    let sql = "SELECT account, action FROM audit_log WHERE action = $1 ORDER BY id";
    if db.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db).await.unwrap();
        sqlx::query_as(&sql.replace("$1", "?")).bind(action).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(db).await.unwrap();
        sqlx::query_as(sql).bind(action).fetch_all(&pool).await.unwrap()
    }
}

/// How a consent built in a test was given: on screen, with a text of the tests.
pub fn consent_form() -> staffel::domain::consent::ConsentForm {
    staffel::domain::consent::ConsentForm {
        text: staffel::domain::consent::ConsentText {
            id: "staffel-handover-consent".into(),
            version: "1".into(),
            language: "de".into(),
            sha256: "ab".repeat(32),
        },
        method: staffel::domain::consent::ConsentMethod::OnScreen,
        expires_at: None,
    }
}
