//! The real `staffel` binary in tests: one runner for its commands ([`staffel`],
//! [`staffel_async`]) and one wrapper of a `staffel serve` process ([`Served`]: its stderr read
//! line by line, waiting for a line, its caseworker address, signals, a graceful stop). Every
//! process runs without the test run's FAKETIME/LD_PRELOAD and STAFFEL_* overrides unless a test
//! sets them; a `Served` still running when dropped is killed.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use staffel::dev_pki as dev;

use crate::harness::{STUTTGART, certs};

/// The environment of the test run a spawned `staffel` must not inherit: a faked clock, and
/// overrides of the config (and a database password) that belong to the test that sets them.
const NOT_INHERITED: [&str; 8] = [
    "LD_PRELOAD",
    "FAKETIME",
    "STAFFEL_DATABASE_URL",
    "STAFFEL_RESTORE_DATABASE_URL",
    "STAFFEL_API_LISTEN",
    "STAFFEL_FEDERATION_LISTEN",
    "STAFFEL_LOG_FORMAT",
    "PGPASSWORD",
];

/// Removes [`NOT_INHERITED`] from the environment `command` will run with: a program a test
/// runs beside `staffel` (e.g. `openssl` issuing a certificate `staffel` then checks) must run on
/// the same, real clock.
pub fn on_the_real_clock(command: &mut Command) -> &mut Command {
    for name in NOT_INHERITED {
        command.env_remove(name);
    }
    command
}

/// The office's today (German date) at the caseworker listener `api` (`http://127.0.0.1:PORT`),
/// from its `/healthz` answer (see [`today_in`]).
pub async fn office_today(api: &str) -> chrono::NaiveDate {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    today_in(http.get(format!("{api}/healthz")).send().await.unwrap().headers())
}

/// The office's today (German date) from the `Date` header of one of its answers: a spawned
/// `staffel` runs on the real clock, the test process maybe on a faked one (CI runs the tests
/// 400 days ahead), so a date the office checks against its today must be taken from its side.
pub fn today_in(headers: &reqwest::header::HeaderMap) -> chrono::NaiveDate {
    let date = headers.get(reqwest::header::DATE).expect("the office's answer has a Date header");
    let date = chrono::DateTime::parse_from_rfc2822(date.to_str().unwrap()).unwrap();
    staffel::domain::time::german_date(date.with_timezone(&chrono::Utc))
}

/// `staffel` with `args`, its environment cleaned of [`NOT_INHERITED`], then `env` added.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_staffel"));
    command.args(args);
    on_the_real_clock(&mut command);
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

/// Runs `staffel` with `args`, `stdin` as its standard input and `env` added to its environment;
/// (exit success, stdout, stderr).
pub fn staffel(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    run(command(args, env), stdin)
}

/// [`staffel`] with `dir` as its working folder.
pub fn staffel_in(dir: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = command(args, env);
    command.current_dir(dir);
    run(command, stdin)
}

/// Runs `command` with `stdin`; (exit success, stdout, stderr).
fn run(mut command: Command, stdin: &str) -> (bool, String, String) {
    use std::io::Write as _;
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    written(child.stdin.take().unwrap().write_all(stdin.as_bytes()));
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// Checks the writing of a child's standard input: a child that exits before reading it (a refused
/// argument, a command that reads nothing) closes the pipe, which is no failure of the test's.
fn written(result: std::io::Result<()>) {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
}

/// [`staffel`] without blocking the runtime (for a test whose offices run in it meanwhile).
pub async fn staffel_async(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    use tokio::io::AsyncWriteExt as _;
    let mut command = tokio::process::Command::from(command(args, env));
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    written(input.write_all(stdin.as_bytes()).await);
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// A `staffel serve` process with both listeners on loopback port 0, its stderr read line by line.
pub struct Served {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
    _work: Option<tempfile::TempDir>,
}

impl Served {
    /// The office of `config` as the file says (its database too), logging plain text at `info`;
    /// `env` added last (e.g. `STAFFEL_LOG_FORMAT=json`).
    pub fn spawn(config: &Path, env: &[(&str, &str)]) -> Served {
        let mut command = command(&["serve", "--config"], &[]);
        command
            .arg(config)
            .env("STAFFEL_API_LISTEN", "127.0.0.1:0")
            .env("STAFFEL_FEDERATION_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
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

    /// The office of `config` on the database at `url`; JSON logs if `json`.
    pub fn serve(config: &Path, url: &str, json: bool) -> Served {
        let mut env = vec![("STAFFEL_DATABASE_URL", url)];
        if json {
            env.push(("STAFFEL_LOG_FORMAT", "json"));
        }
        Self::spawn(config, &env)
    }

    /// The development office Stuttgart with a fresh SQLite database; JSON logs if `json`.
    pub fn start(json: bool) -> Served {
        let work = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", work.path().join("db.sqlite").display());
        let mut served = Self::serve(&dev::office_paths(&certs(), STUTTGART).config, &url, json);
        served._work = Some(work);
        served
    }

    /// Waits (at most 30 s) for a log line containing `text`, and returns it.
    pub fn wait_for(&mut self, text: &str) -> String {
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

    /// The caseworker listener's base URL (`http://127.0.0.1:PORT`), once the office serves.
    pub fn api(&mut self) -> String {
        format!("http://{}", api_address(&self.wait_for("office serving")))
    }

    /// Sends the signal `name` (e.g. `HUP`, `TERM`).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success());
    }

    /// Stops the office with SIGTERM; it says so and exits 0.
    pub fn stop(&mut self) {
        self.signal("TERM");
        self.wait_for("office stopped");
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The caseworker listener's address from the "office serving" line (plain text or JSON).
pub fn api_address(line: &str) -> String {
    let at = line.find("api").expect("the line names the api listener");
    line[at..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .find(|w| w.contains("127.0.0.1:"))
        .map(|w| w.trim_start_matches("api=").trim_start_matches("api\":").to_owned())
        .unwrap_or_else(|| panic!("{line}"))
}

#[test]
fn a_child_that_exits_before_reading_its_input_is_no_failure_of_the_runner() {
    // More input than a pipe holds: the write still goes on when the refused command has exited.
    let input = "x".repeat(1 << 20);
    let (ok, _, err) = staffel(&["--no-such-flag"], &input, &[]);
    assert!(!ok);
    assert!(err.contains("--no-such-flag"), "{err}");
}

#[tokio::test]
async fn a_child_that_exits_before_reading_its_input_is_no_failure_of_the_async_runner() {
    let input = "x".repeat(1 << 20);
    let (ok, _, err) = staffel_async(&["--no-such-flag"], &input, &[]).await;
    assert!(!ok);
    assert!(err.contains("--no-such-flag"), "{err}");
}
