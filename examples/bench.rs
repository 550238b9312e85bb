//! Prints measured figures; asserts nothing. `cargo run --release --example bench [what] [N]`,
//! `what` one of `receiver`, `lists`, `pages`, `all` (default). The offices run on SQLite, or on
//! PostgreSQL with `STAFFEL_TEST_BACKEND=postgres` and `STAFFEL_TEST_POSTGRES=<server URL>`.
//!
//! - receiver: the receiving office's time per handover: sequential POSTs of valid, distinct,
//!   signed handovers from Stuttgart to a real Heidelberg server over one mutual-TLS connection,
//!   each answered only after the message is checked and committed (SQLite: synchronous=FULL)
//!   and the receipt is signed; measured as the client's round trip on loopback. Then the
//!   crypto floor (ES256 sign and verify alone) and the wall time of the whole demo.
//! - pages: the integration managers' web pages, each requested 100 times by a signed-in
//!   browser-like client at an office holding a year's volume (N/2 clients, N received
//!   handovers) plus one client really handed over: the server time of every page as the
//!   client's round trip on loopback, and the slowest median.
//! - lists: a year's volume (N incoming handovers, N/2 clients, default N = 50,000) stored in a
//!   real office, then the caseworker API's lists timed over HTTP: the first page, pages deep in
//!   the list (by cursor), a name search; with the size of an answer and the process's memory.

use std::time::{Duration, Instant};

#[path = "../tests/api/harness.rs"]
mod harness;

use harness::*;
use reqwest::Method;
use staffel::domain::case::ClientRecord;
use staffel::domain::delivery::{IncomingHandover, MessageKind};
use staffel::domain::eligibility::{Benefits, Eligibility, TargetGroup};
use staffel::domain::{ClientIdentity, PersonName};
use staffel::storage::InboxRecord;

fn stats(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<52} n={:<5} median {:>8.3} ms   p90 {:>8.3} ms   min {:>8.3} ms   max {:>8.3} ms",
        samples.len(),
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(samples[0]),
        ms(samples[samples.len() - 1])
    );
}

fn backend_name() -> &'static str {
    match backend() {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

#[tokio::main]
async fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let n: Option<usize> = std::env::args().nth(2).and_then(|a| a.parse().ok());
    println!("backend: {}", backend_name());
    if what == "receiver" || what == "all" {
        receiver(n.unwrap_or(500)).await;
    }
    if what == "lists" || what == "all" {
        lists(n.unwrap_or(50_000)).await;
    }
    if what == "pages" || what == "all" {
        pages(n.unwrap_or(50_000)).await;
    }
}

async fn receiver(n: usize) {
    let f = offices(&[HEIDELBERG]).start().await;
    let client = mtls_client(STUTTGART);
    let signer = signer(STUTTGART);
    let url = handovers_url(&f.offices[0]);

    // Warm up the connection and the schema.
    let warm = sign_value(&signer, &serde_json::to_value(handover(STUTTGART, HEIDELBERG)).unwrap());
    assert_eq!(post(&client, &url, warm).await.unwrap().status, 202);

    let bodies: Vec<String> =
        (0..n).map(|_| sign_value(&signer, &serde_json::to_value(handover(STUTTGART, HEIDELBERG)).unwrap())).collect();
    let mut round_trips = Vec::with_capacity(n);
    for body in bodies {
        let start = Instant::now();
        let answer = post(&client, &url, body).await.unwrap();
        round_trips.push(start.elapsed());
        assert_eq!(answer.status, 202, "{answer:?}");
    }
    stats("receiver: handover checked, stored, receipted", round_trips);
    f.stop().await;

    let payload = serde_json::to_vec(&handover(STUTTGART, HEIDELBERG)).unwrap();
    let directory = staffel::federation::Directory::load(&staffel::dev_pki::directory_path(&certs())).unwrap();
    let mut signs = Vec::new();
    let mut verifies = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let jws = signer.sign(&payload, "staffel.handover.v1");
        signs.push(t.elapsed());
        let t = Instant::now();
        staffel::federation::jws::verify(&jws, &directory, "staffel.handover.v1").unwrap();
        verifies.push(t.elapsed());
    }
    stats("ES256 sign (payload only)", signs);
    stats("ES256 verify (payload only)", verifies);

    if backend() == Backend::Sqlite {
        let mut demos = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            let mut sink = Vec::new();
            assert!(staffel::demo::run(&certs(), &staffel::clock::Clock::system(), None, &mut sink).await.unwrap());
            demos.push(t.elapsed());
        }
        stats("demo: two offices, one whole handover", demos);
    }
}

