//! Small helpers: percentiles, queue counters, the report table.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::{PgConnection, SqliteConnection};

/// p-th percentile (0..=100) of sorted nanoseconds, in milliseconds.
pub fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1e6
}

/// Reads progress straight from the gateway's database.
pub enum Counter {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// The tables whose row activity PostgreSQL runs report, those that exist:
/// the deliveries, and the narrow queue of issue #19 once there is one.
pub const QUEUE_TABLES: &[&str] = &["deliveries", "delivery_queue"];

/// Rows inserted, updated (of which HOT: heap-only, no index touched) and
/// deleted in one table.
#[derive(QueryableByName, Clone, Debug)]
pub struct TableActivity {
    #[diesel(sql_type = Text)]
    pub relname: String,
    #[diesel(sql_type = BigInt)]
    pub n_tup_ins: i64,
    #[diesel(sql_type = BigInt)]
    pub n_tup_upd: i64,
    #[diesel(sql_type = BigInt)]
    pub n_tup_hot_upd: i64,
    #[diesel(sql_type = BigInt)]
    pub n_tup_del: i64,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl Counter {
    pub fn open(url: &str) -> Counter {
        match url.strip_prefix("sqlite://") {
            Some(path) => {
                let mut c = SqliteConnection::establish(path).expect("open sqlite");
                diesel::sql_query("PRAGMA busy_timeout = 10000")
                    .execute(&mut c)
                    .unwrap();
                Counter::Sqlite(c)
            }
            None => Counter::Pg(PgConnection::establish(url).expect("open postgres")),
        }
    }

    fn count(&mut self, sql: &str) -> i64 {
        let q = diesel::sql_query(sql);
        match self {
            Counter::Sqlite(c) => q.get_result::<N>(c),
            Counter::Pg(c) => q.get_result::<N>(c),
        }
        .map(|r| r.n)
        .unwrap_or(-1)
    }

    /// History rows written.
    pub fn history(&mut self) -> i64 {
        self.count("SELECT COUNT(*) AS n FROM history")
    }

    /// PostgreSQL only: row activity so far of each of `QUEUE_TABLES` that
    /// exists, from `pg_stat_user_tables`. The statistics reach that view
    /// late (backends report them when idle), so callers wait before
    /// reading. `None` on SQLite.
    pub fn table_activity(&mut self) -> Option<Vec<TableActivity>> {
        let Counter::Pg(c) = self else { return None };
        let _ = diesel::sql_query("SELECT pg_stat_clear_snapshot()").execute(c);
        let names = QUEUE_TABLES
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = diesel::sql_query(format!(
            "SELECT relname::text AS relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del \
             FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname IN ({names})"
        ))
        .load::<TableActivity>(c)
        .unwrap_or_default();
        // In the order of QUEUE_TABLES.
        Some(
            QUEUE_TABLES
                .iter()
                .filter_map(|t| rows.iter().find(|r| r.relname == *t).cloned())
                .collect(),
        )
    }

    /// Deliveries still queued (pending, failed or delivering): the rows of
    /// the narrow queue table, small whatever the history (a count by status
    /// of `deliveries` would read every record: no index covers it). A
    /// gateway from before the queue table counts through its partial
    /// indexes instead.
    pub fn queued(&mut self) -> i64 {
        let n = self.count("SELECT COUNT(*) AS n FROM delivery_queue");
        if n >= 0 {
            return n;
        }
        self.count(
            "SELECT (SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'failed')) \
             + (SELECT COUNT(*) FROM deliveries WHERE status = 'delivering') AS n",
        )
    }
}

/// A row of the printed table.
pub fn row(name: &str, value: String, target: &str) {
    println!("  {name:<48} {value:>16}   {target}");
}
