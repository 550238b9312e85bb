//! HTTP: the federation listener (mutual TLS, for other offices) and the caseworker API listener
//! (bearer tokens, for integration managers). Handlers are thin: they parse, call the service
//! layer, and map its errors to RFC 9457 problem documents.

pub mod api;
pub mod federation;
pub mod problem;
pub mod serve;

pub use problem::{Problem, ProblemType};
