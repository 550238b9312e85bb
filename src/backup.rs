//! An office's backup as a folder, and bringing it back. The folder (0700, every file 0600)
//! holds a consistent copy of the database ([`crate::storage::Storage::backup`]: SQLite's online
//! backup API, or `pg_dump`), the config file as it was, every file the config points to (the
//! federation CA, TLS certificate and key, signing key, directory, and the caseworker listener's
//! certificate and key if set), and `manifest.json`: the Staffel version, office, time, backend,
//! schema version (the last migration applied) and each file's SHA-256.
//!
//! A restore reads only regular files of the backup (a symbolic link is refused: see
//! [`storage::open_regular`]), checks every file against the manifest before it writes anything,
//! refuses a backup of a schema newer than this binary's, writes into a new (or empty) folder and
//! a database that does not exist yet (or an empty PostgreSQL database), and writes a config whose
//! paths point to the restored files beside it and whose database URL names the restored
//! database. The database is written last; a restore that fails removes what it wrote (see
//! [`restore`]), so that it can be run again into the same folder and database.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError};
use crate::storage::{self, Backend, StorageError};

/// The manifest's file name in a backup folder.
pub const MANIFEST: &str = "manifest.json";
/// The manifest format this binary writes and reads.
pub const FORMAT: &str = "staffel-backup/1";
/// The name of the original config in a backup folder (and of the restored config).
pub const CONFIG_NAME: &str = "config.toml";
/// The restored SQLite database's name, beside the restored config, unless another URL is given.
pub const RESTORED_SQLITE: &str = "staffel.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Storage(#[from] StorageError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0} exists and is not empty: refusing to write into it (name a new folder)")]
    NotEmpty(PathBuf),
    #[error("the backup is damaged, nothing was written: {0}")]
    Damaged(String),
    #[error(
        "the backup's database is at migration {backup}, newer than this binary knows ({binary}): restore it \
         with the Staffel version that made it ({version})"
    )]
    Newer { backup: i64, binary: i64, version: String },
    #[error("{0}")]
    Usage(String),
}

type Result<T> = std::result::Result<T, BackupError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_owned(), source }
}

/// What a file in a backup is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Database,
    Config,
    FederationCa,
    FederationCert,
    FederationKey,
    SigningKey,
    Directory,
    ApiTlsCert,
    ApiTlsKey,
}

impl Role {
    /// The file's name in the backup (and in the restored folder, the database excepted).
    fn file_name(self) -> &'static str {
        match self {
            Role::Database => "database",
            Role::Config => CONFIG_NAME,
            Role::FederationCa => "federation-ca.pem",
            Role::FederationCert => "federation-tls.pem",
            Role::FederationKey => "federation-tls.key",
            Role::SigningKey => "signing.jwk",
            Role::Directory => "directory.json",
            Role::ApiTlsCert => "api-tls.pem",
            Role::ApiTlsKey => "api-tls.key",
        }
    }
}

/// One file of a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    pub name: String,
    pub role: Role,
    pub bytes: u64,
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub staffel_version: String,
    pub office: String,
    pub created_at: DateTime<Utc>,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The last migration applied to the copied database.
    pub schema_version: i64,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    fn file(&self, role: Role) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.role == role)
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// How a folder to write into was come by.
enum Fresh {
    /// Made here, with the parents that were missing: these folders, outermost first.
    Made(Vec<PathBuf>),
    /// It was there, empty, with these permissions (now 0700).
    Found(std::fs::Permissions),
}

/// Creates `dir` (0700) if missing; refuses one that holds anything, and makes an empty one 0700.
fn fresh_private_dir(dir: &Path) -> Result<Fresh> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(dir.to_owned()));
            }
            let permissions = std::fs::metadata(dir).map_err(io(dir))?.permissions();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
            }
            Ok(Fresh::Found(permissions))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(Fresh::Made(storage::sqlite::create_private_dirs(dir).map_err(io(dir))?))
        }
        Err(e) => Err(io(dir)(e)),
    }
}

/// What a restore made on disk, so that a failed one takes back exactly that and nothing else.
struct Made {
    dir: PathBuf,
    fresh: Fresh,
    /// The files written, in order.
    files: Vec<PathBuf>,
}

impl Made {
    /// Removes the files written, newest first, then the folders made (each only if empty by
    /// then: what someone else put there stays), or gives a folder that was there its permissions
    /// back.
    fn undo(self) {
        for file in self.files.iter().rev() {
            let _ = std::fs::remove_file(file);
        }
        match self.fresh {
            Fresh::Made(dirs) => {
                for dir in dirs.iter().rev() {
                    let _ = std::fs::remove_dir(dir);
                }
            }
            Fresh::Found(permissions) => {
                let _ = std::fs::set_permissions(&self.dir, permissions);
            }
        }
    }
}

