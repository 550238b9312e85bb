//! `staffel demo`: two offices on loopback, with the development PKI and temporary databases,
//! perform one whole handover through the real HTTP/TLS paths, step by step. It succeeds only
//! if the window's last day is the same on both sides.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::dev_pki as dev;
use crate::federation::directory::DirectoryFile;
use crate::server::{Listeners, Server};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the development PKI in {0} is incomplete; run `staffel dev-certs` first")]
    MissingPki(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("step failed: {0}")]
    Step(String),
}

/// A running office of the demo (or of a test): its API base URL and its dev token.
pub struct DemoOffice {
    pub id: String,
    pub name: String,
    pub api: String,
    /// The base URL of its federation listener (mutual TLS).
    pub federation: String,
    pub token: String,
    /// Its database URL.
    pub database: String,
    /// The clock the office reads (shared by all offices started together).
    pub clock: Clock,
    /// The office itself, for use cases that have no HTTP door (the retention sweep).
    pub office: std::sync::Arc<crate::service::Office>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), crate::server::ServerError>>>,
}

impl DemoOffice {
    /// The same office's API with another bearer token (another account).
    pub fn as_user(&self, token: &str) -> DemoOffice {
        DemoOffice {
            id: self.id.clone(),
            name: self.name.clone(),
            api: self.api.clone(),
            federation: self.federation.clone(),
            token: token.to_owned(),
            database: self.database.clone(),
            clock: self.clock.clone(),
            office: self.office.clone(),
            shutdown: None,
            task: None,
        }
    }

    pub async fn stop(mut self) -> Result<(), DemoError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.map_err(|e| DemoError::Step(e.to_string()))??;
        }
        Ok(())
    }
}

/// Starts the named development offices on loopback port 0, all reading the time from `clock`,
/// with databases and a directory (listing the real ports) in `work`; `configure` may change
/// each config before its office starts.
///
/// The directory lists every development office. Those not started get the address of a port
/// bound here that closes every connection at once, so nothing is ever sent to a port this
/// process was not given (say, a development office a developer runs on its default port).
pub async fn start_dev_offices(
    certs: &Path,
    work: &Path,
    ids: &[&str],
    clock: &Clock,
    configure: impl Fn(&mut Config),
) -> Result<Vec<DemoOffice>, DemoError> {
    let dir_file = dev::directory_path(certs);
    let bytes = std::fs::read(&dir_file).map_err(|_| DemoError::MissingPki(certs.display().to_string()))?;
    let mut directory: DirectoryFile =
        serde_json::from_slice(&bytes).map_err(|e| DemoError::Step(format!("directory: {e}")))?;
    for entry in directory.offices.iter_mut().filter(|e| !ids.contains(&e.id.as_str())) {
        let door = TcpListener::bind("127.0.0.1:0").await?;
        entry.federation_url = format!("https://127.0.0.1:{}", door.local_addr()?.port());
        tokio::spawn(closed_door(door));
    }
    let mut prepared = Vec::new();
    for id in ids {
        let config_path = dev::office_paths(certs, id).config;
        if !config_path.exists() {
            return Err(DemoError::MissingPki(certs.display().to_string()));
        }
        let mut config = Config::from_file(&config_path)?;
        let federation = TcpListener::bind("127.0.0.1:0").await?;
        let api = TcpListener::bind("127.0.0.1:0").await?;
        let port = federation.local_addr()?.port();
        for entry in directory.offices.iter_mut().filter(|e| e.id.as_str() == *id) {
            entry.federation_url = format!("https://127.0.0.1:{port}");
        }
        config.database.url = format!("sqlite:{}", work.join(format!("{id}.sqlite")).display());
        config.federation.directory = work.join("directory.json");
        config.delivery.poll_interval_ms = 200;
        config.delivery.max_backoff_secs = 2;
        configure(&mut config);
        prepared.push((config, Listeners { federation, api }));
    }
    std::fs::write(work.join("directory.json"), serde_json::to_vec_pretty(&directory).expect("serialises"))?;
    let mut offices = Vec::new();
    for (config, listeners) in prepared {
        let server = Server::build(&config, listeners, clock.clone()).await?;
        let api = format!("http://{}", server.api_addr()?);
        let federation = format!("https://127.0.0.1:{}", server.federation_addr()?.port());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let office = server.office();
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        offices.push(DemoOffice {
            id: config.office.id.to_string(),
            name: config.office.name.clone(),
            api,
            federation,
            token: dev::dev_token(config.office.id.as_str()),
            database: config.database.url.clone(),
            clock: clock.clone(),
            office,
            shutdown: Some(tx),
            task: Some(task),
        });
    }
    Ok(offices)
}

