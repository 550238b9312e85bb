//! The command line: `serve`, `dev-certs`, `demo`.

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
        #[arg(long, default_value = "certs-dev")]
        out: PathBuf,
    },
    /// Two offices on loopback perform one whole handover; exits 0 only if both end with the
    /// same last day.
    Demo {
        #[arg(long, default_value = "certs-dev")]
        certs: PathBuf,
        /// Run both offices on PostgreSQL: a server URL (e.g.
        /// postgres://postgres@127.0.0.1:5432/postgres) whose account may create databases; two
        /// scratch databases are made there and dropped afterwards.
        #[arg(long)]
        postgres: Option<String>,
    },
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested");
}

pub async fn run(cli: Cli) -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Serve { config } => {
            init_tracing("info");
            let result = async {
                let config = Config::load(&config).map_err(|e| e.to_string())?;
                let listeners = Listeners::bind(&config).await.map_err(|e| format!("cannot bind: {e}"))?;
                let server = Server::build(&config, listeners, crate::clock::Clock::system())
                    .await
                    .map_err(|e| e.to_string())?;
                server.run(shutdown_signal()).await.map_err(|e| e.to_string())
            }
            .await;
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("staffel: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::DevCerts { out } => {
            init_tracing("warn");
            println!("Generating the development PKI in {} (development only, never for production):", out.display());
            match crate::dev_pki::generate(&out, |p| println!("  wrote {}", p.display())) {
                Ok(()) => {
                    println!(
                        "Done. Dev bearer tokens: dev-token-<office> (integration manager), dev-lead-token-<office> (team lead), dev-admin-token-<office> (administrator)."
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("staffel: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Demo { certs, postgres } => {
            init_tracing("error");
            let clock = crate::clock::Clock::system();
            match crate::demo::run(&certs, &clock, postgres.as_deref(), &mut std::io::stdout()).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("staffel demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
