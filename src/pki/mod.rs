//! Certificates and keys: loading PEM files, reading the office id from a certificate, and
//! recognising development material. `crate::dev_pki` generates the development PKI;
//! [`office_keys`] makes an office's own keys, directory entry and certificate request.

pub mod office_keys;

use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::domain::OfficeId;

/// The prefix of the URI subject alternative name that carries an office id:
/// `urn:staffel:office:08111000`.
pub const OFFICE_URI_PREFIX: &str = "urn:staffel:office:";

/// The organisation name of every development certificate; a production server refuses it.
pub const DEV_ORGANISATION: &str = "Staffel DEVELOPMENT ONLY - not for production";

/// The prefix of every development signing key id; a production server refuses it.
pub const DEV_KID_PREFIX: &str = "dev-";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key")]
    NoKey { path: PathBuf },
    #[error("{path} is not a valid JWK: {reason}")]
    Jwk { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("certificate generation failed: {0}")]
    Generate(String),
    #[error("{path} exists; it is never overwritten (move it away first if you mean to replace it)")]
    Exists { path: PathBuf },
    #[error("{0}")]
    Invalid(String),
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(|source| PkiError::Read { path: path.to_owned(), source })
}

pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let pem = read(path)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|source| PkiError::Read { path: path.to_owned(), source })?;
    if certs.is_empty() {
        return Err(PkiError::NoCertificate { path: path.to_owned() });
    }
    Ok(certs)
}

pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, PkiError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| PkiError::Read { path: path.to_owned(), source })?
        .ok_or_else(|| PkiError::NoKey { path: path.to_owned() })
}

pub fn load_jwk(path: &Path) -> Result<josekit::jwk::Jwk, PkiError> {
    josekit::jwk::Jwk::from_bytes(read(path)?)
        .map_err(|e| PkiError::Jwk { path: path.to_owned(), reason: e.to_string() })
}

/// The office id a certificate names in its `urn:staffel:office:` URI SAN. A certificate with
/// none, or with more than one, names no office.
pub fn office_id_of(cert: &CertificateDer<'_>) -> Option<OfficeId> {
    let (_, parsed) = X509Certificate::from_der(cert.as_ref()).ok()?;
    let san = parsed.subject_alternative_name().ok()??;
    let mut ids = san.value.general_names.iter().filter_map(|name| match name {
        GeneralName::URI(uri) => uri.strip_prefix(OFFICE_URI_PREFIX),
        _ => None,
    });
    let first = ids.next()?;
    if ids.next().is_some() {
        return None;
    }
    OfficeId::parse(first).ok()
}

/// The end of a certificate's validity (its notAfter), if it parses.
pub fn not_after(cert: &CertificateDer<'_>) -> Option<chrono::DateTime<chrono::Utc>> {
    let (_, parsed) = X509Certificate::from_der(cert.as_ref()).ok()?;
    chrono::DateTime::from_timestamp(parsed.validity().not_after.timestamp(), 0)
}

/// How many days before its end a certificate is warned about at start.
pub const CERTIFICATE_WARNING_DAYS: i64 = 30;

/// Whether a certificate ending at `not_after` is to be warned about at `now`: the whole days
/// left (negative once it has ended) when fewer than [`CERTIFICATE_WARNING_DAYS`] remain, else
/// `None`.
pub fn ends_soon(not_after: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let left = not_after - now;
    (left < chrono::Duration::days(CERTIFICATE_WARNING_DAYS)).then(|| left.num_days())
}

/// Logs a warning at start when the TLS certificate of `listener` (`federation` or `api`) ends
/// within [`CERTIFICATE_WARNING_DAYS`] of `now` (the office's clock), or has ended.
pub fn warn_if_ending(listener: &str, not_after: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) {
    let Some(days) = ends_soon(not_after, now) else { return };
    let date = not_after.format("%Y-%m-%d %H:%M:%S UTC");
    if not_after > now {
        tracing::warn!(
            "the {listener} TLS certificate ends on {date} (in {days} days): renew it (docs/operations.md section 3.2)"
        );
    } else {
        tracing::warn!(
            "the {listener} TLS certificate ended on {date} ({} days ago): renew it (docs/operations.md section 3.2)",
            -days
        );
    }
}

