//! A server checks its key material before it serves anything.

use crate::harness::*;
use staffel::clock::Clock;
use staffel::config::Config;
use staffel::dev_pki as dev;
use staffel::server::{Listeners, Server, ServerError};
use tokio::net::TcpListener;

async fn listeners() -> Listeners {
    Listeners {
        federation: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        api: TcpListener::bind("127.0.0.1:0").await.unwrap(),
    }
}

fn dev_config(office: &str, work: &std::path::Path) -> Config {
    let mut config = Config::from_file(&dev::office_paths(&certs(), office).config).unwrap();
    config.database.url = format!("sqlite:{}", work.join("db.sqlite").display());
    config
}

#[tokio::test]
async fn development_material_is_refused_unless_the_config_says_development() {
    let work = tempfile::tempdir().unwrap();
    let mut config = dev_config(STUTTGART, work.path());
    assert!(config.development);
    assert!(Server::build(&config, listeners().await, Clock::starting_at(t0())).await.is_ok());

    config.development = false;
    let err = Server::build(&config, listeners().await, Clock::starting_at(t0()))
        .await
        .err()
        .expect("development CA must be refused");
    assert!(matches!(err, ServerError::DevelopmentMaterial("the federation CA")), "{err}");
    assert!(err.to_string().contains("development = true"));
}

#[tokio::test]
async fn a_message_lifetime_beyond_what_receivers_accept_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let mut config = dev_config(STUTTGART, work.path());
    config.federation.message_ttl_secs = 31 * 24 * 3600;
    let err = Server::build(&config, listeners().await, Clock::starting_at(t0())).await.err().unwrap();
    assert!(matches!(err, ServerError::Config(_)), "{err}");
}

#[tokio::test]
async fn a_certificate_or_key_of_another_office_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let mut config = dev_config(STUTTGART, work.path());
    config.federation.cert = dev::office_paths(&certs(), HEIDELBERG).tls_cert;
    config.federation.key = dev::office_paths(&certs(), HEIDELBERG).tls_key;
    let err = Server::build(&config, listeners().await, Clock::starting_at(t0())).await.err().unwrap();
    assert!(matches!(err, ServerError::CertificateOffice(_)), "{err}");

    let mut config = dev_config(STUTTGART, work.path());
    config.federation.signing_key = dev::office_paths(&certs(), HEIDELBERG).signing_key;
    let err = Server::build(&config, listeners().await, Clock::starting_at(t0())).await.err().unwrap();
    assert!(matches!(err, ServerError::KeyNotInDirectory(_)), "{err}");
}

/// Runs `staffel serve` with the development config of Stuttgart and the database URL from the
/// environment, until it says it serves; then stops it.
async fn serve_until_serving(database_url: &str) {
    let bin = env!("CARGO_BIN_EXE_staffel");
    let mut child = tokio::process::Command::new(bin)
        .args(["serve", "--config"])
        .arg(dev::office_paths(&certs(), STUTTGART).config)
        .env("STAFFEL_DATABASE_URL", database_url)
        .env("STAFFEL_FEDERATION_LISTEN", "127.0.0.1:0")
        .env("STAFFEL_API_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let serving = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("office serving") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(serving);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_serve_command_runs_from_a_config_file_with_environment_overrides() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("env.sqlite");
    serve_until_serving(&format!("sqlite:{}", db.display())).await;
    assert!(db.exists(), "the database URL from the environment was not used");
}

#[tokio::test]
async fn the_serve_command_runs_on_postgresql() {
    let Some(server) = postgres_server() else { return };
    let mut databases = PgDatabases::new(&server);
    let url = databases.create().await;
    serve_until_serving(&url).await;
    // It migrated the database it was given.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('clients', 'audit_log', 'outbox')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 3);
    pool.close().await;
}
