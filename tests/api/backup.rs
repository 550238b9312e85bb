//! Backup, restore and migrations with the real binary: `staffel backup` of a running office
//! under load (SQLite and PostgreSQL), `staffel restore` elsewhere, an office started on the
//! restored files serving every write acknowledged before the backup began, its ledger verified;
//! a damaged backup, and one with a symbolic link in it, refused with nothing written; a restore that fails halfway into a prepared
//! empty folder leaving it empty, and tried again; file modes; `staffel migrate` (with
//! `--status`), `[database] migrate = "explicit"`, a database newer than the binary refused, and
//! the PostgreSQL migration lock given back after a failed migration.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Value, json};
use staffel::demo::{Caseworker, DemoOffice};
use staffel::dev_pki as dev;

use crate::harness::*;
use crate::process::{Served, staffel, staffel_async, staffel_in};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every file of a folder is 0600 and the folder 0700.
#[cfg(unix)]
fn assert_private(dir: &Path) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

/// A write the office acknowledged, and how to find it again.
#[derive(Debug, Clone)]
enum Acked {
    /// A client record with a goal of this description.
    Goal {
        client: String,
        description: String,
    },
    Client(String),
    Handover(String),
}

/// Creates clients, goals and (every third round) handovers to `to` until `stop` is set; every
/// acknowledged write goes into `acked` the moment its answer arrives. At most 2000 rounds.
async fn load(from: DemoOffice, to: String, acked: Arc<Mutex<Vec<Acked>>>, stop: Arc<std::sync::atomic::AtomicBool>) {
    let cw = Caseworker::new();
    let first = today() - chrono::Duration::days(100);
    for n in 0..2000 {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let body = json!({"given_name": format!("Last{n}"), "family_name": "Beispiel", "date_of_birth": "1980-01-01", "first_session": first, "target_group": "follow-up-accommodation", "benefits": "asylblg"});
        let client = cw.expect(&from, Method::POST, "/api/v1/clients", Some(body), 201).await.unwrap();
        let id = client["id"].as_str().unwrap().to_owned();
        acked.lock().unwrap().push(Acked::Client(id.clone()));
        let description = format!("B1 round {n}");
        let goal = json!({"area": "language", "description": description, "responsible": {"kind": "client"}});
        cw.expect(&from, Method::POST, &format!("/api/v1/clients/{id}/goals"), Some(goal), 201).await.unwrap();
        acked.lock().unwrap().push(Acked::Goal { client: id.clone(), description });
        if n % 3 == 0 {
            let consent = json!({"recipient": to, "categories": ["identity", "window", "plan:language"], "language": "de", "signed_on": today()});
            let consent = cw
                .expect(&from, Method::POST, &format!("/api/v1/clients/{id}/consents"), Some(consent), 201)
                .await
                .unwrap();
            let body = json!({"client_id": id, "receiver": to, "consent_id": consent["id"]});
            let draft = cw.expect(&from, Method::POST, "/api/v1/handovers", Some(body), 201).await.unwrap();
            acked.lock().unwrap().push(Acked::Handover(draft["id"].as_str().unwrap().to_owned()));
        }
    }
}

/// Everything in `acked` is served by the office at `api` (Stuttgart's development token).
async fn assert_served(api: &str, acked: &[Acked]) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let response =
                http.get(format!("{api}{path}")).bearer_auth(format!("dev-token-{STUTTGART}")).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for write in acked {
        match write {
            Acked::Client(id) => assert_eq!(get(format!("/api/v1/clients/{id}")).await.0, 200, "client {id}"),
            Acked::Goal { client, description } => {
                let (status, body) = get(format!("/api/v1/clients/{client}")).await;
                assert_eq!(status, 200);
                assert!(body.to_string().contains(description.as_str()), "goal {description:?} of {client}");
            }
            Acked::Handover(id) => assert_eq!(get(format!("/api/v1/handovers/{id}")).await.0, 200, "handover {id}"),
        }
    }
}