const GIVEN: [&str; 25] = [
    "Testa", "Tero", "Anna", "Bert", "Cora", "Dario", "Emine", "Farid", "Greta", "Hamid", "Ilka", "Jonas", "Kira",
    "Lado", "Mira", "Nabil", "Olena", "Petro", "Rania", "Sami", "Tamar", "Uwe", "Vera", "Yusuf", "Zora",
];
const FAMILY: [&str; 20] = [
    "Beispiel",
    "Muster",
    "Müller",
    "Schäfer",
    "Probe",
    "Testmann",
    "Kuster",
    "Dvořák",
    "Кириленко",
    "حداد",
    "Weiß",
    "Vorlage",
    "Entwurf",
    "Skizze",
    "Modell",
    "Schablone",
    "Attrappe",
    "Platzhalter",
    "Fiktiv",
    "Erdacht",
];

fn invented(i: usize) -> ClientIdentity {
    ClientIdentity {
        given_name: PersonName::parse(GIVEN[i % GIVEN.len()], "g").unwrap(),
        family_name: PersonName::parse(&format!("{}{}", FAMILY[(i / GIVEN.len()) % FAMILY.len()], i / 500), "f")
            .unwrap(),
        date_of_birth: "1980-01-01".parse().unwrap(),
    }
}

