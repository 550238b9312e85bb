//! A small W3C WebDriver client of our own for the browser tests: chromedriver (Debian's
//! `chromium-driver`) as a child process and one headless Chromium session; finding, clicking,
//! typing, the keyboard, screenshots, and axe-core (vendored in `tests/vendor/axe-core/`) run
//! in the page.
//!
//! Without chromedriver the browser tests are skipped, except in CI (`CI` set), where they must
//! run (`.ci/run` installs `chromium` and `chromium-driver`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

/// The key W3C WebDriver names an element reference by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| PathBuf::from(d).join(name)).find(|p| p.is_file())
}

/// A browser session: chromedriver (a child process) and one headless Chromium.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session; `None` (the
    /// test is skipped) where chromedriver is not installed, outside CI.
    pub async fn start() -> Option<Browser> {
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
                         "--window-size=900,1300", "--hide-scrollbars", "--lang=de-DE"],
            },
        }}});
        let mut browser = Browser { http, base, session: String::new(), driver };
        let created = browser.command(Method::POST, "/session", Some(capabilities)).await;
        browser.session = created["sessionId"].as_str().expect("a WebDriver session").to_owned();
        Some(browser)
    }

    pub async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
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

    pub async fn session(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body).await
    }

    pub async fn go(&self, url: &str) {
        self.session(Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn find(&self, css: &str) -> String {
        let found = self.session(Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        match found[ELEMENT].as_str() {
            Some(e) => e.to_owned(),
            None => {
                let source = self.session(Method::GET, "/source", None).await;
                panic!("no element {css}: {found}\n{}", source.as_str().unwrap_or_default())
            }
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        let found = self.session(Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        !found.as_array().unwrap().is_empty()
    }

    /// Waits until the page (after a navigation) has an element `css`.
    pub async fn wait_for(&self, css: &str) {
        let started = Instant::now();
        while !self.exists(css).await {
            if started.elapsed() > Duration::from_secs(15) {
                let text = self.execute("return document.body ? document.body.innerText : '';", json!([])).await;
                panic!("no {css} after 15 s on {}: {}", self.path().await, text.as_str().unwrap_or_default());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.session(Method::POST, &format!("/element/{e}/click"), Some(json!({}))).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.session(Method::POST, &format!("/element/{e}/value"), Some(json!({"text": text}))).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.session(Method::GET, &format!("/element/{e}/text"), None).await.as_str().unwrap().to_owned()
    }

    /// The accessible name of an element, as the browser gives it to a screen reader (its
    /// label, visually hidden text included).
    pub async fn accessible_name(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.session(Method::GET, &format!("/element/{e}/computedlabel"), None).await.as_str().unwrap().to_owned()
    }

    /// A computed CSS property of an element.
    pub async fn css(&self, css: &str, property: &str) -> String {
        let e = self.find(css).await;
        self.session(Method::GET, &format!("/element/{e}/css/{property}"), None).await.as_str().unwrap().to_owned()
    }

    pub async fn selected(&self, css: &str) -> bool {
        let e = self.find(css).await;
        self.session(Method::GET, &format!("/element/{e}/selected"), None).await.as_bool().unwrap()
    }

    /// Saves a screenshot of the window as `target/tmp/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
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

    /// Runs a script in the page and returns what it returns.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.session(Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// Sends keys to the focused element (`\u{E004}` Tab, `\u{E007}` Enter, `\u{E00D}` Space).
    pub async fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [json!({"type": "keyDown", "value": c.to_string()}), json!({"type": "keyUp", "value": c.to_string()})]
            })
            .collect();
        self.session(
            Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
        self.session(Method::DELETE, "/actions", None).await;
    }

    /// Whether the focused element matches `css`.
    pub async fn focused(&self, css: &str) -> bool {
        self.execute(
            "return document.activeElement !== null && document.activeElement.matches(arguments[0]);",
            json!([css]),
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// Moves the focus with the Tab key alone until it is on `css` (at most 400 presses), as
    /// someone without a mouse does.
    pub async fn tab_to(&self, css: &str) {
        self.execute("document.activeElement && document.activeElement.blur(); window.focus();", json!([])).await;
        for _ in 0..400 {
            if self.focused(css).await {
                return;
            }
            self.keys("\u{E004}").await;
        }
        panic!("Tab never reached {css}");
    }

    /// Presses Enter on `css`, reached by Tab.
    pub async fn enter_on(&self, css: &str) {
        self.tab_to(css).await;
        self.keys("\u{E007}").await;
    }

    /// Types into `css`, reached by Tab.
    pub async fn type_by_keyboard(&self, css: &str, text: &str) {
        self.tab_to(css).await;
        self.keys(text).await;
    }

    /// Chooses the option with `value` in a select, by the keyboard: focus it, then type the
    /// start of the option's label until it is chosen.
    pub async fn choose(&self, css: &str, value: &str) {
        self.tab_to(css).await;
        let ok = self
            .execute(
                "const s = document.activeElement; const o = [...s.options].find(o => o.value === arguments[0]); \
                 if (!o) return false; return o.index;",
                json!([value]),
            )
            .await;
        let index = ok.as_u64().unwrap_or_else(|| panic!("{css} has no option {value}"));
        // Home, then Down as often as the option's index: the keyboard way through a select.
        self.keys("\u{E011}").await;
        for _ in 0..index {
            self.keys("\u{E015}").await;
        }
        let chosen = self.execute("return document.activeElement.value;", json!([])).await;
        assert_eq!(chosen.as_str(), Some(value), "{css}: chose {chosen}");
    }

    /// Every visible, enabled control of the page (links, buttons, fields, summaries) is reached
    /// by pressing Tab from the top, each showing a focus outline, with no trap on the way.
    pub async fn check_keyboard(&self, page: &str) {
        let count = self
            .execute(
                "const sel = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), \
                 select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex=\"-1\"])'; \
                 const all = [...document.querySelectorAll(sel)].filter(e => { \
                   const r = e.getBoundingClientRect(); const st = getComputedStyle(e); \
                   return (r.width > 0 || r.height > 0) && st.visibility !== 'hidden' && !e.closest('details:not([open]) > :not(summary)'); }); \
                 all.forEach((e, i) => e.setAttribute('data-kbd', i)); window.__kbdSeen = new Set(); \
                 window.__kbdBad = []; \
                 document.addEventListener('focusin', ev => { const i = ev.target.getAttribute('data-kbd'); \
                   if (i !== null) window.__kbdSeen.add(i); \
                   const st = getComputedStyle(ev.target); \
                   if (st.outlineStyle === 'none' && st.boxShadow === 'none' && ev.target.matches(':focus-visible')) \
                     window.__kbdBad.push(ev.target.outerHTML.slice(0, 120)); }); \
                 document.activeElement && document.activeElement.blur(); return all.length;",
                json!([]),
            )
            .await
            .as_u64()
            .unwrap();
        // A date field takes three Tab stops (day, month, year); press on until every control
        // was reached, or far more often than there are stops.
        let mut seen = 0;
        for pressed in 1..=(count * 4 + 10) {
            self.keys("\u{E004}").await;
            if pressed % 8 == 0 || pressed >= count {
                seen = self.execute("return window.__kbdSeen.size;", json!([])).await.as_u64().unwrap();
                if seen == count {
                    break;
                }
            }
        }
        let missed = self
            .execute(
                "return [...document.querySelectorAll('[data-kbd]')].filter(e => !window.__kbdSeen.has(e.getAttribute('data-kbd'))) \
                 .map(e => e.outerHTML.slice(0, 160));",
                json!([]),
            )
            .await;
        assert_eq!(seen, count, "{page}: not reached by Tab: {missed}");
        let bad = self.execute("return window.__kbdBad;", json!([])).await;
        assert_eq!(bad, json!([]), "{page}: focused without a visible focus indicator");
    }

    /// Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page; no serious or critical
    /// violation may be found.
    pub async fn axe(&self, page: &str) {
        const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");
        self.execute(AXE, json!([])).await;
        let result = self
            .session(
                Method::POST,
                "/execute/async",
                Some(json!({
                    "script": "const done = arguments[arguments.length - 1]; \
                      axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}) \
                      .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, \
                        nodes: v.nodes.slice(0, 3).map(n => n.html)})))).catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e)}]));",
                    "args": [],
                })),
            )
            .await;
        let violations = result.as_array().cloned().unwrap_or_default();
        let grave: Vec<&Value> =
            violations.iter().filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical"))).collect();
        if !violations.is_empty() {
            eprintln!(
                "axe on {page}: {} minor or moderate findings: {}",
                violations.len() - grave.len(),
                json!(violations)
            );
        }
        assert!(grave.is_empty(), "axe on {page}: serious or critical violations: {}", json!(grave));
    }

    /// The window's size (for screenshots wide enough to show a page as an office PC does).
    pub async fn window(&self, width: u32, height: u32) {
        self.session(Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// The current page's path.
    pub async fn path(&self) -> String {
        self.execute("return location.pathname + location.search;", json!([])).await.as_str().unwrap().to_owned()
    }

    pub async fn quit(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