/// The whole way: an office under load, `staffel backup` while it writes, `staffel restore`
/// elsewhere, the restored ledger verified, an office served from the restored files. The
/// folder holding the backup, and the backup.
async fn backup_under_load_and_restore(
    database: Option<String>,
    restore_url: Option<String>,
) -> (tempfile::TempDir, PathBuf) {
    // The backend is this test's, whatever the run's (STAFFEL_TEST_BACKEND): SQLite files here
    // unless Stuttgart is given a PostgreSQL database.
    let files = tempfile::tempdir().unwrap();
    let (stuttgart_url, folder) = (database.clone(), files.path().to_owned());
    let federation = offices(&[STUTTGART, HEIDELBERG])
        .configure(move |c| {
            c.database.url = match stuttgart_url.as_ref().filter(|_| c.office.id.as_str() == STUTTGART) {
                Some(url) => url.clone(),
                None => format!("sqlite:{}", folder.join(format!("{}.sqlite", c.office.id)).display()),
            };
        })
        .start()
        .await;
    let stuttgart = federation.offices[0].as_user(&federation.offices[0].token);
    let heidelberg_id = federation.offices[1].id.clone();
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("backup");
    let restored = work.path().join("restored");

    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = tokio::spawn(load(stuttgart.as_user(&stuttgart.token), heidelberg_id, acked.clone(), stop.clone()));
    // Some writes first, then the backup while the load goes on.
    eventually("writes before the backup", || {
        let n = acked.lock().unwrap().len();
        async move { (n >= 12).then_some(()) }
    })
    .await;
    let before: Vec<Acked> = acked.lock().unwrap().clone();
    let config = dev::office_paths(&certs(), STUTTGART).config;
    let (ok, out, err) = staffel_async(
        &["backup", "--config", s(&config), "--out", s(&backup)],
        "",
        &[("STAFFEL_DATABASE_URL", &stuttgart.database)],
    )
    .await;
    let done = acked.lock().unwrap().len();
    let during = done - before.len();
    // Writes acknowledged after the backup ended cannot be in it: the restored office must not
    // serve them (the restore is the backup, not the live database).
    if ok {
        eventually("writes after the backup", || {
            let n = acked.lock().unwrap().len();
            async move { (n >= done + 6).then_some(()) }
        })
        .await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    load.await.unwrap();
    let after: Vec<String> = acked.lock().unwrap()[done..]
        .iter()
        .filter_map(|a| if let Acked::Client(id) = a { Some(id.clone()) } else { None })
        .collect();
    assert!(ok, "{out}\n{err}");
    eprintln!("{} writes acknowledged before the backup, {during} while it ran", before.len());
    assert!(out.contains("Backup of office 08111000 done"), "{out}");
    if database.is_none() {
        assert!(out.contains("pages copied"), "progress in pages: {out}");
    }
    #[cfg(unix)]
    assert_private(&backup);
    let manifest: Value = serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["office"], STUTTGART);
    assert_eq!(manifest["staffel_version"], env!("CARGO_PKG_VERSION"));
    let backend =
        if database.is_some() { staffel::storage::Backend::Postgres } else { staffel::storage::Backend::Sqlite };
    assert_eq!(manifest["schema_version"], staffel::storage::latest_migration(backend));
    let roles: Vec<&str> = manifest["files"].as_array().unwrap().iter().map(|f| f["role"].as_str().unwrap()).collect();
    for role in ["database", "config", "federation-ca", "federation-cert", "federation-key", "signing-key", "directory"]
    {
        assert!(roles.contains(&role), "{role} in {roles:?}");
    }
    federation.stop().await;

    let mut args = vec!["restore", "--from", s(&backup), "--to", s(&restored)];
    if let Some(url) = &restore_url {
        args.extend(["--database-url", url.as_str()]);
    }
    let (ok, out, err) = staffel(&args, "", &[]);
    assert!(ok, "{out}\n{err}");
    #[cfg(unix)]
    assert_private(&restored);
    let restored_config = restored.join("config.toml");
    let (ok, out, err) = staffel(&["ledger", "verify", "--config", s(&restored_config)], "", &[]);
    assert!(ok && out.contains("Chain intact"), "{out}\n{err}");

    let mut served = Served::spawn(&restored_config, &[]);
    let api = served.api();
    assert_served(&api, &before).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    for id in &after {
        let response = http
            .get(format!("{api}/api/v1/clients/{id}"))
            .bearer_auth(format!("dev-token-{STUTTGART}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "client {id}, created after the backup, is not in it");
    }
    assert!(!after.is_empty(), "clients were created after the backup");
    served.stop();
    (work, backup)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_office_backed_up_under_load_is_restored_with_every_write_acknowledged_before() {
    backup_under_load_and_restore(None, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_office_backed_up_under_load_is_restored_with_every_write_acknowledged_before() {
    let Some(server) = postgres_server() else { return };
    let mut databases = PgDatabases::new(&server);
    let office = databases.create().await;
    let target = databases.create().await;
    let (work, backup) = backup_under_load_and_restore(Some(office), Some(target.clone())).await;
    // The target is no longer empty: a second restore into it is refused, and so is a PostgreSQL
    // backup without a target database.
    let again = work.path().join("again");
    let (ok, _, err) =
        staffel(&["restore", "--from", s(&backup), "--to", s(&again), "--database-url", &target], "", &[]);
    assert!(!ok && err.contains("refusing to restore over it"), "{err}");
    assert!(!again.exists());
    // Into a folder the operator made: the files written before the database was refused go.
    std::fs::create_dir(&again).unwrap();
    let (ok, _, err) =
        staffel(&["restore", "--from", s(&backup), "--to", s(&again), "--database-url", &target], "", &[]);
    assert!(!ok && err.contains("refusing to restore over it"), "{err}");
    assert_eq!(std::fs::read_dir(&again).unwrap().count(), 0, "the folder is empty again");
    std::fs::remove_dir(&again).unwrap();
    let (ok, _, err) = staffel(&["restore", "--from", s(&backup), "--to", s(&again)], "", &[]);
    assert!(!ok && err.contains("--database-url"), "{err}");
}

/// A backup of a fresh development office (Stuttgart) into `dir/backup`.
fn fresh_backup(dir: &Path) -> PathBuf {
    let backup = dir.join("backup");
    let db = format!("sqlite:{}", dir.join("office.sqlite").display());
    let config = dev::office_paths(&certs(), STUTTGART).config;
    let (ok, out, err) = staffel(&["migrate", "--config", s(&config)], "", &[("STAFFEL_DATABASE_URL", &db)]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) =
        staffel(&["backup", "--config", s(&config), "--out", s(&backup)], "", &[("STAFFEL_DATABASE_URL", &db)]);
    assert!(ok, "{out}{err}");
    backup
}

#[test]
fn a_damaged_backup_is_refused_and_nothing_is_written_nor_overwritten() {
    let work = tempfile::tempdir().unwrap();
    let backup = fresh_backup(work.path());
    let to = work.path().join("restored");

    // A backup folder that exists is not written into.
    let config = dev::office_paths(&certs(), STUTTGART).config;
    let (ok, _, err) = staffel(&["backup", "--config", s(&config), "--out", s(&backup)], "", &[]);
    assert!(!ok && err.contains("not empty"), "{err}");

    // One byte of the database changed: refused before anything is written.
    let database = backup.join("database.sqlite");
    let mut bytes = std::fs::read(&database).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let original = std::fs::read(&database).unwrap();
    std::fs::write(&database, &bytes).unwrap();
    let (ok, _, err) = staffel(&["restore", "--from", s(&backup), "--to", s(&to)], "", &[]);
    assert!(!ok && err.contains("damaged") && err.contains("database.sqlite"), "{err}");
    assert!(!to.exists(), "nothing written");
    std::fs::write(&database, &original).unwrap();

    // A key file missing: refused too.
    let key = backup.join("signing.jwk");
    let jwk = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let (ok, _, err) = staffel(&["restore", "--from", s(&backup), "--to", s(&to)], "", &[]);
    assert!(!ok && err.contains("damaged") && err.contains("signing.jwk"), "{err}");
    assert!(!to.exists());
    std::fs::write(&key, jwk).unwrap();

    // An existing database is never overwritten; a folder with something in it is not used.
    let existing = work.path().join("office.sqlite");
    let before = std::fs::read(&existing).unwrap();
    let url = format!("sqlite:{}", existing.display());
    let (ok, _, err) = staffel(&["restore", "--from", s(&backup), "--to", s(&to), "--database-url", &url], "", &[]);
    assert!(!ok && err.contains("refusing to overwrite"), "{err}");
    assert_eq!(std::fs::read(&existing).unwrap(), before);
    assert!(!to.exists(), "the folder made for the restore is gone again");
    let (ok, _, err) = staffel(&["restore", "--from", s(&backup), "--to", s(work.path())], "", &[]);
    assert!(!ok && err.contains("not empty"), "{err}");

    // Intact again: restored, 0600 files in a 0700 folder.
    let (ok, out, err) = staffel(&["restore", "--from", s(&backup), "--to", s(&to)], "", &[]);
    assert!(ok, "{out}{err}");
    #[cfg(unix)]
    assert_private(&to);
    assert!(out.contains("staffel serve --config"), "{out}");
}

#[test]
fn a_relative_sqlite_url_of_a_restore_means_the_working_folder_in_the_restored_config_too() {
    let work = tempfile::tempdir().unwrap();
    let backup = fresh_backup(work.path());
    let args =
        ["restore", "--from", s(&backup), "--to", "restored", "--database-url", "sqlite:databases/office.sqlite"];
    let (ok, out, err) = staffel_in(work.path(), &args, "", &[]);
    assert!(ok, "{out}{err}");
    let database = work.path().join("databases/office.sqlite");
    assert!(database.is_file());
    // The restored config names that database, wherever it is read from.
    let config = staffel::config::Config::from_file(&work.path().join("restored/config.toml")).unwrap();
    assert_eq!(config.database.url, format!("sqlite:{}", database.display()));
    let (ok, out, err) =
        staffel(&["migrate", "--status", "--config", s(&work.path().join("restored/config.toml"))], "", &[]);
    assert!(ok && out.contains("applied") && out.contains("Up to date."), "{out}{err}");
}

/// Listeners on loopback port 0 for a `serve` expected to refuse.
const LOOPBACK_ANY_PORT: [(&str, &str); 2] =
    [("STAFFEL_API_LISTEN", "127.0.0.1:0"), ("STAFFEL_FEDERATION_LISTEN", "127.0.0.1:0")];

/// A config for `dir` from Stuttgart's development config: absolute paths, the database `url`,
/// and `[database] migrate = mode` if given.
fn config_in(dir: &Path, url: &str, migrate: Option<&str>) -> PathBuf {
    let source = dev::office_paths(&certs(), STUTTGART).config;
    let loaded = staffel::config::Config::from_file(&source).unwrap();
    let mut table: toml::Table = std::fs::read_to_string(&source).unwrap().parse().unwrap();
    let f = &loaded.federation;
    let mut federation = toml::Table::new();
    for (key, path) in [
        ("ca", &f.ca),
        ("cert", &f.cert),
        ("key", &f.key),
        ("signing_key", &f.signing_key),
        ("directory", &f.directory),
    ] {
        federation.insert(key.into(), s(path).into());
    }
    table.insert("federation".into(), federation.into());
    let mut database = toml::Table::new();
    database.insert("url".into(), url.into());
    if let Some(mode) = migrate {
        database.insert("migrate".into(), mode.into());
    }
    table.insert("database".into(), database.into());
    let path = dir.join("config.toml");
    std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
    path
}

/// `migrate --status`, explicit migration, and a database newer than the binary, on the database
/// at `url` (empty).
async fn migrations_listed_applied_and_refused(url: &str, backend: staffel::storage::Backend) {
    let work = tempfile::tempdir().unwrap();
    let explicit = config_in(work.path(), url, Some("explicit"));
    let latest = staffel::storage::latest_migration(backend);
    let c = s(&explicit);

    // Explicit: serve refuses while migrations are pending, naming `staffel migrate`.
    let (ok, _, err) = staffel(&["serve", "--config", c], "", &LOOPBACK_ANY_PORT);
    assert!(!ok && err.contains("staffel migrate") && err.contains("pending"), "{err}");
    let (ok, out, err) = staffel(&["migrate", "--config", c, "--status"], "", &[]);
    assert!(ok, "{out}{err}");
    assert_eq!(out.matches("pending").count(), latest as usize + 1, "every migration pending, and the hint: {out}");
    assert!(out.contains("0001  initial"), "{out}");

    let (ok, out, err) = staffel(&["migrate", "--config", c], "", &[]);
    assert!(ok, "{out}{err}");
    assert_eq!(out.matches("applying").count(), latest as usize, "{out}");
    assert!(out.contains(&format!("the database is at migration {latest}")), "{out}");
    let (ok, out, _) = staffel(&["migrate", "--config", c], "", &[]);
    assert!(ok && out.contains("Nothing to apply"), "{out}");
    let (ok, out, _) = staffel(&["migrate", "--config", c, "--status"], "", &[]);
    assert!(ok && out.contains("Up to date") && !out.contains("pending"), "{out}");

    // Now it starts.
    let mut served = Served::spawn(&explicit, &[]);
    served.api();
    served.stop();

    // A newer Staffel applied a migration this binary does not know: every command refuses,
    // pointing to the way back.
    let newer = latest + 1;
    let store = staffel::storage::connect(url, false).await.unwrap();
    drop(store);
    let insert = format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ({newer}, 'from the future', TRUE, X'00', 0)"
    );
    match backend {
        staffel::storage::Backend::Sqlite => {
            use sqlx::Connection as _;
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query(&insert).execute(&mut conn).await.unwrap();
        }
        staffel::storage::Backend::Postgres => {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(&insert.replace("X'00'", "'\\x00'::bytea")).execute(&mut conn).await.unwrap();
        }
    }
    let (ok, out, _) = staffel(&["migrate", "--config", c, "--status"], "", &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("unknown to this binary") && out.contains("newer than this binary"), "{out}");
    let at_start = config_in(work.path(), url, None);
    for config in [&explicit, &at_start] {
        let (ok, _, err) = staffel(&["serve", "--config", s(config)], "", &LOOPBACK_ANY_PORT);
        assert!(!ok, "{err}");
        assert!(err.contains("newer than this binary") && err.contains("staffel restore"), "{err}");
    }
    let (ok, _, err) = staffel(&["migrate", "--config", s(&at_start)], "", &[]);
    assert!(!ok && err.contains(&format!("migration {newer}")), "{err}");
}

#[tokio::test]
async fn sqlite_migrations_are_listed_applied_explicitly_and_a_newer_database_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", work.path().join("office.sqlite").display());
    // No database yet: --status says so and makes none.
    let config = config_in(work.path(), &url, None);
    let (ok, _, err) = staffel(&["migrate", "--config", s(&config), "--status"], "", &[]);
    assert!(!ok && err.contains("no database"), "{err}");
    assert!(!work.path().join("office.sqlite").exists());
    migrations_listed_applied_and_refused(&url, staffel::storage::Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_migrations_are_listed_applied_explicitly_and_a_newer_database_is_refused() {
    let Some(server) = postgres_server() else { return };
    let mut databases = PgDatabases::new(&server);
    let url = databases.create().await;
    migrations_listed_applied_and_refused(&url, staffel::storage::Backend::Postgres).await;
}

/// The manifest entry of the file with `role` set to `bytes`' length and SHA-256: a backup still
/// consistent after a file was changed on purpose.
fn relist(backup: &Path, role: &str, bytes: &[u8]) {
    let path = backup.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let files = manifest["files"].as_array_mut().unwrap();
    let file = files.iter_mut().find(|f| f["role"] == role).unwrap();
    file["bytes"] = json!(bytes.len());
    file["sha256"] = json!(staffel::digest::sha256_hex(bytes));
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

/// Everything in a folder, by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_restore_that_fails_halfway_leaves_a_prepared_empty_folder_empty_and_can_be_tried_again() {
    let work = tempfile::tempdir().unwrap();
    let backup = fresh_backup(work.path());
    // The operator made the folder (and nothing else); the database goes elsewhere, into a
    // folder that does not exist yet.
    let to = work.path().join("prepared");
    std::fs::create_dir(&to).unwrap();
    let elsewhere = work.path().join("databases");
    let database = elsewhere.join("office.sqlite");
    let url = format!("sqlite:{}", database.display());
    let restore =
        |url: &str| staffel(&["restore", "--from", s(&backup), "--to", s(&to), "--database-url", url], "", &[]);

    // A config this binary cannot read (a key a newer Staffel knows, at the same schema), listed
    // in the manifest as it is: the backup checks, the restore fails when the config is read.
    let config = backup.join("config.toml");
    let original = std::fs::read(&config).unwrap();
    let mut newer = b"setting_of_a_newer_staffel = true\n".to_vec();
    newer.extend_from_slice(&original);
    std::fs::write(&config, &newer).unwrap();
    relist(&backup, "config", &newer);
    let (ok, out, err) = restore(&url);
    assert!(!ok && err.contains("setting_of_a_newer_staffel"), "{out}\n{err}");
    assert_eq!(listing(&to), Vec::<String>::new(), "the prepared folder is empty again");
    assert!(!database.exists() && !elsewhere.exists(), "no database and no folder made for it stays");

    // The database refused (it exists) after the files were written: the folder is empty again,
    // the database untouched.
    std::fs::write(&config, &original).unwrap();
    relist(&backup, "config", &original);
    let taken = work.path().join("office.sqlite");
    let before = std::fs::read(&taken).unwrap();
    let (ok, out, err) = restore(&format!("sqlite:{}", taken.display()));
    assert!(!ok && err.contains("refusing to overwrite"), "{out}\n{err}");
    assert_eq!(listing(&to), Vec::<String>::new());
    assert_eq!(std::fs::read(&taken).unwrap(), before);

    // Tried again with the cause gone: restored, into the same folder and database path.
    let (ok, out, err) = restore(&url);
    assert!(ok, "{out}\n{err}");
    assert!(database.exists());
    #[cfg(unix)]
    assert_private(&to);
    let (ok, out, err) = staffel(&["ledger", "verify", "--config", s(&to.join("config.toml"))], "", &[]);
    assert!(ok && out.contains("Chain intact"), "{out}\n{err}");
}

/// A migration that fails (the database holds a table the first migration makes) gives the
/// migration lock back: no session of the pool goes on holding it, and a second attempt on the
/// same pool fails the same way instead of waiting for the lock for ever.
#[tokio::test]
async fn a_failed_postgres_migration_gives_the_lock_back() {
    use sqlx::Connection as _;
    let Some(server) = postgres_server() else { return };
    let mut databases = PgDatabases::new(&server);
    let url = databases.create().await;
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")).unwrap();
    let first =
        migrations.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "sql")).min().unwrap();
    let sql = std::fs::read_to_string(&first).unwrap();
    let table = sql
        .split("CREATE TABLE ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the first migration creates a table");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE TABLE {table} (in_the_way INTEGER)")).execute(&mut conn).await.unwrap();

    let store = staffel::storage::connect(&url, false).await.unwrap();
    let failed = store.migrate(&|_| {}).await.unwrap_err();
    assert!(failed.to_string().contains("already exists"), "{failed}");
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(held, 0, "no session holds the migration lock after the failure");
    for _ in 0..3 {
        let again = tokio::time::timeout(std::time::Duration::from_secs(20), store.migrate(&|_| {}))
            .await
            .expect("a second attempt does not wait for a lock nobody gives back");
        assert!(again.unwrap_err().to_string().contains("already exists"));
    }
    drop(store);
    conn.close().await.unwrap();
}

/// A backup folder others can write to must not make a restore (run as root, say) copy a file
/// they cannot read: a key file replaced by a symbolic link, even to a file of the very content
/// the manifest lists, is refused and nothing is written.
#[cfg(unix)]
#[test]
fn a_symbolic_link_in_a_backup_is_refused_and_nothing_is_written() {
    let work = tempfile::tempdir().unwrap();
    let backup = fresh_backup(work.path());
    let key = backup.join("signing.jwk");
    let elsewhere = work.path().join("someone-elses-signing.jwk");
    std::fs::rename(&key, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &key).unwrap();
    let to = work.path().join("restored");
    let (ok, out, err) = staffel(&["restore", "--from", s(&backup), "--to", s(&to)], "", &[]);
    assert!(!ok && err.contains("signing.jwk") && err.contains("not a regular file"), "{out}\n{err}");
    assert!(!to.exists(), "nothing written");

    // The same file in its place: restored.
    std::fs::remove_file(&key).unwrap();
    std::fs::rename(&elsewhere, &key).unwrap();
    let (ok, out, err) = staffel(&["restore", "--from", s(&backup), "--to", s(&to)], "", &[]);
    assert!(ok, "{out}\n{err}");
}
