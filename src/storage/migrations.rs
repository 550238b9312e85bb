//! Schema migrations of both backends, listed and applied one by one: which of this binary's
//! migrations a database has (and when they were applied), which are pending, and which it has
//! that this binary does not know (the database was written by a newer Staffel). Applying them
//! refuses such a newer database with [`StorageError::NewerDatabase`], a message that names
//! the way back (the backup taken before the upgrade), instead of sqlx's "previously applied but
//! missing".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::migrate::{Migrate, Migration, Migrator};

use super::{Result, StorageError};

/// Where one migration stands in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied, at this time.
    Applied(DateTime<Utc>),
    /// Known to this binary, not yet applied.
    Pending,
    /// Applied to the database but unknown to this binary: a newer Staffel applied it.
    Unknown(DateTime<Utc>),
    /// Applied, but its text differs from this binary's (the binary was built from changed
    /// migrations): refused.
    Modified(DateTime<Utc>),
    /// Begun and failed halfway: the database needs repair from a backup.
    Failed,
}

/// One migration: its version (the number of its file), what it does, where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub state: MigrationState,
}

/// A row of `_sqlx_migrations` as the backends read it.
pub(crate) struct AppliedRow {
    pub version: i64,
    pub description: String,
    pub installed_on: DateTime<Utc>,
    pub success: bool,
    pub checksum: Vec<u8>,
}

/// The last migration this binary knows.
pub fn latest_known(migrator: &Migrator) -> i64 {
    migrator.iter().filter(|m| m.migration_type.is_up_migration()).map(|m| m.version).max().unwrap_or(0)
}

/// This binary's migrations beside what the database records, in version order.
pub(crate) fn status(migrator: &Migrator, applied: Vec<AppliedRow>) -> Vec<MigrationStatus> {
    let mut applied: BTreeMap<i64, AppliedRow> = applied.into_iter().map(|r| (r.version, r)).collect();
    let mut out = Vec::new();
    for m in migrator.iter().filter(|m| m.migration_type.is_up_migration()) {
        let state = match applied.remove(&m.version) {
            None => MigrationState::Pending,
            Some(r) if !r.success => MigrationState::Failed,
            Some(r) if r.checksum != *m.checksum => MigrationState::Modified(r.installed_on),
            Some(r) => MigrationState::Applied(r.installed_on),
        };
        out.push(MigrationStatus { version: m.version, description: m.description.to_string(), state });
    }
    for (version, r) in applied {
        let state = if r.success { MigrationState::Unknown(r.installed_on) } else { MigrationState::Failed };
        out.push(MigrationStatus { version, description: r.description, state });
    }
    out.sort_by_key(|m| m.version);
    out
}

/// Refuses a database that has migrations this binary does not know, or that failed halfway, or
/// whose applied migrations differ from this binary's.
pub fn check_applicable(status: &[MigrationStatus]) -> Result<()> {
    if let Some(newest) = status.iter().rfind(|m| matches!(m.state, MigrationState::Unknown(_))) {
        let binary = status
            .iter()
            .filter(|m| !matches!(m.state, MigrationState::Unknown(_)))
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        return Err(StorageError::NewerDatabase { database: newest.version, binary });
    }
    if let Some(m) = status.iter().find(|m| m.state == MigrationState::Failed) {
        return Err(StorageError::MigrationFailed(m.version));
    }
    if let Some(m) = status.iter().find(|m| matches!(m.state, MigrationState::Modified(_))) {
        return Err(StorageError::MigrationModified(m.version));
    }
    Ok(())
}

/// Refuses to run with pending migrations (`[database] migrate = "explicit"`), after
/// [`check_applicable`].
pub fn check_current(status: &[MigrationStatus]) -> Result<()> {
    check_applicable(status)?;
    let pending: Vec<i64> = status.iter().filter(|m| m.state == MigrationState::Pending).map(|m| m.version).collect();
    match pending.first() {
        Some(first) => Err(StorageError::PendingMigrations { count: pending.len(), first: *first }),
        None => Ok(()),
    }
}

