//! Staffel hands Integrationsmanagement counselling cases from one counselling office to another
//! when a client moves: a signed handover carries the consented integration plan and the
//! original window start, and the receiving office continues without resetting the clock.
//!
//! Layers, inside out:
//! - [`domain`]: the rules (window, plan, consent, handover), pure, no I/O;
//! - [`storage`]: every SQL statement, behind [`storage::Storage`] and its units of work (SQLite,
//!   PostgreSQL);
//! - [`federation`]: protocol v1, JWS, mutual TLS, the directory, the outbound client;
//! - [`service`]: the use cases of an office, and the delivery worker;
//! - [`notice`], [`consent_text`]: the texts and pages a client reads, one file per language;
//!   [`kern`] (where the design system's files are served);
//! - [`http`]: the federation listener, the caseworker API, the client's consent pages and the
//!   integration managers' web pages;
//! - [`server`], [`config`], [`cli`], [`demo`]: running it; [`backup`]: an office's backup folder
//!   and its restore.

pub mod backup;
pub mod canonical;
pub mod cli;
pub mod clock;
pub mod config;
pub mod consent_text;
pub mod demo;
pub mod dev_pki;
pub mod digest;
pub mod domain;
pub mod federation;
pub mod http;
pub mod ijson;
pub mod kern;
pub mod metrics;
pub mod notice;
pub mod pki;
pub mod server;
pub mod service;
pub mod storage;
