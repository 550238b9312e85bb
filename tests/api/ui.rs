//! The integration managers' pages over HTTP, without a browser: sign-in and its cookie, the
//! security headers, CSRF and origin checks on every form, roles (an administrator sees no
//! client data), a refused form that keeps its values, throttled logins, and the caseworker
//! listener speaking TLS itself. The pages as a person uses them are in `ui_browser`.

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use staffel::demo::{Caseworker, DemoOffice};
use staffel::dev_pki as dev;

use crate::harness::*;

/// A browser-like client: no redirects followed, the session cookie kept by hand.
pub struct Visitor {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

impl Visitor {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap();
        Visitor { http, base: base.to_owned(), cookie: None, csrf: None }
    }

    pub async fn get(&self, path: &str) -> Page {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        Self::page(r.send().await.unwrap()).await
    }

    /// Posts a form as a page of this office does (with `Origin`), the CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        if let Some(t) = &self.csrf {
            all.push(("csrf", t));
        }
        self.post_raw(path, &all, Some(&self.base)).await
    }

    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        Self::page(r.send().await.unwrap()).await
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        Page { status, headers, body }
    }

    /// Signs in and keeps the session cookie and the CSRF token of its pages.
    pub async fn sign_in(&mut self, account: &str, password: &str) -> Page {
        let page = self.post_raw("/login", &[("account", account), ("password", password)], Some(&self.base)).await;
        if page.status == StatusCode::SEE_OTHER {
            let set = page.headers.get(SET_COOKIE).unwrap().to_str().unwrap().to_owned();
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
            let start = self.get("/").await;
            self.csrf = csrf_of(&start.body);
        }
        page
    }
}

/// The CSRF token in a page's forms.
pub fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[at..].split('"').next()?.to_owned())
}

/// Creates an account with a password at an office (through the API, as its administrator).
pub async fn account(cw: &Caseworker, office: &DemoOffice, name: &str, role: &str, password: &str) {
    let admin = office.as_user(&dev::dev_admin_token(&office.id));
    cw.expect(
        &admin,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({"name": name, "role": role, "password": password})),
        201,
    )
    .await
    .unwrap();
}

