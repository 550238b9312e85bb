//! `staffel backup`, `staffel restore` and `staffel migrate`: an office's backup while it runs,
//! bringing one back, and its schema migrations listed and applied.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::init_tracing;
use crate::config::Config;
use crate::storage::{self, MigrationState, MigrationStatus};

#[derive(Subcommand)]
pub(crate) enum MaintenanceCommand {
    /// A consistent copy of a running office into a new folder (0700, files 0600): the database
    /// (SQLite's online backup API, or pg_dump --format=custom), the config and every key,
    /// certificate and directory file it points to, and manifest.json with their SHA-256.
    Backup {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
        /// A folder that does not exist yet (or is empty).
        #[arg(long)]
        out: PathBuf,
    },
    /// Brings a backup back: checks every file against the manifest first (a damaged backup is
    /// refused, nothing written), then writes the files and a config whose paths point to them
    /// into a new folder, and last the database where it does not exist yet. A restore that
    /// fails removes what it wrote.
    Restore {
        /// The backup folder (made by `staffel backup`).
        #[arg(long)]
        from: PathBuf,
        /// A folder that does not exist yet (or is empty), for the config and key files.
        #[arg(long)]
        to: PathBuf,
        /// Where the database goes: a sqlite: URL of a file that does not exist yet (default:
        /// staffel.sqlite in --to; a relative path is taken from the working folder, and the
        /// restored config gets it made absolute), or for a PostgreSQL backup (required) the
        /// postgres:// URL of
        /// an empty database. A URL with a password is better given in the environment, where
        /// the machine's other users cannot read it in the process list.
        #[arg(long, env = "STAFFEL_RESTORE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Applies the configured database's pending schema migrations, printing each; with
    /// --status only lists every migration and where it stands.
    Migrate {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
        /// List, apply nothing. Exits 1 if the database cannot be run by this binary (newer than
        /// it, or a migration failed or differs).
        #[arg(long)]
        status: bool,
    },
}

pub(crate) async fn run(command: MaintenanceCommand) -> ExitCode {
    init_tracing("warn");
    let (name, result) = match command {
        MaintenanceCommand::Backup { config, out } => ("backup", backup(&config, &out).await),
        MaintenanceCommand::Restore { from, to, database_url } => {
            ("restore", restore(&from, &to, database_url.as_deref()).await)
        }
        MaintenanceCommand::Migrate { config, status: true } => ("migrate --status", migrate_status(&config).await),
        MaintenanceCommand::Migrate { config, status: false } => ("migrate", migrate(&config).await),
    };
    super::exit_code(&format!("staffel {name}"), result)
}

async fn backup(config: &Path, out: &Path) -> Result<bool, String> {
    println!("Backing up into {} ...", out.display());
    let manifest = crate::backup::create(config, out, chrono::Utc::now(), &|line| println!("  {line}"))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Backup of office {} done: {} files, {} database at migration {}, manifest {}.",
        manifest.office,
        manifest.files.len(),
        manifest.backend,
        manifest.schema_version,
        out.join(crate::backup::MANIFEST).display()
    );
    println!("It holds the office's private keys: keep it where only the service's administrators can read it.");
    Ok(true)
}

async fn restore(from: &Path, to: &Path, database_url: Option<&str>) -> Result<bool, String> {
    println!("Restoring {} into {} ...", from.display(), to.display());
    let restored = crate::backup::restore(from, to, database_url, &|line| println!("  {line}"))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Office {} restored (backup of {}, Staffel {}, database at migration {}).",
        restored.manifest.office,
        restored.manifest.created_at.to_rfc3339(),
        restored.manifest.staffel_version,
        restored.manifest.schema_version
    );
    println!("Start it with: staffel serve --config {}", restored.config.display());
    Ok(true)
}

fn backend_name(backend: storage::Backend) -> &'static str {
    match backend {
        storage::Backend::Sqlite => "SQLite",
        storage::Backend::Postgres => "PostgreSQL",
    }
}

fn describe(m: &MigrationStatus) -> String {
    let at = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let state = match &m.state {
        MigrationState::Applied(t) => format!("applied {}", at(t)),
        MigrationState::Pending => "pending".into(),
        MigrationState::Unknown(t) => format!("applied {} - unknown to this binary", at(t)),
        MigrationState::Modified(t) => format!("applied {} - DIFFERS from this binary's", at(t)),
        MigrationState::Failed => "FAILED halfway".into(),
    };
    format!("  {:04}  {:<32}  {state}", m.version, m.description)
}

async fn migrate_status(config: &Path) -> Result<bool, String> {
    let config = Config::load(config).map_err(|e| e.to_string())?;
    let store = storage::connect(&config.database.url, false).await.map_err(|e| e.to_string())?;
    let status = store.migrations().await.map_err(|e| e.to_string())?;
    println!("Migrations of office {} ({} database):", config.office.id, backend_name(store.backend()));
    for m in &status {
        println!("{}", describe(m));
    }
    match storage::migrations::check_applicable(&status) {
        Err(e) => {
            println!("{e}");
            Ok(false)
        }
        Ok(()) => {
            let pending = status.iter().filter(|m| m.state == MigrationState::Pending).count();
            if pending == 0 {
                println!("Up to date.");
            } else {
                println!("{pending} pending: `staffel migrate --config <file>` applies them (take a backup first).");
            }
            Ok(true)
        }
    }
}

async fn migrate(config: &Path) -> Result<bool, String> {
    let config = Config::load(config).map_err(|e| e.to_string())?;
    let store = storage::connect(&config.database.url, true).await.map_err(|e| e.to_string())?;
    println!("Migrating the database of office {} ({}) ...", config.office.id, backend_name(store.backend()));
    let applied = store
        .migrate(&|m| println!("  applying {:04} {} ...", m.version, m.description))
        .await
        .map_err(|e| e.to_string())?;
    let latest = store.migrations().await.map_err(|e| e.to_string())?.iter().map(|m| m.version).max().unwrap_or(0);
    if applied.is_empty() {
        println!("Nothing to apply: the database is at migration {latest}.");
    } else {
        println!("Done: {} applied; the database is at migration {latest}.", applied.len());
    }
    Ok(true)
}
