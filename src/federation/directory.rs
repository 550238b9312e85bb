//! The directory of offices: id, name, federation URL and public signing keys of every office
//! this one may exchange handovers with. For now a JSON file each office is given; a directory
//! signed by a federation trust anchor comes later (ROADMAP 3) and slots in behind [`Directory`].

use std::collections::HashMap;
use std::path::Path;

use josekit::jwk::Jwk;
use josekit::jws::ES256;
use josekit::jws::alg::ecdsa::EcdsaJwsVerifier;
use serde::{Deserialize, Serialize};

use crate::domain::OfficeId;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read the directory {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("office {office}: the federation URL must be an https:// URL")]
    BadUrl { office: OfficeId },
    #[error("office {office} is listed twice")]
    DuplicateOffice { office: OfficeId },
    #[error("key id {kid} is listed twice")]
    DuplicateKid { kid: String },
    #[error("office {office}: every signing key needs a kid")]
    MissingKid { office: OfficeId },
    #[error("office {office}, key {kid}: the directory holds a private key; publish only public keys")]
    PrivateKey { office: OfficeId, kid: String },
    #[error("office {office}, key {kid}: not an ES256 (P-256) verification key: {reason}")]
    BadKey { office: OfficeId, kid: String, reason: String },
    #[error("office {office}: the name is empty")]
    EmptyName { office: OfficeId },
}

/// The directory as a file: `{"development": bool, "offices": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    #[serde(default)]
    pub development: bool,
    pub offices: Vec<DirectoryEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryEntry {
    pub id: OfficeId,
    pub name: String,
    /// Base URL of the office's federation listener, e.g. `https://staffel.heidelberg.de:8443`.
    pub federation_url: String,
    /// Public ES256 keys as JWK, each with a unique `kid`.
    pub signing_keys: Vec<Jwk>,
}

impl DirectoryEntry {
    /// An office's entry publishing one public signing key, checked as a starting server checks
    /// a directory holding it (an `https://` URL, a `kid`, a public ES256 key only); the name
    /// must not be empty. `staffel keys signing-key` writes it for the directory's maintainer.
    pub fn publishing(
        office: OfficeId,
        name: &str,
        federation_url: &str,
        public: Jwk,
    ) -> Result<DirectoryEntry, DirectoryError> {
        if name.trim().is_empty() {
            return Err(DirectoryError::EmptyName { office });
        }
        let entry = DirectoryEntry {
            id: office,
            name: name.to_owned(),
            federation_url: federation_url.to_owned(),
            signing_keys: vec![public],
        };
        Directory::from_file(DirectoryFile { development: false, offices: vec![entry.clone()] })?;
        Ok(entry)
    }
}

struct KeyEntry {
    office: OfficeId,
    verifier: EcdsaJwsVerifier,
}

/// The parsed, checked directory.
pub struct Directory {
    development: bool,
    offices: HashMap<OfficeId, DirectoryEntry>,
    keys: HashMap<String, KeyEntry>,
}

impl Directory {
    pub fn load(path: &Path) -> Result<Self, DirectoryError> {
        let read_err = |reason: String| DirectoryError::Read { path: path.display().to_string(), reason };
        let bytes = std::fs::read(path).map_err(|e| read_err(e.to_string()))?;
        let file: DirectoryFile = serde_json::from_slice(&bytes).map_err(|e| read_err(e.to_string()))?;
        Self::from_file(file)
    }

    pub fn from_file(file: DirectoryFile) -> Result<Self, DirectoryError> {
        let mut offices = HashMap::new();
        let mut keys = HashMap::new();
        for entry in file.offices {
            let office = entry.id;
            if !entry.federation_url.starts_with("https://") || reqwest::Url::parse(&entry.federation_url).is_err() {
                return Err(DirectoryError::BadUrl { office });
            }
            for jwk in &entry.signing_keys {
                let kid = jwk.key_id().ok_or(DirectoryError::MissingKid { office })?.to_string();
                if jwk.parameter("d").is_some() {
                    return Err(DirectoryError::PrivateKey { office, kid });
                }
                let verifier = ES256.verifier_from_jwk(jwk).map_err(|e| DirectoryError::BadKey {
                    office,
                    kid: kid.clone(),
                    reason: e.to_string(),
                })?;
                if keys.insert(kid.clone(), KeyEntry { office, verifier }).is_some() {
                    return Err(DirectoryError::DuplicateKid { kid });
                }
            }
            if offices.insert(office, entry).is_some() {
                return Err(DirectoryError::DuplicateOffice { office });
            }
        }
        Ok(Self { development: file.development, offices, keys })
    }

    /// Whether the directory is marked as development material.
    pub fn is_development(&self) -> bool {
        self.development
    }

    pub fn office(&self, id: OfficeId) -> Option<&DirectoryEntry> {
        self.offices.get(&id)
    }

    /// The ids of every office in the directory, sorted.
    pub fn offices(&self) -> impl Iterator<Item = OfficeId> + '_ {
        let mut ids: Vec<OfficeId> = self.offices.keys().copied().collect();
        ids.sort();
        ids.into_iter()
    }

    /// The office a key id belongs to, and a verifier for it.
    pub fn key(&self, kid: &str) -> Option<(OfficeId, &EcdsaJwsVerifier)> {
        self.keys.get(kid).map(|k| (k.office, &k.verifier))
    }

    /// The public keys of one office as a JWK Set document.
    pub fn jwks(&self, id: OfficeId) -> Option<serde_json::Value> {
        self.office(id).map(|e| serde_json::json!({ "keys": e.signing_keys }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::office_keys::signing_key_pair;

    #[test]
    fn an_entry_publishes_only_the_public_key_and_an_https_url() {
        let office = OfficeId::parse("08111000").unwrap();
        let (private, public) = signing_key_pair("08111000-k1").unwrap();
        let entry = DirectoryEntry::publishing(office, "Stuttgart", "https://staffel.example:8443", public).unwrap();
        assert!(entry.signing_keys[0].parameter("d").is_none());
        assert_eq!(entry.signing_keys[0].parameter("x"), private.parameter("x"));
        let public = entry.signing_keys[0].clone();
        assert!(matches!(
            DirectoryEntry::publishing(office, "Stuttgart", "http://staffel.example", public.clone()),
            Err(DirectoryError::BadUrl { .. })
        ));
        assert!(matches!(
            DirectoryEntry::publishing(office, "Stuttgart", "https://staffel.example", private),
            Err(DirectoryError::PrivateKey { .. })
        ));
        assert!(matches!(
            DirectoryEntry::publishing(office, " ", "https://staffel.example", public),
            Err(DirectoryError::EmptyName { .. })
        ));
    }
}
