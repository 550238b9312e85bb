//! The office's use cases: what integration managers and other offices can do, in terms of the
//! domain rules, the storage and the federation client. HTTP handlers are thin calls into here.
//!
//! Every use case owns its transaction: it opens one unit of work, loads the records it needs,
//! asks the domain (which decides every rule and every state transition), writes the changed
//! records together with their audit entries and outbox messages, and commits once. Nothing is
//! audited that did not happen, and nothing happens unaudited.

pub mod accounts;
mod cases;
pub mod consents;
pub mod delivery;
mod handovers;
pub mod inbound;
pub mod ledger;
pub mod overview;
pub mod rights;
pub mod throttle;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

pub use accounts::Caller;
pub use cases::NewClient;
pub use consents::{CodeWithdrawal, ConsentLink, ConsentPage, GivenConsent, PaperConsent};
pub use inbound::Rejection;

use crate::clock::Clock;
use crate::domain::audit::{Access, AuditEntry};
use crate::domain::plan::Author;
use crate::domain::{ClientId, DomainError, OfficeId};
use crate::federation::{Directory, FederationClient, Signer};
use crate::storage::{Storage, StorageError, UnitOfWork};

/// A use case could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("the client's personal data was erased")]
    Erased,
    #[error("{0}")]
    State(&'static str),
    #[error("office {0} is not in the directory")]
    UnknownOffice(OfficeId),
    #[error("the record was changed meanwhile; reload and try again")]
    Conflict,
    #[error("the account's role does not allow this")]
    Forbidden,
    #[error("an account with this name exists already")]
    DuplicateAccount,
    #[error("the config has an account with this name: account names are one namespace")]
    ConfigAccountName,
    #[error("{0}")]
    Invalid(&'static str),
    #[error("login failed")]
    LoginFailed,
    #[error("too many failed logins; try again in {} s", .retry_after.num_seconds())]
    Throttled { retry_after: chrono::Duration },
    #[error("storage: {0}")]
    Storage(StorageError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict => Self::Conflict,
            other => Self::Storage(other),
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Settings of an office: federation timing and the four-eyes rule.
#[derive(Debug, Clone)]
pub struct OfficeSettings {
    /// How long a signed message is valid after it is issued.
    pub message_ttl: chrono::Duration,
    /// The longest wait between two delivery attempts.
    pub max_backoff: Duration,
    /// How often the delivery worker looks for due messages when nothing wakes it.
    pub poll_interval: Duration,
    /// Whether handovers and extensions need a second person, a team lead.
    pub four_eyes: bool,
    /// How long a consent link is valid.
    pub consent_link_validity: chrono::Duration,
    /// The withdrawal page's address as printed on receipts.
    pub withdraw_url: String,
    /// How long personal data is kept after a case ended here.
    pub retention: chrono::Duration,
    /// The accounts of the config (API tokens), name and role: their names are taken for
    /// accounts with passwords (one namespace), and an administrator among them keeps the
    /// office administered.
    pub config_accounts: Vec<(String, crate::domain::staff::Role)>,
}

/// One counselling office: its identity, keys, storage and peers.
pub struct Office {
    id: OfficeId,
    name: String,
    storage: Arc<dyn Storage>,
    signer: Signer,
    directory: Arc<Directory>,
    client: FederationClient,
    settings: OfficeSettings,
    clock: Clock,
    login_throttle: throttle::LoginThrottle,
    wake_delivery: Notify,
    metrics: crate::metrics::Metrics,
}

impl Office {
    pub fn new(
        name: String,
        storage: Arc<dyn Storage>,
        signer: Signer,
        directory: Arc<Directory>,
        client: FederationClient,
        settings: OfficeSettings,
        clock: Clock,
    ) -> Self {
        Self {
            id: signer.office(),
            name,
            storage,
            signer,
            directory,
            client,
            settings,
            clock,
            login_throttle: throttle::LoginThrottle::default(),
            wake_delivery: Notify::new(),
            metrics: crate::metrics::Metrics::new(),
        }
    }

    pub fn id(&self) -> OfficeId {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    pub fn storage(&self) -> &dyn Storage {
        &*self.storage
    }

    /// A unit of work that may write.
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>> {
        Ok(self.storage.begin().await?)
    }

    /// The audit entry of an access by `author`, now.
    fn entry(&self, author: &Author, access: Access, what: &str, client: Option<ClientId>) -> AuditEntry {
        AuditEntry::new(self.now(), &author.account, access, what, client)
    }

    /// An integration manager of this office.
    pub fn author(&self, account: &str) -> Author {
        Author { office: self.id, account: account.to_owned() }
    }

    /// The current instant by this office's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The withdrawal page's address as printed on receipts.
    pub fn withdraw_url(&self) -> String {
        self.settings.withdraw_url.clone()
    }

    /// Whether the office can do its work now: its database answers (a read of the ledger head),
    /// and the directory it loaded at start lists it with the key it signs with.
    pub async fn ready(&self) -> Result<()> {
        self.storage.read().await?.ledger().head().await?;
        let entry = self.directory.office(self.id).ok_or(ServiceError::Internal("not in the directory".into()))?;
        if !entry.signing_keys.iter().any(|k| k.key_id() == Some(self.signer.kid())) {
            return Err(ServiceError::Internal("the signing key is not in the directory".into()));
        }
        Ok(())
    }

    /// Whether approvals need a second person (config `office.four_eyes`).
    pub fn four_eyes(&self) -> bool {
        self.settings.four_eyes
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The office's metrics, moved by the use cases and the HTTP layer.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// The exposition of the office's metrics: the counters as they stand, and what storage
    /// holds now (outbox per destination, handovers per state). A database that does not answer
    /// leaves those gauges out and `staffel_ready` at 0; the exposition itself never fails.
    pub async fn metrics_text(&self) -> String {
        let ready = match self.ready().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: the office is not ready");
                false
            }
        };
        let (outbox, handovers) = match self.storage.read().await {
            Ok(mut tx) => {
                let outbox = tx.outbox().pending_by_destination().await;
                let handovers = tx.handovers().count_by_state().await;
                if let Some(e) = outbox.as_ref().err().or(handovers.as_ref().err()) {
                    tracing::warn!(error = %e, "metrics: storage could not be read");
                }
                (outbox.ok(), handovers.ok())
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: storage could not be read");
                (None, None)
            }
        };
        let snapshot = crate::metrics::Snapshot {
            ready,
            destinations: self.directory.offices().filter(|o| *o != self.id).collect(),
            outbox,
            now: self.now(),
            handovers,
        };
        self.metrics.encode(&snapshot)
    }
}