/// Applies the pending migrations in version order on one connection (holding the migration
/// lock on PostgreSQL, given back when a migration fails too), calling `before` with each before
/// it runs; what was applied.
pub(crate) async fn apply<C: Migrate>(
    conn: &mut C,
    migrator: &Migrator,
    status: &[MigrationStatus],
    before: &(dyn Fn(&MigrationStatus) + Send + Sync),
) -> Result<Vec<MigrationStatus>> {
    check_applicable(status)?;
    let pending: Vec<&Migration> = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .filter(|m| status.iter().any(|s| s.version == m.version && s.state == MigrationState::Pending))
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    conn.lock().await?;
    let applied = apply_locked(conn, &pending, before).await;
    // The lock is given back whatever happened: on PostgreSQL it is the session's, and the
    // connection goes back to the pool still holding it otherwise, so that the next migration
    // on another of the pool's connections waits for it for ever. The migration's error comes
    // first; a failure to unlock is reported only after a success.
    let unlocked = conn.unlock().await;
    let done = applied?;
    unlocked?;
    Ok(done)
}

/// [`apply`] under the migration lock.
async fn apply_locked<C: Migrate>(
    conn: &mut C,
    pending: &[&Migration],
    before: &(dyn Fn(&MigrationStatus) + Send + Sync),
) -> Result<Vec<MigrationStatus>> {
    conn.ensure_migrations_table().await?;
    // Another process may have applied some meanwhile: ask again under the lock.
    let now_applied: Vec<i64> = conn.list_applied_migrations().await?.into_iter().map(|m| m.version).collect();
    let mut done = Vec::new();
    for m in pending {
        if now_applied.contains(&m.version) {
            continue;
        }
        let entry = MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            state: MigrationState::Pending,
        };
        before(&entry);
        conn.apply(m).await?;
        done.push(entry);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(version: i64, checksum: &[u8], success: bool) -> AppliedRow {
        AppliedRow {
            version,
            description: format!("m{version}"),
            installed_on: "2026-11-25T09:30:00Z".parse().unwrap(),
            success,
            checksum: checksum.to_vec(),
        }
    }

    fn sqlite_migrator() -> Migrator {
        sqlx::migrate!("./migrations/sqlite")
    }

    #[test]
    fn pending_applied_and_newer_are_told_apart() {
        let migrator = sqlite_migrator();
        let first = migrator.iter().next().unwrap();
        let latest = latest_known(&migrator);
        let applied = vec![row(first.version, &first.checksum, true), row(latest + 1, b"x", true)];
        let status = status(&migrator, applied);
        assert!(matches!(status[0].state, MigrationState::Applied(_)));
        assert_eq!(status[1].state, MigrationState::Pending);
        let last = status.last().unwrap();
        assert_eq!(last.version, latest + 1);
        assert!(matches!(last.state, MigrationState::Unknown(_)));
        let refused = check_applicable(&status).unwrap_err();
        assert!(
            matches!(refused, StorageError::NewerDatabase { database, binary } if database == latest + 1 && binary == latest)
        );
        assert!(refused.to_string().contains("staffel restore"), "{refused}");
    }

    #[test]
    fn a_changed_or_failed_migration_is_refused_and_pending_ones_refuse_an_explicit_start() {
        let migrator = sqlite_migrator();
        let first = migrator.iter().next().unwrap();
        let changed = status(&migrator, vec![row(first.version, b"other", true)]);
        assert!(matches!(check_applicable(&changed), Err(StorageError::MigrationModified(v)) if v == first.version));
        let failed = status(&migrator, vec![row(first.version, &first.checksum, false)]);
        assert!(matches!(check_applicable(&failed), Err(StorageError::MigrationFailed(_))));
        let fresh = status(&migrator, Vec::new());
        let pending = check_current(&fresh).unwrap_err();
        assert!(pending.to_string().contains("staffel migrate"), "{pending}");
        let all: Vec<AppliedRow> = migrator.iter().map(|m| row(m.version, &m.checksum, true)).collect();
        assert!(check_current(&status(&migrator, all)).is_ok());
    }
}
