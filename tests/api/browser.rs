//! The client's pages in a real headless browser (Debian's `chromium`, driven through
//! `chromedriver` over the W3C WebDriver protocol with a small client of our own): the consent
//! page in German and in Arabic (right to left), ticked and submitted as a client would, the
//! receipt, and withdrawing with its code. A screenshot of each page is kept in
//! `target/tmp/screenshots/`.
//!
//! Without chromedriver the tests are skipped, except in CI (`CI` set), where they must run
//! (`.ci/run` installs `chromium` and `chromium-driver`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use staffel::demo::Caseworker;

use crate::consent::{consents, open_page};
use crate::harness::*;

/// The key W3C WebDriver names an element reference by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| PathBuf::from(d).join(name)).find(|p| p.is_file())
}

/// A browser session: chromedriver (a child process) and one headless Chromium.
struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session; `None` (the
    /// test is skipped) where chromedriver is not installed, outside CI.
    async fn start() -> Option<Browser> {
        let Some(chromedriver) = which("chromedriver") else {
            assert!(std::env::var_os("CI").is_none(), "CI is set but chromedriver is not installed");
            eprintln!("chromedriver is not installed: skipping a browser test");
            return None;
        };
        let chromium = which("chromium").expect("chromium is installed beside chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            // A faked clock (the CI pass under faketime) is for the offices, not the browser.
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=900,1300", "--hide-scrollbars"],
            },
        }}});
        let mut browser = Browser { http, base, session: String::new(), driver };
        let created = browser.command(Method::POST, "/session", Some(capabilities)).await;
        browser.session = created["sessionId"].as_str().expect("a WebDriver session").to_owned();
        Some(browser)
    }

    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success(), "WebDriver {path}: {status} {value}");
        value["value"].clone()
    }

    async fn session(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body).await
    }

    async fn go(&self, url: &str) {
        self.session(Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self.session(Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        match found[ELEMENT].as_str() {
            Some(e) => e.to_owned(),
            None => {
                let source = self.session(Method::GET, "/source", None).await;
                panic!("no element {css}: {found}\n{}", source.as_str().unwrap_or_default())
            }
        }
    }

    async fn exists(&self, css: &str) -> bool {
        let found = self.session(Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        !found.as_array().unwrap().is_empty()
    }

    /// Waits until the page (after a navigation) has an element `css`.
    async fn wait_for(&self, css: &str) {
        let started = Instant::now();
        while !self.exists(css).await {
            assert!(started.elapsed() < Duration::from_secs(15), "no {css} after 15 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.session(Method::POST, &format!("/element/{e}/click"), Some(json!({}))).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.session(Method::POST, &format!("/element/{e}/value"), Some(json!({"text": text}))).await;
    }

    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.session(Method::GET, &format!("/element/{e}/text"), None).await.as_str().unwrap().to_owned()
    }

    /// A computed CSS property of an element.
    async fn css(&self, css: &str, property: &str) -> String {
        let e = self.find(css).await;
        self.session(Method::GET, &format!("/element/{e}/css/{property}"), None).await.as_str().unwrap().to_owned()
    }

    async fn selected(&self, css: &str) -> bool {
        let e = self.find(css).await;
        self.session(Method::GET, &format!("/element/{e}/selected"), None).await.as_bool().unwrap()
    }

    /// Saves a screenshot of the window as `target/tmp/screenshots/<name>.png`.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.session(Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }

    async fn quit(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test]
async fn a_client_consents_and_withdraws_in_german_in_a_real_browser() {
    let Some(browser) = Browser::start().await else { return };
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let url = open_page(&cw, a, cid, &b.id, json!(["identity", "window", "plan:language", "health"]), "de").await;

    browser.go(&format!("{}{url}", a.api)).await;
    assert_eq!(browser.text("h1").await, "Einwilligung in die Weitergabe Ihrer Daten bei einem Umzug");
    assert_eq!(browser.css("html", "direction").await, "ltr");
    assert!(!browser.exists(".banner").await, "German is authoritative: no translation banner");
    browser.screenshot("consent-de").await;

    // Submitted without the tick: the page asks again; nothing is given.
    browser.click("#submit").await;
    browser.wait_for(".error").await;
    assert!(browser.text(".error").await.contains("Häkchen"));
    assert!(consents(&cw, a, cid).await.is_empty());

    // Ticked (the label is the target, as a finger would hit it), health left out.
    browser.click(".confirm label").await;
    assert!(browser.selected("#agree").await);
    assert!(!browser.selected("#health").await);
    browser.click("#submit").await;
    browser.wait_for(".code").await;
    assert_eq!(browser.text("h1").await, "Ihre Quittung über Ihre Einwilligung");
    let code_line = browser.text(".code").await;
    let code = code_line.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(code.len(), 19, "{code_line}");
    browser.screenshot("receipt-de").await;
    let given = &consents(&cw, a, cid).await[0];
    assert_eq!(given["categories"], json!(["identity", "window", "plan:language"]));

    // The withdrawal page, with the code as the client types it.
    browser.go(&format!("{}/consent/withdraw?lang=de", a.api)).await;
    browser.type_into("#code", &code.to_lowercase()).await;
    browser.click("#submit").await;
    browser.wait_for(".done").await;
    assert!(browser.text(".done").await.contains("widerrufen"));
    browser.screenshot("withdrawn-de").await;
    let ended = &consents(&cw, a, cid).await[0];
    assert_eq!(ended["ended"], json!({"kind": "withdrawn", "via": "withdrawal-code"}));

    browser.quit().await;
    fed.stop().await;
}

#[tokio::test]
async fn a_client_consents_in_arabic_laid_out_right_to_left_in_a_real_browser() {
    let Some(browser) = Browser::start().await else { return };
    let fed = offices(&[STUTTGART, HEIDELBERG]).start().await;
    let (a, b) = (&fed.offices[0], &fed.offices[1]);
    let cw = Caseworker::new();
    let client = start_client(&cw, a).await;
    let cid = client["id"].as_str().unwrap();
    let url = open_page(&cw, a, cid, &b.id, json!(["identity", "window", "plan:language", "health"]), "ar").await;

    browser.go(&format!("{}{url}", a.api)).await;
    assert_eq!(browser.css("html", "direction").await, "rtl");
    assert_eq!(browser.css("h1", "direction").await, "rtl");
    // A translation awaiting review says so, in Arabic, and that the German text is binding.
    assert!(browser.text(".banner").await.contains("الألماني"));
    browser.screenshot("consent-ar").await;

    browser.click("#agree").await;
    browser.click("#health").await;
    assert!(browser.selected("#agree").await && browser.selected("#health").await);
    browser.click("#submit").await;
    browser.wait_for(".code").await;
    assert_eq!(browser.css("html", "direction").await, "rtl");
    browser.screenshot("receipt-ar").await;
    let given = &consents(&cw, a, cid).await[0];
    assert_eq!(given["text"]["language"], "ar");
    assert!(given["categories"].as_array().unwrap().contains(&json!("health")));
    assert!(given["legal_bases"].as_array().unwrap().contains(&json!("gdpr-art-9-2-a")));
    let _ = cw.expect(a, Method::GET, &format!("/api/v1/clients/{cid}/export"), None, 200).await.unwrap();

    browser.quit().await;
    fed.stop().await;
}
