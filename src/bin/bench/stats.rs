//! Small helpers: percentiles, queue counters, the report table.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
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

    /// PostgreSQL only: `deliveries` row updates so far and how many of them
    /// were HOT (heap-only: no index touched), from `pg_stat_user_tables`.
    /// The statistics reach that view up to a second late, so callers wait
    /// before reading. `None` on SQLite.
    pub fn delivery_updates(&mut self) -> Option<(i64, i64)> {
        let Counter::Pg(c) = self else { return None };
        let _ = diesel::sql_query("SELECT pg_stat_clear_snapshot()").execute(c);
        let upd = self
            .count("SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'deliveries'");
        let hot = self.count(
            "SELECT n_tup_hot_upd AS n FROM pg_stat_user_tables WHERE relname = 'deliveries'",
        );
        Some((upd, hot))
    }

    /// Deliveries still queued (pending, failed or delivering).
    pub fn queued(&mut self) -> i64 {
        // One count per partial index (waiting, leased): neither reads the table.
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
