//! `staffel keys`: an office made with its own keys joins a federation. The real binary writes a
//! fourth office's signing key, directory entry, TLS key and certificate signing request; the
//! test acts as a federation CA (a fresh one, made here) that checks the request as the protocol
//! says and issues the certificate; the office starts outside development mode and hands a client
//! over with an office whose certificate the same CA issued. A signing key the directory does not
//! list, a certificate of another CA or for another host: startup refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PublicKeyData, SanType, SignatureAlgorithm,
};
use staffel::clock::Clock;
use staffel::config::Config;
use staffel::demo::{self, Caseworker};
use staffel::federation::directory::{DirectoryEntry, DirectoryFile};
use staffel::pki::office_keys::{self, Subject};
use staffel::server::{Server, ServerError};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

/// The fourth office, made with `staffel keys`: Mannheim.
const MANNHEIM: &str = "08222000";

fn staffel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_staffel")).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A federation CA made for the test, not the development one.
struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::OrganizationName, "Land Baden-Württemberg (test)");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 12, 31);
        let cert = params.self_signed(&key).unwrap();
        Self { pem: cert.pem(), issuer: Issuer::new(params, key) }
    }

    /// Issues a certificate for a request as a careful federation CA would: it verifies the
    /// request's signature, takes the subject and the SANs from it, requires the office's URI SAN
    /// (exactly one) and sets key usage and extended key usage itself, as section 3 requires.
    fn issue(&self, csr_pem: &str) -> String {
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
        assert_eq!(office_uris, 1, "the CA issues only for exactly one office URI SAN");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 12, 31);
        let key = RequestKey(info.subject_pki.subject_public_key.data.to_vec());
        params.signed_by(&key, &self.issuer).unwrap().pem()
    }
}

