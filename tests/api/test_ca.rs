//! A federation CA made for a test (not the development one): it checks a certificate signing
//! request's signature and issues the office's certificate from it, either setting the key
//! usages itself as a CA with a profile of its own does ([`TestCa::issue`]), or copying the
//! requested extensions as `openssl x509 -req -copy_extensions copyall` does
//! ([`TestCa::issue_copying_extensions`]).
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PublicKeyData, SanType, SignatureAlgorithm,
};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

/// A federation CA made for the test, not the development one.
pub struct TestCa {
    /// The CA certificate (PEM): the federation CA of `[federation] ca`.
    pub pem: String,
    /// The CA's private key (PEM), for a CA tool run by a test (e.g. `openssl x509 -req`).
    pub key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// The validity of every certificate the test CA makes: from a day past to one far ahead, so no
/// test depends on the day it runs (CI runs them 400 days ahead as well).
fn valid(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 12, 31);
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::OrganizationName, "Land Baden-Württemberg (test)");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        valid(&mut params);
        let cert = params.self_signed(&key).unwrap();
        Self { pem: cert.pem(), key_pem: key.serialize_pem(), issuer: Issuer::new(params, key) }
    }

    /// Issues a certificate for a request as a careful federation CA would: it verifies the
    /// request's signature, takes the subject and the SANs from it, requires the office's URI SAN
    /// (exactly one) and sets key usage and extended key usage itself, as section 3 requires.
    pub fn issue(&self, csr_pem: &str) -> String {
        self.issue_as(csr_pem, Extensions::OwnProfile, None)
    }

    /// As [`TestCa::issue`], the certificate ending at `not_after` (Unix seconds) instead of
    /// 2099: a certificate about to end. Base the end on the clock of the program that checks it
    /// (a spawned `staffel` reads the real clock, the tests maybe a faked one).
    pub fn issue_until(&self, csr_pem: &str, not_after: u64) -> String {
        self.issue_as(csr_pem, Extensions::OwnProfile, Some(not_after))
    }

    /// Issues a certificate for a request as a CA that copies the extensions the request asks for
    /// (OpenSSL's `x509 -req -copy_extensions copyall`): the SANs, key usage, extended key usage
    /// and basic constraints exactly as requested, nothing set by the CA. Any other requested
    /// extension fails the test, so that a new one is noticed.
    pub fn issue_copying_extensions(&self, csr_pem: &str) -> String {
        self.issue_as(csr_pem, Extensions::Copied, None)
    }

    fn issue_as(&self, csr_pem: &str, extensions: Extensions, not_after: Option<u64>) -> String {
        let der = rustls_pemfile::csr(&mut csr_pem.as_bytes()).unwrap().unwrap();
        let (_, csr) = X509CertificationRequest::from_der(der.as_ref()).unwrap();
        verify_signature(&csr);
        let info = &csr.certification_request_info;
        let mut params = CertificateParams::default();
        for cn in info.subject.iter_common_name() {
            params.distinguished_name.push(DnType::CommonName, cn.as_str().unwrap());
        }
        for o in info.subject.iter_organization() {
            params.distinguished_name.push(DnType::OrganizationName, o.as_str().unwrap());
        }
        for name in requested_sans(&csr) {
            params.subject_alt_names.push(match name {
                Requested::Uri(u) => SanType::URI(u.try_into().unwrap()),
                Requested::Dns(d) => SanType::DnsName(d.try_into().unwrap()),
                Requested::Ip(ip) => SanType::IpAddress(ip),
            });
        }
        let office_uris = params
            .subject_alt_names
            .iter()
            .filter(|s| matches!(s, SanType::URI(u) if u.as_str().starts_with("urn:staffel:office:")))
            .count();
        match extensions {
            Extensions::OwnProfile => {
                assert_eq!(office_uris, 1, "the CA issues only for exactly one office URI SAN");
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                params.extended_key_usages =
                    vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
            }
            Extensions::Copied => copy_requested(&csr, &mut params),
        }
        valid(&mut params);
        if let Some(end) = not_after {
            params.not_after = rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(end);
        }
        let key = RequestKey(info.subject_pki.subject_public_key.data.to_vec());
        params.signed_by(&key, &self.issuer).unwrap().pem()
    }
}

/// Where the certificate's key usages and constraints come from.
enum Extensions {
    /// The CA's own profile: digitalSignature, serverAuth and clientAuth, not a CA.
    OwnProfile,
    /// The request.
    Copied,
}

