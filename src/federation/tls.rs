//! Mutual TLS between offices: the server requires a client certificate chaining to the
//! federation CA; the client presents its office certificate, trusts only the federation CA, and
//! accepts only a server whose certificate names the office it means to reach.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::domain::OfficeId;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the federation CA certificate is not usable: {0}")]
    Ca(String),
    #[error("the office certificate or key is not usable: {0}")]
    Identity(String),
    #[error("other offices would refuse this office's TLS certificate: {0}")]
    Refused(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca: &[CertificateDer<'static>]) -> Result<Arc<RootCertStore>, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in ca {
        store.add(cert.clone()).map_err(|e| TlsError::Ca(e.to_string()))?;
    }
    Ok(Arc::new(store))
}

/// The federation listener's TLS config: client certificates are required and must chain to
/// the federation CA, so a peer without one never completes the handshake.
pub fn server_config(
    ca: &[CertificateDer<'static>],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider())
        .build()
        .map_err(|e| TlsError::Ca(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Identity(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Identity(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Checks this office's own certificate as other offices will check it: it chains to the
/// federation CA (through the intermediates `chain` carries after the leaf), is valid at `now`,
/// serves as a client certificate (`clientAuth` or no extended key usage), and as the server
/// certificate of `host`, the host of the office's `federation_url` (`serverAuth` or no extended
/// key usage, a DNS or IP SAN for `host`).
pub fn check_own_certificate(
    ca: &[CertificateDer<'static>],
    chain: &[CertificateDer<'static>],
    host: &str,
    now: UnixTime,
) -> Result<(), TlsError> {
    let refused = |what: &str, e: rustls::Error| TlsError::Refused(format!("{what}: {e}"));
    let (leaf, intermediates) = chain.split_first().ok_or_else(|| TlsError::Identity("no certificate".into()))?;
    let client = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider())
        .build()
        .map_err(|e| TlsError::Ca(e.to_string()))?;
    client.verify_client_cert(leaf, intermediates, now).map_err(|e| refused("as a client certificate", e))?;
    let server = WebPkiServerVerifier::builder_with_provider(roots(ca)?, provider())
        .build()
        .map_err(|e| TlsError::Ca(e.to_string()))?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| TlsError::Refused(format!("{host:?} is not a host name: {e}")))?;
    server
        .verify_server_cert(leaf, intermediates, &name, &[], now)
        .map_err(|e| refused(&format!("as the server certificate of {host}"), e))?;
    Ok(())
}

/// The caseworker listener's TLS config when it speaks TLS itself: no client certificates,
/// TLS 1.3 and 1.2, HTTP/2 and HTTP/1.1 by ALPN.
pub fn public_server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Identity(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Identity(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Verifies a server as the standard WebPKI verifier does against the federation CA, and then
/// requires its certificate to name the office we mean to reach. The check is part of the
/// handshake, so not one byte of a request reaches a server that is not that office.
#[derive(Debug)]
struct OfficeBoundVerifier {
    inner: Arc<WebPkiServerVerifier>,
    expected: OfficeId,
}

impl ServerCertVerifier for OfficeBoundVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        if crate::pki::office_id_of(end_entity) != Some(self.expected) {
            return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
                Arc::new(WrongOffice(self.expected)),
            ))));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the server certificate does not name office {0}")]
struct WrongOffice(OfficeId);

/// The TLS config for calls to the office `to`: trust only the federation CA, require the
/// server's certificate to name `to`, present this office's certificate.
pub fn client_config(
    ca: &[CertificateDer<'static>],
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    to: OfficeId,
) -> Result<ClientConfig, TlsError> {
    let inner = WebPkiServerVerifier::builder_with_provider(roots(ca)?, provider())
        .build()
        .map_err(|e| TlsError::Ca(e.to_string()))?;
    let verifier = Arc::new(OfficeBoundVerifier { inner, expected: to });
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Identity(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)
        .map_err(|e| TlsError::Identity(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// This office's TLS material, from which a client config per destination office is made.
#[derive(Debug)]
pub struct ClientIdentity {
    pub ca: Vec<CertificateDer<'static>>,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    pub fn config_for(&self, to: OfficeId) -> Result<ClientConfig, TlsError> {
        client_config(&self.ca, self.chain.clone(), self.key.clone_key(), to)
    }
}
