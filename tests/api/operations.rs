//! Running an office as a service: the database file is created readable by the service only,
//! logs written to a file carry no colour codes (or are JSON lines when asked), SIGHUP is logged
//! and ignored rather than ending the server, `/readyz` answers for load balancers, and plain HTTP
//! beyond loopback is warned of unless a TLS proxy in front is named.

use std::time::Duration;

use crate::harness::*;
use crate::process::{Served, api_address, staffel};
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

    served.stop();
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
    served.stop();
    for line in &served.seen {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
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
    let env = [("STAFFEL_DATABASE_URL", url.as_str())];
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

/// Stuttgart's development config in `dir` (its paths made absolute), `extra` added to `[api]`.
fn stuttgart_with_api(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let original = dev::office_paths(&certs(), STUTTGART).config;
    let folder = original.parent().unwrap().canonicalize().unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&original)
        .unwrap()
        .lines()
        .map(|line| match line.split_once(" = \"") {
            Some((key @ ("ca" | "cert" | "key" | "signing_key" | "directory"), value)) => {
                format!("{key} = \"{}\"", folder.join(value.trim_end_matches('"')).display())
            }
            _ if line == "[api]" => format!("[api]\n{extra}"),
            _ => line.to_owned(),
        })
        .collect();
    let path = dir.join(format!("config-{}.toml", extra.len()));
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

#[tokio::test]
async fn plain_http_beyond_loopback_is_warned_of_unless_a_tls_proxy_is_named() {
    let work = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", work.path().join("db.sqlite").display());
    let warning = "the caseworker API listens beyond loopback over plain HTTP";
    let start = |extra: &str| {
        let config = stuttgart_with_api(work.path(), extra);
        let mut served =
            Served::spawn(&config, &[("STAFFEL_DATABASE_URL", url.as_str()), ("STAFFEL_API_LISTEN", "0.0.0.0:0")]);
        served.wait_for("office serving");
        served.stop();
        std::mem::take(&mut served.seen)
    };
    // On every address (as in the container image), no proxy named: the warning.
    let seen = start("");
    assert!(seen.iter().any(|l| l.contains(" WARN ") && l.contains(warning)), "{seen:#?}");
    // The TLS proxy in front named: none.
    let seen = start("trusted_proxies = [\"127.0.0.1\"]");
    assert!(seen.iter().all(|l| !l.contains(warning)), "{seen:#?}");
}

#[test]
fn every_file_and_folder_option_has_a_help_line() {
    let commands: [&[&str]; 15] = [
        &["serve"],
        &["backup"],
        &["restore"],
        &["migrate"],
        &["erase-expired"],
        &["ledger", "verify"],
        &["dev-certs"],
        &["demo"],
        &["keys", "signing-key"],
        &["keys", "csr"],
        &["keys", "check"],
        &["admin", "create-account"],
        &["admin", "list-accounts"],
        &["admin", "disable-account"],
        &["admin", "reset-password"],
    ];
    for command in commands {
        let args: Vec<&str> = command.iter().copied().chain(["--help"]).collect();
        let (ok, out, err) = staffel(&args, "", &[]);
        assert!(ok, "{args:?}: {err}");
        let lines: Vec<&str> = out.lines().collect();
        let mut options = 0;
        for (at, line) in lines.iter().enumerate().filter(|(_, l)| l.trim_start().starts_with("--")) {
            let Some((_, after)) =
                ["--config <CONFIG>", "--out <OUT>", "--certs <CERTS>", "--from <FROM>", "--to <TO>"]
                    .iter()
                    .find_map(|flag| line.split_once(flag))
            else {
                continue;
            };
            options += 1;
            // Short help on the same line, or long help on the next (`--help` of a command with
            // paragraphs puts it there).
            let next = lines.get(at + 1).map_or("", |l| l.trim());
            let said = !after.trim().is_empty() || (!next.is_empty() && !next.starts_with('-'));
            assert!(said, "{args:?}: {line:?} has no help line:\n{out}");
        }
        assert!(options > 0, "{args:?}:\n{out}");
    }
}