/// Whether a certificate was issued by, or is, the development CA.
pub fn is_development_cert(cert: &CertificateDer<'_>) -> bool {
    let Ok((_, parsed)) = X509Certificate::from_der(cert.as_ref()) else {
        return false;
    };
    let dev = |name: &x509_parser::x509::X509Name<'_>| {
        name.iter_organization().any(|o| o.as_str().is_ok_and(|s| s == DEV_ORGANISATION))
    };
    dev(parsed.subject()) || dev(parsed.issuer())
}

/// Whether a file (a private key) can be read by users other than the service: any permission
/// for others, or for a group that is not this process's own group (Unix; the deployment's
/// `root:staffel 0640` gives the service's group, and only it, read access); never on other
/// systems. Where this process's group cannot be told (no `/proc`), any group permission counts.
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let Ok(m) = std::fs::metadata(path) else { return false };
        let mode = m.permissions().mode();
        // The effective group from /proc/self/status (the owner of /proc/self is root:root for
        // a process that is not dumpable, e.g. one that changed its user).
        let own_group = std::fs::read_to_string("/proc/self/status").ok().as_deref().and_then(effective_gid);
        mode & 0o007 != 0 || (mode & 0o070 != 0 && own_group != Some(m.gid()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// The effective group id in the text of `/proc/<pid>/status`: the second number of its `Gid:`
/// line (real, effective, saved set, file system).
#[cfg(unix)]
fn effective_gid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Gid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(all(test, unix))]
mod mode_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn keys_readable_by_others_or_another_group_are_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("signing.jwk");
        std::fs::write(&key, "{}").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(!readable_by_others(&key));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o604)).unwrap();
        assert!(readable_by_others(&key));
        // The file made here has this process's group: read access for that group is the
        // service's own (as root:staffel 0640 gives it).
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        #[cfg(target_os = "linux")]
        assert!(!readable_by_others(&key));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(readable_by_others(&key));

        // A file of another group that group may read (only root may give a file to any group).
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let status = std::fs::read_to_string("/proc/self/status").ok();
        let Some(own) = status.as_deref().and_then(effective_gid) else {
            eprintln!("no /proc/self/status: a file of another group is not tried");
            return;
        };
        let other = if own == 4242 { 4243 } else { 4242 };
        match std::os::unix::fs::chown(&key, None, Some(other)) {
            Ok(()) => {
                assert!(readable_by_others(&key));
                std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
                assert!(!readable_by_others(&key));
            }
            Err(e) => eprintln!("the file cannot be given to group {other} ({e}; not root?): not tried"),
        }
    }

    #[test]
    fn the_effective_group_is_the_second_number_of_the_gid_line() {
        let status = "Name:\tstaffel\nUmask:\t0077\nUid:\t998\t998\t998\t998\n\
                      Gid:\t100\t997\t997\t997\nFDSize:\t64\nGroups:\t997\n";
        assert_eq!(effective_gid(status), Some(997));
        assert_eq!(effective_gid("Name:\tx\nUid:\t0\t0\t0\t0\n"), None);
        assert_eq!(effective_gid("Gid:\t0\n"), None);
        assert_eq!(effective_gid("Gid:\tzero\tone\n"), None);
    }
}

#[cfg(test)]
mod expiry_tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_certificate_is_warned_about_from_thirty_days_before_its_end() {
        let end = at("2027-03-01T12:00:00Z");
        assert_eq!(ends_soon(end, at("2026-12-01T00:00:00Z")), None);
        assert_eq!(ends_soon(end, at("2027-01-30T12:00:00Z")), None, "exactly 30 days left");
        assert_eq!(ends_soon(end, at("2027-01-30T12:00:01Z")), Some(29));
        assert_eq!(ends_soon(end, at("2027-02-20T08:00:00Z")), Some(9));
        assert_eq!(ends_soon(end, at("2027-03-01T11:00:00Z")), Some(0));
        assert_eq!(ends_soon(end, at("2027-03-04T12:00:00Z")), Some(-3), "ended");
    }

    #[test]
    fn the_end_of_a_development_certificate_is_read() {
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-dev");
        let chain = load_certs(&crate::dev_pki::office_paths(&certs, "08111000").tls_cert).unwrap();
        let end = not_after(&chain[0]).unwrap();
        assert!(end > at("2026-01-01T00:00:00Z"), "{end}");
        assert_eq!(not_after(&CertificateDer::from(vec![0x30, 0x00])), None);
    }
}
