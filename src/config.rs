//! Configuration: defaults, then a TOML file, then environment variables.
//!
//! Relative paths in the file (certificates, keys, directory, a `sqlite:` database) are relative
//! to the file's folder, so a config and its key material can move together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::OfficeId;

/// Environment variables that override the file.
pub const ENV_DATABASE_URL: &str = "STAFFEL_DATABASE_URL";
pub const ENV_FEDERATION_LISTEN: &str = "STAFFEL_FEDERATION_LISTEN";
pub const ENV_API_LISTEN: &str = "STAFFEL_API_LISTEN";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Marks a development deployment. Only then may the development CA and keys be used.
    #[serde(default)]
    pub development: bool,
    pub office: OfficeConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub federation: FederationConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub privacy: PrivacyConfig,
    #[serde(default)]
    pub ui: UiConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// The Prometheus metrics at `GET /metrics` on the caseworker listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// The SHA-256 (64 hex digits) of the bearer token a scraper presents. Without it, `/metrics`
    /// is off (404).
    pub token_sha256: Option<String>,
}

/// The integration managers' web pages on the caseworker listener.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Where users report accessibility barriers: an e-mail address or a web address, shown in
    /// the accessibility statement (`/barrierefreiheit`) that BITV 2.0 asks of a public body.
    pub accessibility_contact: Option<String>,
    /// The day the office last reviewed its accessibility statement (`YYYY-MM-DD`).
    pub accessibility_reviewed: Option<String>,
    /// Whether the pages are reached over HTTPS, so that the session cookie is `Secure`
    /// (`__Host-` prefix). Default: true when the caseworker listener speaks TLS itself (set it
    /// to true when a TLS proxy is in front).
    pub secure_cookies: Option<bool>,
}

/// The client's consent pages and how long personal data is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// The address of the withdrawal page as printed on a client's receipt (where the client
    /// can reach it). Default: `http://<api.listen>/consent/withdraw`.
    pub withdraw_url: Option<String>,
    /// How long a consent link is valid, in minutes.
    pub consent_link_minutes: u32,
    /// How many days after a case ended here (the client moved on, or left counselling) the
    /// client's personal data is erased by `staffel erase-expired`.
    pub retention_days: u32,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            withdraw_url: None,
            consent_link_minutes: crate::domain::consent_request::DEFAULT_VALIDITY.num_minutes() as u32,
            retention_days: 1095,
        }
    }
}

/// Bounds on the connections of each listener (federation and caseworker API alike).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Open connections per listener.
    pub max_connections: usize,
    /// Open connections per listener from one IP address (trusted proxies excepted).
    pub max_connections_per_source: usize,
    /// Once a request head has begun, the seconds it may take to arrive in full.
    pub request_head_timeout_secs: u64,
    /// Seconds a connection with no request in progress stays open.
    pub idle_timeout_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_source: 64,
            request_head_timeout_secs: 10,
            idle_timeout_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeConfig {
    pub id: OfficeId,
    pub name: String,
    /// Handovers and extensions need a second person, a team lead (off by default).
    #[serde(default)]
    pub four_eyes: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A sqlx database URL; `sqlite:PATH` is the embedded default.
    pub url: String,
    /// When schema migrations are applied: `at-start` (by `serve` and every command that opens
    /// the database) or `explicit` (only by `staffel migrate`; a start with migrations pending
    /// is refused).
    pub migrate: crate::storage::MigrateMode,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: "sqlite:staffel.sqlite".into(), migrate: crate::storage::MigrateMode::AtStart }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    pub listen: SocketAddr,
    /// The federation CA certificate(s), PEM.
    pub ca: PathBuf,
    /// This office's TLS certificate chain, PEM (leaf first).
    pub cert: PathBuf,
    /// This office's TLS private key, PEM.
    pub key: PathBuf,
    /// This office's ES256 signing key, a private JWK with `kid`.
    pub signing_key: PathBuf,
    /// The directory of offices, JSON.
    pub directory: PathBuf,
    /// The largest request body accepted from another office.
    pub max_body_bytes: usize,
    /// How long a signed message stays valid after it is issued, in seconds.
    pub message_ttl_secs: u64,
    /// Timeout of one call to another office, in seconds.
    pub request_timeout_secs: u64,
}

