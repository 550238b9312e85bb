pub mod domain;
pub mod federation;
pub mod pki;
pub mod service;
pub mod storage;
pub mod api { pub mod auth { pub fn token_digest(t: &str) -> String { crate::federation::protocol::sha256_hex(t.as_bytes()) } } }
