//! `staffel admin`: accounts from the command line (the first administrator) and the digest of an
//! API token for the config.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{first_line_of_stdin, init_tracing, office_of};
use crate::config::Config;

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// Prints the SHA-256 of an API token read from the first line of standard input (its line
    /// ending is not part of it), as `token_sha256` for `[[api.managers]]`.
    HashToken,
    /// Creates an account in the office's database, its password read from the first line of
    /// standard input (at least 12 characters; the line ending is not part of it). A name an
    /// account of the config already has is refused: one namespace of account names.
    CreateAccount {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        name: String,
        /// integration-manager, team-lead or administrator.
        #[arg(long)]
        role: String,
    },
}

/// `staffel admin create-account`.
async fn create_account(config_path: &std::path::Path, name: &str, role: &str) -> Result<(), String> {
    let role = crate::domain::staff::Role::parse(role)
        .ok_or("--role is one of integration-manager, team-lead, administrator")?;
    let config = Config::load(config_path).map_err(|e| e.to_string())?;
    if config.api.managers.iter().any(|m| m.account == name) {
        return Err(format!("the config already has an account {name}: account names are one namespace"));
    }
    let password = first_line_of_stdin()?;
    let office = office_of(config_path).await?;
    let by = crate::service::Caller {
        account: "(staffel admin create-account)".into(),
        role: crate::domain::staff::Role::Administrator,
    };
    office.create_account(&by, name, role, password).await.map_err(|e| e.to_string())?;
    println!("Account {name} ({}) created at office {}.", role.as_str(), office.id());
    Ok(())
}

pub(crate) async fn run(command: AdminCommand) -> ExitCode {
    match command {
        AdminCommand::HashToken => match first_line_of_stdin() {
            Ok(token) => {
                println!("token_sha256 = \"{}\"", crate::digest::token_digest(&token));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("staffel admin hash-token: {e}");
                ExitCode::FAILURE
            }
        },
        AdminCommand::CreateAccount { config, name, role } => {
            init_tracing("warn");
            match create_account(&config, &name, &role).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("staffel admin create-account: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
