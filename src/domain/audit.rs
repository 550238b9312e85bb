//! The audit log's entries: who did what to which client's data, when. No content, only the kind
//! of access; an entry of a list names the records it showed.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::ClientId;

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    #[serde(with = "crate::domain::time::ts")]
    pub at: DateTime<Utc>,
    /// The account that acted (or, for a message from another office, `office:<AGS>`).
    pub account: String,
    /// `read:<what>` or `write:<what>`, e.g. `write:plan`, `read:client-list`.
    pub action: String,
    /// The client whose data this is about, if one.
    pub client_id: Option<ClientId>,
    /// The records a list showed (clients or handovers), for entries of lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<Uuid>,
}

/// What an audit entry says was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl AuditEntry {
    pub fn new(at: DateTime<Utc>, account: &str, access: Access, what: &str, client_id: Option<ClientId>) -> Self {
        let kind = match access {
            Access::Read => "read",
            Access::Write => "write",
        };
        Self { at, account: account.to_owned(), action: format!("{kind}:{what}"), client_id, subjects: Vec::new() }
    }

    /// An entry of a list, naming what it showed.
    pub fn list(at: DateTime<Utc>, account: &str, what: &str, subjects: Vec<Uuid>) -> Self {
        Self { subjects, ..Self::new(at, account, Access::Read, what, None) }
    }
}
