//! Staff accounts: argon2id password hashes, session tokens (kept only as SHA-256 digests),
//! roles. Accounts from the config file (API tokens) sit beside these in the HTTP layer.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::{Office, Result, ServiceError};
use crate::digest::sha256_hex;
use crate::domain::audit::AuditEntry;
use crate::domain::staff::{self, Account, Role};
use crate::storage::StorageError;

/// How long a session token from a login is valid.
pub const SESSION_HOURS: i64 = 12;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Who makes a request: an account and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub role: Role,
}

/// A freshly issued session token; the office keeps only its digest.
#[derive(Debug)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// An account name: 1-64 characters of a-z, 0-9, `.`, `_`, `-`, not starting with `.` (a name
/// such as `..` would be a path segment of its own in the pages' `/accounts/{name}/...`).
fn valid_account_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

pub(crate) fn random_token() -> String {
    // Two v4 UUIDs: 244 bits from the operating system's random source.
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServiceError::Invalid("a password has at least 12 characters"));
    }
    Ok(())
}

/// What an administrator does to an account with a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Disable,
    Enable,
    Delete,
    ResetPassword,
}

impl Change {
    /// What the audit log says was written.
    fn audited(self) -> &'static str {
        match self {
            Self::Disable => "account-disabled",
            Self::Enable => "account-enabled",
            Self::Delete => "account-deleted",
            Self::ResetPassword => "account-password",
        }
    }
}

async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).expect("16 bytes make a salt");
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
    .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Verifies in constant time for the hash; an unknown account is checked against a fixed hash
/// so that the answer takes as long and says nothing about which part was wrong.
async fn verify_password(password: String, hash: Option<String>) -> bool {
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let salt = SaltString::encode_b64(b"staffel-dummy-16").expect("16 bytes make a salt");
        Argon2::default().hash_password(b"no account has this", &salt).expect("hashing works").to_string()
    });
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| DUMMY.clone());
        let ok = PasswordHash::new(&stored)
            .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
        ok && known
    })
    .await
    .unwrap_or(false)
}

impl Office {
    /// Creates an account; only an administrator may.
    pub async fn create_account(&self, caller: &Caller, name: &str, role: Role, password: String) -> Result<Account> {
        if caller.role != Role::Administrator {
            return Err(ServiceError::Forbidden);
        }
        if !valid_account_name(name) {
            return Err(ServiceError::Invalid(
                "an account name is 1-64 characters of a-z, 0-9, '.', '_', '-', not starting with '.'",
            ));
        }
        check_password(&password)?;
        if self.config_account(name).is_some() {
            return Err(ServiceError::ConfigAccountName);
        }
        let record = Account {
            name: name.to_owned(),
            role,
            password_hash: hash_password(password).await?,
            created_by: caller.account.clone(),
            created_at: self.now(),
            disabled_at: None,
        };
        let mut tx = self.begin().await?;
        match tx.accounts().insert(&record).await {
            Err(StorageError::Conflict) => return Err(ServiceError::DuplicateAccount),
            other => other?,
        }
        // The entry names the account made: `write:account-created:<name>`.
        let what = format!("account-created:{name}");
        let entry = AuditEntry::new(self.now(), &caller.account, crate::domain::audit::Access::Write, &what, None);
        tx.audit().append(&[entry]).await?;
        tx.commit().await?;
        tracing::info!(role = role.as_str(), "account created");
        Ok(record)
    }

    /// The role of the config's account with this name, if the config has one.
    pub fn config_account(&self, name: &str) -> Option<Role> {
        self.settings.config_accounts.iter().find(|(n, _)| n == name).map(|(_, role)| *role)
    }

    /// The config's accounts (API tokens): name and role, in the config's order.
    pub fn config_accounts(&self) -> &[(String, Role)] {
        &self.settings.config_accounts
    }

    /// Disables an account with a password: it can no longer log in, and its sessions end at
    /// once. Refused for the last enabled administrator when the config has none.
    pub async fn disable_account(&self, caller: &Caller, name: &str) -> Result<Account> {
        self.change_account(caller, name, Change::Disable, None).await.map(|a| a.expect("disabled, not deleted"))
    }

    /// Enables a disabled account again (its password is the one it had).
    pub async fn enable_account(&self, caller: &Caller, name: &str) -> Result<Account> {
        self.change_account(caller, name, Change::Enable, None).await.map(|a| a.expect("enabled, not deleted"))
    }

    /// Deletes an account with a password and its sessions. Refused for the last enabled
    /// administrator when the config has none. The audit log keeps what the account did.
    pub async fn delete_account(&self, caller: &Caller, name: &str) -> Result<()> {
        self.change_account(caller, name, Change::Delete, None).await.map(|_| ())
    }

    /// Gives an account a new password (at least 12 characters); its sessions end, so whoever
    /// knew the old password is logged out too.
    pub async fn reset_password(&self, caller: &Caller, name: &str, password: String) -> Result<Account> {
        if caller.role != Role::Administrator {
            return Err(ServiceError::Forbidden);
        }
        check_password(&password)?;
        let hash = hash_password(password).await?;
        self.change_account(caller, name, Change::ResetPassword, Some(hash)).await.map(|a| a.expect("not deleted"))
    }