/// Copies the key usage, extended key usage and basic constraints a request asks for.
fn copy_requested(csr: &X509CertificationRequest<'_>, params: &mut CertificateParams) {
    for ext in csr.requested_extensions().into_iter().flatten() {
        match ext {
            ParsedExtension::SubjectAlternativeName(_) => {} // taken with the other SANs
            ParsedExtension::KeyUsage(ku) => {
                let flags = [
                    (ku.digital_signature(), KeyUsagePurpose::DigitalSignature),
                    (ku.non_repudiation(), KeyUsagePurpose::ContentCommitment),
                    (ku.key_encipherment(), KeyUsagePurpose::KeyEncipherment),
                    (ku.data_encipherment(), KeyUsagePurpose::DataEncipherment),
                    (ku.key_agreement(), KeyUsagePurpose::KeyAgreement),
                    (ku.key_cert_sign(), KeyUsagePurpose::KeyCertSign),
                    (ku.crl_sign(), KeyUsagePurpose::CrlSign),
                    (ku.encipher_only(), KeyUsagePurpose::EncipherOnly),
                    (ku.decipher_only(), KeyUsagePurpose::DecipherOnly),
                ];
                params.key_usages = flags.into_iter().filter(|(set, _)| *set).map(|(_, p)| p).collect();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                assert!(eku.other.is_empty(), "an extended key usage this CA does not copy: {eku:?}");
                let purposes = [
                    (eku.any, ExtendedKeyUsagePurpose::Any),
                    (eku.server_auth, ExtendedKeyUsagePurpose::ServerAuth),
                    (eku.client_auth, ExtendedKeyUsagePurpose::ClientAuth),
                    (eku.code_signing, ExtendedKeyUsagePurpose::CodeSigning),
                    (eku.email_protection, ExtendedKeyUsagePurpose::EmailProtection),
                    (eku.time_stamping, ExtendedKeyUsagePurpose::TimeStamping),
                    (eku.ocsp_signing, ExtendedKeyUsagePurpose::OcspSigning),
                ];
                params.extended_key_usages = purposes.into_iter().filter(|(set, _)| *set).map(|(_, p)| p).collect();
            }
            ParsedExtension::BasicConstraints(bc) => {
                params.is_ca = match (bc.ca, bc.path_len_constraint) {
                    (false, _) => IsCa::ExplicitNoCa,
                    (true, Some(n)) => IsCa::Ca(BasicConstraints::Constrained(n as u8)),
                    (true, None) => IsCa::Ca(BasicConstraints::Unconstrained),
                };
            }
            other => panic!("a requested extension this CA does not copy: {other:?}"),
        }
    }
}

/// Checks that a request is signed by the key it asks a certificate for (ECDSA P-256, SHA-256),
/// with the signature algorithms of the rustls provider the offices use.
pub fn verify_signature(csr: &X509CertificationRequest<'_>) {
    use rustls::pki_types::alg_id;
    let provider = rustls::crypto::ring::default_provider();
    let alg = provider
        .signature_verification_algorithms
        .all
        .iter()
        .find(|a| a.public_key_alg_id() == alg_id::ECDSA_P256 && a.signature_alg_id() == alg_id::ECDSA_SHA256)
        .unwrap();
    let info = &csr.certification_request_info;
    alg.verify_signature(&info.subject_pki.subject_public_key.data, info.raw, &csr.signature_value.data)
        .expect("the request is signed by the key it names");
}

/// The public key of a request (ECDSA P-256, as `staffel keys csr` makes it).
pub struct RequestKey(Vec<u8>);

impl PublicKeyData for RequestKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// A subject alternative name a request asks for.
#[derive(Debug, PartialEq)]
pub enum Requested {
    Uri(String),
    Dns(String),
    Ip(std::net::IpAddr),
}

/// The subject alternative names a request asks for, in its order.
pub fn requested_sans(csr: &X509CertificationRequest<'_>) -> Vec<Requested> {
    let mut out = Vec::new();
    for ext in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext {
            for name in &san.general_names {
                out.push(match name {
                    GeneralName::URI(u) => Requested::Uri(u.to_string()),
                    GeneralName::DNSName(d) => Requested::Dns(d.to_string()),
                    GeneralName::IPAddress(b) if b.len() == 4 => Requested::Ip(<[u8; 4]>::try_from(*b).unwrap().into()),
                    GeneralName::IPAddress(b) => Requested::Ip(<[u8; 16]>::try_from(*b).unwrap().into()),
                    other => panic!("unexpected SAN {other:?}"),
                });
            }
        }
    }
    out
}
