//! Backup and restore of the embedded store. The copy is made with SQLite's online backup API
//! (through `rusqlite`, which links the same SQLite as sqlx) inside one read transaction: in WAL
//! mode the office goes on writing meanwhile, and the copy is the database exactly as it was
//! when that transaction began, every commit before it included. The copy is one file in
//! rollback-journal mode (no write-ahead log beside it), checked with `PRAGMA quick_check`.
//! A restore writes it under a temporary name and links it into place only if nothing is there;
//! if it fails, neither the file nor a folder it made for it stays.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;

use super::{create_private_dirs, create_private_file};
use crate::storage::{DatabaseCopy, Result, StorageError};

/// The name of the copy in a backup folder.
pub const COPY_NAME: &str = "database.sqlite";

/// Pages copied per step of the backup (4 MiB at SQLite's default page size).
const PAGES_PER_STEP: std::os::raw::c_int = 1024;

/// Writes an online copy of the database file `source` into `dir` as [`COPY_NAME`] (0600).
pub(crate) async fn copy(source: &Path, dir: &Path, progress: &(dyn Fn(&str) + Send + Sync)) -> Result<DatabaseCopy> {
    if source.as_os_str().is_empty() || source.as_os_str() == ":memory:" {
        return Err(StorageError::Backup("an in-memory database has nothing to back up".into()));
    }
    let target = dir.join(COPY_NAME);
    new_private_file(&target).map_err(|e| StorageError::Backup(format!("{}: {e}", target.display())))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let (from, to) = (source.to_owned(), target.clone());
    let task = tokio::task::spawn_blocking(move || online_copy(&from, &to, &tx));
    while let Some(line) = rx.recv().await {
        progress(&line);
    }
    let schema_version = task
        .await
        .map_err(|e| StorageError::Backup(format!("the copying thread ended: {e}")))?
        .map_err(|e| StorageError::Backup(format!("{}: {e}", source.display())))?;
    Ok(DatabaseCopy { file: target, schema_version })
}

/// Copies `source` to `target` page by page in one read transaction; the last migration applied.
fn online_copy(
    source: &Path,
    target: &Path,
    progress: &tokio::sync::mpsc::UnboundedSender<String>,
) -> std::result::Result<i64, String> {
    use rusqlite::backup::{Backup, StepResult};
    use rusqlite::{Connection, OpenFlags};
    let e = |e: rusqlite::Error| e.to_string();

    // The database must exist: never create one here.
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(e)?;
    src.busy_timeout(Duration::from_secs(10)).map_err(e)?;
    // One read transaction for the whole copy: its snapshot is what is copied, and since the
    // snapshot does not move, writes of the running office do not restart the copy.
    src.execute_batch("BEGIN DEFERRED").map_err(e)?;
    let schema_version: i64 = src
        .query_row("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success", [], |row| row.get(0))
        .map_err(e)?;
    let mut dst = Connection::open(target).map_err(e)?;
    {
        let backup = Backup::new(&src, &mut dst).map_err(e)?;
        loop {
            let step = backup.step(PAGES_PER_STEP).map_err(e)?;
            let p = backup.progress();
            let _ = progress.send(format!("{} of {} pages copied", p.pagecount - p.remaining, p.pagecount));
            match step {
                StepResult::Done => break,
                StepResult::More => {}
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    src.execute_batch("COMMIT").map_err(e)?;
    drop(src);
    // The copy stands alone: one file, no write-ahead log beside it.
    let _: String = dst.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0)).map_err(e)?;
    let check: String = dst.query_row("PRAGMA quick_check", [], |row| row.get(0)).map_err(e)?;
    if check != "ok" {
        return Err(format!("the copy fails SQLite's quick_check: {check}"));
    }
    let _ = progress.send("copy checked (quick_check ok)".into());
    Ok(schema_version)
}

/// Writes the copy `copy` as the database of the `sqlite:` URL `url`, which must not exist.
pub async fn restore(url: &str, copy: &Path, progress: &(dyn Fn(&str) + Send + Sync)) -> Result<()> {
    let target = SqliteConnectOptions::from_str(url)?.get_filename().to_owned();
    if target.as_os_str().is_empty() || target.as_os_str() == ":memory:" {
        return Err(StorageError::Restore("restore needs a database file, not an in-memory database".into()));
    }
    for existing in [target.clone(), suffixed(&target, "-wal"), suffixed(&target, "-journal")] {
        if existing.exists() {
            return Err(StorageError::Restore(format!(
                "{} exists: refusing to overwrite a database (restore into a new place)",
                existing.display()
            )));
        }
    }
    let made = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            create_private_dirs(parent).map_err(|e| StorageError::Restore(format!("{}: {e}", parent.display())))?
        }
        _ => Vec::new(),
    };
    let (from, to) = (copy.to_owned(), target.clone());
    let placed = tokio::task::spawn_blocking(move || place(&from, &to))
        .await
        .map_err(|e| StorageError::Restore(format!("the copying thread ended: {e}")))
        .and_then(|placed| placed.map_err(|e| StorageError::Restore(format!("{}: {e}", target.display()))));
    let bytes = match placed {
        Ok(bytes) => bytes,
        Err(e) => {
            // The database file is linked into place last, so it is not there; the folders
            // made for it go again.
            for dir in made.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
            return Err(e);
        }
    };
    progress(&format!("database written: {} ({bytes} bytes)", target.display()));
    Ok(())
}

/// Copies `from` to a temporary file beside `to` (0600), flushes it to disk, and links it to `to`
/// (which fails if `to` appeared meanwhile: nothing is overwritten).
fn place(from: &Path, to: &Path) -> std::io::Result<u64> {
    let temporary = suffixed(to, ".restoring");
    new_private_file(&temporary)?;
    let result = (|| {
        let mut out = std::fs::OpenOptions::new().write(true).open(&temporary)?;
        let bytes = std::io::copy(&mut crate::storage::open_regular(from)?, &mut out)?;
        out.flush()?;
        out.sync_all()?;
        std::fs::hard_link(&temporary, to)?;
        Ok(bytes)
    })();
    let _ = std::fs::remove_file(&temporary);
    result
}

/// A new, empty file only its owner may read; an existing one is an error.
fn new_private_file(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "exists already"));
    }
    create_private_file(path)
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
