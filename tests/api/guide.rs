//! The operator's guide (`docs/operations.md`) followed as written, with the real binary: the
//! `staffel` commands of its sections 2 to 10 are read from the guide itself (its `sh` blocks and
//! inline commands), `/etc/staffel`, `/var/lib/staffel` and `/var/backups/staffel` standing for
//! folders of a temporary one, and run in the guide's order — keys and certificate request, the
//! directory entry, a certificate from a CA that copies the requested extensions (and from the
//! guide's OpenSSL command where OpenSSL is installed), the configuration of section 4 (its
//! example, changed only where a test must differ), the check, the first start and its warnings,
//! the first accounts, a client, metrics, a backup of the running office, a restore, the restored
//! office's ledger, start, accounts, client and schema. A command the guide no longer shows, or
//! one that does not do what the guide says, fails the test.
#![cfg(unix)]

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use crate::process::{Served, office_today, on_the_real_clock, staffel};
use crate::test_ca::TestCa;

const GUIDE: &str = include_str!("../../docs/operations.md");

/// Section `n` of the guide: from its `## n.` heading to the next `## ` heading.
fn section(n: u32) -> &'static str {
    let heading = format!("\n## {n}. ");
    let start = GUIDE.find(&heading).unwrap_or_else(|| panic!("the guide has no section {n}")) + 1;
    let end = GUIDE[start + 3..].find("\n## ").map_or(GUIDE.len(), |e| start + 3 + e);
    &GUIDE[start..end]
}

