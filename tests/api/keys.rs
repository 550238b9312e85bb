//! `staffel keys`: an office made with its own keys joins a federation. The real binary writes a
//! fourth office's signing key, directory entry, TLS key and certificate signing request; the
//! test acts as a federation CA (a fresh one, made here) that checks the request as the protocol
//! says and issues the certificate; the office starts outside development mode and hands a client
//! over with an office whose certificate the same CA issued. A signing key the directory does not
//! list, a certificate of another CA or for another host: startup refuses.

use std::path::{Path, PathBuf};

use crate::harness::*;
use crate::process::staffel;
use crate::test_ca::{Requested, TestCa, requested_sans, verify_signature};
use rcgen::KeyPair;
use staffel::clock::Clock;
use staffel::config::Config;
use staffel::demo::{self, Caseworker};
use staffel::federation::directory::{DirectoryEntry, DirectoryFile};
use staffel::pki::office_keys::{self, Subject};
use staffel::server::{Server, ServerError};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

/// The fourth office, made with `staffel keys`: Mannheim.
const MANNHEIM: &str = "08222000";

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
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
    heidelberg_until(root, ca, None)
}

/// [`heidelberg`], its certificate ending at `not_after` (Unix seconds) if given.
fn heidelberg_until(root: &Path, ca: &TestCa, not_after: Option<u64>) -> Made {
    let dir = root.join(HEIDELBERG);
    let id = office(HEIDELBERG);
    office_keys::create_private_dir(&dir).unwrap();
    let (private, public) = office_keys::signing_key_pair("heidelberg-2026-01").unwrap();
    office_keys::write_new_private(&dir.join("signing.jwk"), private.to_string()).unwrap();
    let entry =
        staffel::federation::directory::DirectoryEntry::publishing(id, "Heidelberg", "https://127.0.0.1:1", public)
            .unwrap();
    let subject = Subject { common_name: "Staffel Heidelberg", organisation: Some("Stadt Heidelberg") };
    let (csr, key) = office_keys::tls_request(id, &["127.0.0.1".into()], &subject).unwrap();
    office_keys::write_new_private(&dir.join("tls.key"), key).unwrap();
    let cert = match not_after {
        Some(end) => ca.issue_until(&csr, end),
        None => ca.issue(&csr),
    };
    std::fs::write(dir.join("tls.pem"), cert).unwrap();
    write_config(&dir, HEIDELBERG, "Heidelberg");
    Made { dir, entry }
}

/// Mannheim's keys made with the real binary; checks the files, their modes, the printed entry,
/// the request's subject and extension requests, and that nothing is overwritten.
fn mannheim(root: &Path, ca: &TestCa) -> Made {
    let dir = root.join(MANNHEIM);
    let d = dir.to_str().unwrap();
    let signing_key = [
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
    ];
    let (ok, out, err) = staffel(&signing_key, "", &[]);
    assert!(ok, "{err}");
    let printed: DirectoryEntry = serde_json::from_str(&out).unwrap();
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

    let (ok, out, err) = staffel(
        &[
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
        ],
        "",
        &[],
    );
    assert!(ok, "{err}");
    let said = out;
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
    let (ok, _, err) = staffel(&signing_key, "", &[]);
    assert!(!ok && err.contains("is never overwritten"), "{err}");
    let (ok, _, err) = staffel(&["keys", "csr", "--office", MANNHEIM, "--host", "127.0.0.1", "--out", d], "", &[]);
    assert!(!ok && err.contains("is never overwritten"), "{err}");
    assert_eq!(before, (std::fs::read(dir.join("signing.jwk")).unwrap(), std::fs::read(dir.join("tls.key")).unwrap()));
    assert_eq!(std::fs::read_to_string(dir.join("tls.csr")).unwrap(), csr_pem);

    // Refused before anything is written: a development key id, a plain-HTTP URL, no host.
    let elsewhere = root.join("refused");
    let e = elsewhere.to_str().unwrap();
    // Each for its own reason (an argument the command line does not take would fail too).
    for (args, why) in [
        (
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
            "key id \"dev-1\": ids starting with \"dev-\" mark development keys",
        ),
        (
            vec![
                "keys",
                "signing-key",
                "--office",
                MANNHEIM,
                "--name",
                "M",
                "--federation-url",
                "http://x",
                "--out",
                e,
            ],
            "the federation URL must be an https:// URL",
        ),
        (
            vec!["keys", "csr", "--office", MANNHEIM, "--host", "not a host", "--out", e],
            "\"not a host\" is neither a DNS name nor an IP address",
        ),
        (
            vec!["keys", "csr", "--office", "99999999", "--host", "x.example", "--out", e],
            "invalid value '99999999' for '--office <OFFICE>': an office id is an 8-digit",
        ),
    ] {
        let (ok, _, err) = staffel(&args, "", &[]);
        assert!(!ok && err.contains(why), "{args:?}: {err}");
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
    let config = mannheim.dir.join("config.toml");
    let (ok, out, err) = staffel(&["keys", "check", "--config", config.to_str().unwrap()], "", &[]);
    assert!(ok && out.contains("is in order"), "{out}{err}");

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
    let (ok, _, err) = staffel(&["keys", "check", "--config", &write_config_with(&made, &wrong, work.path())], "", &[]);
    assert!(!ok && err.contains("not among this office's keys in the directory"), "{err}");

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
    // (The test CA's certificates are valid from 2025-01-01 to 2099-12-31.)
    for at in ["2024-12-30T00:00:00Z", "2100-01-02T00:00:00Z"] {
        let at = at.parse().unwrap();
        assert!(matches!(Server::check_key_material(&config, at), Err(ServerError::Tls(_))), "{at}");
    }

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

/// The Unix time of the real clock a spawned `staffel` reads (the tests may run on a faked one).
fn real_now() -> u64 {
    let mut date = std::process::Command::new("date");
    crate::process::on_the_real_clock(date.arg("+%s"));
    let out = date.output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

#[test]
fn a_start_warns_of_a_federation_certificate_that_ends_within_thirty_days() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Staffel test federation CA");
    std::fs::write(root.path().join("ca.pem"), &ca.pem).unwrap();
    // Ten days and an hour from the binary's now: "in 10 days" however long the start takes.
    let end = real_now() + 10 * 86_400 + 3_600;
    let made = heidelberg_until(root.path(), &ca, Some(end));
    write_directory(root.path(), &[&made.entry]);
    let url = format!("sqlite:{}", work.path().join("h.sqlite").display());
    let mut served = crate::process::Served::serve(&made.dir.join("config.toml"), &url, false);
    let line = served.wait_for("TLS certificate ends on");
    let date = chrono::DateTime::from_timestamp(i64::try_from(end).unwrap(), 0).unwrap();
    let expected = format!(
        "the federation TLS certificate ends on {} (in 10 days): renew it (docs/operations.md section 3.2)",
        date.format("%Y-%m-%d %H:%M:%S UTC")
    );
    assert!(line.contains(&expected), "{line}");
    served.api();
    served.stop();

    // A certificate ending in a year: no warning.
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("ca.pem"), &ca.pem).unwrap();
    let made = heidelberg_until(root.path(), &ca, Some(real_now() + 365 * 86_400));
    write_directory(root.path(), &[&made.entry]);
    let mut served = crate::process::Served::serve(&made.dir.join("config.toml"), &url, false);
    served.api();
    served.stop();
    assert!(!served.seen.iter().any(|l| l.contains("TLS certificate end")), "{:#?}", served.seen);
}