/// Accepts connections and closes them at once: an office that is down.
async fn closed_door(listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        drop(stream);
    }
}

/// A small client of the caseworker API.
pub struct Caseworker {
    http: reqwest::Client,
}

impl Default for Caseworker {
    fn default() -> Self {
        Self::new()
    }
}

impl Caseworker {
    pub fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self { http: reqwest::Client::builder().no_proxy().build().expect("HTTP client builds") }
    }

    /// Sends a request and returns (status, JSON body).
    pub async fn call(
        &self,
        office: &DemoOffice,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), DemoError> {
        let mut request = self.http.request(method, format!("{}{path}", office.api)).bearer_auth(&office.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok((status, value))
    }

    /// Like [`Self::call`], but anything but `expect` is an error naming the problem.
    pub async fn expect(
        &self,
        office: &DemoOffice,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expect: u16,
    ) -> Result<Value, DemoError> {
        let (status, value) = self.call(office, method.clone(), path, body).await?;
        if status != expect {
            return Err(DemoError::Step(format!("{method} {path} at {}: HTTP {status} {value}", office.name)));
        }
        Ok(value)
    }

    /// A client page (no account): GET, or POST of a form; returns (status, HTML).
    pub async fn page(
        &self,
        office: &DemoOffice,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Result<(u16, String), DemoError> {
        let url = format!("{}{path}", office.api);
        let request = match form {
            None => self.http.get(url),
            Some(fields) => {
                let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
                self.http
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body)
            }
        };
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    /// Polls `path` until `field` equals `want` (at most `timeout`).
    pub async fn wait_for(
        &self,
        office: &DemoOffice,
        path: &str,
        field: &str,
        want: &str,
        timeout: Duration,
    ) -> Result<Value, DemoError> {
        let start = Instant::now();
        loop {
            let value = self.expect(office, reqwest::Method::GET, path, None, 200).await?;
            if value[field] == want {
                return Ok(value);
            }
            if start.elapsed() > timeout {
                return Err(DemoError::Step(format!(
                    "{path} at {}: {field} is {} after {timeout:?}, not {want}",
                    office.name, value[field]
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A JSON value for humans: strings without quotes.
fn s(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Runs the demo with the development PKI in `certs`, the offices reading the time from
/// `clock`, on temporary SQLite files, or, with `postgres` (a server URL), on scratch databases
/// made there and dropped afterwards; returns whether both last days agree.
pub async fn run(certs: &Path, clock: &Clock, postgres: Option<&str>, out: &mut impl Write) -> Result<bool, DemoError> {
    let mut scratch = postgres.map(crate::storage::postgres::scratch::ScratchDatabases::new);
    let outcome = run_on(certs, clock, scratch.as_mut(), out).await;
    if let Some(mut made) = scratch {
        made.drop_all().await.map_err(|e| DemoError::Step(format!("dropping the demo databases: {e}")))?;
    }
    outcome
}

async fn run_on(
    certs: &Path,
    clock: &Clock,
    scratch: Option<&mut crate::storage::postgres::scratch::ScratchDatabases>,
    out: &mut impl Write,
) -> Result<bool, DemoError> {
    use reqwest::Method;
    let started = Instant::now();
    let work = tempfile::tempdir()?;
    let ids = ["08111000", "08221000"];
    let mut urls = std::collections::HashMap::new();
    if let Some(made) = scratch {
        for id in ids {
            let url = made.create("staffel_demo").await.map_err(|e| DemoError::Step(format!("PostgreSQL: {e}")))?;
            urls.insert(id, url);
        }
    }
    let offices = start_dev_offices(certs, work.path(), &ids, clock, |c| {
        if let Some(url) = urls.get(c.office.id.as_str()) {
            c.database.url = url.clone();
        }
    })
    .await?;
    let (a, b) = (&offices[0], &offices[1]);
    let cw = Caseworker::new();
    let mut step = 0;
    let mut say = |out: &mut dyn Write, text: String| -> std::io::Result<()> {
        step += 1;
        writeln!(out, "[{step:>2}] {text}")
    };
    for o in [a, b] {
        let store = if o.database.starts_with("sqlite:") { "SQLite" } else { "PostgreSQL" };
        say(
            out,
            format!("{} ({}) is up on {store}: caseworker API {}, federation over mutual TLS", o.name, o.id, o.api),
        )?;
    }

    let first_session = clock.today() - chrono::Duration::days(500);
    let client = cw
        .expect(
            a,
            Method::POST,
            "/api/v1/clients",
            Some(json!({
                "given_name": "Testa", "family_name": "Beispiel", "date_of_birth": "1991-04-12",
                "first_session": first_session,
                "target_group": "follow-up-accommodation", "benefits": "sgb-ii",
            })),
            201,
        )
        .await?;
    let client_id = client["id"].as_str().unwrap_or_default().to_owned();
    say(
        out,
        format!(
            "{}: client created (invented person), first session {}, last day {}",
            a.name,
            s(&client["window"]["first_session"]),
            s(&client["window"]["last_day"])
        ),
    )?;

    for (area, text) in [
        ("language", "Reach German B1"),
        ("work", "Find an apprenticeship as an electrician"),
        ("health", "Find a family doctor"),
    ] {
        let goal = cw
            .expect(
                a,
                Method::POST,
                &format!("/api/v1/clients/{client_id}/goals"),
                Some(json!({
                    "area": area, "description": text, "responsible": {"kind": "client"},
                    "steps": [{"description": "First appointment", "done": false}],
                })),
                201,
            )
            .await?;
        if area == "language" {
            let goal_id = goal["id"].as_str().unwrap_or_default();
            cw.expect(
                a,
                Method::PATCH,
                &format!("/api/v1/clients/{client_id}/goals/{goal_id}"),
                Some(json!({"status": "in-progress"})),
                200,
            )
            .await?;
        }
    }
    say(out, format!("{}: plan with goals in language, work and health", a.name))?;

    let extended = cw
        .expect(
            a,
            Method::POST,
            &format!("/api/v1/clients/{client_id}/extensions"),
            Some(json!({
                "months": 6, "reasons": ["illiteracy"], "justification": "Literacy course still running",
            })),
            200,
        )
        .await?;
    let last_day_a = extended["window"]["last_day"].clone();
    say(out, format!("{}: window extended by 6 months (illiteracy), last day now {}", a.name, s(&last_day_a)))?;

    let categories = ["identity", "window", "plan:language", "plan:work"];
    let link = cw
        .expect(
            a,
            Method::POST,
            &format!("/api/v1/clients/{client_id}/consent-pages"),
            Some(json!({ "recipient": b.id, "categories": categories, "language": "de" })),
            201,
        )
        .await?;
    say(out, format!("{}: consent page opened for the client, in German, for {} (one-time link)", a.name, b.name))?;
    let url = s(&link["url"]);
    let (status, page) = cw.page(a, &url, None).await?;
    if status != 200 || !page.contains("Einwilligung") {
        return Err(DemoError::Step(format!("GET the consent page at {}: HTTP {status}", a.name)));
    }
    let (status, receipt) = cw.page(a, &url, Some(&[("agree", "yes")])).await?;
    if status != 200 || !receipt.contains("Widerrufscode") {
        return Err(DemoError::Step(format!("POST the consent page at {}: HTTP {status}", a.name)));
    }
    let consents = cw.expect(a, Method::GET, &format!("/api/v1/clients/{client_id}/consents"), None, 200).await?;
    let consent = consents["items"][0].clone();
    say(
        out,
        format!(
            "{}: the client consented on the page (text {} v{}, SHA-256 {}…) and got a receipt with a withdrawal code",
            a.name,
            s(&consent["text"]["id"]),
            s(&consent["text"]["version"]),
            &s(&consent["text"]["sha256"])[..12.min(s(&consent["text"]["sha256"]).len())],
        ),
    )?;

    let draft = cw
        .expect(
            a,
            Method::POST,
            "/api/v1/handovers",
            Some(json!({
                "client_id": client_id, "receiver": b.id, "consent_id": consent["id"],
            })),
            201,
        )
        .await?;
    let handover_id = draft["id"].as_str().unwrap_or_default().to_owned();
    cw.expect(a, Method::POST, &format!("/api/v1/handovers/{handover_id}/approve"), None, 202).await?;
    say(out, format!("{}: handover drafted and approved; signed (ES256) and queued for {}", a.name, b.name))?;

    let sent = cw
        .wait_for(a, &format!("/api/v1/handovers/{handover_id}"), "state", "delivered", Duration::from_secs(20))
        .await?;
    say(
        out,
        format!(
            "{}: delivered over mutual TLS; {}'s signed receipt checked (attempts: {})",
            a.name, b.name, sent["delivery"]["attempts"]
        ),
    )?;

    let incoming = cw.expect(b, Method::GET, "/api/v1/incoming-handovers", None, 200).await?;
    let listed = incoming["items"].as_array().and_then(|l| l.iter().find(|h| h["id"] == handover_id.as_str())).cloned();
    let listed = listed.ok_or_else(|| DemoError::Step("the handover is not listed at the receiver".into()))?;
    say(
        out,
        format!(
            "{}: incoming handover from {}, first session {}, last day {}",
            b.name,
            s(&listed["sender_name"]),
            s(&listed["first_session"]),
            s(&listed["last_day"])
        ),
    )?;

    let accepted =
        cw.expect(b, Method::POST, &format!("/api/v1/incoming-handovers/{handover_id}/accept"), None, 200).await?;
    let goals = accepted["plan"]["goals"].as_array().map_or(0, Vec::len);
    let history = accepted["plan"]["history"].as_array().map_or(0, Vec::len);
    say(
        out,
        format!(
            "{}: accepted; client continues with first session {}, {goals} goals, {history} history entries",
            b.name,
            s(&accepted["window"]["first_session"])
        ),
    )?;

    let done = cw
        .wait_for(a, &format!("/api/v1/handovers/{handover_id}"), "state", "accepted", Duration::from_secs(20))
        .await?;
    let moved = cw.expect(a, Method::GET, &format!("/api/v1/clients/{client_id}"), None, 200).await?;
    say(
        out,
        format!(
            "{}: signed decision received: handover {}, client {} to {}",
            a.name,
            s(&done["state"]),
            s(&moved["status"]["state"]),
            s(&moved["status"]["to"])
        ),
    )?;

    for office in [a, b] {
        let lead = office.as_user(&dev::dev_lead_token(&office.id));
        let verified = cw.expect(&lead, Method::GET, "/api/v1/ledger/verify", None, 200).await?;
        say(
            out,
            format!(
                "{}: consent ledger verified: {} entries, chain {}",
                office.name,
                verified["verified"],
                if verified["ok"] == true { "intact" } else { "BROKEN" }
            ),
        )?;
    }

    let last_day_b = accepted["window"]["last_day"].clone();
    let same = last_day_a == last_day_b && moved["window"]["last_day"] == last_day_a;
    writeln!(out)?;
    writeln!(out, "Last day at {}: {}", a.name, s(&last_day_a))?;
    writeln!(out, "Last day at {}: {}", b.name, s(&last_day_b))?;
    writeln!(
        out,
        "{} ({} ms)",
        if same { "The clock kept running: both offices agree." } else { "MISMATCH: the offices disagree." },
        started.elapsed().as_millis()
    )?;
    for o in offices {
        o.stop().await?;
    }
    Ok(same)
}

/// The development password of every account `staffel demo --ui` makes. Development only: the
/// demo's offices run on the public development keys.
pub const DEMO_PASSWORD: &str = "staffel-demo-2026";

/// The accounts `staffel demo --ui` makes at each office: name, role.
pub const DEMO_ACCOUNTS: [(&str, &str, crate::domain::staff::Role); 5] = [
    ("08111000", "anna", crate::domain::staff::Role::IntegrationManager),
    ("08111000", "lea", crate::domain::staff::Role::TeamLead),
    ("08111000", "admin", crate::domain::staff::Role::Administrator),
    ("08221000", "ben", crate::domain::staff::Role::IntegrationManager),
    ("08221000", "mia", crate::domain::staff::Role::TeamLead),
];

/// `staffel demo --ui`: Stuttgart and Heidelberg on loopback with their web pages (four eyes on),
/// accounts with a development password, and one invented client at Stuttgart with a first
/// session and two goals, ready to be handed over by clicking. Runs until `shutdown`; the data
/// lie in a temporary folder and go with it.
pub async fn run_ui(
    certs: &Path,
    clock: &Clock,
    out: &mut impl Write,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DemoError> {
    use crate::domain::plan::{GoalDraft, Responsible};
    use crate::domain::{ClientIdentity, GoalArea, PersonName, Text};
    let work = tempfile::tempdir()?;
    let ids = ["08111000", "08221000"];
    let offices = start_dev_offices(certs, work.path(), &ids, clock, |c| {
        c.office.four_eyes = true;
        c.ui.accessibility_contact = Some("barrierefreiheit@example.org".into());
    })
    .await?;
    let step = |e: crate::service::ServiceError| DemoError::Step(e.to_string());
    let setup =
        crate::service::Caller { account: "demo-setup".into(), role: crate::domain::staff::Role::Administrator };
    for (office_id, name, role) in DEMO_ACCOUNTS {
        let office = &offices.iter().find(|o| o.id == office_id).expect("started").office;
        office.create_account(&setup, name, role, DEMO_PASSWORD.into()).await.map_err(step)?;
    }
    // One invented client at Stuttgart, first seen some months ago.
    let a = &offices[0].office;
    let anna = a.author("anna");
    let today = clock.today();
    let first = today - chrono::Duration::days(200);
    let text = |s: &str| Text::parse(s, "demo").expect("demo texts are valid");
    let name = |s: &str| PersonName::parse(s, "demo").expect("demo names are valid");
    let record = a
        .create_client(
            &anna,
            crate::service::NewClient {
                identity: ClientIdentity {
                    given_name: name("Oksana"),
                    family_name: name("Beispielowa"),
                    date_of_birth: chrono::NaiveDate::from_ymd_opt(1990, 4, 2).expect("a date"),
                },
                first_session: first,
                target_group: crate::domain::eligibility::TargetGroup::DisplacedFromUkraine,
                benefits: crate::domain::eligibility::Benefits::SgbIi,
                discretion_reason: None,
                household_of: None,
            },
        )
        .await
        .map_err(step)?;
    a.record_session(&anna, record.id, first, text("Erstgespräch: Sprachkurs und Wohnungssuche besprochen"))
        .await
        .map_err(step)?;
    for (area, goal, who) in [
        (GoalArea::Language, "Deutschkurs B1 abschließen", Responsible::Client),
        (GoalArea::Health, "Hausarztpraxis finden", Responsible::IntegrationManager),
    ] {
        let draft = GoalDraft { area, description: text(goal), steps: vec![], responsible: who, target_date: None };
        a.add_goal(&anna, record.id, draft).await.map_err(step)?;
    }
    writeln!(out, "Staffel demo with web pages: two development offices on loopback (four eyes on).")?;
    for (i, o) in offices.iter().enumerate() {
        // The second office by its other loopback name: browsers keep cookies per host name,
        // not per port, so each office keeps its own session.
        let url = if i == 0 { o.api.clone() } else { o.api.replacen("127.0.0.1", "localhost", 1) };
        writeln!(out, "  {} ({}): {url}/", o.name, o.id)?;
        for (office_id, name, role) in DEMO_ACCOUNTS.iter().filter(|(id, _, _)| *id == o.id) {
            let _ = office_id;
            writeln!(out, "      {name:<6} {}", role.as_str())?;
        }
    }
    writeln!(out, "  Password of every account: {DEMO_PASSWORD}  (development only)")?;
    writeln!(
        out,
        "  Try: sign in as anna at Stuttgart, open Beispielowa, ask for consent to Heidelberg and confirm it as the \
         client, draft the handover; lea approves it; ben takes it over at Heidelberg."
    )?;
    writeln!(out, "  Ctrl-C stops both offices; their data go with them.")?;
    out.flush()?;
    shutdown.await;
    for o in offices {
        o.stop().await?;
    }
    drop(work);
    Ok(())
}
