//! Bearer tokens of integration managers. The config holds only SHA-256 digests of the tokens;
//! a presented token is hashed and looked up, so no token is kept in memory or compared in
//! variable time against a secret.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::ApiState;
use crate::http::problem::{Problem, ProblemType};

/// The SHA-256 of a bearer token, lowercase hex, as the config stores it.
pub fn token_digest(token: &str) -> String {
    crate::federation::protocol::sha256_hex(token.as_bytes())
}

/// Integration manager accounts by token digest.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    by_digest: HashMap<String, String>,
}

impl Accounts {
    pub fn new(entries: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            by_digest: entries.into_iter().map(|(digest, account)| (digest.to_ascii_lowercase(), account)).collect(),
        }
    }

    pub fn account_for(&self, token: &str) -> Option<&str> {
        self.by_digest.get(&token_digest(token)).map(String::as_str)
    }
}

/// The integration manager a request is made by.
#[derive(Debug, Clone)]
pub struct Manager(pub String);

impl FromRequestParts<ApiState> for Manager {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Problem::new(ProblemType::Unauthorized))?;
        let account = state.accounts.account_for(token).ok_or_else(|| Problem::new(ProblemType::Unauthorized))?;
        tracing::Span::current().record("account", account);
        Ok(Manager(account.to_owned()))
    }
}