    /// One change to one account, in one unit of work with its audit entry: the account as it is
    /// afterwards (none once deleted).
    async fn change_account(
        &self,
        caller: &Caller,
        name: &str,
        change: Change,
        password_hash: Option<String>,
    ) -> Result<Option<Account>> {
        if caller.role != Role::Administrator {
            return Err(ServiceError::Forbidden);
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        let Some(read) = tx.accounts().get(name).await? else {
            if self.config_account(name).is_some() {
                return Err(ServiceError::State(
                    "this account is in the config (an API token), not the database: change it in the config and restart",
                ));
            }
            return Err(ServiceError::NotFound("account"));
        };
        let config_has_administrator = self.settings.config_accounts.iter().any(|(_, r)| *r == Role::Administrator);
        let mut changed = read.clone();
        match change {
            Change::Disable | Change::Delete => {
                let administrators = tx.accounts().enabled_administrators().await?;
                staff::keeps_an_administrator(&read, &administrators, config_has_administrator)?;
                if change == Change::Disable {
                    changed.disable(now)?;
                }
            }
            Change::Enable => changed.enable()?,
            Change::ResetPassword => changed.password_hash = password_hash.expect("a reset brings its hash"),
        }
        if change == Change::Delete {
            tx.accounts().delete(&read).await?;
        } else {
            tx.accounts().update(&read, &changed).await?;
        }
        if matches!(change, Change::Disable | Change::ResetPassword) {
            tx.accounts().delete_sessions(name).await?;
        }
        // The entry names the account changed: `write:account-disabled:<name>`.
        let what = format!("{}:{name}", change.audited());
        let entry = AuditEntry::new(now, &caller.account, crate::domain::audit::Access::Write, &what, None);
        tx.audit().append(&[entry]).await?;
        tx.commit().await?;
        tracing::info!(change = change.audited(), "account changed");
        Ok((change != Change::Delete).then_some(changed))
    }

    /// The names both an account of the config and one of the database have, by name: there
    /// should be none (account names are one namespace), and the server refuses to start
    /// otherwise.
    pub async fn accounts_named_twice(&self) -> crate::storage::Result<Vec<String>> {
        let stored = self.storage.read().await?.accounts().list().await?;
        Ok(stored.into_iter().map(|a| a.name).filter(|n| self.config_account(n).is_some()).collect())
    }

    pub async fn list_accounts(&self, caller: &Caller) -> Result<Vec<Account>> {
        if caller.role != Role::Administrator {
            return Err(ServiceError::Forbidden);
        }
        Ok(self.storage.read().await?.accounts().list().await?)
    }

    /// Checks name and password and issues a session token. Failed logins are throttled per
    /// account and `source` address (see [`super::throttle`]): a throttled attempt is refused
    /// before the password is checked, and the moment throttling begins is audited.
    pub async fn login(&self, name: &str, password: String, source: Option<std::net::IpAddr>) -> Result<Session> {
        if let Some(retry_after) = self.login_throttle.wait(name, source, self.now()) {
            tracing::info!("login refused: throttled");
            self.metrics.login_failed(crate::metrics::LoginFailure::Throttled);
            return Err(ServiceError::Throttled { retry_after });
        }
        let stored = self.storage.read().await?.accounts().get(name).await?;
        let known = stored.is_some();
        let account = stored.filter(|a| a.disabled_at.is_none());
        if !verify_password(password, account.as_ref().map(|a| a.password_hash.clone())).await {
            let now = self.now();
            let failed = self.login_throttle.failed(name, source, now);
            tracing::info!("login failed");
            self.metrics.login_failed(crate::metrics::LoginFailure::Credentials);
            if failed.throttling_began {
                tracing::warn!("failed logins: throttling begins");
                // The attempted name is audited only if it is an account: a mistyped password
                // in the name field must not end up in the log.
                let who = if known { name.to_owned() } else { "(no such account)".to_owned() };
                let entry = AuditEntry {
                    at: now,
                    account: who,
                    action: "login-throttled".into(),
                    client_id: None,
                    subjects: vec![],
                };
                let mut tx = self.begin().await?;
                tx.audit().append(&[entry]).await?;
                tx.commit().await?;
            }
            return Err(ServiceError::LoginFailed);
        }
        self.login_throttle.succeeded(name, source);
        let account = account.expect("verified accounts exist");
        let now = self.now();
        let session = Session { token: random_token(), expires_at: now + chrono::Duration::hours(SESSION_HOURS) };
        let mut tx = self.begin().await?;
        tx.accounts()
            .insert_session(&sha256_hex(session.token.as_bytes()), &account.name, now, session.expires_at)
            .await?;
        tx.commit().await?;
        tracing::info!(role = account.role.as_str(), "login");
        Ok(session)
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.accounts().delete_session(&sha256_hex(token.as_bytes())).await?;
        Ok(tx.commit().await?)
    }

    /// The caller a session token belongs to, if it is valid now.
    pub async fn session_caller(&self, token: &str) -> Result<Option<Caller>> {
        let account =
            self.storage.read().await?.accounts().session_account(&sha256_hex(token.as_bytes()), self.now()).await?;
        Ok(account.map(|a| Caller { account: a.name, role: a.role }))
    }
}

#[cfg(test)]
mod tests {
    use super::valid_account_name;

    #[test]
    fn account_names_are_lowercase_words_not_starting_with_a_dot() {
        for ok in ["a", "tara.lead", "lea_2", "x-y.z", "team.", &"a".repeat(64)] {
            assert!(valid_account_name(ok), "{ok}");
        }
        for refused in ["", ".", "..", "...", ".hidden", "Lea", "lea lead", "lea/x", "lea%2e", &"a".repeat(65)] {
            assert!(!valid_account_name(refused), "{refused}");
        }
    }
}
