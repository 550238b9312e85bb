//! Findings of the review of issue 10's merge, each shown by a test that failed before its fix.

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

fn dev_config(work: &std::path::Path) -> Config {
    let mut config = Config::from_file(&dev::office_paths(&certs(), STUTTGART).config).unwrap();
    config.database.url = format!("sqlite:{}", work.join("db.sqlite").display());
    config
}

/// A start refused for a mistake in the config alone leaves the database as it was: it is not
/// created, nor migrated (after which an older binary would refuse it).
#[tokio::test]
async fn a_config_mistake_is_refused_before_the_database_is_opened() {
    let work = tempfile::tempdir().unwrap();
    let mut config = dev_config(work.path());
    config.metrics.token_sha256 = Some("not a digest".into());
    let err = Server::build(&config, listeners().await, Clock::starting_at(t0())).await.err().unwrap();
    assert!(matches!(err, ServerError::Config(m) if m.contains("metrics.token_sha256")), "{err}");
    assert!(!work.path().join("db.sqlite").exists(), "the database was opened before the config was checked");

    let mut config = dev_config(work.path());
    config.api.tls_cert = Some(dev::office_paths(&certs(), STUTTGART).tls_cert);
    let err = Server::build(&config, listeners().await, Clock::starting_at(t0())).await.err().unwrap();
    assert!(matches!(err, ServerError::Config(m) if m.contains("go together")), "{err}");
    assert!(!work.path().join("db.sqlite").exists(), "the database was opened before the config was checked");
}

/// The scrape token grants nothing else: one that is also an account's API token is refused at
/// start (Prometheus' configuration would otherwise hold a token to the caseworker API).
#[tokio::test]
async fn a_scrape_token_that_is_an_account_token_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let mut config = dev_config(work.path());
    let account = config.api.managers[0].token_sha256.to_ascii_uppercase();
    config.metrics.token_sha256 = Some(account);
    let err = Server::build(&config, listeners().await, Clock::starting_at(t0())).await.err().unwrap();
    assert!(matches!(err, ServerError::Config(m) if m.contains("an account's API token")), "{err}");

    config.metrics.token_sha256 = Some(staffel::digest::token_digest("a scrape token of its own"));
    assert!(Server::build(&config, listeners().await, Clock::starting_at(t0())).await.is_ok());
}
