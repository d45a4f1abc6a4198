//! The PostgreSQL side of the bench: a throwaway database per run
//! (`PgDb`), and what the queue tables did during a run.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use hookrelay::db::citus_database;
use serde_json::{json, Map, Value};

use crate::stats::{row, Counter, TableActivity};

/// A PostgreSQL database for one run, dropped afterwards. When the admin
/// database has the `citus` extension (a Citus coordinator), the database
/// is created on the whole cluster (`db::citus_database`) and hookrelay
/// distributes its tables there.
pub struct PgDb {
    admin: String,
    pub name: String,
    pub url: String,
    citus: bool,
}

impl PgDb {
    /// A new database on `admin`'s server (`citus_shards`: see `--citus-shards`).
    pub fn create(admin: &str, citus_shards: u32) -> PgDb {
        let name = format!(
            "hookrelay_bench_{}",
            std::process::id() as u64 * 1000 + rand::random::<u16>() as u64
        );
        let citus = citus_database::has_citus(admin);
        let url = if citus {
            citus_database::create(admin, &name, citus_shards)
                .expect("a database on the Citus cluster")
        } else {
            let mut c = PgConnection::establish(admin).expect("BENCH_PG_URL must reach PostgreSQL");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .unwrap();
            citus_database::url_of(admin, &name, None)
        };
        PgDb {
            admin: admin.to_string(),
            url,
            name,
            citus,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if self.citus {
            return citus_database::drop(&self.admin, &self.name);
        }
        if let Ok(mut c) = PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut c);
        }
    }
}

/// What the queue tables did during an end-to-end run of `total`
/// deliveries (`before`: their counters when it started). Backends report
/// their statistics when idle, up to ~10 s late on PostgreSQL 15 (each
/// backend on its own), so this waits until a table shows a row inserted
/// per delivery and the updates and deletes reach two per delivery (a
/// claim and a settlement on `deliveries` today), at most 12 s.
pub async fn table_activity(
    counter: &mut Counter,
    before: &[TableActivity],
    total: i64,
    label: &str,
) -> Value {
    let mut deltas = Vec::new();
    for _ in 0..60 {
        let now = counter.table_activity().unwrap_or_default();
        deltas = now
            .iter()
            .map(|t| {
                let b0 = before.iter().find(|b| b.relname == t.relname);
                let d = |f: fn(&TableActivity) -> i64| f(t) - b0.map_or(0, f);
                TableActivity {
                    relname: t.relname.clone(),
                    n_tup_ins: d(|t| t.n_tup_ins),
                    n_tup_upd: d(|t| t.n_tup_upd),
                    n_tup_hot_upd: d(|t| t.n_tup_hot_upd),
                    n_tup_del: d(|t| t.n_tup_del),
                }
            })
            .collect();
        let changes: i64 = deltas.iter().map(|t| t.n_tup_upd + t.n_tup_del).sum();
        let inserted = deltas.iter().map(|t| t.n_tup_ins).max().unwrap_or(0);
        if changes >= 2 * total && inserted >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut out = Map::new();
    for t in deltas {
        let hot_ratio = t.n_tup_hot_upd as f64 / (t.n_tup_upd as f64).max(1.0);
        row(
            &format!("{label}: {} ins/upd (HOT)/del", t.relname),
            format!(
                "{}/{} ({:.1} %)/{}",
                t.n_tup_ins,
                t.n_tup_upd,
                hot_ratio * 100.0,
                t.n_tup_del
            ),
            "",
        );
        out.insert(
            t.relname,
            json!({"inserted": t.n_tup_ins, "updated": t.n_tup_upd, "hot_updated": t.n_tup_hot_upd,
                "hot_ratio": hot_ratio, "deleted": t.n_tup_del}),
        );
    }
    Value::Object(out)
}
