//! The office's staff: roles, and the four-eyes rule an office may switch on for handovers and
//! extensions (off by default).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::DomainError;

/// A staff account with a password (accounts with API tokens come from the config).
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// PHC string of an argon2id hash.
    pub password_hash: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Counsels clients: reads and writes client data.
    IntegrationManager,
    /// An integration manager who may also approve where four eyes are required.
    TeamLead,
    /// Manages accounts and reads audit logs; no access to client data.
    Administrator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IntegrationManager => "integration-manager",
            Self::TeamLead => "team-lead",
            Self::Administrator => "administrator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::IntegrationManager, Self::TeamLead, Self::Administrator].into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the role works with client data.
    pub fn counsels(self) -> bool {
        matches!(self, Self::IntegrationManager | Self::TeamLead)
    }
}

impl Account {
    /// Disables the account at `at`: it can no longer log in, and its sessions end.
    pub fn disable(&mut self, at: DateTime<Utc>) -> Result<(), DomainError> {
        if self.disabled_at.is_some() {
            return Err(DomainError::AccountDisabled);
        }
        self.disabled_at = Some(at);
        Ok(())
    }

    /// Enables a disabled account again.
    pub fn enable(&mut self) -> Result<(), DomainError> {
        if self.disabled_at.take().is_none() {
            return Err(DomainError::AccountEnabled);
        }
        Ok(())
    }

    pub fn enabled_administrator(&self) -> bool {
        self.role == Role::Administrator && self.disabled_at.is_none()
    }
}

/// The office is never left without an enabled administrator: disabling or deleting `account`
/// is refused when it is the last enabled administrator among the accounts with passwords
/// (`enabled_administrators`, their names) and the config has no administrator either.
pub fn keeps_an_administrator(
    account: &Account,
    enabled_administrators: &[String],
    config_has_administrator: bool,
) -> Result<(), DomainError> {
    if config_has_administrator || !account.enabled_administrator() {
        return Ok(());
    }
    if enabled_administrators.iter().any(|name| *name != account.name) {
        return Ok(());
    }
    Err(DomainError::LastAdministrator)
}

/// With four eyes required, the second person is a team lead other than the one who asked.
pub fn second_pair_of_eyes(four_eyes: bool, approver: &str, role: Role, requested_by: &str) -> Result<(), DomainError> {
    if !four_eyes {
        return Ok(());
    }
    if role != Role::TeamLead {
        return Err(DomainError::TeamLeadRequired);
    }
    if approver == requested_by {
        return Err(DomainError::SamePerson);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_eyes_needs_another_team_lead() {
        assert!(second_pair_of_eyes(false, "a", Role::IntegrationManager, "a").is_ok());
        assert_eq!(second_pair_of_eyes(true, "b", Role::IntegrationManager, "a"), Err(DomainError::TeamLeadRequired));
        assert_eq!(second_pair_of_eyes(true, "a", Role::TeamLead, "a"), Err(DomainError::SamePerson));
    }

    fn account(name: &str, role: Role) -> Account {
        Account {
            name: name.into(),
            role,
            password_hash: String::new(),
            created_by: "root".into(),
            created_at: DateTime::UNIX_EPOCH,
            disabled_at: None,
        }
    }

    #[test]
    fn an_account_is_disabled_and_enabled_once_each() {
        let at = DateTime::UNIX_EPOCH + chrono::Duration::days(1);
        let mut a = account("tara", Role::TeamLead);
        assert_eq!(a.enable(), Err(DomainError::AccountEnabled));
        a.disable(at).unwrap();
        assert_eq!(a.disabled_at, Some(at));
        assert_eq!(a.disable(at), Err(DomainError::AccountDisabled));
        a.enable().unwrap();
        assert_eq!(a.disabled_at, None);
    }

    #[test]
    fn the_last_enabled_administrator_stays_unless_the_config_has_one() {
        let root = account("root", Role::Administrator);
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(keeps_an_administrator(&root, &names(&["root"]), false), Err(DomainError::LastAdministrator));
        assert_eq!(keeps_an_administrator(&root, &[], false), Err(DomainError::LastAdministrator));
        assert!(keeps_an_administrator(&root, &names(&["root"]), true).is_ok(), "the config has an administrator");
        assert!(keeps_an_administrator(&root, &names(&["root", "ada"]), false).is_ok(), "another one is left");
        let lead = account("tara", Role::TeamLead);
        assert!(keeps_an_administrator(&lead, &names(&["root"]), false).is_ok(), "not an administrator");
        let mut gone = root.clone();
        gone.disabled_at = Some(DateTime::UNIX_EPOCH);
        assert!(keeps_an_administrator(&gone, &[], false).is_ok(), "disabled already: deleting it takes nothing away");
    }
}
