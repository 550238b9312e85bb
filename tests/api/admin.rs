//! `staffel admin` with the real binary: listing, disabling, enabling and deleting accounts and
//! new passwords, seen through a running office's API (logins and session tokens); the last
//! enabled administrator kept; one namespace of account names at start; and the warning of an
//! office without administrator.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::json;
use staffel::demo::Caseworker;
use staffel::dev_pki as dev;

use crate::harness::*;
use crate::process::{Served, staffel};

const P: &str = "urn:staffel:problem:";

/// The development config of Stuttgart, and the environment that points it at `url`.
fn stuttgart(url: &str) -> (String, [(&'static str, &str); 1]) {
    let config = dev::office_paths(&certs(), STUTTGART).config;
    (config.to_str().unwrap().to_owned(), [("STAFFEL_DATABASE_URL", url)])
}

/// A copy of Stuttgart's development config in `dir` without its administrator account (its
/// paths made absolute).
fn config_without_administrator(dir: &Path) -> PathBuf {
    let original = dev::office_paths(&certs(), STUTTGART).config;
    let folder = original.parent().unwrap().canonicalize().unwrap();
    let text = std::fs::read_to_string(&original).unwrap();
    let mut blocks: Vec<&str> = text.split("[[api.managers]]").collect();
    blocks.retain(|b| !b.contains("role = \"administrator\""));
    assert_eq!(blocks.len(), 3, "the head and two accounts are left");
    let lines: Vec<String> = blocks
        .join("[[api.managers]]")
        .lines()
        .map(|line| match line.split_once(" = \"") {
            Some((key @ ("ca" | "cert" | "key" | "signing_key" | "directory"), value)) => {
                format!("{key} = \"{}\"", folder.join(value.trim_end_matches('"')).display())
            }
            _ => line.to_owned(),
        })
        .collect();
    let path = dir.join("config.toml");
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

/// A config's account, as `list-accounts` prints it: its line.
fn listed<'a>(out: &'a str, name: &str) -> Option<&'a str> {
    out.lines().find(|l| l.split_whitespace().next() == Some(name))
}

#[tokio::test]
async fn accounts_are_disabled_enabled_given_new_passwords_and_deleted_on_the_command_line() {
    let work = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", work.path().join("db.sqlite").display());
    let (config, env) = stuttgart(&url);
    let config = config.as_str();
    let admin = |command: &str, name: &str, stdin: &str| {
        staffel(&["admin", command, "--config", config, "--name", name], stdin, &env)
    };
    let create = ["admin", "create-account", "--config", config, "--name", "tara.lead", "--role", "team-lead"];
    let (ok, _, err) = staffel(&create, "correct horse battery\n", &env);
    assert!(ok, "{err}");

    // The office runs on that database meanwhile: every change shows at once.
    let federation = offices(&[STUTTGART])
        .configure({
            let url = url.clone();
            move |c| c.database.url = url.clone()
        })
        .start()
        .await;
    let office = &federation.offices[0];
    let cw = Caseworker::new();
    let login = |password: &str| {
        let body = json!({"account": "tara.lead", "password": password});
        let cw = &cw;
        async move { cw.call(office, Method::POST, "/api/v1/login", Some(body)).await.unwrap() }
    };
    let session = |answer: &(u16, serde_json::Value)| office.as_user(answer.1["token"].as_str().unwrap());
    let first = login("correct horse battery").await;
    assert_eq!(first.0, 200, "{first:?}");
    let lead = session(&first);
    cw.expect(&lead, Method::GET, "/api/v1/office", None, 200).await.unwrap();

    // The list: name, role, state and where the account comes from; never a secret.
    let (ok, out, err) = staffel(&["admin", "list-accounts", "--config", config], "", &env);
    assert!(ok, "{err}");
    let tara: Vec<&str> = listed(&out, "tara.lead").unwrap().split_whitespace().collect();
    assert_eq!(tara, ["tara.lead", "team-lead", "enabled", "database"], "{out}");
    let config_admin: Vec<&str> = listed(&out, &format!("admin-{STUTTGART}")).unwrap().split_whitespace().collect();
    assert_eq!(config_admin[1..], ["administrator", "enabled", "config"], "{out}");
    assert!(!out.contains("argon2") && !out.contains("sha256") && !out.contains("dev-"), "{out}");

    // Disabled: the session token stops working, and so does the password.
    let (ok, out, err) = admin("disable-account", "tara.lead", "");
    assert!(ok && out.contains("Account tara.lead disabled"), "{out}{err}");
    let refused = cw.call(&lead, Method::GET, "/api/v1/office", None).await.unwrap();
    assert_eq!(refused.0, 401, "the session ended: {refused:?}");
    let no_login = login("correct horse battery").await;
    assert_eq!((no_login.0, no_login.1["type"].as_str().unwrap()), (401, &*format!("{P}login-failed")));
    let (_, out, _) = staffel(&["admin", "list-accounts", "--config", config], "", &env);
    assert!(listed(&out, "tara.lead").unwrap().contains("disabled"), "{out}");
    let (ok, _, err) = admin("disable-account", "tara.lead", "");
    assert!(!ok && err.contains("disabled already"), "{err}");

    // Enabled again: the old password works.
    let (ok, out, err) = admin("enable-account", "tara.lead", "");
    assert!(ok && out.contains("enabled again"), "{out}{err}");
    let (ok, _, err) = admin("enable-account", "tara.lead", "");
    assert!(!ok && err.contains("not disabled"), "{err}");
    let again = login("correct horse battery").await;
    assert_eq!(again.0, 200, "{again:?}");
    let lead = session(&again);

    // A new password: too short is refused; then the old one and the session stop working.
    let (ok, _, err) = admin("reset-password", "tara.lead", "too short\n");
    assert!(!ok && err.contains("12"), "{err}");
    let (ok, out, err) = admin("reset-password", "tara.lead", "staple battery horse\n");
    assert!(ok && out.contains("new password"), "{out}{err}");
    assert_eq!(cw.call(&lead, Method::GET, "/api/v1/office", None).await.unwrap().0, 401);
    assert_eq!(login("correct horse battery").await.0, 401);
    let renewed = login("staple battery horse").await;
    assert_eq!(renewed.0, 200, "{renewed:?}");
    let lead = session(&renewed);

    // Deleted: gone from the list, its session and its login with it.
    let (ok, out, err) = admin("delete-account", "tara.lead", "");
    assert!(ok && out.contains("deleted"), "{out}{err}");
    let (_, out, _) = staffel(&["admin", "list-accounts", "--config", config], "", &env);
    assert!(listed(&out, "tara.lead").is_none(), "{out}");
    assert_eq!(cw.call(&lead, Method::GET, "/api/v1/office", None).await.unwrap().0, 401);
    assert_eq!(login("staple battery horse").await.0, 401);
    let (ok, _, err) = admin("delete-account", "tara.lead", "");
    assert!(!ok && err.contains("no such account"), "{err}");

    // Accounts of the config are changed in the config.
    let (ok, _, err) = admin("disable-account", &format!("admin-{STUTTGART}"), "");
    assert!(!ok && err.contains("in the config"), "{err}");
    federation.stop().await;

    // The audit log names who changed which account.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let actions: Vec<(String, String)> =
        sqlx::query_as("SELECT account, action FROM audit_log WHERE action LIKE 'write:account-%' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let by = |c: &str| format!("(staffel admin {c})");
    assert_eq!(
        actions,
        [
            (by("create-account"), "write:account-created:tara.lead".to_owned()),
            (by("disable-account"), "write:account-disabled:tara.lead".to_owned()),
            (by("enable-account"), "write:account-enabled:tara.lead".to_owned()),
            (by("reset-password"), "write:account-password:tara.lead".to_owned()),
            (by("delete-account"), "write:account-deleted:tara.lead".to_owned()),
        ]
    );
}

#[tokio::test]
async fn an_office_without_administrator_warns_and_keeps_its_last_one() {
    let work = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", work.path().join("db.sqlite").display());
    let config = config_without_administrator(work.path());
    let config_str = config.to_str().unwrap();
    let env = [("STAFFEL_DATABASE_URL", url.as_str())];
    let warning = "this office has no administrator";

    // No administrator in the config, none in the (empty) database: a warning at start.
    let mut served = Served::serve(&config, &url, false);
    served.wait_for(warning);
    served.wait_for("office serving");
    served.stop();

    let create = |name: &str| {
        let args = ["admin", "create-account", "--config", config_str, "--name", name, "--role", "administrator"];
        staffel(&args, "correct horse battery\n", &env)
    };
    let admin =
        |command: &str, name: &str| staffel(&["admin", command, "--config", config_str, "--name", name], "", &env);
    let (ok, _, err) = create("root");
    assert!(ok, "{err}");

    // With one: no warning.
    let mut served = Served::serve(&config, &url, false);
    served.wait_for("office serving");
    served.stop();
    assert!(served.seen.iter().all(|l| !l.contains(warning)), "{:#?}", served.seen);

    // The last enabled administrator is neither disabled nor deleted ...
    for command in ["disable-account", "delete-account"] {
        let (ok, _, err) = admin(command, "root");
        assert!(!ok && err.contains("last enabled administrator"), "{command}: {err}");
    }
    // ... while another is there, either may go, but not both.
    let (ok, _, err) = create("ada");
    assert!(ok, "{err}");
    let (ok, _, err) = admin("disable-account", "root");
    assert!(ok, "{err}");
    let (ok, _, err) = admin("delete-account", "ada");
    assert!(!ok && err.contains("last enabled administrator"), "{err}");
    let (ok, _, err) = admin("enable-account", "root");
    assert!(ok, "{err}");
    let (ok, _, err) = admin("delete-account", "ada");
    assert!(ok, "{err}");
    let (_, out, _) = staffel(&["admin", "list-accounts", "--config", config_str], "", &env);
    assert_eq!(
        listed(&out, "root").unwrap().split_whitespace().collect::<Vec<_>>()[1..],
        ["administrator", "enabled", "database"]
    );
    assert!(listed(&out, "ada").is_none(), "{out}");
}

#[tokio::test]
async fn a_name_both_in_the_config_and_the_database_stops_the_start_until_one_goes() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let work = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", work.path().join("db.sqlite").display());
    let (config, env) = stuttgart(&url);
    let taken = format!("lead-{STUTTGART}");
    // Neither the command nor the API makes such an account; a database from before did.
    let create = ["admin", "create-account", "--config", &config, "--name", &taken, "--role", "team-lead"];
    let (ok, _, err) = staffel(&create, "correct horse battery\n", &env);
    assert!(!ok && err.contains("one namespace"), "{err}");
    let storage = staffel::storage::open(&url).await.unwrap();
    let mut tx = storage.begin().await.unwrap();
    let old = staffel::domain::staff::Account {
        name: taken.clone(),
        role: staffel::domain::staff::Role::Administrator,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c3RhZmZlbA$c3RhZmZlbA".into(),
        created_by: "(an older version)".into(),
        created_at: t0(),
        disabled_at: None,
    };
    tx.accounts().insert(&old).await.unwrap();
    tx.commit().await.unwrap();
    drop(storage);

    let mut served = Served::serve(Path::new(&config), &url, false);
    let refusal = served.wait_for("is used both");
    assert!(!served.child.wait().unwrap().success(), "the office must not start");
    assert!(refusal.contains(&format!("the account name {taken} is used both")), "{refusal}");
    assert!(refusal.contains(&format!("staffel admin delete-account --config <config> --name {taken}")), "{refusal}");

    // The way out the message names: the database's account goes, the config's stays.
    let (ok, out, err) = staffel(&["admin", "delete-account", "--config", &config, "--name", &taken], "", &env);
    assert!(ok, "{out}{err}");
    let mut served = Served::serve(Path::new(&config), &url, false);
    served.wait_for("office serving");
    served.stop();
}
