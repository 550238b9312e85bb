//! Running an office as a service: the database file is created readable by the service only,
//! logs written to a file carry no colour codes (or are JSON lines when asked), SIGHUP is logged
//! and ignored rather than ending the server, and `/readyz` answers for load balancers.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;
use staffel::dev_pki as dev;

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_and_its_folder_are_for_the_service_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("data").join("office.sqlite");
    let url = format!("sqlite:{}", db.display());
    let storage = staffel::storage::open(&url).await.unwrap();
    drop(storage);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600, "the database file");
    assert_eq!(mode(db.parent().unwrap()), 0o700, "the folder made for it");
    for journal in ["office.sqlite-wal", "office.sqlite-shm"] {
        let path = work.path().join("data").join(journal);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{journal}");
        }
    }
}

/// A `staffel serve` process on loopback port 0, its stderr read line by line.
pub(crate) struct Served {
    pub(crate) child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    pub(crate) seen: Vec<String>,
    _work: Option<tempfile::TempDir>,
}

impl Served {
    /// The development office Stuttgart with a fresh SQLite database.
    pub(crate) fn start(json: bool) -> Served {
        let work = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", work.path().join("db.sqlite").display());
        let served = Self::serve(&dev::office_paths(&certs(), STUTTGART).config, &url, json);
        Served { _work: Some(work), ..served }
    }

    /// The office of `config` on the database at `url`.
    pub(crate) fn serve(config: &std::path::Path, url: &str, json: bool) -> Served {
        let mut command = Command::new(env!("CARGO_BIN_EXE_staffel"));
        command
            .args(["serve", "--config"])
            .arg(config)
            .env("STAFFEL_DATABASE_URL", url)
            .env("STAFFEL_API_LISTEN", "127.0.0.1:0")
            .env("STAFFEL_FEDERATION_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if json {
            command.env("STAFFEL_LOG_FORMAT", "json");
        } else {
            command.env_remove("STAFFEL_LOG_FORMAT");
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Served { child, lines, seen: Vec::new(), _work: None }
    }

    /// Waits (at most 30 s) for a log line containing `text`, and returns it.
    pub(crate) fn wait_for(&mut self, text: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            let left = Duration::from_secs(30).saturating_sub(started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no log line with {text:?} in 30 s; seen: {:#?}", self.seen),
            }
        }
    }

    pub(crate) fn signal(&self, name: &str) {
        let ok = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success());
    }
}

/// The caseworker listener's address from the "office serving" line.
pub(crate) fn api_address(line: &str) -> String {
    let at = line.find("api").expect("the line names the api listener");
    line[at..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .find(|w| w.contains("127.0.0.1:"))
        .map(|w| w.trim_start_matches("api=").trim_start_matches("api\":").to_owned())
        .unwrap_or_else(|| panic!("{line}"))
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_is_logged_and_ignored_logs_in_a_file_have_no_colours_and_readyz_answers() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut served = Served::start(false);
    let serving = served.wait_for("office serving");
    let api = api_address(&serving);
    let ready = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{api}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ok");

    served.signal("HUP");
    served.wait_for("SIGHUP received and ignored");
    std::thread::sleep(Duration::from_millis(300));
    assert!(served.child.try_wait().unwrap().is_none(), "SIGHUP did not end the server");
    let still = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{api}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);

    served.signal("TERM");
    served.wait_for("office stopped");
    assert!(served.child.wait().unwrap().success());
    assert!(served.seen.iter().all(|l| !l.contains('\u{1b}')), "no escape codes when stderr is not a terminal");
}

#[cfg(unix)]
#[tokio::test]
async fn logs_are_json_lines_when_asked() {
    let mut served = Served::start(true);
    let serving = served.wait_for("office serving");
    let parsed: serde_json::Value = serde_json::from_str(&serving).expect("a JSON line");
    assert_eq!(parsed["fields"]["message"], "office serving");
    assert_eq!(parsed["level"], "INFO");
    served.signal("TERM");
    served.wait_for("office stopped");
    assert!(served.child.wait().unwrap().success());
    for line in &served.seen {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

/// Runs `staffel` with `args` and `stdin`; its exit status, stdout and stderr.
pub(crate) fn staffel(args: &[&str], stdin: &str, env: &[(&str, String)]) -> (bool, String, String) {
    use std::io::Write as _;
    let mut command = Command::new(env!("CARGO_BIN_EXE_staffel"));
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.env_remove("LD_PRELOAD").env_remove("FAKETIME");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn hash_token_takes_the_line_without_its_ending() {
    // `echo` adds a line ending; it is not part of the token.
    let (ok, out, _) = staffel(&["admin", "hash-token"], "abc\n", &[]);
    assert!(ok);
    assert_eq!(out.trim(), "token_sha256 = \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
    let (ok, out, _) = staffel(&["admin", "hash-token"], "abc", &[]);
    assert!(ok && out.contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    let (ok, _, err) = staffel(&["admin", "hash-token"], "\n", &[]);
    assert!(!ok && err.contains("empty"), "{err}");
}

#[tokio::test]
async fn the_first_administrator_is_made_on_the_command_line_and_config_names_are_taken() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let work = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", work.path().join("db.sqlite").display());
    let config = dev::office_paths(&certs(), STUTTGART).config;
    let config = config.to_str().unwrap();
    let env = [("STAFFEL_DATABASE_URL", url.clone())];
    let args = ["admin", "create-account", "--config", config, "--name", "root", "--role", "administrator"];
    let (ok, out, err) = staffel(&args, "correct horse battery\n", &env);
    assert!(ok, "{err}");
    assert!(out.contains("Account root (administrator) created"), "{out}");
    // The account signs in with that password (the line ending was not part of it).
    let storage = staffel::storage::open(&url).await.unwrap();
    let account = storage.read().await.unwrap().accounts().get("root").await.unwrap().unwrap();
    assert_eq!(account.role, staffel::domain::staff::Role::Administrator);
    drop(storage);
    // Again: the name is taken; a short password and an unknown role are refused; so is a name the
    // config's accounts already use.
    let (ok, _, err) = staffel(&args, "correct horse battery\n", &env);
    assert!(!ok && err.contains("exists"), "{err}");
    let short = ["admin", "create-account", "--config", config, "--name", "lea", "--role", "team-lead"];
    let (ok, _, err) = staffel(&short, "short\n", &env);
    assert!(!ok && err.contains("12"), "{err}");
    let unknown = ["admin", "create-account", "--config", config, "--name", "lea", "--role", "boss"];
    let (ok, _, err) = staffel(&unknown, "correct horse battery\n", &env);
    assert!(!ok && err.contains("--role"), "{err}");
    let listed = staffel::config::Config::load(std::path::Path::new(config)).unwrap();
    let taken = listed.api.managers[0].account.clone();
    let clash = ["admin", "create-account", "--config", config, "--name", &taken, "--role", "team-lead"];
    let (ok, _, err) = staffel(&clash, "correct horse battery\n", &env);
    assert!(!ok && err.contains("one namespace"), "{err}");
}
