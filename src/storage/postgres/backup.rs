//! Backup and restore of a PostgreSQL office with the server's own tools: `pg_dump
//! --format=custom` (one consistent snapshot while the office keeps running) and `pg_restore`
//! into an empty database, in one transaction. Both are looked up on the PATH; they must be of
//! the server's major version or newer. The database URL is handed to them as it is (libpq
//! understands `sslmode`, `sslrootcert` and the like; a password in the URL is visible to the
//! machine's other users in the process list while they run: prefer `~/.pgpass` or
//! `PGPASSWORD`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sqlx::Connection as _;

use crate::storage::{Result, StorageError};

/// The name of the dump in a backup folder.
pub const DUMP_NAME: &str = "database.pgdump";

/// Runs `pg_dump --format=custom` of the database at `url` into `dir` as [`DUMP_NAME`] (0600).
pub(crate) async fn dump(url: &str, dir: &Path, progress: &(dyn Fn(&str) + Send + Sync)) -> Result<PathBuf> {
    let file = dir.join(DUMP_NAME);
    // Made first, so that pg_dump writes into a file only the owner can read.
    crate::storage::sqlite::create_private_file(&file)
        .map_err(|e| StorageError::Backup(format!("{}: {e}", file.display())))?;
    progress("running pg_dump --format=custom ...");
    let mut command = tokio::process::Command::new("pg_dump");
    command.arg("--format=custom").arg("--no-password").arg("--file").arg(&file).arg("--dbname").arg(url);
    run("pg_dump", command, StorageError::Backup).await?;
    set_private(&file).map_err(|e| StorageError::Backup(format!("{}: {e}", file.display())))?;
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    progress(&format!("pg_dump done: {bytes} bytes"));
    Ok(file)
}

/// Restores the dump `copy` into the database at `url` with `pg_restore` (no owner or
/// privileges taken over from the dump: the URL's role owns what is made), in one transaction.
/// The database must exist and hold no tables.
pub async fn restore(url: &str, copy: &Path, progress: &(dyn Fn(&str) + Send + Sync)) -> Result<()> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    if tables > 0 {
        return Err(StorageError::Restore(format!(
            "the target database holds {tables} table(s): refusing to restore over it (create an empty database)"
        )));
    }
    progress("running pg_restore ...");
    let mut command = tokio::process::Command::new("pg_restore");
    command
        .args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--no-password"])
        .arg("--dbname")
        .arg(url)
        .arg(copy);
    run("pg_restore", command, StorageError::Restore).await?;
    progress("pg_restore done");
    Ok(())
}

/// Runs a PostgreSQL client tool; its standard error in the error if it fails.
async fn run(tool: &str, mut command: tokio::process::Command, error: fn(String) -> StorageError) -> Result<()> {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let output = match command.output().await {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(error(format!(
                "{tool} is not on the PATH: install PostgreSQL's client tools (Debian: postgresql-client) of the \
                 server's major version or newer"
            )));
        }
        Err(e) => return Err(error(format!("cannot run {tool}: {e}"))),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(error(format!("{tool} failed ({}): {}", output.status, stderr.trim())));
    }
    Ok(())
}

fn set_private(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
