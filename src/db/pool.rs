//! Connection pools and migrations.
//!
//! SQLite allows one writer at a time, so writes go through a dedicated pool
//! of one connection: our own writers queue in-process instead of failing with
//! `SQLITE_BUSY`, and WAL lets the read pool carry on meanwhile. PostgreSQL
//! uses a single pool for both.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::checkpoint::Checkpointer;
use super::citus;
use super::write_health::WriteHealth;
use super::DbConn;
use crate::error::{Error, Result};

pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub(crate) const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

type ConnPool = Pool<ConnectionManager<DbConn>>;

/// The pools of one process.
#[derive(Clone)]
pub struct Db {
    read: ConnPool,
    write: ConnPool,
    pub(super) backend: Backend,
    /// SQLite only: the database file.
    pub(super) file: Option<std::sync::Arc<std::path::Path>>,
    /// SQLite only: the exclusive lock that keeps a second process off the file.
    _lock: Option<std::sync::Arc<std::fs::File>>,
    /// SQLite only: stops the background checkpointer when the last handle goes.
    _checkpointer: Option<std::sync::Arc<Checkpointer>>,
    /// Whether writes are refused for lack of space.
    health: std::sync::Arc<WriteHealth>,
    /// PostgreSQL only: the database is laid out for Citus (`db::citus`).
    citus: bool,
}

#[derive(Debug)]
struct SqlitePragmas {
    synchronous: String,
    cache_kib: u32,
    /// WAL pages before a committing connection checkpoints by itself.
    autocheckpoint: u32,
}

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout first: switching to WAL itself needs the lock. The page
        // size only takes on a new, empty file (before WAL is switched on).
        conn.batch_execute("PRAGMA busy_timeout = 10000;")
            .map_err(diesel::r2d2::Error::QueryError)?;
        // auto_vacuum, which lets retention give pages back
        // (`db::retention::give_back_space`; docs/operations.md), only takes
        // before the first table is created: set it on a new file only. On
        // an existing one the pragma would write the header, from every
        // connection acquired, and contend with the writer.
        #[derive(diesel::QueryableByName)]
        struct Tables {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let tables = diesel::sql_query("SELECT COUNT(*) AS n FROM sqlite_master")
            .get_result::<Tables>(conn)
            .map_err(diesel::r2d2::Error::QueryError)?;
        if tables.n == 0 {
            conn.batch_execute("PRAGMA auto_vacuum = INCREMENTAL;")
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        let sql = format!(
            "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
             PRAGMA foreign_keys = ON; PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = {};",
            self.synchronous, self.cache_kib, self.autocheckpoint
        );
        conn.batch_execute(&sql)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Db {
    /// Opens pools for `url`, checks the database answers and applies
    /// pending migrations; on Citus (found by itself), lays the tables out.
    pub fn connect(url: &str, pool_size: u32, sqlite_synchronous: &str) -> Result<Db, String> {
        Self::connect_with(url, pool_size, sqlite_synchronous, citus::Mode::Auto)
    }

    /// [`Db::connect`], with `HOOKRELAY_CITUS` (ignored on SQLite).
    pub fn connect_with(
        url: &str,
        pool_size: u32,
        sqlite_synchronous: &str,
        citus: citus::Mode,
    ) -> Result<Db, String> {
        let (backend, target) = parse_url(url)?;
        let db = match backend {
            Backend::Postgres => {
                // Pre-flight with the concrete type: MultiConnection hides libpq's reason.
                PgConnection::establish(&target)
                    .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
                let pool = build(&target, pool_size.max(2), None)?;
                Db {
                    read: pool.clone(),
                    write: pool,
                    backend,
                    file: None,
                    _lock: None,
                    _checkpointer: None,
                    health: Default::default(),
                    citus: false,
                }
            }
            Backend::Sqlite => {
                configure_sqlite_library();
                if let Some(dir) = std::path::Path::new(&target).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                    }
                }
                let lock = lock_file(&target)?;
                let pragmas = |cache_kib, autocheckpoint| SqlitePragmas {
                    synchronous: sqlite_synchronous.to_ascii_uppercase(),
                    cache_kib,
                    autocheckpoint,
                };
                // The background checkpointer keeps the WAL short; the writer
                // only steps in past 10,000 pages.
                let write = build(&target, 1, Some(pragmas(32_000, 10_000)))?;
                // Readers start every transaction with an empty cache after
                // a write by another connection: a big cache only costs there.
                let read = build(&target, pool_size.max(1), Some(pragmas(2_000, 1_000)))?;
                Db {
                    read,
                    write,
                    backend,
                    file: Some(std::path::Path::new(&target).into()),
                    _lock: Some(std::sync::Arc::new(lock)),
                    _checkpointer: Some(std::sync::Arc::new(Checkpointer::start(&target))),
                    health: Default::default(),
                    citus: false,
                }
            }
        };
        db.migrate()?;
        let mut db = db;
        db.citus = db.lay_out_for_citus(citus)?;
        Ok(db)
    }

    /// After the migrations: distributes the tables when the database is
    /// (to be) on Citus; whether it is.
    fn lay_out_for_citus(&self, mode: citus::Mode) -> Result<bool, String> {
        let mut conn = self
            .write
            .get()
            .map_err(|e| format!("cannot open database: {e}"))?;
        let DbConn::Pg(pg) = &mut *conn else {
            return Ok(false);
        };
        if !citus::wanted(pg, mode)? {
            return Ok(false);
        }
        let n =
            citus::distribute(pg).map_err(|e| format!("cannot distribute tables on Citus: {e}"))?;
        if n > 0 {
            tracing::info!(tables = n, "tables laid out for Citus");
        }
        Ok(true)
    }

    /// Whether the database is laid out for Citus.
    pub fn is_citus(&self) -> bool {
        self.citus
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, String> {
        let mut conn = self
            .write
            .get()
            .map_err(|e| format!("cannot open database: {e}"))?;
        let ran = match &mut *conn {
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
            DbConn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
        };
        ran.map_err(|e| format!("migration failed: {e}"))
    }

    /// Runs a read-only closure on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        run(self.read.clone(), self.citus, f).await
    }

    /// Runs a writing closure on the blocking pool (the single writer on SQLite).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let result = run(self.write.clone(), self.citus, f).await;
        self.health.observe(&result);
        result
    }

    /// Synchronous write access, for the CLI and start-up.
    pub fn write_blocking<T>(&self, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
        let mut conn = self.write.get()?;
        let result = citus::scoped(self.citus, || f(&mut conn));
        self.health.observe(&result);
        result
    }

    /// Whether the database takes writes: false after a write was refused
    /// for lack of space, until a probe (run here, at most once a second)
    /// succeeds again.
    pub async fn writable(&self) -> bool {
        if !self.health.is_full() {
            return true;
        }
        if self.health.probe_due() {
            let result = run(self.write.clone(), self.citus, super::write_health::probe).await;
            self.health.probed(&result);
        }
        !self.health.is_full()
    }
}

