//! An office's own key material, made by the office itself: its ES256 signing key (its directory
//! entry, protocol section 4, is `federation::directory::DirectoryEntry::publishing`), and its TLS
//! key with a certificate signing request (PKCS#10) asking for exactly the certificate section 3
//! requires. `staffel keys`
//! writes them; the development PKI ([`crate::dev_pki`]) issues its certificates from the same
//! profile ([`office_certificate_params`]).

use std::io::Write as _;
use std::path::Path;

use josekit::jwk::{Jwk, KeyPair as _};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::ServerName;

use super::{DEV_KID_PREFIX, DEV_ORGANISATION, OFFICE_URI_PREFIX, PkiError};
use crate::domain::OfficeId;

fn gen_err(e: impl std::fmt::Display) -> PkiError {
    PkiError::Generate(e.to_string())
}

/// A key id is 1-64 characters of ASCII letters, digits, `-`, `_` and `.`, and does not start
/// with the development prefix `dev-` (a production server refuses such a key).
pub fn check_kid(kid: &str) -> Result<(), PkiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if kid.is_empty() || kid.len() > 64 || !kid.chars().all(allowed) {
        return Err(PkiError::Invalid(format!(
            "key id {kid:?}: 1-64 characters of ASCII letters, digits, '-', '_' and '.'"
        )));
    }
    if kid.starts_with(DEV_KID_PREFIX) {
        return Err(PkiError::Invalid(format!(
            "key id {kid:?}: ids starting with {DEV_KID_PREFIX:?} mark development keys"
        )));
    }
    Ok(())
}

/// The default key id of a signing key made on `day`: `<office>-<YYYY-MM-DD>-<6 random hex>`,
/// unique across the directory (the office id) and across rotations (day and random part).
pub fn default_kid(office: OfficeId, day: chrono::NaiveDate) -> String {
    format!("{office}-{day}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6])
}

/// A fresh ES256 (P-256) signing key with `kid`: (private JWK, public JWK), both with `kid`,
/// `alg` `ES256` and `use` `sig`. The key id is not checked here (the development PKI uses
/// `dev-` ids); [`check_kid`] does that for production keys.
pub fn signing_key_pair(kid: &str) -> Result<(Jwk, Jwk), PkiError> {
    let pair = josekit::jws::ES256.generate_key_pair().map_err(gen_err)?;
    let finish = |mut jwk: Jwk| {
        jwk.set_key_id(kid);
        jwk.set_algorithm("ES256");
        jwk.set_key_use("sig");
        jwk
    };
    Ok((finish(pair.to_jwk_key_pair()), finish(pair.to_jwk_public_key())))
}

/// A host name or IP address the office's federation listener is reached at, as the SAN of its
/// certificate: an IP address gives an IP SAN, anything else must be a DNS name.
pub fn host_san(host: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    match ServerName::try_from(host) {
        Ok(ServerName::DnsName(_)) => {
            Ok(SanType::DnsName(host.to_ascii_lowercase().try_into().map_err(|e| PkiError::Invalid(format!("{e}")))?))
        }
        _ => Err(PkiError::Invalid(format!("{host:?} is neither a DNS name nor an IP address"))),
    }
}

/// The subject of an office certificate: common name, and an organisation if given.
pub struct Subject<'a> {
    pub common_name: &'a str,
    pub organisation: Option<&'a str>,
}

