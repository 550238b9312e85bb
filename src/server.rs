//! Starting an office: load and check keys, certificates and directory, open the storage, and
//! run the federation listener, the caseworker API and the delivery worker until shutdown.
//!
//! [`Server::build`] takes already bound listeners, so tests and the demo run real servers on
//! port 0; [`Server::run`] takes the shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::federation::directory::DirectoryError;
use crate::federation::jws::SignerError;
use crate::federation::tls::{self, TlsError};
use crate::federation::{Directory, FederationClient, Signer};
use crate::http::api::{Accounts, ApiState};
use crate::http::serve::{Limits, Transport, serve};
use crate::pki::{self, PkiError};
use crate::service::{Office, OfficeSettings};
use crate::storage::{self, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error(
        "refusing to start: {0} is development material, and the config is not marked `development = true`. \
         Development keys are public; use certificates and keys issued for production."
    )]
    DevelopmentMaterial(&'static str),
    #[error("the TLS certificate does not name office {0} (expected a URI SAN urn:staffel:office:{0})")]
    CertificateOffice(crate::domain::OfficeId),
    #[error("office {0} is not in the directory")]
    NotInDirectory(crate::domain::OfficeId),
    #[error("the signing key {0} is not among this office's keys in the directory")]
    KeyNotInDirectory(String),
    #[error("config: {0}")]
    Config(&'static str),
    #[error(
        "refusing to start: the account name {0} is used both by an account of the config ([[api.managers]]) \
         and by an account in the database, and account names are one namespace. Rename or remove the config's \
         account, or delete the database's with `staffel admin delete-account --config <config> --name {0}`"
    )]
    AccountNamedTwice(String),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// The digest of the scrape token of `GET /metrics` (lowercase hex), if the config has one. It
/// must be a SHA-256 in hex, and not an account's token: the scrape token grants nothing else.
fn metrics_token(config: &Config) -> Result<Option<Arc<str>>, ServerError> {
    let Some(digest) = &config.metrics.token_sha256 else { return Ok(None) };
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServerError::Config(
            "metrics.token_sha256 must be a SHA-256 in hex (64 digits): `staffel admin hash-token` prints one",
        ));
    }
    let digest = digest.to_ascii_lowercase();
    if config.api.managers.iter().any(|m| m.token_sha256.eq_ignore_ascii_case(&digest)) {
        return Err(ServerError::Config(
            "metrics.token_sha256 is the digest of an account's API token ([[api.managers]]): the scrape token \
             must be a token of its own, or whoever scrapes could use the API",
        ));
    }
    Ok(Some(Arc::from(digest)))
}

/// The two listeners of an office, bound by the caller.
pub struct Listeners {
    pub federation: TcpListener,
    pub api: TcpListener,
}

impl Listeners {
    pub async fn bind(config: &Config) -> std::io::Result<Self> {
        Ok(Self {
            federation: TcpListener::bind(config.federation.listen).await?,
            api: TcpListener::bind(config.api.listen).await?,
        })
    }
}

/// An office's key material, loaded and checked by [`Server::check_key_material`].
pub struct KeyMaterial {
    pub ca: Vec<CertificateDer<'static>>,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub signer: Signer,
    pub directory: Arc<Directory>,
    /// The federation listener's TLS config (the certificate matched with its key).
    pub server_tls: Arc<rustls::ServerConfig>,
    /// The end of validity (notAfter) of the leaf TLS certificate.
    pub not_after: chrono::DateTime<chrono::Utc>,
}

pub struct Server {
    office: Arc<Office>,
    tls: Arc<rustls::ServerConfig>,
    listeners: Listeners,
    accounts: Arc<Accounts>,
    max_body_bytes: usize,
    federation_limits: Limits,
    api_limits: Limits,
    trusted_proxies: Vec<std::net::IpAddr>,
    /// The caseworker listener's own TLS, if configured.
    api_tls: Option<Arc<rustls::ServerConfig>>,
    ui: crate::http::ui::UiSettings,
    metrics_token_sha256: Option<Arc<str>>,
}

