//! `staffel keys`: an office makes its own keys. `signing-key` writes the message signing key and
//! the directory entry publishing it; `csr` writes the TLS key and a certificate signing request
//! for the federation CA; `check` runs the startup checks of the key material without starting.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::init_tracing;
use crate::config::Config;
use crate::domain::OfficeId;
use crate::pki::office_keys::{self, Subject};
use crate::pki::{DEV_ORGANISATION, OFFICE_URI_PREFIX};
use crate::server::Server;

/// The files `signing-key` writes in its folder.
pub const SIGNING_KEY_FILE: &str = "signing.jwk";
pub const DIRECTORY_ENTRY_FILE: &str = "directory-entry.json";
/// The files `csr` writes in its folder.
pub const TLS_KEY_FILE: &str = "tls.key";
pub const CSR_FILE: &str = "tls.csr";

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Generates the office's message signing key and its directory entry.
    ///
    /// The key (ES256, P-256) is written as a private JWK to <OUT>/signing.jwk, readable by this
    /// user only (a folder it makes is 0700); the office's directory entry, with the public key
    /// only, to <OUT>/directory-entry.json and standard output, for the directory's maintainer.
    /// The key file is never overwritten: a second run into a folder that has one is refused and
    /// writes nothing (directory-entry.json stays as it is too; one without its key beside it is
    /// replaced).
    SigningKey {
        /// The office id (8-digit AGS).
        #[arg(long)]
        office: OfficeId,
        /// The office's name in the directory.
        #[arg(long)]
        name: String,
        /// The office's federation URL in the directory (https://HOST:PORT).
        #[arg(long)]
        federation_url: String,
        /// The key id, unique in the whole directory [default: <OFFICE>-<YYYY-MM-DD>-<6 random
        /// hex digits>].
        #[arg(long)]
        kid: Option<String>,
        /// The folder to write to.
        #[arg(long)]
        out: PathBuf,
    },
    /// Generates the office's TLS key and a certificate signing request for the federation CA.
    ///
    /// The key (ECDSA P-256) is written to <OUT>/tls.key, readable by this user only (a folder it
    /// makes is 0700); the request (PKCS#10, PEM) to <OUT>/tls.csr. It asks for what the protocol
    /// requires: the office's URI SAN, a DNS or IP SAN per host, extended key usages serverAuth
    /// and clientAuth, key usage digitalSignature. Prints what the CA must put into the
    /// certificate. The key file is never overwritten: a second run into a folder that has one is
    /// refused and writes nothing (tls.csr stays as it is too; one without its key beside it is
    /// replaced).
    Csr {
        /// The office id (8-digit AGS).
        #[arg(long)]
        office: OfficeId,
        /// A DNS name or IP address other offices reach the federation listener at: the host of
        /// the office's federation_url. Repeat for more.
        #[arg(long = "host", value_name = "HOST", required = true)]
        hosts: Vec<String>,
        /// The subject's common name [default: Staffel <OFFICE>].
        #[arg(long)]
        common_name: Option<String>,
        /// The subject's organisation (e.g. the municipality).
        #[arg(long)]
        organisation: Option<String>,
        /// The folder to write to.
        #[arg(long)]
        out: PathBuf,
    },
    /// Checks an office's key material as `staffel serve` does at start, without starting.
    ///
    /// The TLS certificate names the office, chains to the federation CA, is valid now for the
    /// host of the office's federation_url and matches the TLS key; the signing key is listed for
    /// the office in the directory; no development material unless the config says so. Exits 0
    /// only if all holds.
    Check {
        /// The office's config file (TOML).
        #[arg(long)]
        config: PathBuf,
    },
}

/// `staffel keys signing-key`.
fn signing_key(office: OfficeId, name: &str, url: &str, kid: Option<String>, out: &Path) -> Result<(), String> {
    let kid = kid.unwrap_or_else(|| office_keys::default_kid(office, crate::clock::Clock::system().today()));
    office_keys::check_kid(&kid).map_err(|e| e.to_string())?;
    let (private, public) = office_keys::signing_key_pair(&kid).map_err(|e| e.to_string())?;
    let entry = crate::federation::directory::DirectoryEntry::publishing(office, name, url, public)
        .map_err(|e| e.to_string())?;
    let entry_json = serde_json::to_string_pretty(&entry).expect("a directory entry serialises") + "\n";
    office_keys::create_private_dir(out).map_err(|e| e.to_string())?;
    let key_file = out.join(SIGNING_KEY_FILE);
    office_keys::write_new_private(&key_file, private.to_string() + "\n").map_err(|e| e.to_string())?;
    let entry_file = out.join(DIRECTORY_ENTRY_FILE);
    std::fs::write(&entry_file, &entry_json).map_err(|e| format!("cannot write {}: {e}", entry_file.display()))?;
    eprintln!("Wrote {} (the private signing key, key id {kid}: keep it, never send it).", key_file.display());
    eprintln!(
        "Wrote {} (the directory entry, public key only). Send it to the directory's maintainer: it goes \
         into \"offices\" of every office's directory.json. Set [federation] signing_key to the key file.",
        entry_file.display()
    );
    print!("{entry_json}");
    Ok(())
}

