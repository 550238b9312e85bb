//! The development PKI: a federation CA, and for each development office a TLS certificate
//! (server and client auth, office id in a URI SAN), an ES256 signing key as JWK, and a ready
//! config file; plus the directory of all offices. For development and tests only: every
//! certificate carries [`DEV_ORGANISATION`], every key id starts with [`DEV_KID_PREFIX`], the
//! directory says `"development": true`, and a server not configured as development refuses them.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use crate::domain::OfficeId;
use crate::federation::directory::{DirectoryEntry, DirectoryFile};
use crate::pki::office_keys::{Subject, office_certificate_params, signing_key_pair};
use crate::pki::{DEV_KID_PREFIX, DEV_ORGANISATION, PkiError};

/// A development office: id, name, and the loopback ports of its development config.
pub struct DevOffice {
    pub id: &'static str,
    pub name: &'static str,
    pub federation_port: u16,
    pub api_port: u16,
}

/// The three development offices.
pub const DEV_OFFICES: [DevOffice; 3] = [
    DevOffice { id: "08111000", name: "Stuttgart", federation_port: 8441, api_port: 8081 },
    DevOffice { id: "08221000", name: "Heidelberg", federation_port: 8442, api_port: 8082 },
    DevOffice { id: "08311000", name: "Freiburg", federation_port: 8443, api_port: 8083 },
];

/// The bearer token of the development integration manager of an office (config stores only its
/// SHA-256). Development only, like everything here.
pub fn dev_token(office: &str) -> String {
    format!("dev-token-{office}")
}

/// The bearer token of the development team lead of an office.
pub fn dev_lead_token(office: &str) -> String {
    format!("dev-lead-token-{office}")
}

/// The bearer token of the development administrator of an office.
pub fn dev_admin_token(office: &str) -> String {
    format!("dev-admin-token-{office}")
}

/// The paths of one office's development material inside a PKI folder.
pub struct OfficePaths {
    pub dir: PathBuf,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub signing_key: PathBuf,
    pub config: PathBuf,
}

pub fn office_paths(root: &Path, office: &str) -> OfficePaths {
    let dir = root.join(office);
    OfficePaths {
        tls_cert: dir.join("tls.pem"),
        tls_key: dir.join("tls.key"),
        signing_key: dir.join("signing.jwk"),
        config: dir.join("config.toml"),
        dir,
    }
}

pub fn ca_path(root: &Path) -> PathBuf {
    root.join("ca.pem")
}

pub fn directory_path(root: &Path) -> PathBuf {
    root.join("directory.json")
}

fn gen_err(e: impl std::fmt::Display) -> PkiError {
    PkiError::Generate(e.to_string())
}

fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), PkiError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| PkiError::Write { path: parent.to_owned(), source })?;
    }
    std::fs::write(path, contents).map_err(|source| PkiError::Write { path: path.to_owned(), source })
}

/// A fresh development CA: its certificate (PEM) and an issuer to sign office certificates.
pub struct DevCa {
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl DevCa {
    pub fn generate(common_name: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
        params.distinguished_name.push(DnType::OrganizationName, DEV_ORGANISATION);
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2035, 12, 31);
        let cert = params.self_signed(&key).map_err(gen_err)?;
        Ok(Self { cert_pem: cert.pem(), issuer: Issuer::new(params, key) })
    }

