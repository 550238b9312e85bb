//! Authentication of the caseworker API: `Authorization: Bearer <token>`, where the token is
//! either an API token from the config (only its SHA-256 is configured) or a session token from
//! `POST /api/v1/login` (only its SHA-256 is stored). Extractors then check the role.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::ApiState;
use crate::domain::staff::Role;
use crate::http::problem::{Problem, ProblemType};
use crate::service::Caller;

use crate::digest::token_digest;

/// Accounts with API tokens from the config, by token digest.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    by_digest: HashMap<String, Caller>,
}

impl Accounts {
    pub fn new(entries: impl IntoIterator<Item = (String, String, Role)>) -> Self {
        let by_digest = entries
            .into_iter()
            .map(|(digest, account, role)| (digest.to_ascii_lowercase(), Caller { account, role }))
            .collect();
        Self { by_digest }
    }

    pub fn caller_for(&self, token: &str) -> Option<&Caller> {
        self.by_digest.get(&token_digest(token))
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    bearer_of(&parts.headers)
}

/// The bearer token in `Authorization: Bearer <token>`, if there is one.
pub fn bearer_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

async fn caller(parts: &Parts, state: &ApiState) -> Result<Caller, Problem> {
    let token = bearer(parts).ok_or_else(|| Problem::new(ProblemType::Unauthorized))?;
    let caller = match state.accounts.caller_for(token) {
        Some(c) => c.clone(),
        None => state.office.session_caller(token).await?.ok_or_else(|| Problem::new(ProblemType::Unauthorized))?,
    };
    // The role, not the account: staff names stay out of the log (the audit log says who).
    tracing::Span::current().record("role", caller.role.as_str());
    Ok(caller)
}

/// The address a request comes from, for throttling: the TCP peer, or, when the peer is a
/// trusted proxy (`api.trusted_proxies`), the last address in `X-Forwarded-For` that is not
/// itself a trusted proxy.
#[derive(Debug, Clone, Copy)]
pub struct ClientSource(pub Option<std::net::IpAddr>);

impl FromRequestParts<ApiState> for ClientSource {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<crate::http::serve::SourceAddr>().map(|s| s.0.ip());
        let Some(peer) = peer else { return Ok(ClientSource(None)) };
        if !state.trusted_proxies.contains(&peer) {
            return Ok(ClientSource(Some(peer)));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
            .rev()
            .find(|a| !state.trusted_proxies.contains(a));
        Ok(ClientSource(Some(forwarded.unwrap_or(peer))))
    }
}

/// An integration manager or team lead: the roles that work with client data.
#[derive(Debug, Clone)]
pub struct Manager(pub String, pub Role);

impl FromRequestParts<ApiState> for Manager {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let c = caller(parts, state).await?;
        if !c.role.counsels() {
            return Err(Problem::new(ProblemType::Forbidden).detail("this role has no access to client data"));
        }
        Ok(Manager(c.account, c.role))
    }
}

/// A team lead or an administrator: may read audit logs.
#[derive(Debug, Clone)]
pub struct Supervisor(pub Caller);

impl FromRequestParts<ApiState> for Supervisor {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let c = caller(parts, state).await?;
        if c.role == Role::IntegrationManager {
            return Err(Problem::new(ProblemType::Forbidden).detail("audit logs are for team leads and administrators"));
        }
        Ok(Supervisor(c))
    }
}

/// An administrator: manages accounts. Checked before the request's body is read.
#[derive(Debug, Clone)]
pub struct Administrator(pub Caller);

impl FromRequestParts<ApiState> for Administrator {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let c = caller(parts, state).await?;
        if c.role != Role::Administrator {
            return Err(Problem::new(ProblemType::Forbidden).detail("accounts are managed by administrators"));
        }
        Ok(Administrator(c))
    }
}

/// Any authenticated caller.
#[derive(Debug, Clone)]
pub struct AnyCaller(pub Caller);

impl FromRequestParts<ApiState> for AnyCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        Ok(AnyCaller(caller(parts, state).await?))
    }
}