impl Server {
    /// Loads and checks everything the office needs; nothing is served yet. The office reads the
    /// time from `clock` ([`Clock::system`] in production).
    /// The office a config describes, with every startup check (keys, certificates, the
    /// directory, development material), and the federation listener's TLS config. The API is
    /// served at `api_addr` (the default address of the withdrawal page).
    pub async fn office_from_config(
        config: &Config,
        clock: Clock,
        api_addr: SocketAddr,
    ) -> Result<(Arc<Office>, Arc<rustls::ServerConfig>), ServerError> {
        let f = &config.federation;
        let max_ttl = u64::try_from(crate::service::inbound::MAX_LIFETIME.num_seconds()).unwrap_or(u64::MAX);
        if !(60..=max_ttl).contains(&f.message_ttl_secs) {
            return Err(ServerError::Config("federation.message_ttl_secs must lie between 60 and 2592000 (30 days)"));
        }
        let l = &config.limits;
        if l.max_connections == 0 || l.max_connections_per_source == 0 {
            return Err(ServerError::Config(
                "limits.max_connections and max_connections_per_source must be at least 1",
            ));
        }
        if l.request_head_timeout_secs == 0 || l.idle_timeout_secs == 0 {
            return Err(ServerError::Config(
                "limits.request_head_timeout_secs and idle_timeout_secs must be at least 1",
            ));
        }
        if config.api.managers.iter().any(|m| crate::domain::text::check_account(&m.account).is_err()) {
            return Err(ServerError::Config(
                "api.managers: an account name is 1-200 characters, no control character, no blank at either end",
            ));
        }
        let KeyMaterial { ca, chain, key, signer, directory, server_tls, not_after } =
            Self::check_key_material(config, clock.now())?;
        pki::warn_if_ending("federation", not_after, clock.now());
        let identity = tls::ClientIdentity { ca, chain, key };
        let client = FederationClient::new(
            identity,
            directory.clone(),
            config.office.id,
            Duration::from_secs(f.request_timeout_secs),
        );
        let storage = storage::open_with(&config.database.url, config.database.migrate).await?;
        let settings = OfficeSettings {
            message_ttl: chrono::Duration::seconds(i64::try_from(f.message_ttl_secs).unwrap_or(i64::MAX / 1000)),
            max_backoff: Duration::from_secs(config.delivery.max_backoff_secs),
            poll_interval: config.delivery.poll_interval(),
            four_eyes: config.office.four_eyes,
            consent_link_validity: chrono::Duration::minutes(i64::from(config.privacy.consent_link_minutes)),
            withdraw_url: config
                .privacy
                .withdraw_url
                .clone()
                .unwrap_or_else(|| format!("http://{api_addr}/consent/withdraw")),
            retention: chrono::Duration::days(i64::from(config.privacy.retention_days)),
            config_accounts: config.api.managers.iter().map(|m| (m.account.clone(), m.role)).collect(),
        };
        crate::federation::schema::warm_up();
        let office =
            Arc::new(Office::new(config.office.name.clone(), storage, signer, directory, client, settings, clock));
        office.metrics().certificate_ends("federation", not_after);
        Ok((office, server_tls))
    }

