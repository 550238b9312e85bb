//! `staffel admin`: accounts from the command line (the first administrator; listing, disabling,
//! enabling and deleting accounts, new passwords) and the digest of an API token for the config.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::{first_line_of_stdin, init_tracing, office_of};

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// Prints the SHA-256 of an API token read from the first line of standard input (its line
    /// ending is not part of it), as `token_sha256` for `[[api.managers]]` or, of the scrape
    /// token, for `[metrics]`.
    HashToken,
    /// Creates an account in the office's database, its password read from the first line of
    /// standard input (at least 12 characters; the line ending is not part of it). A name an
    /// account of the config already has is refused: one namespace of account names.
    CreateAccount {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
        /// The account's name.
        #[arg(long)]
        name: String,
        /// integration-manager, team-lead or administrator.
        #[arg(long)]
        role: String,
    },
    /// Lists the office's accounts: name, role, enabled or disabled, and where each comes from
    /// (the database, with a password, or the config, with an API token). No secrets.
    ListAccounts {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
    },
    /// Disables an account of the database: it can no longer log in, and its sessions end at once.
    /// The office's last enabled administrator is refused while the config has no administrator.
    DisableAccount {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
        /// The account's name.
        #[arg(long)]
        name: String,
    },
    /// Enables a disabled account of the database again, with the password it had.
    EnableAccount {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
        /// The account's name.
        #[arg(long)]
        name: String,
    },
    /// Deletes an account of the database and its sessions (the audit log keeps what it did). The
    /// office's last enabled administrator is refused while the config has no administrator.
    DeleteAccount {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
        /// The account's name.
        #[arg(long)]
        name: String,
    },
    /// Gives an account of the database a new password, read from the first line of standard
    /// input (at least 12 characters; the line ending is not part of it). Its sessions end.
    ResetPassword {
        /// The office's config file (STAFFEL_DATABASE_URL overrides its database).
        #[arg(long)]
        config: PathBuf,
        /// The account's name.
        #[arg(long)]
        name: String,
    },
}

/// The caller of a command: the audit log names the command.
fn command_caller(command: &str) -> crate::service::Caller {
    crate::service::Caller {
        account: format!("(staffel admin {command})"),
        role: crate::domain::staff::Role::Administrator,
    }
}

/// `staffel admin create-account`.
async fn create_account(config_path: &Path, name: &str, role: &str) -> Result<(), String> {
    let role = crate::domain::staff::Role::parse(role)
        .ok_or("--role is one of integration-manager, team-lead, administrator")?;
    let office = office_of(config_path).await?;
    // Asked before the password is read: the use case refuses it too.
    if office.config_account(name).is_some() {
        return Err(format!("the config already has an account {name}: account names are one namespace"));
    }
    let password = first_line_of_stdin()?;
    office.create_account(&command_caller("create-account"), name, role, password).await.map_err(|e| e.to_string())?;
    println!("Account {name} ({}) created at office {}.", role.as_str(), office.id());
    Ok(())
}

/// `staffel admin list-accounts`.
async fn list_accounts(config_path: &Path) -> Result<(), String> {
    let office = office_of(config_path).await?;
    let stored = office.list_accounts(&command_caller("list-accounts")).await.map_err(|e| e.to_string())?;
    let mut lines: Vec<[&str; 4]> = vec![["NAME", "ROLE", "STATE", "FROM"]];
    for a in &stored {
        let state = if a.disabled_at.is_some() { "disabled" } else { "enabled" };
        lines.push([&a.name, a.role.as_str(), state, "database"]);
    }
    for (name, role) in office.config_accounts() {
        lines.push([name, role.as_str(), "enabled", "config"]);
    }
    let width = |i: usize| lines.iter().map(|l| l[i].len()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    println!("Accounts of office {}:", office.id());
    for [name, role, state, from] in &lines {
        println!("  {name:w0$}  {role:w1$}  {state:w2$}  {from}");
    }
    Ok(())
}

/// `staffel admin disable-account`, `enable-account`, `delete-account`, `reset-password`.
async fn change_account(config_path: &Path, command: &str, name: &str) -> Result<(), String> {
    let office = office_of(config_path).await?;
    let by = command_caller(command);
    let id = office.id();
    match command {
        "disable-account" => {
            office.disable_account(&by, name).await.map_err(|e| e.to_string())?;
            println!("Account {name} disabled at office {id}: it can no longer log in, and its sessions have ended.");
        }
        "enable-account" => {
            office.enable_account(&by, name).await.map_err(|e| e.to_string())?;
            println!("Account {name} enabled again at office {id}.");
        }
        "delete-account" => {
            office.delete_account(&by, name).await.map_err(|e| e.to_string())?;
            println!("Account {name} and its sessions deleted at office {id}.");
        }
        _ => {
            let password = first_line_of_stdin()?;
            office.reset_password(&by, name, password).await.map_err(|e| e.to_string())?;
            println!("Account {name} has a new password at office {id}; its sessions have ended.");
        }
    }
    Ok(())
}

pub(crate) async fn run(command: AdminCommand) -> ExitCode {
    if !matches!(command, AdminCommand::HashToken) {
        init_tracing("warn");
    }
    match command {
        AdminCommand::HashToken => {
            let result = first_line_of_stdin().map(|token| {
                println!("token_sha256 = \"{}\"", crate::digest::token_digest(&token));
            });
            finish("hash-token", result)
        }
        AdminCommand::CreateAccount { config, name, role } => {
            finish("create-account", create_account(&config, &name, &role).await)
        }
        AdminCommand::ListAccounts { config } => finish("list-accounts", list_accounts(&config).await),
        AdminCommand::DisableAccount { config, name } => {
            finish("disable-account", change_account(&config, "disable-account", &name).await)
        }
        AdminCommand::EnableAccount { config, name } => {
            finish("enable-account", change_account(&config, "enable-account", &name).await)
        }
        AdminCommand::DeleteAccount { config, name } => {
            finish("delete-account", change_account(&config, "delete-account", &name).await)
        }
        AdminCommand::ResetPassword { config, name } => {
            finish("reset-password", change_account(&config, "reset-password", &name).await)
        }
    }
}

/// Exit 0, or the error on stderr and exit 1.
fn finish(command: &str, result: Result<(), String>) -> ExitCode {
    super::exit_code(&format!("staffel admin {command}"), result.map(|()| true))
}