/// `staffel keys csr`.
fn csr(
    office: OfficeId,
    hosts: &[String],
    common_name: Option<String>,
    organisation: Option<String>,
    out: &Path,
) -> Result<(), String> {
    let common_name = common_name.unwrap_or_else(|| format!("Staffel {office}"));
    let subject = Subject { common_name: &common_name, organisation: organisation.as_deref() };
    let (csr_pem, key_pem) = office_keys::tls_request(office, hosts, &subject).map_err(|e| e.to_string())?;
    office_keys::create_private_dir(out).map_err(|e| e.to_string())?;
    let key_file = out.join(TLS_KEY_FILE);
    office_keys::write_new_private(&key_file, key_pem).map_err(|e| e.to_string())?;
    let csr_file = out.join(CSR_FILE);
    std::fs::write(&csr_file, &csr_pem).map_err(|e| format!("cannot write {}: {e}", csr_file.display()))?;
    let sans: Vec<String> = hosts
        .iter()
        .map(|h| if h.parse::<std::net::IpAddr>().is_ok() { format!("IP {h}") } else { format!("DNS {h}") })
        .collect();
    println!("Wrote {} (the TLS private key: keep it, never send it).", key_file.display());
    println!("Wrote {} (the certificate signing request): send it to the federation CA.", csr_file.display());
    println!();
    println!("The CA must issue a certificate for this key that carries:");
    println!("  - subject alternative names, as requested:");
    println!("      URI {OFFICE_URI_PREFIX}{office}   (the only URI SAN with this prefix)");
    for san in &sans {
        println!("      {san}");
    }
    println!("  - extended key usage: serverAuth and clientAuth (or no extended key usage at all)");
    println!("  - key usage: digitalSignature");
    println!("  - basic constraints: not a CA");
    println!("  - issuer: the federation CA, directly or through intermediate CAs");
    println!("The request asks for the SANs and both key usages as extension requests (PKCS#9); a CA");
    println!("that takes extensions from a profile of its own instead must set them itself. The subject");
    println!("({}) is for people: Staffel reads the office from the URI SAN.", subject_line(&subject));
    println!("The organisation {DEV_ORGANISATION:?} is refused by a production server.");
    println!();
    println!("Inspect the request: openssl req -in {} -noout -text", csr_file.display());
    println!("Install the certificate as [federation] cert (PEM, leaf first, then any intermediates), the");
    println!("key as [federation] key, the federation CA as [federation] ca; then run");
    println!("`staffel keys check --config <config>`.");
    Ok(())
}

fn subject_line(subject: &Subject<'_>) -> String {
    match subject.organisation {
        Some(o) => format!("O={o}, CN={}", subject.common_name),
        None => format!("CN={}", subject.common_name),
    }
}

/// `staffel keys check`.
fn check(config_path: &Path) -> Result<(), String> {
    let config = Config::load(config_path).map_err(|e| e.to_string())?;
    let material =
        Server::check_key_material(&config, crate::clock::Clock::system().now()).map_err(|e| e.to_string())?;
    let not_after = x509_parser::parse_x509_certificate(material.chain[0].as_ref())
        .map(|(_, c)| c.validity().not_after.to_string())
        .unwrap_or_default();
    println!(
        "The key material of office {} is in order: its TLS certificate names it, chains to the federation CA, \
         matches its key and is valid until {not_after}; its signing key {} is listed for it in the directory.",
        config.office.id,
        material.signer.kid()
    );
    Ok(())
}

pub(crate) fn run(command: KeysCommand) -> ExitCode {
    init_tracing("warn");
    let (what, result) = match command {
        KeysCommand::SigningKey { office, name, federation_url, kid, out } => {
            ("signing-key", signing_key(office, &name, &federation_url, kid, &out))
        }
        KeysCommand::Csr { office, hosts, common_name, organisation, out } => {
            ("csr", csr(office, &hosts, common_name, organisation, &out))
        }
        KeysCommand::Check { config } => ("check", check(&config)),
    };
    super::exit_code(&format!("staffel keys {what}"), result.map(|()| true))
}