/// Checks that a request is signed by the key it asks a certificate for (ECDSA P-256, SHA-256),
/// with the signature algorithms of the rustls provider the offices use.
fn verify_signature(csr: &X509CertificationRequest<'_>) {
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
struct RequestKey(Vec<u8>);

impl PublicKeyData for RequestKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

#[derive(Debug, PartialEq)]
enum Requested {
    Uri(String),
    Dns(String),
    Ip(std::net::IpAddr),
}

fn requested_sans(csr: &X509CertificationRequest<'_>) -> Vec<Requested> {
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

/// What `staffel keys` wrote for one office: its folder, and its directory entry.
struct Made {
    dir: PathBuf,
    entry: DirectoryEntry,
}

/// Writes a non-development config for `office` into its folder (TLS certificate `tls.pem`, key
/// `tls.key`, signing key `signing.jwk`, CA and directory one folder up), with the API token
/// `dev-token-<office>` the harness's caseworker uses (a test account, not development PKI).
fn write_config(dir: &Path, office: &str, name: &str) {
    let digest = staffel::digest::token_digest(&staffel::dev_pki::dev_token(office));
    let config = format!(
        r#"[office]
id = "{office}"
name = "{name}"

[database]
url = "sqlite:{office}.sqlite"

[federation]
listen = "127.0.0.1:0"
ca = "../ca.pem"
cert = "tls.pem"
key = "tls.key"
signing_key = "signing.jwk"
directory = "../directory.json"

[api]
listen = "127.0.0.1:0"

[[api.managers]]
account = "im-{office}"
role = "integration-manager"
token_sha256 = "{digest}"
"#
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
}

/// Heidelberg's keys made with the library functions `staffel keys` uses, its certificate
/// issued by `ca`.
fn heidelberg(root: &Path, ca: &TestCa) -> Made {
    let dir = root.join(HEIDELBERG);
    let id = office(HEIDELBERG);
    office_keys::create_private_dir(&dir).unwrap();
    let (private, public) = office_keys::signing_key_pair("heidelberg-2026-01").unwrap();
    office_keys::write_new_private(&dir.join("signing.jwk"), private.to_string()).unwrap();
    let entry = office_keys::directory_entry(id, "Heidelberg", "https://127.0.0.1:1", public).unwrap();
    let subject = Subject { common_name: "Staffel Heidelberg", organisation: Some("Stadt Heidelberg") };
    let (csr, key) = office_keys::tls_request(id, &["127.0.0.1".into()], &subject).unwrap();
    office_keys::write_new_private(&dir.join("tls.key"), key).unwrap();
    std::fs::write(dir.join("tls.pem"), ca.issue(&csr)).unwrap();
    write_config(&dir, HEIDELBERG, "Heidelberg");
    Made { dir, entry }
}

/// Mannheim's keys made with the real binary; checks the files, their modes, the printed entry,
/// the request's subject and extension requests, and that nothing is overwritten.
fn mannheim(root: &Path, ca: &TestCa) -> Made {
    let dir = root.join(MANNHEIM);
    let d = dir.to_str().unwrap();
    let out = staffel(&[
        "keys",
        "signing-key",
        "--office",
        MANNHEIM,
        "--name",
        "Mannheim",
        "--federation-url",
        "https://127.0.0.1:8443",
        "--out",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: DirectoryEntry = serde_json::from_slice(&out.stdout).unwrap();
    let written: DirectoryEntry =
        serde_json::from_slice(&std::fs::read(dir.join("directory-entry.json")).unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&printed).unwrap(), serde_json::to_value(&written).unwrap());
    assert_eq!(printed.id.as_str(), MANNHEIM);
    assert_eq!(printed.name, "Mannheim");
    let public = serde_json::to_value(&printed.signing_keys).unwrap();
    let key = &public[0];
    for (member, value) in [("kty", "EC"), ("crv", "P-256"), ("alg", "ES256"), ("use", "sig")] {
        assert_eq!(key[member], value, "{member}");
    }
    assert!(key.get("d").is_none(), "the entry holds the public key only");
    let kid = key["kid"].as_str().unwrap();
    assert!(kid.starts_with(&format!("{MANNHEIM}-")), "{kid}");
    let private = staffel::pki::load_jwk(&dir.join("signing.jwk")).unwrap();
    assert!(private.parameter("d").is_some());
    assert_eq!(private.key_id(), Some(kid));
    assert_eq!(private.parameter("x"), printed.signing_keys[0].parameter("x"));

    let out = staffel(&[
        "keys",
        "csr",
        "--office",
        MANNHEIM,
        "--host",
        "127.0.0.1",
        "--host",
        "staffel.mannheim.example",
        "--organisation",
        "Stadt Mannheim",
        "--out",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    for line in [
        "URI urn:staffel:office:08222000",
        "IP 127.0.0.1",
        "DNS staffel.mannheim.example",
        "serverAuth and clientAuth",
        "digitalSignature",
    ] {
        assert!(said.contains(line), "{line:?} not in {said}");
    }
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("signing.jwk")), 0o600);
        assert_eq!(mode(&dir.join("tls.key")), 0o600);
    }

    // The request: subject and extension requests exactly as section 3 asks.
    let csr_pem = std::fs::read_to_string(dir.join("tls.csr")).unwrap();
    let der = rustls_pemfile::csr(&mut csr_pem.as_bytes()).unwrap().unwrap();
    let (_, csr) = X509CertificationRequest::from_der(der.as_ref()).unwrap();
    verify_signature(&csr);
    let subject = &csr.certification_request_info.subject;
    assert_eq!(subject.iter_common_name().next().unwrap().as_str().unwrap(), "Staffel 08222000");
    assert_eq!(subject.iter_organization().next().unwrap().as_str().unwrap(), "Stadt Mannheim");
    assert_eq!(
        requested_sans(&csr),
        vec![
            Requested::Uri("urn:staffel:office:08222000".into()),
            Requested::Ip([127, 0, 0, 1].into()),
            Requested::Dns("staffel.mannheim.example".into()),
        ]
    );
    let mut eku = None;
    let mut ku = None;
    for ext in csr.requested_extensions().unwrap() {
        match ext {
            ParsedExtension::ExtendedKeyUsage(e) => eku = Some((e.server_auth, e.client_auth, e.any, e.other.len())),
            ParsedExtension::KeyUsage(k) => ku = Some((k.digital_signature(), k.flags)),
            ParsedExtension::SubjectAlternativeName(_) => {}
            other => panic!("unexpected extension request {other:?}"),
        }
    }
    assert_eq!(eku, Some((true, true, false, 0)), "extended key usages serverAuth and clientAuth, nothing else");
    assert_eq!(ku, Some((true, 1)), "key usage digitalSignature only");
    // The key is P-256 (the protocol's TLS certificates are ECDSA like its signatures).
    let key_pem = std::fs::read_to_string(dir.join("tls.key")).unwrap();
    assert_eq!(KeyPair::from_pem(&key_pem).unwrap().algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256);

    // Nothing is overwritten: the keys stay as they were.
    let before = (std::fs::read(dir.join("signing.jwk")).unwrap(), std::fs::read(dir.join("tls.key")).unwrap());
    let again = staffel(&[
        "keys",
        "signing-key",
        "--office",
        MANNHEIM,
        "--name",
        "Mannheim",
        "--federation-url",
        "https://127.0.0.1:8443",
        "--out",
        d,
    ]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("is never overwritten"), "{}", text(&again.stderr));
    let again = staffel(&["keys", "csr", "--office", MANNHEIM, "--host", "127.0.0.1", "--out", d]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("is never overwritten"), "{}", text(&again.stderr));
    assert_eq!(before, (std::fs::read(dir.join("signing.jwk")).unwrap(), std::fs::read(dir.join("tls.key")).unwrap()));
    assert_eq!(std::fs::read_to_string(dir.join("tls.csr")).unwrap(), csr_pem);

    // Refused before anything is written: a development key id, a plain-HTTP URL, no host.
    let elsewhere = root.join("refused");
    let e = elsewhere.to_str().unwrap();
    for args in [
        vec![
            "keys",
            "signing-key",
            "--office",
            MANNHEIM,
            "--name",
            "M",
            "--federation-url",
            "https://x",
            "--kid",
            "dev-1",
            "--out",
            e,
        ],
        vec!["keys", "signing-key", "--office", MANNHEIM, "--name", "M", "--federation-url", "http://x", "--out", e],
        vec!["keys", "csr", "--office", MANNHEIM, "--host", "not a host", "--out", e],
        vec!["keys", "csr", "--office", "99999999", "--host", "x.example", "--out", e],
    ] {
        assert!(!staffel(&args).status.success(), "{args:?}");
    }
    assert!(!elsewhere.exists());

    std::fs::write(dir.join("tls.pem"), ca.issue(&csr_pem)).unwrap();
    write_config(&dir, MANNHEIM, "Mannheim");
    Made { dir, entry: printed }
}

fn write_directory(root: &Path, entries: &[&DirectoryEntry]) {
    let file = DirectoryFile { development: false, offices: entries.iter().map(|e| (*e).clone()).collect() };
    std::fs::write(root.join("directory.json"), serde_json::to_vec_pretty(&file).unwrap()).unwrap();
}

fn config_of(made: &Made, work: &Path) -> Config {
    let mut config = Config::from_file(&made.dir.join("config.toml")).unwrap();
    config.database.url = format!("sqlite:{}", work.join(format!("{}.sqlite", config.office.id)).display());
    config
}

#[tokio::test]
async fn an_office_made_with_staffel_keys_starts_and_hands_over_with_another_office_of_its_ca() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Staffel test federation CA");
    std::fs::write(root.path().join("ca.pem"), &ca.pem).unwrap();
    let mannheim = mannheim(root.path(), &ca);
    let heidelberg = heidelberg(root.path(), &ca);
    write_directory(root.path(), &[&heidelberg.entry, &mannheim.entry]);

    // The real binary finds Mannheim's key material in order (the directory names 127.0.0.1,
    // which its certificate carries).
    let check = staffel(&["keys", "check", "--config", mannheim.dir.join("config.toml").to_str().unwrap()]);
    assert!(check.status.success(), "{}{}", text(&check.stdout), text(&check.stderr));
    assert!(text(&check.stdout).contains("is in order"), "{}", text(&check.stdout));

    // Both start outside development mode (start_dev_offices reads <root>/<office>/config.toml
    // and <root>/directory.json, and puts the real ports into the directory).
    let clock = Clock::starting_at(t0());
    let offices = demo::start_dev_offices(root.path(), work.path(), &[HEIDELBERG, MANNHEIM], &clock, |c| {
        assert!(!c.development);
    })
    .await
    .unwrap();
    let (h, m) = (&offices[0], &offices[1]);

    // A real handover Heidelberg → Mannheim: the handover over Heidelberg's client certificate to
    // Mannheim's listener, the decision back over Mannheim's client certificate.
    let cw = Caseworker::new();
    let client = start_client(&cw, h).await;
    let moved = move_client(&cw, h, m, client["id"].as_str().unwrap()).await;
    assert_eq!(moved["window"]["last_day"], client["window"]["last_day"]);

    // Each office also reaches the other with its own federation client (ledger heads).
    for o in [h, m] {
        let reports = o.office.verify_against_peers().await.unwrap();
        assert_eq!(reports.len(), 1);
        assert!(reports[0].error.is_none(), "{:?}", reports[0].error);
    }
    stop_all(offices).await;
}

#[tokio::test]
async fn startup_refuses_keys_that_do_not_fit_the_directory_or_the_ca() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Staffel test federation CA");
    std::fs::write(root.path().join("ca.pem"), &ca.pem).unwrap();
    let made = heidelberg(root.path(), &ca);
    write_directory(root.path(), &[&made.entry]);
    let listeners = || async {
        staffel::server::Listeners {
            federation: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            api: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        }
    };
    let config = config_of(&made, work.path());
    Server::check_key_material(&config, t0()).expect("the material as made is in order");

    // A signing key the directory does not list for the office: a new key under the same kid.
    let (other, _) = office_keys::signing_key_pair("heidelberg-2026-01").unwrap();
    let wrong = work.path().join("other.jwk");
    std::fs::write(&wrong, other.to_string()).unwrap();
    let mut config = config_of(&made, work.path());
    config.federation.signing_key = wrong.clone();
    let err = Server::build(&config, listeners().await, Clock::starting_at(t0())).await.err().unwrap();
    assert!(matches!(err, ServerError::KeyNotInDirectory(ref kid) if kid == "heidelberg-2026-01"), "{err}");
    let check = staffel(&["keys", "check", "--config", &write_config_with(&made, &wrong, work.path())]);
    assert!(!check.status.success());
    assert!(text(&check.stderr).contains("not among this office's keys in the directory"), "{}", text(&check.stderr));

    // A certificate for the same request from another CA.
    let csr_dir = work.path().join("csr");
    office_keys::create_private_dir(&csr_dir).unwrap();
    let other_ca = TestCa::new("Another CA");
    let subject = Subject { common_name: "Staffel Heidelberg", organisation: None };
    let (csr, key) = office_keys::tls_request(office(HEIDELBERG), &["127.0.0.1".into()], &subject).unwrap();
    std::fs::write(csr_dir.join("tls.pem"), other_ca.issue(&csr)).unwrap();
    std::fs::write(csr_dir.join("tls.key"), &key).unwrap();
    let mut config = config_of(&made, work.path());
    config.federation.cert = csr_dir.join("tls.pem");
    config.federation.key = csr_dir.join("tls.key");
    let err = Server::build(&config, listeners().await, Clock::starting_at(t0())).await.err().unwrap();
    assert!(matches!(err, ServerError::Tls(_)), "{err}");
    assert!(err.to_string().contains("as a client certificate"), "{err}");

    // A certificate of the right CA, but the directory reaches the office at a host it does not
    // name.
    let mut entry = made.entry.clone();
    entry.federation_url = "https://staffel.heidelberg.example:8443".into();
    write_directory(root.path(), &[&entry]);
    let config = config_of(&made, work.path());
    let err = Server::check_key_material(&config, t0()).err().unwrap();
    assert!(err.to_string().contains("as the server certificate of staffel.heidelberg.example"), "{err}");
    write_directory(root.path(), &[&made.entry]);

    // A certificate not yet valid, or expired, at the office's time.
    let config = config_of(&made, work.path());
    let late = "2031-01-02T00:00:00Z".parse().unwrap();
    assert!(matches!(Server::check_key_material(&config, late), Err(ServerError::Tls(_))));

    // The key of another request with the certificate: rustls finds they do not match.
    let mut config = config_of(&made, work.path());
    config.federation.key = csr_dir.join("tls.key");
    let err = Server::check_key_material(&config, t0()).err().unwrap();
    assert!(matches!(err, ServerError::Tls(_)), "{err}");
}

/// `made`'s config file with another signing key (absolute paths, in `work`); its path.
fn write_config_with(made: &Made, signing_key: &Path, work: &Path) -> String {
    let text = std::fs::read_to_string(made.dir.join("config.toml")).unwrap();
    let text = text
        .replace(r#"signing_key = "signing.jwk""#, &format!("signing_key = {:?}", signing_key.display().to_string()))
        .replace(r#"ca = "../ca.pem""#, &format!("ca = {:?}", made.dir.join("../ca.pem").display().to_string()))
        .replace(r#"cert = "tls.pem""#, &format!("cert = {:?}", made.dir.join("tls.pem").display().to_string()))
        .replace(r#"key = "tls.key""#, &format!("key = {:?}", made.dir.join("tls.key").display().to_string()))
        .replace(
            r#"directory = "../directory.json""#,
            &format!("directory = {:?}", made.dir.join("../directory.json").display().to_string()),
        );
    let path = work.join("wrong-signing-key.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}
