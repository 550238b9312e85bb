//! The command line: `serve`, `dev-certs`, `ledger`, `erase-expired`, `admin`, `keys`, `backup`,
//! `restore`, `migrate`, `demo`. One file per command group beside this one; shared here: logging,
//! signals, reading a config's office.

mod admin;
mod keys;
mod maintenance;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::server::{Listeners, Server};

#[derive(Parser)]
#[command(
    name = "staffel",
    version,
    about = "Hands Integrationsmanagement cases between counselling offices, clock running"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an office: federation listener, caseworker API, delivery worker.
    Serve {
        /// The config file (TOML). STAFFEL_DATABASE_URL, STAFFEL_FEDERATION_LISTEN and
        /// STAFFEL_API_LISTEN override it.
        #[arg(long)]
        config: PathBuf,
    },
    /// (Re)generate the development PKI: CA, three offices' TLS and signing keys, configs,
    /// directory. For development only.
    DevCerts {
        /// The folder to write to (made if missing; files of an earlier run are replaced).
        #[arg(long, default_value = "certs-dev")]
        out: PathBuf,
    },
    /// The consent ledger: recompute the chain (and compare it with the heads other offices
    /// hold). Exits 0 only if it verifies; names the first entry that does not.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Erase the personal data of every client whose case ended here longer ago than
    /// `privacy.retention_days`, and every received handover never taken over (declined, or
    /// withdrawn before a decision) received longer ago than that; the ledger keeps an `erased`
    /// entry for each client. Run it daily.
    EraseExpired {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
    },
    /// Accounts from the command line: the first administrator; list, disable, enable and delete
    /// accounts, give one a new password; the digest of an API token or a scrape token for the
    /// config.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// An office's own keys: its signing key and directory entry, its TLS key and certificate
    /// signing request, and a check of its key material without starting. A key file is never
    /// overwritten: a second run into the same folder is refused and writes nothing.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    // backup, restore, migrate (src/cli/maintenance.rs).
    #[command(flatten)]
    Maintenance(maintenance::MaintenanceCommand),
    /// Two offices on loopback perform one whole handover; exits 0 only if both end with the
    /// same last day.
    Demo {
        /// The development PKI to run the two offices with (made by `staffel dev-certs`).
        #[arg(long, default_value = "certs-dev")]
        certs: PathBuf,
        /// Run both offices on PostgreSQL: a server URL (e.g.
        /// postgres://postgres@127.0.0.1:5432/postgres) whose account may create databases; two
        /// scratch databases are made there and dropped afterwards.
        #[arg(long)]
        postgres: Option<String>,
        /// Instead of the scripted handover: leave two offices running with their web pages,
        /// development accounts and an invented client, and print their addresses and logins.
        #[arg(long, conflicts_with = "postgres")]
        ui: bool,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Recompute every entry's hash and link.
    Verify {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
        /// Also ask every other office in the directory which heads of this ledger it holds.
        #[arg(long)]
        peers: bool,
    },
}

/// The first line of standard input without its line ending.
pub(crate) fn first_line_of_stdin() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| format!("reading standard input: {e}"))?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err("standard input holds no value (an empty first line)".into());
    }
    Ok(line.to_owned())
}

/// The office of a config, for a command that does not serve.
pub(crate) async fn office_of(config: &std::path::Path) -> Result<std::sync::Arc<crate::service::Office>, String> {
    let config = Config::load(config).map_err(|e| e.to_string())?;
    let (office, _) = Server::office_from_config(&config, crate::clock::Clock::system(), config.api.listen)
        .await
        .map_err(|e| e.to_string())?;
    Ok(office)
}

/// `staffel ledger verify`: prints progress and the result; true if everything matched.
async fn verify_ledger(config: &std::path::Path, peers: bool) -> Result<bool, String> {
    let office = office_of(config).await?;
    println!("Verifying the consent ledger of office {} ...", office.id());
    let report = office.verify_ledger(&|n| println!("  {n} entries verified")).await.map_err(|e| e.to_string())?;
    let mut ok = true;
    match &report.first_mismatch {
        None => println!("Chain intact: {} entries, head {} {}.", report.verified, report.head.seq, report.head.hash),
        Some(m) => {
            ok = false;
            println!("MISMATCH at entry {}: {}", m.seq, m.problem);
            println!("Entries 1 to {} verify.", report.verified);
        }
    }
    if peers {
        for r in office.verify_against_peers().await.map_err(|e| e.to_string())? {
            match (&r.error, &r.mismatch) {
                (Some(e), _) => {
                    ok = false;
                    println!("  office {}: not asked: {e}", r.office);
                }
                (None, Some(m)) => {
                    ok = false;
                    println!(
                        "  office {}: holds {} heads; MISMATCH at entry {}: {}",
                        r.office, r.heads, m.seq, m.problem
                    );
                }
                (None, None) => println!("  office {}: holds {} heads; all match", r.office, r.heads),
            }
        }
    }
    Ok(ok)
}