/// Writes `bytes` to a new file `path` (0600); an existing file is an error. A file that could
/// not be written whole is removed again.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| {
        let _ = std::fs::remove_file(path);
        io(path)(e)
    })
}

/// The whole of a regular file ([`storage::open_regular`]: a symbolic link is refused).
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    storage::open_regular(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// SHA-256 (hex) and length of a regular file (a symbolic link is refused), read in pieces.
fn digest_file(path: &Path) -> std::io::Result<(String, u64)> {
    use sha2::Digest as _;
    use std::io::Read as _;
    let mut file = storage::open_regular(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// The files a config points to, by role.
fn config_files(config: &Config) -> Vec<(Role, PathBuf)> {
    let f = &config.federation;
    let mut files = vec![
        (Role::FederationCa, f.ca.clone()),
        (Role::FederationCert, f.cert.clone()),
        (Role::FederationKey, f.key.clone()),
        (Role::SigningKey, f.signing_key.clone()),
        (Role::Directory, f.directory.clone()),
    ];
    if let Some(cert) = &config.api.tls_cert {
        files.push((Role::ApiTlsCert, cert.clone()));
    }
    if let Some(key) = &config.api.tls_key {
        files.push((Role::ApiTlsKey, key.clone()));
    }
    files
}

/// `staffel backup`: a backup of the office the config at `config_path` describes (environment
/// overrides applied) into the new or empty folder `out`. On failure the folder is removed again
/// if it was made here, emptied otherwise: a folder without a manifest is no backup.
pub async fn create(
    config_path: &Path,
    out: &Path,
    now: DateTime<Utc>,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Manifest> {
    let config = Config::load(config_path)?;
    let backend = storage::backend_of(&config.database.url)?;
    let created = matches!(fresh_private_dir(out)?, Fresh::Made(_));
    let result = write_backup(&config, config_path, backend, out, now, progress).await;
    if result.is_err() {
        if created {
            let _ = std::fs::remove_dir_all(out);
        } else if let Ok(entries) = std::fs::read_dir(out) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    result
}

async fn write_backup(
    config: &Config,
    config_path: &Path,
    backend: Backend,
    out: &Path,
    now: DateTime<Utc>,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Manifest> {
    let mut files = Vec::new();
    let mut sources = vec![(Role::Config, config_path.to_owned())];
    sources.extend(config_files(config));
    for (role, source) in sources {
        let bytes = std::fs::read(&source).map_err(io(&source))?;
        let target = out.join(role.file_name());
        write_private(&target, &bytes)?;
        files.push(ManifestFile {
            name: role.file_name().to_owned(),
            role,
            bytes: bytes.len() as u64,
            sha256: crate::digest::sha256_hex(&bytes),
        });
        progress(&format!("{} copied", role.file_name()));
    }
    let store = storage::connect(&config.database.url, false).await?;
    progress("copying the database ...");
    let copy = store.backup(out, progress).await?;
    let (sha256, bytes) = digest_file(&copy.file).map_err(io(&copy.file))?;
    let name = copy.file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    files.push(ManifestFile { name, role: Role::Database, bytes, sha256 });
    let manifest = Manifest {
        format: FORMAT.into(),
        staffel_version: env!("CARGO_PKG_VERSION").into(),
        office: config.office.id.as_str().to_owned(),
        created_at: now,
        backend: backend_name(backend).into(),
        schema_version: copy.schema_version,
        files,
    };
    let text = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    write_private(&out.join(MANIFEST), &text)?;
    Ok(manifest)
}

/// Reads a backup's manifest and checks every file it lists against its length and SHA-256.
pub fn verify(from: &Path) -> Result<Manifest> {
    let path = from.join(MANIFEST);
    let text = read_regular(&path).map_err(|e| BackupError::Damaged(format!("{}: {e}", path.display())))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| BackupError::Damaged(format!("{}: not a manifest: {e}", path.display())))?;
    if manifest.format != FORMAT {
        return Err(BackupError::Damaged(format!("unknown format {:?} (this binary reads {FORMAT})", manifest.format)));
    }
    for role in [Role::Database, Role::Config] {
        if manifest.file(role).is_none() {
            return Err(BackupError::Damaged(format!("the manifest lists no {role:?} file")));
        }
    }
    for file in &manifest.files {
        if file.name.contains('/') || file.name.contains('\\') || file.name.starts_with('.') {
            return Err(BackupError::Damaged(format!("the manifest names a file outside the folder: {}", file.name)));
        }
        let path = from.join(&file.name);
        let (sha256, bytes) =
            digest_file(&path).map_err(|e| BackupError::Damaged(format!("{}: {e}", path.display())))?;
        if bytes != file.bytes || sha256 != file.sha256 {
            return Err(BackupError::Damaged(format!(
                "{} does not match its checksum in the manifest ({} bytes, SHA-256 {sha256}; the manifest says {} \
                 bytes, {})",
                file.name, bytes, file.bytes, file.sha256
            )));
        }
    }
    Ok(manifest)
}

/// A file of a backup, read once and checked as read against the manifest: what a restore
/// writes is what was checked, the file the manifest names for its role (not one beside it).
fn read_checked(from: &Path, file: &ManifestFile) -> Result<Vec<u8>> {
    let path = from.join(&file.name);
    let bytes = read_regular(&path).map_err(io(&path))?;
    if bytes.len() as u64 != file.bytes || crate::digest::sha256_hex(&bytes) != file.sha256 {
        return Err(BackupError::Damaged(format!("{} changed after it was checked", file.name)));
    }
    Ok(bytes)
}

/// Where a restore went.
#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    /// The restored config, its paths pointing to the restored files.
    pub config: PathBuf,
    /// The restored database's URL.
    pub database_url: String,
}

/// `staffel restore`: checks the backup in `from`, then writes its files into the new or empty
/// folder `to` and its database into `database_url` (default: `to/staffel.sqlite` for a SQLite
/// backup; a PostgreSQL backup needs the URL of an empty database).
///
/// The database comes last: a PostgreSQL restore cannot be taken back by removing a file, and
/// `pg_restore` runs in one transaction, so it either fails having written nothing or is the last
/// step. A restore that fails removes the files it wrote and the folders it made (a SQLite
/// database it created and the folders made for it included), and gives a folder it found empty
/// its permissions back; what was there before, and what someone else put there meanwhile, stays.
pub async fn restore(
    from: &Path,
    to: &Path,
    database_url: Option<&str>,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Restored> {
    let manifest = verify(from)?;
    progress(&format!("backup checked: {} files match the manifest", manifest.files.len()));
    let backend = match manifest.backend.as_str() {
        "sqlite" => Backend::Sqlite,
        "postgres" => Backend::Postgres,
        other => return Err(BackupError::Damaged(format!("unknown backend {other:?}"))),
    };
    let binary = storage::latest_migration(backend);
    if manifest.schema_version > binary {
        return Err(BackupError::Newer {
            backup: manifest.schema_version,
            binary,
            version: manifest.staffel_version.clone(),
        });
    }
    let original = read_checked(from, manifest.file(Role::Config).expect("verified"))?;
    let original_text = String::from_utf8(original)
        .map_err(|_| BackupError::Damaged(format!("{CONFIG_NAME} in the backup is not UTF-8")))?;
    let (url, config_url) = match (backend, database_url) {
        (Backend::Sqlite, None) => {
            let absolute = std::path::absolute(to.join(RESTORED_SQLITE)).map_err(io(to))?;
            (format!("sqlite:{}", absolute.display()), format!("sqlite:{RESTORED_SQLITE}"))
        }
        (Backend::Postgres, None) => {
            return Err(BackupError::Usage(
                "a PostgreSQL backup is restored into an empty database: give its URL with --database-url".into(),
            ));
        }
        (_, Some(url)) => {
            if storage::backend_of(url)? != backend {
                return Err(BackupError::Usage(format!(
                    "the backup is of a {} database; --database-url names another kind",
                    manifest.backend
                )));
            }
            // A relative SQLite path means the working folder's, here and in the restored config
            // (where it would mean the config's folder).
            let here = std::env::current_dir().map_err(io(Path::new(".")))?;
            let url = crate::config::resolve_sqlite_url(url, &here);
            (url.clone(), url)
        }
    };
    let restored_config = restored_config(&original_text, &manifest, &config_url, from)?;
    let mut made = Made { dir: to.to_owned(), fresh: fresh_private_dir(to)?, files: Vec::new() };
    let result = async {
        for file in manifest.files.iter().filter(|f| !matches!(f.role, Role::Database | Role::Config)) {
            let bytes = read_checked(from, file)?;
            let path = to.join(file.role.file_name());
            write_private(&path, &bytes)?;
            made.files.push(path);
            progress(&format!("{} written", file.role.file_name()));
        }
        let config = to.join(CONFIG_NAME);
        write_private(&config, restored_config.as_bytes())?;
        made.files.push(config.clone());
        Config::from_file(&config)?;
        progress(&format!("{CONFIG_NAME} written (paths point to the files beside it)"));
        // Last (see above). A SQLite database that cannot be written leaves neither its file
        // nor a folder made for it; a PostgreSQL database is left as it was (one transaction).
        let database = manifest.file(Role::Database).expect("verified");
        storage::restore(&url, &from.join(&database.name), progress).await?;
        Ok(config)
    }
    .await;
    match result {
        Ok(config) => Ok(Restored { manifest, config, database_url: url }),
        Err(e) => {
            made.undo();
            Err(e)
        }
    }
}

/// The original config with its file paths pointing to the restored files and its database URL
/// set, after a comment that says so.
fn restored_config(original: &str, manifest: &Manifest, database_url: &str, from: &Path) -> Result<String> {
    let mut table: toml::Table =
        original.parse().map_err(|e| BackupError::Damaged(format!("{CONFIG_NAME} in the backup: {e}")))?;
    let section = |table: &mut toml::Table, name: &str| -> Result<toml::Table> {
        match table.remove(name) {
            None => Ok(toml::Table::new()),
            Some(toml::Value::Table(t)) => Ok(t),
            Some(_) => Err(BackupError::Damaged(format!("{CONFIG_NAME}: [{name}] is not a section"))),
        }
    };
    let mut federation = section(&mut table, "federation")?;
    for (role, key) in [
        (Role::FederationCa, "ca"),
        (Role::FederationCert, "cert"),
        (Role::FederationKey, "key"),
        (Role::SigningKey, "signing_key"),
        (Role::Directory, "directory"),
    ] {
        federation.insert(key.into(), role.file_name().into());
    }
    table.insert("federation".into(), toml::Value::Table(federation));
    let mut api = section(&mut table, "api")?;
    for (role, key) in [(Role::ApiTlsCert, "tls_cert"), (Role::ApiTlsKey, "tls_key")] {
        if manifest.file(role).is_some() {
            api.insert(key.into(), role.file_name().into());
        }
    }
    if !api.is_empty() {
        table.insert("api".into(), toml::Value::Table(api));
    }
    let mut database = section(&mut table, "database")?;
    database.insert("url".into(), database_url.into());
    table.insert("database".into(), toml::Value::Table(database));
    let body = toml::to_string(&table).map_err(|e| BackupError::Damaged(format!("{CONFIG_NAME}: {e}")))?;
    Ok(format!(
        "# Restored by `staffel restore` from the backup {} of office {} taken {} (Staffel {}).\n\
         # File paths and the database URL point to what was restored; the config as it was, with its\n\
         # comments, is config.toml in the backup.\n\n{body}",
        from.display(),
        manifest.office,
        manifest.created_at.to_rfc3339(),
        manifest.staffel_version
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backup folder by hand: the files as (name, role, bytes), and their manifest.
    fn folder(files: &[(&str, Role, &[u8])], extra: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut listed = Vec::new();
        for (name, role, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
            listed.push(ManifestFile {
                name: (*name).into(),
                role: *role,
                bytes: bytes.len() as u64,
                sha256: crate::digest::sha256_hex(bytes),
            });
        }
        for (name, bytes) in extra {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let manifest = Manifest {
            format: FORMAT.into(),
            staffel_version: "0.0.0".into(),
            office: "08221000".into(),
            created_at: "2026-11-25T09:30:00Z".parse().unwrap(),
            backend: "sqlite".into(),
            schema_version: 1,
            files: listed,
        };
        std::fs::write(dir.path().join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
        dir
    }

    #[tokio::test]
    async fn the_config_restored_is_the_one_the_manifest_checked() {
        let checked = b"[office]\nid = \"08221000\"\nname = \"Checked\"\n";
        let unchecked = b"[office]\nid = \"08221000\"\nname = \"Unchecked\"\n";
        let backup = folder(
            &[("database.sqlite", Role::Database, b"not looked into"), ("office.toml", Role::Config, checked)],
            &[(CONFIG_NAME, unchecked)],
        );
        let to = tempfile::tempdir().unwrap();
        let restored = restore(backup.path(), &to.path().join("office"), None, &|_| {}).await.unwrap();
        let config = Config::from_file(&restored.config).unwrap();
        assert_eq!(config.office.name, "Checked");
    }
}
