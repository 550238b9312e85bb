//! Federation: how offices trust and talk to each other. The directory of offices and their
//! keys, JWS signing and verification, mutual TLS, the wire messages (protocol v1) and their
//! JSON Schemas, and the HTTPS client that delivers signed messages.

pub mod directory;
pub mod jws;
pub mod outbound;
pub mod protocol;
pub mod schema;
pub mod tls;

pub use directory::Directory;
pub use jws::Signer;
pub use outbound::FederationClient;