/// The certificate an office needs (protocol section 3): exactly one URI SAN
/// `urn:staffel:office:<AGS>`, a DNS or IP SAN for each of `hosts` (the host of its
/// `federation_url` among them), extended key usages `serverAuth` and `clientAuth` (one
/// certificate serves the listener and outgoing calls), key usage `digitalSignature`.
pub fn office_certificate_params(
    office: OfficeId,
    hosts: &[String],
    subject: &Subject<'_>,
) -> Result<CertificateParams, PkiError> {
    if hosts.is_empty() {
        return Err(PkiError::Invalid(
            "at least one host: the DNS name or IP address of the office's federation_url".into(),
        ));
    }
    let mut params = CertificateParams::default();
    let uri = format!("{OFFICE_URI_PREFIX}{office}");
    params.subject_alt_names.push(SanType::URI(uri.try_into().map_err(gen_err)?));
    for host in hosts {
        params.subject_alt_names.push(host_san(host)?);
    }
    if let Some(o) = subject.organisation {
        params.distinguished_name.push(DnType::OrganizationName, o);
    }
    params.distinguished_name.push(DnType::CommonName, subject.common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    Ok(params)
}

/// A fresh TLS key (ECDSA P-256) and a certificate signing request for it with the subject and
/// extension requests of [`office_certificate_params`]: (CSR PEM, private key PEM, PKCS#8).
/// The development organisation is refused: a production server refuses such a certificate.
pub fn tls_request(office: OfficeId, hosts: &[String], subject: &Subject<'_>) -> Result<(String, String), PkiError> {
    if subject.organisation == Some(DEV_ORGANISATION) {
        return Err(PkiError::Invalid(format!("the organisation {DEV_ORGANISATION:?} marks development certificates")));
    }
    let params = office_certificate_params(office, hosts, subject)?;
    let key = KeyPair::generate().map_err(gen_err)?;
    let csr = params.serialize_request(&key).map_err(gen_err)?;
    Ok((csr.pem().map_err(gen_err)?, key.serialize_pem()))
}

/// Creates `dir` (and its parents) if missing, the folder itself readable by its owner only
/// (0700 on Unix). An existing folder is left as it is.
pub fn create_private_dir(dir: &Path) -> Result<(), PkiError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| PkiError::Write { path: dir.to_owned(), source })
}

/// Writes a new file readable by its owner only (0600 on Unix); an existing file is never
/// overwritten ([`PkiError::Exists`]).
pub fn write_new_private(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), PkiError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => PkiError::Exists { path: path.to_owned() },
        _ => PkiError::Write { path: path.to_owned(), source },
    })?;
    file.write_all(contents.as_ref())
        .and_then(|()| file.sync_all())
        .map_err(|source| PkiError::Write { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuttgart() -> OfficeId {
        OfficeId::parse("08111000").unwrap()
    }

    #[test]
    fn key_ids_are_checked() {
        assert!(check_kid("08111000-2026-11-25-a1b2c3").is_ok());
        assert!(check_kid("stuttgart-2026-01").is_ok());
        for bad in ["", "dev-08111000", "with space", "ümlaut", &"x".repeat(65)] {
            assert!(check_kid(bad).is_err(), "{bad:?}");
        }
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let kid = default_kid(stuttgart(), day);
        assert!(kid.starts_with("08111000-2026-11-25-") && kid.len() == 26, "{kid}");
        assert!(check_kid(&kid).is_ok());
    }

    #[test]
    fn hosts_are_dns_names_or_ip_addresses() {
        assert!(matches!(host_san("staffel.stuttgart.example").unwrap(), SanType::DnsName(_)));
        assert!(matches!(host_san("192.0.2.7").unwrap(), SanType::IpAddress(_)));
        assert!(matches!(host_san("2001:db8::7").unwrap(), SanType::IpAddress(_)));
        for bad in ["", "https://staffel.example", "staffel example", "staffel.example:8443"] {
            assert!(host_san(bad).is_err(), "{bad:?}");
        }
        let subject = Subject { common_name: "x", organisation: None };
        assert!(office_certificate_params(stuttgart(), &[], &subject).is_err());
        let dev = Subject { common_name: "x", organisation: Some(DEV_ORGANISATION) };
        assert!(tls_request(stuttgart(), &["staffel.example".into()], &dev).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_in_a_0700_folder_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let file = dir.join("k");
        write_new_private(&file, "one").unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(matches!(write_new_private(&file, "two"), Err(PkiError::Exists { .. })));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "one");
    }
}
