//! Database access. One diesel codebase serves SQLite (embedded default) and
//! PostgreSQL (scale-out) through `DbConn`, a diesel `MultiConnection`.
//!
//! All queries live in this module's files; handlers and the worker call them
//! through [`Db::read`] / [`Db::write`], which run the closure on the blocking
//! thread pool so async tasks never wait on the database.

pub mod backup;
mod capabilities;
mod checkpoint;
pub mod citus;
pub mod citus_database;
pub mod deliveries;
pub mod event_types;
pub mod events;
pub mod history;
pub mod integrations;
pub mod organizations;
#[cfg(test)]
mod organizations_migration_tests;
pub mod partitions;
mod pool;
pub mod portal_sessions;
mod prepared;
pub mod quotas;
pub(crate) use prepared::pg_statement;
#[cfg(test)]
mod queue_migration_tests;
pub mod retention;
pub mod runs;
pub mod schema;
#[cfg(test)]
mod schema_parity_tests;
pub mod stats;
pub mod time;
pub mod tokens;
pub mod turns;
pub mod users;
pub mod webhooks;
mod write_health;

use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

pub use capabilities::sqlite_file;
pub use pool::Db;

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    // SQLite last: establishing tries variants in order.
    Sqlite(SqliteConnection),
}

/// Multi-row `INSERT`. diesel's `MultiBackend` cannot build batch inserts,
/// so this runs the same statement on the concrete connection. Row types
/// inserted this way in bulk set `treat_none_as_default_value = false`
/// (their `None`s are written as NULL, not DEFAULT): SQLite then takes all
/// rows in one statement, where diesel would otherwise insert them one by one.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            $crate::db::DbConn::Pg(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}
pub(crate) use insert_rows;

/// Many rows (a slice of rows) in statements of fixed shapes: 64 rows,
/// then 8, then 1. diesel prepares a statement of any other row count anew
/// each time, and SQLite spends longer parsing a big `INSERT` than running
/// it; each fixed shape is prepared once per connection and reused.
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr) => {
        'insert: {
            let mut rest = $rows;
            let mut written = 0usize;
            while !rest.is_empty() {
                let done = if rest.len() >= 64 {
                    let (rows, tail) = rest.split_first_chunk::<64>().expect("64 rows left");
                    rest = tail;
                    $crate::db::insert_rows!($conn, $table, rows)
                } else if rest.len() >= 8 {
                    let (rows, tail) = rest.split_first_chunk::<8>().expect("8 rows left");
                    rest = tail;
                    $crate::db::insert_rows!($conn, $table, rows)
                } else {
                    let row = &rest[0];
                    rest = &rest[1..];
                    $crate::db::insert_rows!($conn, $table, row)
                };
                match done {
                    Ok(n) => written += n,
                    Err(e) => break 'insert Err(e),
                }
            }
            Ok(written)
        }
    };
}
pub(crate) use insert_many;

/// Loads the one row of a lookup by a unique key. `first()` would add a
/// bound `LIMIT ?`, and SQLite re-plans a statement whenever a bound LIMIT is
/// bound again: every call would pay a full prepare despite diesel's cache.
pub trait LoadOne: RunQueryDsl<DbConn> + Sized {
    fn load_one<'q, U>(self, conn: &mut DbConn) -> QueryResult<Option<U>>
    where
        Self: diesel::query_dsl::LoadQuery<'q, DbConn, U>,
    {
        Ok(self.load::<U>(conn)?.pop())
    }
}

impl<T: RunQueryDsl<DbConn>> LoadOne for T {}

/// A fresh, time-ordered id with a resource prefix (`evt_…`).
pub fn new_id(prefix: &str) -> String {
    new_id_at(prefix, time::now())
}

/// Id whose leading part is `at` in microseconds (hex), then 48 random
/// bits: sorting by id sorts by time, which keyset pagination relies on.
pub fn new_id_at(prefix: &str, at: chrono::NaiveDateTime) -> String {
    let micros = at.and_utc().timestamp_micros().max(0) as u64;
    let random = rand::random::<u64>() & 0xffff_ffff_ffff;
    // Written by hand: `format!` cost more than the rest of an attempt's
    // history row (one id per attempt, per delivery, per event).
    let mut id = String::with_capacity(prefix.len() + 27);
    id.push_str(prefix);
    id.push('_');
    push_hex(&mut id, micros, 14);
    push_hex(&mut id, random, 12);
    id
}

/// The low `digits` hex digits of `n`, zero-padded, lower case.
fn push_hex(out: &mut String, n: u64, digits: u32) {
    for i in (0..digits).rev() {
        let nibble = ((n >> (i * 4)) & 0xf) as u32;
        out.push(char::from_digit(nibble, 16).expect("a nibble is a hex digit"));
    }
}

/// The smallest id [`new_id_at`] can produce for `at`: turns a time bound
/// into an id bound, so time ranges use the primary key.
pub fn id_floor(prefix: &str, at: chrono::NaiveDateTime) -> String {
    let micros = at.and_utc().timestamp_micros().max(0) as u64;
    format!("{prefix}_{micros:014x}{:012x}", 0)
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

diesel::define_sql_function! {
    /// SQL `lower(text)`, for case-insensitive search on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Runs `SELECT 1`, for readiness checks.
pub fn ping(conn: &mut DbConn) -> QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::{id_floor, new_id_at, push_hex};

    #[test]
    fn hex_is_zero_padded_lower_case() {
        let mut s = String::new();
        push_hex(&mut s, 0xabc, 5);
        push_hex(&mut s, u64::MAX, 2);
        assert_eq!(s, "00abcff");
    }

    #[test]
    fn ids_sort_by_time_from_their_floor() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 123_456_000)
            .unwrap()
            .naive_utc();
        let id = new_id_at("att", at);
        assert_eq!(id.len(), "att_".len() + 26, "{id}");
        assert!(id.starts_with("att_066517289a6240"), "{id}");
        assert!(id[4..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(id_floor("att", at) <= id);
        let later = at + chrono::Duration::microseconds(1);
        assert!(id < id_floor("att", later));
    }
}