/// Memory the process holds (this process runs the office), from /proc.
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Stores a year's volume in an office's database: `n / 2` clients and `n` received handovers.
async fn populate(database: &str, n: usize) {
    let storage = staffel::storage::open(database).await.unwrap();
    let eligibility = Eligibility::new(TargetGroup::DisplacedFromUkraine, Benefits::SgbIi, None).unwrap();
    for batch in 0..(n / 2).div_ceil(1000) {
        let mut tx = storage.begin().await.unwrap();
        for i in batch * 1000..((batch + 1) * 1000).min(n / 2) {
            let first = today() - chrono::Duration::days((i % 900) as i64);
            let record = ClientRecord::open(invented(i), first, eligibility.clone(), today(), t0()).unwrap();
            tx.clients().insert(&record).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    for batch in 0..n.div_ceil(1000) {
        let mut tx = storage.begin().await.unwrap();
        for i in batch * 1000..((batch + 1) * 1000).min(n) {
            let received = handover(STUTTGART, HEIDELBERG).received();
            let at = t0() + chrono::Duration::seconds(i as i64);
            let inbox = InboxRecord {
                message_id: received.message_id,
                kind: MessageKind::Handover,
                sender: received.sender,
                sha256: "00".repeat(32),
                jws: "a.b.c".into(),
                receipt: "r.e.c".into(),
                received_at: at,
            };
            tx.inbox().offer(&inbox).await.unwrap();
            tx.handovers().insert_incoming(&IncomingHandover::received(received, at)).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}

async fn pages(n: usize) {
    let f = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&f.offices[0], &f.offices[1]);
    let started = Instant::now();
    populate(&b.database, n).await;
    println!(
        "stored {} clients and {n} incoming handovers at Heidelberg in {:.1} s",
        n / 2,
        started.elapsed().as_secs_f64()
    );
    let cw = staffel::demo::Caseworker::new();
    // One client really handed over, with a plan and its history.
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap().to_owned();
    for (area, goal) in [("language", "Deutschkurs B1"), ("work", "Praktikum finden"), ("housing", "Wohnung suchen")] {
        let body = serde_json::json!({"area": area, "description": goal, "steps": [{"description": "erster Schritt"}], "responsible": {"kind": "client"}});
        cw.expect(a, Method::POST, &format!("/api/v1/clients/{cid}/goals"), Some(body), 201).await.unwrap();
    }
    let moved = move_client(&cw, a, b, &cid).await;
    let here = moved["id"].as_str().unwrap().to_owned();
    for i in 0..20 {
        let body = serde_json::json!({"date": today().to_string(), "note": format!("Gespräch {i}")});
        cw.expect(b, Method::POST, &format!("/api/v1/clients/{here}/sessions"), Some(body), 201).await.unwrap();
    }
    let admin = b.as_user(&staffel::dev_pki::dev_admin_token(&b.id));
    let account = serde_json::json!({"name": "ben", "role": "team-lead", "password": "correct horse battery"});
    cw.expect(&admin, Method::POST, "/api/v1/accounts", Some(account), 201).await.unwrap();
    let http = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = http
        .post(format!("{}/login", b.api))
        .header("origin", &b.api)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("account=ben&password=correct+horse+battery")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let incoming: serde_json::Value =
        cw.expect(b, Method::GET, "/api/v1/incoming-handovers?limit=1", None, 200).await.unwrap();
    let incoming_id = incoming["items"][0]["id"].as_str().unwrap().to_owned();
    let paths = [
        "/".to_owned(),
        "/clients".to_owned(),
        "/clients?q=beisp".to_owned(),
        format!("/clients/{here}"),
        "/incoming".to_owned(),
        format!("/incoming/{incoming_id}"),
        format!("/clients/{here}/audit"),
        "/clients/new".to_owned(),
        "/barrierefreiheit".to_owned(),
        "/login".to_owned(),
    ];
    // The server's own time (its Server-Timing header: from the request reaching the pages'
    // router to the answer ready) and the round trip as this client sees it.
    let mut slowest = (Duration::ZERO, String::new());
    for path in &paths {
        let (mut server, mut trip) = (Vec::new(), Vec::new());
        let mut size = 0;
        for _ in 0..100 {
            let t = Instant::now();
            let response = http.get(format!("{}{path}", b.api)).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let timing = response.headers()["server-timing"].to_str().unwrap().to_owned();
            size = response.bytes().await.unwrap().len();
            trip.push(t.elapsed());
            let ms: f64 = timing.trim_start_matches("app;dur=").parse().unwrap();
            server.push(Duration::from_secs_f64(ms / 1000.0));
        }
        server.sort();
        if server[server.len() / 2] > slowest.0 {
            slowest = (server[server.len() / 2], path.clone());
        }
        stats(&format!("server {path:.34} ({size} bytes)"), server);
        stats(&format!("round trip {path:.30}"), trip);
    }
    println!("slowest page by the server's median: {} at {:.2} ms", slowest.1, slowest.0.as_secs_f64() * 1000.0);
    f.stop().await;
}

async fn lists(n: usize) {
    let f = offices(&[HEIDELBERG]).start().await;
    let office = &f.offices[0];
    let started = Instant::now();
    populate(&office.database, n).await;
    println!("stored {} clients and {n} incoming handovers in {:.1} s", n / 2, started.elapsed().as_secs_f64());

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |path: String| {
        let request = http.request(Method::GET, format!("{}{path}", office.api)).bearer_auth(&office.token);
        async move {
            let t = Instant::now();
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let body = response.bytes().await.unwrap();
            (t.elapsed(), body)
        }
    };
    let mut firsts = Vec::new();
    let mut size = 0;
    for _ in 0..50 {
        let (d, body) = get("/api/v1/incoming-handovers".into()).await;
        size = body.len();
        firsts.push(d);
    }
    stats(&format!("GET incoming-handovers, first page of 50 ({size} bytes)"), firsts);
    // Deep in the list: walk 200 pages of 200 by cursor, timing each.
    let (mut walk, mut after) = (Vec::new(), None::<String>);
    for _ in 0..200 {
        let path = match &after {
            Some(c) => format!("/api/v1/incoming-handovers?limit=200&after={c}"),
            None => "/api/v1/incoming-handovers?limit=200".into(),
        };
        let (d, body) = get(path).await;
        walk.push(d);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        after = v["next"].as_str().map(str::to_owned);
        if after.is_none() {
            break;
        }
    }
    stats("GET incoming-handovers, pages of 200 walked by cursor", walk);
    let (mut walk, mut after) = (Vec::new(), None::<String>);
    loop {
        let path = match &after {
            Some(c) => format!("/api/v1/clients?limit=50&after={c}"),
            None => "/api/v1/clients?limit=50".into(),
        };
        let (d, body) = get(path).await;
        walk.push(d);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        after = v["next"].as_str().map(str::to_owned);
        if after.is_none() {
            break;
        }
    }
    let pages = walk.len();
    stats(&format!("GET clients, all {pages} pages of 50 walked by cursor"), walk.clone());
    stats("GET clients, the last 10 pages of that walk", walk[pages.saturating_sub(10)..].to_vec());
    for search in ["beisp", "mull", "кири", "olena weiß"] {
        let mut samples = Vec::new();
        for _ in 0..30 {
            samples.push(get(format!("/api/v1/clients?search={search}")).await.0);
        }
        stats(&format!("GET clients?search={search}"), samples);
    }
    println!("resident memory of the process (office and bench): {:.0} MiB", resident_mib());
    f.stop().await;
}