    /// A TLS certificate for an office, with the profile of
    /// [`office_certificate_params`](crate::pki::office_keys::office_certificate_params) (server
    /// and client auth, office id in a `urn:staffel:office:` URI SAN), valid for `localhost` and
    /// `127.0.0.1`. Returns (certificate PEM, private key PEM).
    pub fn office_tls(&self, office: OfficeId, name: &str) -> Result<(String, String), PkiError> {
        let key = KeyPair::generate().map_err(gen_err)?;
        let hosts = ["localhost".to_string(), "127.0.0.1".to_string()];
        let common_name = format!("{name} ({office})");
        let subject = Subject { common_name: &common_name, organisation: Some(DEV_ORGANISATION) };
        let mut params = office_certificate_params(office, &hosts, &subject)?;
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2035, 12, 31);
        let cert = params.signed_by(&key, &self.issuer).map_err(gen_err)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// A fresh ES256 signing key for a development office: (private JWK, public JWK), with a `kid`
/// starting with [`DEV_KID_PREFIX`], `alg`, `use`.
pub fn signing_key(office: OfficeId) -> Result<(josekit::jwk::Jwk, josekit::jwk::Jwk), PkiError> {
    let kid = format!("{DEV_KID_PREFIX}{office}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    signing_key_pair(&kid)
}

fn office_config(office: &DevOffice) -> String {
    let digest = crate::digest::token_digest;
    let (token, lead, admin) = (dev_token(office.id), dev_lead_token(office.id), dev_admin_token(office.id));
    let (token_sha256, lead_sha256, admin_sha256) = (digest(&token), digest(&lead), digest(&admin));
    format!(
        r#"# Development configuration of {name} ({id}). Generated by `staffel dev-certs`.
# DEVELOPMENT ONLY: the keys beside this file are public in the repository.
# Relative paths are relative to this file.
development = true

[office]
id = "{id}"
name = "{name}"
# Handovers and extensions need a second person, a team lead.
four_eyes = false

[database]
url = "sqlite:../../var/{id}.sqlite"

[federation]
listen = "127.0.0.1:{fport}"
ca = "../ca.pem"
cert = "tls.pem"
key = "tls.key"
signing_key = "signing.jwk"
directory = "../directory.json"

[api]
listen = "127.0.0.1:{aport}"

# Development accounts with API tokens (only the SHA-256 is kept). Their tokens are
# "{token}", "{lead}" and "{admin}".
[[api.managers]]
account = "im-{id}"
role = "integration-manager"
token_sha256 = "{token_sha256}"

[[api.managers]]
account = "lead-{id}"
role = "team-lead"
token_sha256 = "{lead_sha256}"

[[api.managers]]
account = "admin-{id}"
role = "administrator"
token_sha256 = "{admin_sha256}"
"#,
        name = office.name,
        id = office.id,
        fport = office.federation_port,
        aport = office.api_port,
    )
}

const DEV_README: &str = "# Development PKI: never for production

Everything in this folder was generated by `staffel dev-certs` and is public: the private keys of
the federation CA's offices, their ES256 signing keys, their configs and the directory. It exists
so that the demo and the tests run real TLS and real signatures on any machine.

- `ca.pem`: the development federation CA (its key is not kept; `staffel dev-certs` makes all anew).
- `<office>/tls.pem`, `tls.key`: the office's TLS certificate (server and client auth, office id in
  the URI SAN `urn:staffel:office:<office>`, valid for localhost and 127.0.0.1).
- `<office>/signing.jwk`: the office's private ES256 signing key; `kid` starts with `dev-`.
- `<office>/config.toml`: a ready development config (`development = true`).
- `directory.json`: every office's id, name, federation URL and public signing key.

A server whose config does not say `development = true` refuses to start with any of this.
";

/// Generates the whole development PKI into `root`, replacing what is there. `progress` is told
/// each file written.
pub fn generate(root: &Path, mut progress: impl FnMut(&Path)) -> Result<(), PkiError> {
    let ca = DevCa::generate("Staffel development federation CA")?;
    let ca_file = ca_path(root);
    write(&ca_file, &ca.cert_pem)?;
    progress(&ca_file);
    let mut entries = Vec::new();
    for office in &DEV_OFFICES {
        let id = OfficeId::parse(office.id).expect("development office ids are valid");
        let paths = office_paths(root, office.id);
        let (cert, key) = ca.office_tls(id, office.name)?;
        let (private, public) = signing_key(id)?;
        write(&paths.tls_cert, cert)?;
        write(&paths.tls_key, key)?;
        write(&paths.signing_key, private.to_string())?;
        write(&paths.config, office_config(office))?;
        for p in [&paths.tls_cert, &paths.tls_key, &paths.signing_key, &paths.config] {
            progress(p);
        }
        entries.push(DirectoryEntry {
            id,
            name: office.name.to_string(),
            federation_url: format!("https://127.0.0.1:{}", office.federation_port),
            signing_keys: vec![public],
        });
    }
    let readme = root.join("README.md");
    write(&readme, DEV_README)?;
    progress(&readme);
    let directory = DirectoryFile { development: true, offices: entries };
    let dir_file = directory_path(root);
    write(&dir_file, serde_json::to_string_pretty(&directory).expect("directory serialises") + "\n")?;
    progress(&dir_file);
    Ok(())
}