    /// Loads this office's key material and checks it as a starting server does, without opening
    /// the database or binding anything (`staffel keys check` runs this alone): the TLS
    /// certificate names this office, chains to the federation CA and is valid at `now` for
    /// client and server use at the host of the office's `federation_url`, and matches the TLS
    /// key; the signing key is one the directory lists for this office; and, unless the config
    /// says `development = true`, nothing is development material.
    pub fn check_key_material(config: &Config, now: chrono::DateTime<chrono::Utc>) -> Result<KeyMaterial, ServerError> {
        let f = &config.federation;
        for (what, path) in [("federation.key", &f.key), ("federation.signing_key", &f.signing_key)] {
            // Development keys are public anyway; production keys must not be.
            if !config.development && pki::readable_by_others(path) {
                tracing::warn!(
                    file = %path.display(),
                    "{what} can be read by other users of this machine; make it readable by the service only (0600 owned by the service user, or 0640 with the service's group)"
                );
            }
        }
        let ca = pki::load_certs(&f.ca)?;
        let chain = pki::load_certs(&f.cert)?;
        let key = pki::load_key(&f.key)?;
        let signing_jwk = pki::load_jwk(&f.signing_key)?;
        let directory = Arc::new(Directory::load(&f.directory)?);
        let me = config.office.id;

        if pki::office_id_of(&chain[0]) != Some(me) {
            return Err(ServerError::CertificateOffice(me));
        }
        let signer = Signer::from_jwk(me, &signing_jwk)?;
        let entry = directory.office(me).ok_or(ServerError::NotInDirectory(me))?;
        let published = entry.signing_keys.iter().find(|k| k.key_id() == Some(signer.kid()));
        let matches = published.is_some_and(|k| ["x", "y"].iter().all(|p| k.parameter(p) == signing_jwk.parameter(p)));
        if !matches {
            return Err(ServerError::KeyNotInDirectory(signer.kid().to_owned()));
        }
        let url = reqwest::Url::parse(&entry.federation_url).map_err(|_| DirectoryError::BadUrl { office: me })?;
        let host = url.host_str().ok_or(DirectoryError::BadUrl { office: me })?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let seconds = u64::try_from(now.timestamp()).unwrap_or(0);
        tls::check_own_certificate(&ca, &chain, host, UnixTime::since_unix_epoch(Duration::from_secs(seconds)))?;
        // Checked valid just now, so it parses.
        let not_after = pki::not_after(&chain[0])
            .ok_or_else(|| PkiError::Invalid("the TLS certificate's validity cannot be read".into()))?;
        if !config.development {
            if ca.iter().any(pki::is_development_cert) {
                return Err(ServerError::DevelopmentMaterial("the federation CA"));
            }
            if chain.iter().any(pki::is_development_cert) {
                return Err(ServerError::DevelopmentMaterial("the TLS certificate"));
            }
            if signer.kid().starts_with(pki::DEV_KID_PREFIX) {
                return Err(ServerError::DevelopmentMaterial("the signing key"));
            }
            if directory.is_development() {
                return Err(ServerError::DevelopmentMaterial("the directory"));
            }
        } else {
            tracing::warn!("development mode: development keys and certificates are accepted");
        }

        let server_tls = tls::server_config(&ca, chain.clone(), key.clone_key())?;
        // Fail at start, not at the first delivery, if the client side cannot be configured.
        tls::client_config(&ca, chain.clone(), key.clone_key(), me)?;
        Ok(KeyMaterial { ca, chain, key, signer, directory, server_tls, not_after })
    }