pub const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn pages_need_a_session_whose_cookie_and_headers_are_strict() {
    let f = offices(&["08111000"]).start().await;
    let a = &f.offices[0];
    let cw = Caseworker::new();
    account(&cw, a, "anna", "integration-manager", PASSWORD).await;
    let mut v = Visitor::new(&a.api);

    let start = v.get("/clients?q=x").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert_eq!(start.location(), "/login?next=%2Fclients%3Fq%3Dx");
    let login = v.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    let csp = login.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("style-src 'self'") && !csp.contains("script-src"));
    assert_eq!(login.headers["cache-control"], "no-store");
    assert_eq!(login.headers["x-frame-options"], "DENY");
    assert!(login.body.contains("<html lang=\"de\""), "German by default");

    let wrong = v.sign_in("anna", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("id=\"login-failed\""));
    assert!(v.cookie.is_none());

    let ok = v.sign_in("anna", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let cookie = ok.headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("staffel_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
    let home = v.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Was heute ansteht"));
    let csrf = v.csrf.clone().unwrap();

    // English, chosen by a link, kept in a cookie.
    let switched = v.http.get(format!("{}/language/en", a.api)).header("referer", format!("{}/clients", a.api));
    let switched = switched.send().await.unwrap();
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(switched.headers()[LOCATION], "/clients");
    let lang = switched.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let mut english = Visitor::new(&a.api);
    english.cookie = Some(format!("{}; {lang}", v.cookie.clone().unwrap()));
    let home = english.get("/").await;
    assert!(home.body.contains("<html lang=\"en\"") && home.body.contains("What needs doing today"));

    // Sign-out needs the session's CSRF token; afterwards the session is gone.
    let refused = v.post_raw("/logout", &[("csrf", "0000")], Some(&a.api)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let out = v.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.headers[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(v.get("/").await.status, StatusCode::SEE_OTHER, "the old cookie no longer signs in");
    assert_ne!(csrf, csrf_of(&login.body).unwrap_or_default());
    stop_all(f.offices).await;
}

#[tokio::test]
async fn forms_from_other_sites_or_without_the_token_change_nothing_and_refused_forms_keep_their_values() {
    let f = offices(&["08111000"]).start().await;
    let a = &f.offices[0];
    let cw = Caseworker::new();
    account(&cw, a, "anna", "integration-manager", PASSWORD).await;
    let mut v = Visitor::new(&a.api);
    v.sign_in("anna", PASSWORD).await;
    let client = [
        ("given_name", "Oksana"),
        ("family_name", "Beispielowa"),
        ("date_of_birth", "1990-04-02"),
        ("first_session", "2026-11-02"),
        ("target_group", "displaced-from-ukraine"),
        ("benefits", "sgb-ii"),
    ];
    let csrf = v.csrf.clone().unwrap();
    let mut with_token = client.to_vec();
    with_token.push(("csrf", &csrf));
    // Another site's form (the browser sends its origin), a missing token, a wrong one.
    let evil = v.post_raw("/clients", &with_token, Some("https://evil.example")).await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    let no_token = v.post_raw("/clients", &client, Some(&a.api)).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let mut wrong = client.to_vec();
    wrong.push(("csrf", "0123456789abcdef0123456789abcdef"));
    assert_eq!(v.post_raw("/clients", &wrong, Some(&a.api)).await.status, StatusCode::FORBIDDEN);
    let list = v.get("/clients").await;
    assert!(!list.body.contains("Beispielowa"), "nothing was created");

    // A date the domain refuses: the form comes back with what was typed, the field marked.
    let mut bad = client.to_vec();
    bad[2] = ("date_of_birth", "02.04.1990");
    let refused = v.post("/clients", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("value=\"Beispielowa\""));
    assert!(refused.body.contains("id=\"new-date_of_birth-error\""));
    assert!(refused.body.contains("aria-invalid=\"true\""));
    // A rule of the domain (a first session in the future): the problem's text, values kept.
    let mut future = client.to_vec();
    future[3] = ("first_session", "2027-01-01");
    let refused = v.post("/clients", &future).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Das erste Gespräch liegt in der Zukunft"), "{}", refused.body);
    assert!(refused.body.contains("value=\"Oksana\""));

    let created = v.post("/clients", &client).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let page = v.get(created.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Die Person ist aufgenommen."));
    assert!(page.body.contains("Beispielowa, Oksana"));
    assert!(page.body.contains("<svg"), "the timeline");
    stop_all(f.offices).await;
}

#[tokio::test]
async fn an_administrator_manages_accounts_and_sees_no_client_data() {
    let f = offices(&["08111000"]).start().await;
    let a = &f.offices[0];
    let cw = Caseworker::new();
    account(&cw, a, "root", "administrator", PASSWORD).await;
    let client = start_client(&cw, a).await;
    let id = client["id"].as_str().unwrap();
    let mut v = Visitor::new(&a.api);
    v.sign_in("root", PASSWORD).await;
    let home = v.get("/").await;
    assert!(home.body.contains("Daten von Klientinnen und Klienten sehen Sie nicht"));
    for path in ["/clients".to_owned(), format!("/clients/{id}"), "/incoming".to_owned()] {
        let page = v.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.body.contains(client["family_name"].as_str().unwrap()), "{path}");
    }
    let audit = v.get(&format!("/clients/{id}/audit")).await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(!audit.body.contains(client["family_name"].as_str().unwrap()), "the log, not whose it is");
    let made = v.post("/accounts", &[("name", "lea"), ("role", "team-lead"), ("password", PASSWORD)]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let accounts = v.get("/accounts?done=account-created").await;
    assert!(
        accounts.body.contains("Das Konto ist angelegt.")
            && accounts.body.contains("<td class=\"kern-table__cell\">lea</td>")
    );
    let short = v.post("/accounts", &[("name", "ben"), ("role", "team-lead"), ("password", "short")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("value=\"ben\"") && !short.body.contains("value=\"short\""), "no password echoed");

    let ledger = v.get("/ledger").await;
    assert_eq!(ledger.status, StatusCode::OK);
    assert!(ledger.body.contains("Das Register ist unversehrt."));

    let mut lea = Visitor::new(&a.api);
    assert_eq!(lea.sign_in("lea", PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(lea.get("/accounts").await.status, StatusCode::FORBIDDEN);
    assert_eq!(lea.get(&format!("/clients/{id}")).await.status, StatusCode::OK);
    let export = lea.get(&format!("/clients/{id}/export")).await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        export.body.contains("Auskunft nach Art. 15 DSGVO")
            && export.body.contains(client["family_name"].as_str().unwrap())
    );
    // Erasure on request needs the team lead's confirmation that nothing must be kept.
    let unconfirmed = lea.post(&format!("/clients/{id}/erasure"), &[]).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let erased = lea.post(&format!("/clients/{id}/erasure"), &[("confirm", "yes")]).await;
    assert_eq!(erased.status, StatusCode::SEE_OTHER);
    assert_eq!(erased.location(), "/clients?done=client-erased");
    let gone = lea.get(&format!("/clients/{id}")).await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert!(gone.body.contains("Die Daten der Person sind gelöscht"));
    stop_all(f.offices).await;
}

#[tokio::test]
async fn failed_logins_on_the_pages_are_throttled_as_the_apis_are() {
    let f = offices(&["08111000"]).start().await;
    let a = &f.offices[0];
    let cw = Caseworker::new();
    account(&cw, a, "anna", "integration-manager", PASSWORD).await;
    let mut v = Visitor::new(&a.api);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(v.sign_in("anna", "wrong password!").await.status.as_u16());
    }
    assert_eq!(statuses[..5], [401; 5]);
    let throttled = v.sign_in("anna", PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(throttled.headers.contains_key("retry-after"));
    assert!(throttled.body.contains("Zu viele Fehlversuche"));
    stop_all(f.offices).await;
}

#[tokio::test]
async fn the_caseworker_listener_speaks_tls_itself_with_secure_host_cookies() {
    let paths = dev::office_paths(&certs(), "08111000");
    let f = offices(&["08111000"])
        .configure(move |c| {
            c.api.tls_cert = Some(paths.tls_cert.clone());
            c.api.tls_key = Some(paths.tls_key.clone());
        })
        .start()
        .await;
    let a = &f.offices[0];
    let https = a.api.replacen("http://", "https://", 1);
    // The admin's API call over TLS too.
    let mut roots = rustls::RootCertStore::empty();
    for c in staffel::pki::load_certs(&dev::ca_path(&certs())).unwrap() {
        roots.add(c).unwrap();
    }
    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    let made = http
        .post(format!("{https}/api/v1/accounts"))
        .bearer_auth(dev::dev_admin_token("08111000"))
        .json(&json!({"name": "anna", "role": "integration-manager", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let plain = reqwest::Client::new().get(format!("{}/login", a.api)).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success(), "no plain HTTP on a TLS listener");
    let mut v = Visitor::new(&https);
    v.http = http;
    let ok = v.sign_in("anna", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let cookie = ok.headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-staffel_session=") && cookie.contains("; Secure"), "{cookie}");
    assert_eq!(v.get("/").await.status, StatusCode::OK);
    stop_all(f.offices).await;
}

/// A writer whose text can be read while it is being written to.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn demo_ui_leaves_two_offices_running_with_the_logins_it_prints() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let out = Shared::default();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let clock = staffel::clock::Clock::starting_at(t0());
    let mut writer = out.clone();
    let demo = tokio::spawn(async move {
        staffel::demo::run_ui(&certs(), &clock, &mut writer, async {
            let _ = stopped.await;
        })
        .await
    });
    let text = eventually("the demo prints its addresses", || {
        let out = out.clone();
        async move {
            let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            text.contains("Ctrl-C").then_some(text)
        }
    })
    .await;
    let urls: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
        .map(|u| u.trim_end_matches('/'))
        .collect();
    assert_eq!(urls.len(), 2, "{text}");
    assert!(urls[0].contains("127.0.0.1") && urls[1].contains("localhost"), "two host names, two cookie jars");
    assert!(text.contains(staffel::demo::DEMO_PASSWORD));
    let mut anna = Visitor::new(urls[0]);
    assert_eq!(anna.sign_in("anna", staffel::demo::DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
    let clients = anna.get("/clients").await;
    assert!(clients.body.contains("Beispielowa, Oksana"), "the invented client is there");
    let mut ben = Visitor::new(&urls[1].replacen("localhost", "127.0.0.1", 1));
    assert_eq!(ben.sign_in("ben", staffel::demo::DEMO_PASSWORD).await.status, StatusCode::SEE_OTHER);
    stop.send(()).unwrap();
    demo.await.unwrap().unwrap();
    assert!(reqwest::get(format!("{}/login", urls[0])).await.is_err(), "stopped");
}

#[tokio::test]
async fn the_client_page_forms_reach_their_use_cases() {
    let f = offices(&["08111000", "08221000"]).start().await;
    let a = &f.offices[0];
    let cw = Caseworker::new();
    account(&cw, a, "anna", "integration-manager", PASSWORD).await;
    let mut v = Visitor::new(&a.api);
    v.sign_in("anna", PASSWORD).await;
    let made = v
        .post(
            "/clients",
            &[
                ("given_name", "Amir"),
                ("family_name", "Musterfeld"),
                ("date_of_birth", "1985-06-30"),
                ("first_session", "2026-10-01"),
                ("target_group", "follow-up-accommodation"),
                ("benefits", "asylblg"),
            ],
        )
        .await;
    let page = made.location().split('?').next().unwrap().to_owned();
    let id = page.trim_start_matches("/clients/").to_owned();
    let expect = |p: &Page, done: &str| {
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert!(p.location().contains(&format!("done={done}")), "{}", p.location());
    };
    // A second adult of the household.
    let form = v.get(&format!("/clients/new?household_of={id}")).await;
    assert!(form.body.contains("id=\"household-of\"") && form.body.contains("Musterfeld, Amir"));
    let second = v
        .post(
            "/clients",
            &[
                ("given_name", "Lina"),
                ("family_name", "Musterfeld"),
                ("date_of_birth", "1987-02-11"),
                ("first_session", "2026-10-05"),
                ("target_group", "follow-up-accommodation"),
                ("benefits", "asylblg"),
                ("household_of", &id),
            ],
        )
        .await;
    expect(&second, "client-created");
    let household = cw.expect(a, Method::GET, &format!("/api/v1/clients/{id}/household"), None, 200).await.unwrap();
    assert_eq!(household.as_array().map(Vec::len), Some(2), "{household}");

    // Goal, its change and review; an extension; exit and re-entry.
    let goal = v
        .post(
            &format!("{page}/goals"),
            &[
                ("area", "work"),
                ("description", "Praktikum finden"),
                ("steps", "Lebenslauf\nBewerbung"),
                ("responsible", "regular-service"),
                ("service", "Jobcenter"),
            ],
        )
        .await;
    expect(&goal, "goal-added");
    let client = cw.expect(a, Method::GET, &format!("/api/v1/clients/{id}"), None, 200).await.unwrap();
    let gid = client["plan"]["goals"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(client["plan"]["goals"][0]["responsible"], json!({"kind": "regular-service", "name": "Jobcenter"}));
    let changed = v
        .post(
            &format!("{page}/goals/{gid}"),
            &[
                ("status", "in-progress"),
                ("description", "Praktikum finden"),
                ("steps", "Lebenslauf\nBewerbung\nVorstellungsgespräch"),
                ("responsible", "client"),
            ],
        )
        .await;
    expect(&changed, "goal-changed");
    let reviewed = v
        .post(&format!("{page}/goals/{gid}/reviews"), &[("on", "2026-11-20"), ("note", "Zwei Bewerbungen verschickt")])
        .await;
    expect(&reviewed, "goal-reviewed");
    let extended = v
        .post(
            &format!("{page}/extensions"),
            &[("months", "6"), ("reasons", "illiteracy"), ("justification", "Alphabetisierungskurs läuft")],
        )
        .await;
    expect(&extended, "extension-granted");
    let exit = v.post(&format!("{page}/exit"), &[("on", "2026-11-21"), ("reason", "other")]).await;
    expect(&exit, "exit-recorded");
    let back = v.post(&format!("{page}/re-entry"), &[("on", "2026-11-24")]).await;
    expect(&back, "re-entry-recorded");
    let client = cw.expect(a, Method::GET, &format!("/api/v1/clients/{id}"), None, 200).await.unwrap();
    assert_eq!(client["plan"]["goals"][0]["status"], "in-progress");
    assert_eq!(client["plan"]["goals"][0]["steps"].as_array().map(Vec::len), Some(3));
    assert_eq!(client["plan"]["goals"][0]["responsible"], json!({"kind": "client"}));
    assert_eq!(client["plan"]["goals"][0]["reviews"].as_array().map(Vec::len), Some(1));
    assert_eq!(client["window"]["last_day"], "2030-04-01");
    assert_eq!(client["participation"].as_array().map(Vec::len), Some(2));

    // The paper way: the printable form, then the signed form recorded.
    let categories = [
        ("recipient", "08221000"),
        ("categories", "identity"),
        ("categories", "window"),
        ("categories", "plan:work"),
        ("language", "de"),
    ];
    let printed = v.post(&format!("{page}/consent-form"), &categories).await;
    assert_eq!(printed.status, StatusCode::OK);
    assert!(printed.body.contains("Heidelberg"));
    let mut paper = categories.to_vec();
    paper.push(("signed_on", "2026-11-24"));
    let recorded = v.post(&format!("{page}/consents"), &paper).await;
    expect(&recorded, "paper-consent-recorded");
    let shown = v.get(&format!("{page}?done=paper-consent-recorded")).await;
    assert!(shown.body.contains("auf Papier") && shown.body.contains("Die Einwilligung auf Papier ist eingetragen."));
    let consents = cw.expect(a, Method::GET, &format!("/api/v1/clients/{id}/consents"), None, 200).await.unwrap();
    assert_eq!(consents["items"][0]["categories"], json!(["identity", "window", "plan:work"]));
    stop_all(f.offices).await;
}

#[tokio::test]
async fn an_administrator_disables_enables_deletes_and_renews_accounts_on_the_page() {
    // No administrator in the config: root is the office's only one.
    let f = offices(&["08111000"])
        .configure(|c| c.api.managers.retain(|m| m.role != staffel::domain::staff::Role::Administrator))
        .start()
        .await;
    let a = &f.offices[0];
    let setup =
        staffel::service::Caller { account: "(test)".into(), role: staffel::domain::staff::Role::Administrator };
    let office = &a.office;
    office.create_account(&setup, "root", staffel::domain::staff::Role::Administrator, PASSWORD.into()).await.unwrap();
    office.create_account(&setup, "lea", staffel::domain::staff::Role::TeamLead, PASSWORD.into()).await.unwrap();
    let mut v = Visitor::new(&a.api);
    v.sign_in("root", PASSWORD).await;
    let mut lea = Visitor::new(&a.api);
    assert_eq!(lea.sign_in("lea", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let list = v.get("/accounts").await;
    assert!(list.body.contains("action=\"/accounts/lea/disable\""), "{}", list.body);

    let done = v.post("/accounts/lea/disable", &[]).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/accounts?done=account-disabled"));
    let page = v.get("/accounts?done=account-disabled").await;
    assert!(page.body.contains("Das Konto ist gesperrt; seine Sitzungen sind beendet."));
    assert!(page.body.contains("action=\"/accounts/lea/enable\""));
    assert_eq!(lea.get("/clients").await.status, StatusCode::SEE_OTHER, "lea's session ended: back to the login");
    assert_eq!(Visitor::new(&a.api).sign_in("lea", PASSWORD).await.status, StatusCode::UNAUTHORIZED);

    // The last administrator stays, with the reason on the page.
    let refused = v.post("/accounts/root/disable", &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("id=\"change-refused\""), "{}", refused.body);
    assert!(refused.body.contains("Die Stelle hätte kein aktives Administrationskonto mehr"), "{}", refused.body);

    let done = v.post("/accounts/lea/enable", &[]).await;
    assert_eq!(done.location(), "/accounts?done=account-enabled");
    let short = v.post("/accounts/lea/password", &[("password", "short")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!short.body.contains("value=\"short\""), "no password echoed");
    let done = v.post("/accounts/lea/password", &[("password", "staple battery horse")]).await;
    assert_eq!(done.location(), "/accounts?done=account-password");
    assert_eq!(Visitor::new(&a.api).sign_in("lea", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(Visitor::new(&a.api).sign_in("lea", "staple battery horse").await.status, StatusCode::SEE_OTHER);

    // Deleting asks first, on a page of its own that names the account.
    let list = v.get("/accounts").await;
    assert!(list.body.contains("<form method=\"get\" action=\"/accounts/lea/delete\""), "{}", list.body);
    let ask = v.get("/accounts/lea/delete").await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("Konto löschen: lea</h1>"), "{}", ask.body);
    assert!(ask.body.contains("name=\"confirm\" value=\"yes\""), "{}", ask.body);
    assert!(!ask.body.contains("id=\"delete-refused\""));
    assert_eq!(v.get("/accounts/nobody/delete").await.status, StatusCode::NOT_FOUND);
    assert_eq!(lea.sign_in("lea", "staple battery horse").await.status, StatusCode::SEE_OTHER);
    assert_eq!(lea.get("/accounts/root/delete").await.status, StatusCode::FORBIDDEN, "administrators only");
    // Sent without the box checked (or with anything else in it): refused, nothing deleted, and
    // the page says why.
    for fields in [&[][..], &[("confirm", "no")][..]] {
        let unconfirmed = v.post("/accounts/lea/delete", fields).await;
        assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(unconfirmed.body.contains("id=\"delete-refused\""), "{}", unconfirmed.body);
        assert!(unconfirmed.body.contains("Nichts ist gelöscht"), "{}", unconfirmed.body);
        assert!(
            unconfirmed.body.contains("Ein Konto wird nur gelöscht, wenn das Bestätigungsfeld angekreuzt ist."),
            "{}",
            unconfirmed.body
        );
        assert!(unconfirmed.body.contains("kern-fieldset--error"), "the box is marked: {}", unconfirmed.body);
    }
    assert!(v.get("/accounts").await.body.contains("<td class=\"kern-table__cell\">lea</td>"), "lea is still there");
    assert_eq!(lea.get("/clients").await.status, StatusCode::OK, "and her session too");
    // Confirmed, it is deleted.
    let done = v.post("/accounts/lea/delete", &[("confirm", "yes")]).await;
    assert_eq!(done.location(), "/accounts?done=account-deleted");
    let page = v.get("/accounts?done=account-deleted").await;
    assert!(page.body.contains("Das Konto ist gelöscht."));
    assert!(!page.body.contains("<td class=\"kern-table__cell\">lea</td>"));
    assert_eq!(lea.get("/clients").await.status, StatusCode::SEE_OTHER, "her session ended");
    assert_eq!(v.get("/accounts/lea/delete").await.status, StatusCode::NOT_FOUND);
    // The last administrator is not deleted, confirmed or not.
    let refused = v.post("/accounts/root/delete", &[("confirm", "yes")]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("id=\"change-refused\""), "{}", refused.body);
    // Without the page's token, nothing changes.
    let forged = v.post_raw("/accounts/root/delete", &[("confirm", "yes")], Some(&a.api)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    f.stop().await;
}