/// Runs `f` on a pooled connection on the blocking pool, with
/// `citus::on()` telling the queries whether they run on Citus.
async fn run<T, F>(pool: ConnPool, citus: bool, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        super::citus::scoped(citus, || f(&mut conn))
    })
    .await
    .map_err(Error::internal)?
}

/// Process-wide SQLite settings, applied once before the first connection
/// opens (SQLite refuses them afterwards, and then keeps its safe defaults):
/// - multi-thread mode: no mutex around every call on a connection. The
///   pools hand each connection to one thread at a time, which is all this
///   mode asks for.
/// - no memory statistics: they take a global mutex on every allocation,
///   and nothing here reads them.
#[expect(
    unsafe_code,
    reason = "sqlite3_config is C; called once, before any connection exists"
)]
fn configure_sqlite_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use libsqlite3_sys as ffi;
        // SAFETY: sqlite3_config is called before any connection exists in
        // this process (or fails harmlessly with SQLITE_MISUSE if one does);
        // the arguments are the documented ones for each option.
        let codes = unsafe {
            [
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD),
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int),
            ]
        };
        if codes.iter().any(|&c| c != ffi::SQLITE_OK) {
            tracing::debug!(
                ?codes,
                "SQLite was already initialised; keeping its defaults"
            );
        }
    });
}

/// SQLite serves one process: several would race on the single writer and
/// could not share delivery claims safely. The lock is released by the OS
/// when the process ends, however it ends.
fn lock_file(db_path: &str) -> Result<std::fs::File, String> {
    let path = format!("{db_path}.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open lock file {path}: {e}"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "{db_path} is in use by another hookrelay process: SQLite serves a single process \
             (stop the other one, or use PostgreSQL to run several instances)"
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {path}: {e}")),
    }
}

fn build(target: &str, size: u32, pragmas: Option<SqlitePragmas>) -> Result<ConnPool, String> {
    let mut builder = Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5));
    if let Some(p) = pragmas {
        // A local file cannot drop the connection: skip the per-checkout ping.
        builder = builder
            .connection_customizer(Box::new(p))
            .test_on_check_out(false);
    }
    builder
        .build(ConnectionManager::<DbConn>::new(target))
        .map_err(|e| format!("cannot open database pool: {e}"))
}

/// Splits `DATABASE_URL` into the backend and what its driver expects.
pub fn parse_url(url: &str) -> Result<(Backend, String), String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path == ":memory:" {
        return Err("DATABASE_URL: SQLite needs a file path (e.g. sqlite://hookrelay.db); :memory: is not shared between connections".into());
    }
    if path.contains("://") {
        return Err(format!(
            "DATABASE_URL: unsupported scheme in '{url}' (use sqlite:// or postgres://)"
        ));
    }
    Ok((Backend::Sqlite, path.to_string()))
}
