//! What the database in use can do, asked by name. The services outside
//! `db` ask these questions instead of which backend it is: the answer
//! stays here, beside the SQL that depends on it.

use std::path::Path;

use super::pool::{parse_url, Backend, Db};

impl Db {
    /// Whether several hookrelay processes may share this database (and
    /// each other's delivery and run claims). SQLite serves one process
    /// (its file is locked); PostgreSQL, any number.
    pub fn shares_across_instances(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// Whether a transaction can wake the other processes at commit
    /// (`LISTEN`/`NOTIFY`, PostgreSQL; see `db::deliveries::wake`).
    pub fn has_notify(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// Whether several transactions may write at once. SQLite has one
    /// writer, so a claim rides in the history write's transaction; on
    /// PostgreSQL it runs beside it.
    pub fn has_concurrent_writers(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// Whether updates and deletes leave dead row versions behind that a
    /// `VACUUM` must clear (PostgreSQL; see `db::deliveries::vacuum`).
    pub fn leaves_dead_rows(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// Whether `history` is partitioned by day, so that retention drops
    /// whole days and the coming days' partitions must exist (PostgreSQL;
    /// see `db::partitions`).
    pub fn partitions_history(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// The database file, on SQLite (where the master key file may sit
    /// beside it); `None` on PostgreSQL.
    pub fn file_path(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

/// The SQLite file `url` names, or `None` when it names PostgreSQL; an
/// error for a URL hookrelay cannot use.
pub fn sqlite_file(url: &str) -> Result<Option<String>, String> {
    Ok(match parse_url(url)? {
        (Backend::Sqlite, path) => Some(path),
        (Backend::Postgres, _) => None,
    })
}