    pub async fn build(config: &Config, listeners: Listeners, clock: Clock) -> Result<Self, ServerError> {
        let l = &config.limits;
        // What the config alone decides is checked before the database is opened: a start that
        // is refused for a mistake in the config must not have migrated the database first (an
        // older binary would then refuse it, and the way back is a restore).
        let (api_tls, api_not_after) = match (&config.api.tls_cert, &config.api.tls_key) {
            (Some(cert), Some(key)) => {
                let chain = pki::load_certs(cert)?;
                let not_after = pki::not_after(&chain[0]).ok_or_else(|| {
                    PkiError::Invalid(format!("{}: the certificate's validity cannot be read", cert.display()))
                })?;
                (Some(tls::public_server_config(chain, pki::load_key(key)?)?), Some(not_after))
            }
            (None, None) => (None, None),
            _ => return Err(ServerError::Config("api.tls_cert and api.tls_key go together")),
        };
        let metrics_token_sha256 = metrics_token(config)?;
        let (office, server_tls) = Self::office_from_config(config, clock, listeners.api.local_addr()?).await?;
        if let Some(not_after) = api_not_after {
            pki::warn_if_ending("api", not_after, office.now());
            office.metrics().certificate_ends("api", not_after);
        }
        let accounts = Arc::new(Accounts::new(
            config.api.managers.iter().map(|m| (m.token_sha256.clone(), m.account.clone(), m.role)),
        ));
        // Beyond loopback over plain HTTP is what a TLS proxy in front needs (the container image
        // listens so): no warning where the config names that proxy (`[api] trusted_proxies`).
        if api_tls.is_none() && config.api.trusted_proxies.is_empty() && !listeners.api.local_addr()?.ip().is_loopback()
        {
            tracing::warn!(
                "the caseworker API listens beyond loopback over plain HTTP; put a TLS proxy in front of it \
                 (and name it in api.trusted_proxies) or configure api.tls_cert and api.tls_key"
            );
        }
        if let Some(name) = office.accounts_named_twice().await?.into_iter().next() {
            return Err(ServerError::AccountNamedTwice(name));
        }
        let config_admin = config.api.managers.iter().any(|m| m.role == crate::domain::staff::Role::Administrator);
        if !config_admin {
            let check = crate::service::Caller {
                account: "(startup check)".into(),
                role: crate::domain::staff::Role::Administrator,
            };
            let db_admin = office.list_accounts(&check).await.is_ok_and(|accounts| {
                accounts.iter().any(|a| a.role == crate::domain::staff::Role::Administrator && a.disabled_at.is_none())
            });
            if !db_admin {
                tracing::warn!(
                    "this office has no administrator: create one with `staffel admin create-account --role administrator`"
                );
            }
        }
        let contact = config.ui.accessibility_contact.clone().unwrap_or_default();
        if contact.is_empty() {
            tracing::warn!("ui.accessibility_contact is not set: the accessibility statement names no contact");
        }
        let ui = crate::http::ui::UiSettings {
            secure_cookies: config.ui.secure_cookies.unwrap_or(api_tls.is_some()),
            accessibility_contact: contact,
            accessibility_reviewed: config.ui.accessibility_reviewed.clone().unwrap_or_default(),
        };
        let limits = Limits {
            max_connections: l.max_connections,
            max_connections_per_source: l.max_connections_per_source,
            exempt_sources: Vec::new(),
            handshake_timeout: Duration::from_secs(10),
            request_head_timeout: Duration::from_secs(l.request_head_timeout_secs),
            idle_timeout: Duration::from_secs(l.idle_timeout_secs),
        };
        let api_limits = Limits { exempt_sources: config.api.trusted_proxies.clone(), ..limits.clone() };
        Ok(Self {
            office,
            tls: server_tls,
            listeners,
            accounts,
            max_body_bytes: config.federation.max_body_bytes,
            federation_limits: limits,
            api_limits,
            trusted_proxies: config.api.trusted_proxies.clone(),
            api_tls,
            ui,
            metrics_token_sha256,
        })
    }

    pub fn office(&self) -> Arc<Office> {
        self.office.clone()
    }

    pub fn federation_addr(&self) -> std::io::Result<SocketAddr> {
        self.listeners.federation.local_addr()
    }

    pub fn api_addr(&self) -> std::io::Result<SocketAddr> {
        self.listeners.api.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting, drains, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServerError> {
        let token = CancellationToken::new();
        let office = self.office;
        tracing::info!(
            office = %office.id(),
            federation = %self.listeners.federation.local_addr()?,
            api = %self.listeners.api.local_addr()?,
            "office serving"
        );
        let federation = tokio::spawn(serve(
            self.listeners.federation,
            Transport::MutualTls(self.tls),
            crate::http::observe::around(
                crate::http::federation::router(office.clone(), self.max_body_bytes),
                "federation",
                office.clone(),
            ),
            self.federation_limits,
            "federation",
            token.clone().cancelled_owned(),
        ));
        let state = ApiState {
            office: office.clone(),
            accounts: self.accounts,
            trusted_proxies: Arc::new(self.trusted_proxies),
            metrics_token_sha256: self.metrics_token_sha256,
        };
        let transport = match self.api_tls {
            Some(config) => Transport::Tls(config),
            None => Transport::Plain,
        };
        let api = tokio::spawn(serve(
            self.listeners.api,
            transport,
            crate::http::observe::around(
                crate::http::api::router(state.clone())
                    .merge(crate::http::pages::router(state.clone()))
                    .merge(crate::http::ui::router(state, self.ui)),
                "api",
                office.clone(),
            ),
            self.api_limits,
            "api",
            token.clone().cancelled_owned(),
        ));
        let worker = tokio::spawn(office.run_delivery(token.clone().cancelled_owned()));
        shutdown.await;
        token.cancel();
        let (f, a, w) = tokio::join!(federation, api, worker);
        for joined in [f.err(), a.err(), w.err()].into_iter().flatten() {
            tracing::error!(error = %joined, "task ended abnormally");
        }
        tracing::info!("office stopped");
        Ok(())
    }
}
