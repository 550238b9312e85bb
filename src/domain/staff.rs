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
}
