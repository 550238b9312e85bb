//! Backup and restore of a PostgreSQL office with the server's own tools: `pg_dump
//! --format=custom` (one consistent snapshot while the office keeps running) and `pg_restore`
//! into an empty database, in one transaction. Both are looked up on the PATH; they must be of
//! the server's major version or newer. The database URL is handed to them without its password
//! (libpq understands `sslmode`, `sslrootcert` and the like); a password of the URL goes into
//! their environment as `PGPASSWORD`, which only this user can read, never onto their command
//! line, which every user of the machine sees in the process list (a URL this program cannot take
//! the password out of, e.g. one of several hosts, is refused if it may hold one). `PGPASSWORD`
//! and `~/.pgpass` work as well.
//! `pg_restore` reads the dump from its standard input, a file opened here that must be a regular
//! file (a symbolic link is refused: [`crate::storage::open_regular`]).

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
    command.arg("--format=custom").arg("--no-password").arg("--file").arg(&file);
    connect_to(&mut command, url).map_err(StorageError::Backup)?;
    run("pg_dump", command, Stdio::null(), StorageError::Backup).await?;
    set_private(&file).map_err(|e| StorageError::Backup(format!("{}: {e}", file.display())))?;
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    progress(&format!("pg_dump done: {bytes} bytes"));
    Ok(file)
}

/// Restores the dump `copy` into the database at `url` with `pg_restore` (no owner or
/// privileges taken over from the dump: the URL's role owns what is made), in one transaction.
/// The database must exist and hold no tables.
pub async fn restore(url: &str, copy: &Path, progress: &(dyn Fn(&str) + Send + Sync)) -> Result<()> {
    let dump =
        crate::storage::open_regular(copy).map_err(|e| StorageError::Restore(format!("{}: {e}", copy.display())))?;
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
    command.args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--no-password"]);
    connect_to(&mut command, url).map_err(StorageError::Restore)?;
    run("pg_restore", command, Stdio::from(dump), StorageError::Restore).await?;
    progress("pg_restore done");
    Ok(())
}

/// Points a PostgreSQL client tool at the database of `url`: `--dbname` with the URL without its
/// password, the password in the tool's environment (`PGPASSWORD`). Refused (why, in words) if
/// the password cannot be taken out (see [`without_password`]).
fn connect_to(command: &mut tokio::process::Command, url: &str) -> std::result::Result<(), String> {
    let (dbname, password) = without_password(url)?;
    command.arg("--dbname").arg(dbname);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    Ok(())
}

/// A `postgres://` URL without its password (in the user part or as the `password` parameter,
/// its name percent-encoded or not), and that password, decoded. A URL that does not parse as
/// one URL (several hosts) is left as it is if it cannot hold a password (no `:` in its user
/// part, no `password` parameter), and refused otherwise: the password must never reach the
/// tool's command line.
fn without_password(url: &str) -> std::result::Result<(String, Option<String>), String> {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        if may_hold_password(url) {
            return Err("the database URL holds a password but is not one URL this program can take it out of \
                        (several hosts?), and a password on pg_dump's or pg_restore's command line is seen by \
                        every user of the machine: give the password in PGPASSWORD or ~/.pgpass instead"
                .to_owned());
        }
        return Ok((url.to_owned(), None));
    };
    let mut password = parsed.password().map(percent_decoded);
    if password.is_some() && parsed.set_password(None).is_err() {
        return Err("the database URL's password cannot be taken out of it: give it in PGPASSWORD or ~/.pgpass".into());
    }
    if let Some(query) = parsed.query().map(str::to_owned) {
        // The other parameters stay exactly as written (libpq decodes %XX only).
        let (given, rest): (Vec<&str>, Vec<&str>) = query.split('&').partition(|p| is_password_parameter(p));
        if let Some(p) = given.last() {
            password = Some(percent_decoded(p.split_once('=').map_or("", |(_, value)| value)));
            parsed.set_query((!rest.is_empty()).then(|| rest.join("&")).as_deref());
        }
    }
    Ok((parsed.to_string(), password))
}

/// Whether a query parameter (`name=value`) is the password: its name decoded as libpq decodes it.
fn is_password_parameter(parameter: &str) -> bool {
    percent_decoded(parameter.split_once('=').map_or(parameter, |(name, _)| name)) == "password"
}

/// Whether a URL that does not parse may hold a password: a `:` in its user part, or a
/// `password` parameter.
fn may_hold_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or("");
    let user = authority.rsplit_once('@').map_or("", |(user, _)| user);
    user.contains(':') || query.split('&').any(is_password_parameter)
}

/// `%XX` decoded as libpq decodes URLs (a `+` stays a `+`).
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a PostgreSQL client tool with `stdin`; its standard error in the error if it fails.
async fn run(
    tool: &str,
    mut command: tokio::process::Command,
    stdin: Stdio,
    error: fn(String) -> StorageError,
) -> Result<()> {
    command.stdin(stdin).stdout(Stdio::null()).stderr(Stdio::piped());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let without_password = |url: &str| super::without_password(url).unwrap();
        let (url, password) = without_password("postgres://staffel:s%40cret+x@db.example:5432/office?sslmode=require");
        assert_eq!(url, "postgres://staffel@db.example:5432/office?sslmode=require");
        assert_eq!(password.as_deref(), Some("s@cret+x"));
        let (url, password) =
            without_password("postgresql://staffel@db.example/office?password=p%26w&options=-c%20a%3Db");
        assert_eq!(url, "postgresql://staffel@db.example/office?options=-c%20a%3Db");
        assert_eq!(password.as_deref(), Some("p&w"));
        let (url, password) = without_password("postgres://staffel@db.example/office?password=x");
        assert_eq!(url, "postgres://staffel@db.example/office");
        assert_eq!(password.as_deref(), Some("x"));
        let plain = "postgres://postgres@127.0.0.1:5432/postgres";
        assert_eq!(without_password(plain), (plain.to_owned(), None));
        // The parameter's name percent-encoded: libpq decodes names as well.
        let (url, password) = without_password("postgres://staffel@db.example/office?pass%77ord=x&sslmode=require");
        assert_eq!(url, "postgres://staffel@db.example/office?sslmode=require");
        assert_eq!(password.as_deref(), Some("x"));
        let (url, password) = without_password("postgres://staffel@db.example/office?%70assword=x");
        assert_eq!(url, "postgres://staffel@db.example/office");
        assert_eq!(password.as_deref(), Some("x"));
        // A parameter whose name only contains the word stays.
        let kept = "postgres://staffel@db.example/office?passwordless=1";
        assert_eq!(without_password(kept), (kept.to_owned(), None));
    }

    #[test]
    fn a_url_of_several_hosts_is_refused_when_it_may_hold_a_password() {
        for url in [
            "postgres://u:pw@h1:5432,h2:5432/db",
            "postgresql://u:@h1:5432,h2:5432/db",
            "postgres://u@h1:5432,h2:5432/db?password=pw",
            "postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write&pass%77ord=pw",
        ] {
            assert!(reqwest::Url::parse(url).is_err(), "{url}");
            let err = without_password(url).unwrap_err();
            assert!(err.contains("PGPASSWORD or ~/.pgpass"), "{err}");
            assert!(!err.contains("pw"), "{err}");
        }
        // Without a password it goes to the tool as it is.
        let several = "postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write";
        assert!(reqwest::Url::parse(several).is_err());
        assert_eq!(without_password(several).unwrap(), (several.to_owned(), None));
        let no_user = "postgres://h1:5432,h2:5432/db";
        assert_eq!(without_password(no_user).unwrap(), (no_user.to_owned(), None));
    }
}
