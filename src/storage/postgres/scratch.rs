//! Scratch databases on a PostgreSQL server, for the demo and the tests: created fresh, dropped
//! when done. The server URL names a database to connect to for creating and dropping (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`); its account needs the CREATEDB right.

use sqlx::Connection as _;

use crate::storage::Result;

/// Databases made on one server; [`ScratchDatabases::drop_all`] drops them.
pub struct ScratchDatabases {
    server: String,
    names: Vec<String>,
}

impl ScratchDatabases {
    pub fn new(server: &str) -> Self {
        Self { server: server.to_owned(), names: Vec::new() }
    }

    /// A fresh, empty database named `<prefix>_<random>`; its URL.
    pub async fn create(&mut self, prefix: &str) -> Result<String> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&self.server).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        self.names.push(name.clone());
        let base = self.server.rsplit_once('/').map_or(self.server.as_str(), |(base, _)| base);
        Ok(format!("{base}/{name}"))
    }

    /// Drops every database made here (closing their connections).
    pub async fn drop_all(&mut self) -> Result<()> {
        if self.names.is_empty() {
            return Ok(());
        }
        let mut admin = sqlx::PgConnection::connect(&self.server).await?;
        for name in std::mem::take(&mut self.names) {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
        }
        Ok(())
    }

    /// Whether there is anything to drop.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
