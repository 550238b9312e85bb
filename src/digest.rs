//! SHA-256 digests as Staffel writes them: 64 lowercase hex digits. Receipts name messages by
//! the digest of their exact bytes; tokens are kept only as digests.

use sha2::{Digest, Sha256};

/// The SHA-256 of exact bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The digest a bearer or session token is kept as (config `token_sha256`, session tokens).
pub fn token_digest(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Whether two strings (digests, tokens) are equal, in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(token_digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd") && !same("abc", "ab"));
    }
}