impl Default for FederationConfig {
    fn default() -> Self {
        Self {
            listen: ([0, 0, 0, 0], 8443).into(),
            ca: "ca.pem".into(),
            cert: "tls.pem".into(),
            key: "tls.key".into(),
            signing_key: "signing.jwk".into(),
            directory: "directory.json".into(),
            max_body_bytes: 512 * 1024,
            message_ttl_secs: 7 * 24 * 3600,
            request_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// The caseworker API listener. Plain HTTP: keep it on loopback or behind a TLS proxy.
    pub listen: SocketAddr,
    pub managers: Vec<ManagerConfig>,
    /// Reverse proxies in front of the API: requests from these addresses are attributed to the
    /// address their `X-Forwarded-For` names (for login throttling), and their connections count
    /// only towards the total connection limit.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A certificate chain (PEM, leaf first) and its key for the caseworker listener to speak
    /// TLS itself (HTTP/2 or HTTP/1.1), for offices without a TLS proxy. Both or neither.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: ([127, 0, 0, 1], 8080).into(),
            managers: Vec::new(),
            trusted_proxies: Vec::new(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// An integration manager account: its name and the SHA-256 (hex) of its bearer token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagerConfig {
    pub account: String,
    pub token_sha256: String,
    #[serde(default = "default_role")]
    pub role: crate::domain::staff::Role,
}

fn default_role() -> crate::domain::staff::Role {
    crate::domain::staff::Role::IntegrationManager
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// How often the delivery worker looks for due messages, in milliseconds.
    pub poll_interval_ms: u64,
    /// The longest wait between two delivery attempts, in seconds.
    pub max_backoff_secs: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self { poll_interval_ms: 2000, max_backoff_secs: 3600 }
    }
}

impl DeliveryConfig {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }
}

impl Config {
    /// Reads a config file and applies the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut config = Self::from_file(path)?;
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Reads a config file, with relative paths resolved against its folder.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?;
        config.resolve_relative_to(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    fn resolve_relative_to(&mut self, base: &Path) {
        let f = &mut self.federation;
        for p in [&mut f.ca, &mut f.cert, &mut f.key, &mut f.signing_key, &mut f.directory] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for p in [&mut self.api.tls_cert, &mut self.api.tls_key].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        self.database.url = resolve_sqlite_url(&self.database.url, base);
    }

    /// Applies the environment overrides, read through `lookup`.
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(url) = lookup(ENV_DATABASE_URL) {
            self.database.url = url;
        }
        let addr = |name: &'static str, value: String| {
            value.parse::<SocketAddr>().map_err(|e| ConfigError::Env { name, message: e.to_string() })
        };
        if let Some(v) = lookup(ENV_FEDERATION_LISTEN) {
            self.federation.listen = addr(ENV_FEDERATION_LISTEN, v)?;
        }
        if let Some(v) = lookup(ENV_API_LISTEN) {
            self.api.listen = addr(ENV_API_LISTEN, v)?;
        }
        Ok(())
    }
}

/// `sqlite:relative/path` becomes `sqlite:BASE/relative/path`; other URLs stay as they are.
pub(crate) fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return url.to_owned();
    };
    let (path, query) = rest.split_once('?').map_or((rest, None), |(p, q)| (p, Some(q)));
    let path = path.strip_prefix("//").unwrap_or(path);
    if path.is_empty() || path == ":memory:" || Path::new(path).is_absolute() {
        return url.to_owned();
    }
    let joined = base.join(path);
    match query {
        Some(q) => format!("sqlite:{}?{q}", joined.display()),
        None => format!("sqlite:{}", joined.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[office]\nid = \"08221000\"\nname = \"Heidelberg\"\n";

    fn parse(text: &str) -> Config {
        let mut c: Config = toml::from_str(text).unwrap();
        c.resolve_relative_to(Path::new("/etc/staffel"));
        c
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let c = parse(MINIMAL);
        assert!(!c.development);
        assert_eq!(c.database.url, "sqlite:/etc/staffel/staffel.sqlite");
        assert_eq!(c.federation.ca, PathBuf::from("/etc/staffel/ca.pem"));
        assert_eq!(c.api.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.database.migrate, crate::storage::MigrateMode::AtStart);
        let explicit = parse(&format!("{MINIMAL}[database]\nmigrate = \"explicit\"\n"));
        assert_eq!(explicit.database.migrate, crate::storage::MigrateMode::Explicit);
        assert!(toml::from_str::<Config>(&format!("{MINIMAL}[database]\nmigrate = \"never\"\n")).is_err());

        let mut c =
            parse(&format!("{MINIMAL}[api]\nlisten = \"127.0.0.1:9000\"\n[database]\nurl = \"sqlite:/srv/x.db\"\n"));
        assert_eq!(c.api.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(c.database.url, "sqlite:/srv/x.db");

        c.apply_env(|name| match name {
            ENV_DATABASE_URL => Some("sqlite:/tmp/override.db".into()),
            ENV_API_LISTEN => Some("127.0.0.1:9100".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.database.url, "sqlite:/tmp/override.db");
        assert_eq!(c.api.listen, "127.0.0.1:9100".parse().unwrap());
        assert_eq!(c.federation.listen, "0.0.0.0:8443".parse().unwrap());
    }

    #[test]
    fn bad_values_are_named() {
        let mut c = parse(MINIMAL);
        let err = c.apply_env(|n| (n == ENV_FEDERATION_LISTEN).then(|| "nonsense".into())).unwrap_err();
        assert!(err.to_string().contains(ENV_FEDERATION_LISTEN));
        assert!(toml::from_str::<Config>("[office]\nid = \"123\"\nname = \"x\"\n").is_err());
        assert!(toml::from_str::<Config>(&format!("{MINIMAL}unknown = 1\n")).is_err());
    }

    #[test]
    fn sqlite_urls_resolve_against_the_config_folder() {
        let base = Path::new("/cfg");
        assert_eq!(resolve_sqlite_url("sqlite:data/a.db", base), "sqlite:/cfg/data/a.db");
        assert_eq!(resolve_sqlite_url("sqlite://data/a.db?mode=rwc", base), "sqlite:/cfg/data/a.db?mode=rwc");
        assert_eq!(resolve_sqlite_url("sqlite:/abs/a.db", base), "sqlite:/abs/a.db");
        assert_eq!(resolve_sqlite_url("sqlite::memory:", base), "sqlite::memory:");
        assert_eq!(resolve_sqlite_url("postgres://h/db", base), "postgres://h/db");
    }
}