/// How a command ends: exit 0 for `Ok(true)`; exit 1 for `Ok(false)` (the command said why on
/// stdout), or for an error, printed on stderr after `prefix` (e.g. `staffel admin list-accounts`).
pub(crate) fn exit_code(prefix: &str, result: Result<bool, impl std::fmt::Display>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{prefix}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: plain text, with colours only when stderr is a terminal (never escape codes
/// in a file or the journal), or one JSON object per line with `STAFFEL_LOG_FORMAT=json`. The
/// level comes from `RUST_LOG` (default `default`).
pub(crate) fn init_tracing(default: &str) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match std::env::var(ENV_LOG_FORMAT).as_deref() {
        Ok("json") => builder.json().with_current_span(true).with_span_list(true).try_init(),
        _ => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}

/// `text` (default) or `json`.
pub const ENV_LOG_FORMAT: &str = "STAFFEL_LOG_FORMAT";

/// Resolves on Ctrl-C or SIGTERM. SIGHUP does not end the server: nothing is reloaded while it
/// runs (restart it to read a changed config or directory), and it says so in the log. The
/// signal handlers are installed when this is called, before the server starts, so that no
/// signal during startup ends the process unlogged.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (term, hangup) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()).ok(), signal(SignalKind::hangup()).ok())
    };
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(unix)]
        let hangup = async move {
            match hangup {
                Some(mut s) => loop {
                    s.recv().await;
                    tracing::warn!(
                        "SIGHUP received and ignored: nothing is reloaded while the office runs; restart it"
                    );
                },
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        #[cfg(not(unix))]
        let hangup = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {}, _ = hangup => {} }
        tracing::info!("shutdown requested");
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Serve { config } => {
            init_tracing("info");
            let shutdown = shutdown_signal();
            let result = async {
                let config = Config::load(&config).map_err(|e| e.to_string())?;
                let listeners = Listeners::bind(&config).await.map_err(|e| format!("cannot bind: {e}"))?;
                let server = Server::build(&config, listeners, crate::clock::Clock::system())
                    .await
                    .map_err(|e| e.to_string())?;
                server.run(shutdown).await.map_err(|e| e.to_string())
            }
            .await;
            exit_code("staffel", result.map(|()| true))
        }
        Command::DevCerts { out } => {
            init_tracing("warn");
            println!("Generating the development PKI in {} (development only, never for production):", out.display());
            let result = crate::dev_pki::generate(&out, |p| println!("  wrote {}", p.display())).map(|()| {
                println!(
                    "Done. Dev bearer tokens: dev-token-<office> (integration manager), dev-lead-token-<office> (team lead), dev-admin-token-<office> (administrator)."
                );
                true
            });
            exit_code("staffel", result)
        }
        Command::Ledger { command: LedgerCommand::Verify { config, peers } } => {
            init_tracing("warn");
            exit_code("staffel", verify_ledger(&config, peers).await)
        }
        Command::Admin { command } => admin::run(command).await,
        Command::Keys { command } => keys::run(command),
        Command::Maintenance(command) => maintenance::run(command).await,
        Command::EraseExpired { config } => {
            init_tracing("warn");
            let result = async {
                let office = office_of(&config).await?;
                println!("Erasing personal data whose retention period has passed ...");
                let n = office.erase_expired(&|what| println!("  erased {what}")).await.map_err(|e| e.to_string())?;
                println!(
                    "Done: {} client record(s) and {} received handover(s) never taken over erased.",
                    n.clients, n.received_handovers
                );
                Ok::<_, String>(())
            }
            .await;
            exit_code("staffel", result.map(|()| true))
        }
        Command::Demo { certs, ui: true, .. } => {
            init_tracing("error");
            let clock = crate::clock::Clock::system();
            let result = crate::demo::run_ui(&certs, &clock, &mut std::io::stdout(), shutdown_signal()).await;
            exit_code("staffel demo --ui", result.map(|()| true))
        }
        Command::Demo { certs, postgres, .. } => {
            init_tracing("error");
            let clock = crate::clock::Clock::system();
            exit_code(
                "staffel demo",
                crate::demo::run(&certs, &clock, postgres.as_deref(), &mut std::io::stdout()).await,
            )
        }
    }
}