/// The fenced code blocks of `text` in language `lang` (```lang), indented ones too.
fn code_blocks(text: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<(bool, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match (&mut current, trimmed.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim() == lang, String::new())),
            (Some(_), Some(_)) => {
                let (wanted, block) = current.take().unwrap();
                if wanted {
                    blocks.push(block);
                }
            }
            (Some((_, block)), None) => {
                block.push_str(trimmed);
                block.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The shell command lines of a section: every line of its `sh` blocks (continuations joined),
/// then every inline code span outside code blocks (over line breaks; a table's `\|` read as `|`).
fn command_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for block in code_blocks(text, "sh") {
        lines.extend(block.replace("\\\n", " ").lines().map(str::to_owned));
    }
    // Prose and tables: code spans may run over a line break.
    let mut prose = String::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if !in_block {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    let mut spans = prose.split('`');
    spans.next();
    while let (Some(span), Some(_)) = (spans.next(), spans.next()) {
        lines.push(span.replace('\n', " ").replace("\\|", "|"));
    }
    lines
}

/// Splits a shell command line into words: single and double quotes, `$(...)` kept in its word,
/// a comment from an unquoted `#` at a word's start; `|` between words is a word of its own.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '#' if word.is_none() => break,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref().take_while(|&c| c != '\'') {
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref().take_while(|&c| c != '"') {
                    w.push(c);
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                let w = word.get_or_insert_with(String::new);
                w.push('$');
                for c in chars.by_ref() {
                    w.push(c);
                    if c == ')' {
                        break;
                    }
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The folders the guide's absolute paths stand for in this test.
struct Machine {
    _root: tempfile::TempDir,
    /// `/etc/staffel`: config and keys.
    etc: PathBuf,
    /// `/var/lib/staffel`: the database.
    state: PathBuf,
    /// `/var/backups/staffel`.
    backups: PathBuf,
    /// `/var/lib/staffel-restored`.
    restored: PathBuf,
}

/// The day the guide's `$(date +%F)` stands for: the folder its restore example names.
const BACKUP_DAY: &str = "2026-11-30";

impl Machine {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().to_owned();
        Machine {
            etc: path.join("etc-staffel"),
            state: path.join("var-lib-staffel"),
            backups: path.join("var-backups-staffel"),
            restored: path.join("var-lib-staffel-restored"),
            _root: root,
        }
    }

    /// `text` with the guide's absolute paths (and placeholders) put onto this machine's folders.
    fn localise(&self, text: &str) -> String {
        let text = text.replace("$(date +%F)", BACKUP_DAY);
        let mut out = String::new();
        let mut rest = text.as_str();
        'scan: while !rest.is_empty() {
            for (guide, here) in [
                ("/var/lib/staffel-restored", &self.restored),
                ("/var/lib/staffel", &self.state),
                ("/var/backups/staffel", &self.backups),
                ("/etc/staffel", &self.etc),
            ] {
                // A whole path component: `/var/lib/staffel` is not `/var/lib/staffel-restored`.
                if let Some(after) = rest.strip_prefix(guide)
                    && !after.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_')
                {
                    out.push_str(here.to_str().unwrap());
                    rest = after;
                    continue 'scan;
                }
            }
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// The arguments of the first `staffel <subcommand...>` command of the guide's section `n`
    /// for which `pick` holds, after the word `staffel` (past `sudo runuser -u staffel --` and
    /// pipes), localised; `FILE` stands for `config`.
    fn command(&self, n: u32, subcommand: &[&str], config: &Path, pick: impl Fn(&[String]) -> bool) -> Vec<String> {
        for line in command_lines(section(n)) {
            let words = shell_words(&line);
            for segment in words.split(|w| w == "|") {
                let Some(at) = (0..segment.len()).find(|&i| {
                    segment[i] == "staffel"
                        && segment.len() > i + subcommand.len()
                        && segment[i + 1..=i + subcommand.len()].iter().zip(subcommand).all(|(a, b)| a == b)
                }) else {
                    continue;
                };
                let args: Vec<String> = segment[at + 1..]
                    .iter()
                    .map(|w| if w == "FILE" { config.to_str().unwrap().to_owned() } else { self.localise(w) })
                    .collect();
                if pick(&args) {
                    return args;
                }
            }
        }
        panic!(
            "section {n} of the guide shows no `staffel {}` command of the kind this test runs",
            subcommand.join(" ")
        )
    }

    /// [`Machine::command`], the first one.
    fn first(&self, n: u32, subcommand: &[&str], config: &Path) -> Vec<String> {
        self.command(n, subcommand, config, |_| true)
    }
}

/// Runs `args` (as the guide shows them) with `stdin`; its stdout, or the test fails with stderr.
fn run(args: &[String], stdin: &str) -> String {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, err) = staffel(&args, stdin, &[]);
    assert!(ok, "staffel {}:\n{out}\n{err}", args.join(" "));
    out
}

/// The value of `--flag` in `args`.
fn flag<'a>(args: &'a [String], flag: &str) -> &'a str {
    let at = args.iter().position(|a| a == flag).unwrap_or_else(|| panic!("{flag} in {args:?}"));
    &args[at + 1]
}

/// Runs the OpenSSL command of section 3.2 (`openssl x509 -req ... -copy_extensions copyall`) as
/// the CA would, in a folder of its own holding `tls.csr`, `ca.pem` and `ca.key`; the certificate.
fn openssl_as_the_guide_says(m: &Machine, ca: &TestCa) -> Vec<u8> {
    let line = command_lines(section(3))
        .into_iter()
        .find(|l| l.starts_with("openssl x509 -req"))
        .expect("section 3.2 shows the OpenSSL command of a CA that copies the requested extensions");
    let words = shell_words(&line);
    assert!(words.windows(2).any(|w| w == ["-copy_extensions", "copyall"]), "{words:?}");
    let folder = m.backups.with_file_name("openssl-ca");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(m.etc.join("tls.csr"), folder.join(flag(&words, "-in"))).unwrap();
    std::fs::write(folder.join(flag(&words, "-CA")), &ca.pem).unwrap();
    std::fs::write(folder.join(flag(&words, "-CAkey")), &ca.key_pem).unwrap();
    // OpenSSL on the real clock, as the `staffel keys check` that checks its certificate.
    let mut openssl = std::process::Command::new(&words[0]);
    let out = on_the_real_clock(&mut openssl).args(&words[1..]).current_dir(&folder).output().unwrap();
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(folder.join(flag(&words, "-out"))).unwrap()
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(std::time::Duration::from_secs(10)).build().unwrap()
}

/// A request to the caseworker listener at `api` with `token`: status and JSON body (or text).
async fn call(api: &str, token: Option<&str>, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = http().request(method, format!("{api}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Logs `account` in over the API; its session token.
async fn login(api: &str, account: &str, password: &str) -> String {
    let (status, body) =
        call(api, None, Method::POST, "/api/v1/login", Some(json!({"account": account, "password": password}))).await;
    assert_eq!(status, 200, "login of {account}: {body}");
    body["token"].as_str().unwrap().to_owned()
}

/// The lines of `list-accounts` output, each as its words, by account name.
fn listed(out: &str, name: &str) -> Vec<String> {
    out.lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .find(|w| w.first().map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("{name} not listed:\n{out}"))
}

/// The warnings a start logged (plain-text log lines at WARN level).
fn warnings(served: &Served) -> Vec<&String> {
    served.seen.iter().filter(|l| l.contains(" WARN ")).collect()
}

const ROOT_PASSWORD: &str = "correct horse battery staple";
const IM_PASSWORD: &str = "integration manager password";
const LEAD_PASSWORD: &str = "team lead password here";

#[tokio::test]
async fn the_operators_guide_followed_as_written_gives_a_running_office_its_accounts_a_backup_and_a_restore() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let m = Machine::new();
    let config = m.etc.join("config.toml");

    // Section 2: the binary answers.
    let version = run(&["--version".to_owned()], "");
    assert_eq!(version.trim(), format!("staffel {}", env!("CARGO_PKG_VERSION")));
    // `staffel --help` names every command the guide uses.
    let help = run(&["--help".to_owned()], "");
    for command in ["serve", "keys", "admin", "backup", "restore", "migrate", "ledger", "erase-expired"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(&format!("{command} "))), "{command} in\n{help}");
    }

    // 3.1: the signing key and the directory entry, printed and written.
    let signing = m.first(3, &["keys", "signing-key"], &config);
    let office = flag(&signing, "--office").to_owned();
    let entry_text = run(&signing, "");
    let entry: Value = serde_json::from_str(&entry_text).unwrap();
    assert_eq!(entry["id"], office.as_str());
    assert_eq!(entry["name"], flag(&signing, "--name"));
    assert_eq!(entry["federation_url"], flag(&signing, "--federation-url"));
    assert!(entry["signing_keys"][0].get("d").is_none(), "the entry holds the public key only");
    let written: Value = serde_json::from_slice(&std::fs::read(m.etc.join("directory-entry.json")).unwrap()).unwrap();
    assert_eq!(written, entry, "directory-entry.json holds what was printed");
    assert_eq!(mode(&m.etc), 0o700, "the folder the command made");
    assert_eq!(mode(&m.etc.join("signing.jwk")), 0o600);
    // The directory maintainer puts the printed entry into the offices of directory.json.
    let directory = json!({"development": false, "offices": [entry]});
    std::fs::write(m.etc.join("directory.json"), serde_json::to_vec_pretty(&directory).unwrap()).unwrap();

    // 3.2: the TLS key and the request; what the CA must set is printed.
    let csr = m.first(3, &["keys", "csr"], &config);
    assert_eq!(flag(&csr, "--office"), office, "sections 3.1 and 3.2 make keys for one office");
    let said = run(&csr, "");
    assert!(said.contains(&format!("URI urn:staffel:office:{office}")), "{said}");
    let host = flag(&csr, "--host");
    assert!(said.contains(&format!("DNS {host}")), "{said}");
    assert!(said.contains("serverAuth and clientAuth"), "{said}");
    assert_eq!(mode(&m.etc.join("tls.key")), 0o600);
    // The CA copies the requested extensions; its certificate and the CA's go next to the config.
    let ca = TestCa::new("Federation CA of the guide");
    let request = std::fs::read_to_string(m.etc.join("tls.csr")).unwrap();
    std::fs::write(m.etc.join("tls.pem"), ca.issue_copying_extensions(&request)).unwrap();
    std::fs::write(m.etc.join("ca.pem"), &ca.pem).unwrap();

    // Section 4: the guide's example configuration. What differs in a test: the database's folder
    // (with every other path of the guide), and the scrape token's digest, made as section 9.2
    // says (`... | staffel admin hash-token`, its printed line put in the config).
    let examples = code_blocks(section(4), "toml");
    assert_eq!(examples.len(), 1, "section 4 shows one configuration");
    let example = &examples[0];
    let scrape_token = "b3BlbnNzbCByYW5kIC1iYXNlNjQgMzIgc3RhbmRzIGhlcmU=";
    let hash_token = m.first(9, &["admin", "hash-token"], &config);
    let digest_line = run(&hash_token, &format!("{scrape_token}\n")).trim().to_owned();
    assert!(digest_line.starts_with("token_sha256 = \""), "{digest_line}");
    let mut replaced = 0;
    let text: String = m
        .localise(example)
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("token_sha256 = \"…\"") {
                replaced += 1;
                digest_line.clone()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(replaced, 1, "the example's [metrics] token_sha256 placeholder");
    let parsed: toml::Table = text.parse().unwrap();
    assert_eq!(
        parsed["office"]["id"].as_str(),
        Some(office.as_str()),
        "the example configures the office of section 3"
    );
    assert_eq!(
        parsed["database"]["url"].as_str(),
        Some(format!("sqlite:{}", m.state.join("office.sqlite").display()).as_str())
    );
    std::fs::write(&config, text).unwrap();
    // 3.2's last step: the files readable by the service (here: this user and its group).
    for file in std::fs::read_dir(&m.etc).unwrap() {
        chmod(&file.unwrap().path(), 0o640);
    }

    // 3.3: the check before the first start.
    let check = m.first(3, &["keys", "check"], &config);
    assert_eq!(flag(&check, "--config"), config.to_str().unwrap());
    let checked = run(&check, "");
    assert!(checked.contains(&format!("The key material of office {office} is in order")), "{checked}");
    // Where OpenSSL is installed, the guide's own command for such a CA issues a certificate that
    // passes the check as well (the test CA's stays in place for the rest).
    match std::process::Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => {
            let issued = openssl_as_the_guide_says(&m, &ca);
            let ours = std::fs::read(m.etc.join("tls.pem")).unwrap();
            std::fs::write(m.etc.join("tls.pem"), issued).unwrap();
            let checked = run(&check, "");
            assert!(checked.contains("is in order"), "{checked}");
            std::fs::write(m.etc.join("tls.pem"), ours).unwrap();
        }
        // CI installs OpenSSL (.ci/run): there, its absence is a failure.
        _ if std::env::var_os("CI").is_some() => panic!("CI is set but openssl is not installed"),
        _ => eprintln!("openssl is not installed: the guide's OpenSSL command is not tried"),
    }

    // Section 5: the first start (its listen ports the test's: the guide's 8443 and 8080 may be
    // taken on this machine). It makes the database 0600 in a folder made 0700, logs its two
    // listen addresses, and warns of nothing but the missing administrator.
    let mut served = Served::spawn(&config, &[]);
    let api = served.api();
    let serving = served.wait_for("office serving");
    assert!(serving.contains("federation"), "{serving}");
    let (status, body) = call(&api, None, Method::GET, "/readyz", None).await;
    assert_eq!((status, body), (200, json!("ok")));
    assert_eq!(mode(&m.state), 0o700);
    assert_eq!(mode(&m.state.join("office.sqlite")), 0o600);
    let warned = warnings(&served);
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert!(warned[0].contains("this office has no administrator"), "{warned:#?}");
    let peers = m.first(5, &["ledger", "verify"], &config);
    assert!(peers.contains(&"--peers".to_owned()), "{peers:?}");
    let verified = run(&peers, "");
    assert!(verified.contains("Chain intact"), "{verified}");

    // Section 6: the first administrator, its password the first line of standard input.
    let create = m.first(6, &["admin", "create-account"], &config);
    assert_eq!((flag(&create, "--name"), flag(&create, "--role")), ("root", "administrator"));
    let made = run(&create, &format!("{ROOT_PASSWORD}\n"));
    assert!(made.contains("Account root (administrator) created"), "{made}");
    // The administrator makes an integration manager over the API, a team lead with the command.
    let root = login(&api, "root", ROOT_PASSWORD).await;
    let new = json!({"name": "ida", "role": "integration-manager", "password": IM_PASSWORD});
    let (status, body) = call(&api, Some(&root), Method::POST, "/api/v1/accounts", Some(new)).await;
    assert_eq!(status, 201, "{body}");
    let lead: Vec<String> = create
        .iter()
        .map(|a| match a.as_str() {
            "root" => "tom".to_owned(),
            "administrator" => "team-lead".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    run(&lead, &format!("{LEAD_PASSWORD}\n"));
    let list = m.first(6, &["admin", "list-accounts"], &config);
    let accounts = run(&list, "");
    assert_eq!(listed(&accounts, "root")[1..], ["administrator", "enabled", "database"]);
    assert_eq!(listed(&accounts, "ida")[1..], ["integration-manager", "enabled", "database"]);
    assert_eq!(listed(&accounts, "tom")[1..], ["team-lead", "enabled", "database"]);
    // The integration manager logs in and records a client.
    let ida = login(&api, "ida", IM_PASSWORD).await;
    // The binary runs on the real clock (this test maybe on a faked one): the first session is
    // the office's today.
    let first_session = office_today(&api).await;
    let client = json!({"given_name": "Testa", "family_name": "Beispiel", "date_of_birth": "1979-02-28",
        "first_session": first_session, "target_group": "follow-up-accommodation", "benefits": "asylblg"});
    let (status, body) = call(&api, Some(&ida), Method::POST, "/api/v1/clients", Some(client)).await;
    assert_eq!(status, 201, "{body}");
    let client_id = body["id"].as_str().unwrap().to_owned();

    // Section 9.2: the metrics for the scrape token only.
    let (status, metrics) = call(&api, Some(scrape_token), Method::GET, "/metrics", None).await;
    assert_eq!(status, 200, "{metrics}");
    assert!(metrics.as_str().unwrap().contains("staffel_ready 1"), "{metrics}");
    assert_eq!(call(&api, None, Method::GET, "/metrics", None).await.0, 401);
    assert_eq!(call(&api, Some(&root), Method::GET, "/metrics", None).await.0, 401);

    // Section 7: a backup of the running office into a new folder of a folder made 0700.
    std::fs::create_dir(&m.backups).unwrap();
    chmod(&m.backups, 0o700);
    let backup = m.first(7, &["backup"], &config);
    let folder = PathBuf::from(flag(&backup, "--out"));
    assert_eq!(folder, m.backups.join(BACKUP_DAY));
    let backed_up = run(&backup, "");
    assert!(backed_up.contains(&format!("Backup of office {office} done")), "{backed_up}");
    let mut files: Vec<String> =
        std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(
        files,
        [
            "config.toml",
            "database.sqlite",
            "directory.json",
            "federation-ca.pem",
            "federation-tls.key",
            "federation-tls.pem",
            "manifest.json",
            "signing.jwk"
        ],
        "what section 7 says a backup holds"
    );
    assert_eq!(mode(&folder), 0o700);
    for file in &files {
        assert_eq!(mode(&folder.join(file)), 0o600, "{file}");
    }
    served.stop();

    // Restore into a new folder (made 0700, empty); then the ledger checked and the office served.
    std::fs::create_dir(&m.restored).unwrap();
    chmod(&m.restored, 0o700);
    let restore = m.command(7, &["restore"], &config, |a| !a.contains(&"--database-url".to_owned()));
    assert_eq!(
        (flag(&restore, "--from"), flag(&restore, "--to")),
        (folder.to_str().unwrap(), m.restored.to_str().unwrap())
    );
    run(&restore, "");
    assert!(m.restored.join("staffel.sqlite").is_file(), "a SQLite database goes to staffel.sqlite in the folder");
    let restored_config = m.restored.join("config.toml");
    let verify = m.command(7, &["ledger", "verify"], &config, |a| a.contains(&restored_config.display().to_string()));
    let verified = run(&verify, "");
    assert!(verified.contains("Chain intact"), "{verified}");
    let serve = m.first(7, &["serve"], &config);
    assert_eq!(serve, ["serve", "--config", restored_config.to_str().unwrap()]);
    let mut restored = Served::spawn(&restored_config, &[]);
    let api = restored.api();
    assert_eq!(call(&api, None, Method::GET, "/readyz", None).await, (200, json!("ok")));
    assert!(warnings(&restored).is_empty(), "an administrator now, and nothing else to warn of: {:#?}", restored.seen);
    let ida = login(&api, "ida", IM_PASSWORD).await;
    let (status, body) = call(&api, Some(&ida), Method::GET, &format!("/api/v1/clients/{client_id}"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("Beispiel"), "{body}");
    login(&api, "tom", LEAD_PASSWORD).await;
    let accounts =
        run(&[list[0].clone(), list[1].clone(), "--config".into(), restored_config.display().to_string()], "");
    for name in ["root", "ida", "tom"] {
        listed(&accounts, name);
    }
    restored.stop();

    // Section 8: the restored schema is up to date.
    let status = m.command(8, &["migrate"], &restored_config, |a| a.contains(&"--status".to_owned()));
    let said = run(&status, "");
    assert!(said.contains("Up to date"), "{said}");

    // Section 10: the daily erasure runs on the office (nothing has expired).
    let erase = m.first(10, &["erase-expired"], &config);
    let erased = run(&erase, "");
    assert!(
        erased.lines().any(|l| l == "Done: 0 client record(s) and 0 received handover(s) never taken over erased."),
        "{erased}"
    );
}
