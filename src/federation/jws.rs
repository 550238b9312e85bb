//! Compact JWS with ES256: signing with this office's key, verifying against the directory.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::alg::ecdsa::EcdsaJwsSigner;
use josekit::jws::{ES256, JwsHeader};

use super::Directory;
use crate::domain::OfficeId;

/// The only algorithm of protocol v1.
pub const ALG: &str = "ES256";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwsError {
    #[error("not a compact JWS whose header is exactly alg ES256, a kid and the expected typ")]
    Malformed,
    #[error("the JWS header is not I-JSON: {0}")]
    NotIJson(crate::ijson::IJsonError),
    #[error("no office in the directory has the key id of this signature")]
    UnknownKey,
    #[error("the signature does not verify with the key named by kid")]
    BadSignature,
}

/// This office's signing key.
pub struct Signer {
    office: OfficeId,
    kid: String,
    signer: EcdsaJwsSigner,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}, kid {})", self.office, self.kid)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the signing key is not a private ES256 JWK with a kid: {0}")]
pub struct SignerError(String);

impl Signer {
    pub fn from_jwk(office: OfficeId, jwk: &Jwk) -> Result<Self, SignerError> {
        let kid = jwk.key_id().ok_or_else(|| SignerError("no kid".into()))?.to_string();
        let signer = ES256.signer_from_jwk(jwk).map_err(|e| SignerError(e.to_string()))?;
        Ok(Self { office, kid, signer })
    }

    pub fn office(&self) -> OfficeId {
        self.office
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `payload` as compact JWS with header `{"alg":"ES256","kid":...,"typ":typ}`.
    pub fn sign(&self, payload: &[u8], typ: &str) -> String {
        let mut header = JwsHeader::new();
        header.set_key_id(self.kid.clone());
        header.set_token_type(typ);
        josekit::jws::serialize_compact(payload, &header, &self.signer)
            .expect("ES256 signing with a loaded key cannot fail")
    }
}

/// A verified JWS: who signed it (by the directory) and the payload bytes.
#[derive(Debug)]
pub struct Verified {
    pub signer: OfficeId,
    pub kid: String,
    pub payload: Vec<u8>,
}

/// The protected header of a protocol v1 JWS: exactly `alg`, `kid` and `typ`.
struct Header {
    kid: String,
}

/// Reads the protected header strictly: base64url without padding of an I-JSON object whose
/// members are exactly `alg` (`ES256`), `kid` (not empty) and `typ` (the expected type), each a
/// string. Anything more (`crit`, `b64`, `jwk`, `jku`, `x5c`, `cty`, ...) is refused: the key
/// comes from the directory only, and no extension changes what the signature means.
fn header(encoded: &str, typ: &str) -> Result<Header, JwsError> {
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| JwsError::Malformed)?;
    let value = crate::ijson::parse(&bytes).map_err(JwsError::NotIJson)?;
    let serde_json::Value::Object(members) = value else {
        return Err(JwsError::Malformed);
    };
    if members.len() != 3 {
        return Err(JwsError::Malformed);
    }
    let member = |name: &str| members.get(name).and_then(serde_json::Value::as_str);
    match (member("alg"), member("kid"), member("typ")) {
        (Some(ALG), Some(kid), Some(t)) if t == typ && !kid.is_empty() => Ok(Header { kid: kid.to_owned() }),
        _ => Err(JwsError::Malformed),
    }
}

/// Verifies a compact JWS: the header must be exactly `alg` ES256, a `kid` and the expected
/// `typ` (so a signed receipt cannot pass for a decision); the kid must be in the directory;
/// the signature must verify with that key.
pub fn verify(compact: &str, directory: &Directory, typ: &str) -> Result<Verified, JwsError> {
    let mut parts = compact.split('.');
    let (Some(h), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Malformed);
    };
    let header = header(h, typ)?;
    let (signer, verifier) = directory.key(&header.kid).ok_or(JwsError::UnknownKey)?;
    let (payload, _) = josekit::jws::deserialize_compact(compact, verifier).map_err(|_| JwsError::BadSignature)?;
    Ok(Verified { signer, kid: header.kid, payload })
}
