//! The backlog drain, and the throwaway PostgreSQL databases of the runs.

use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};

use crate::gateway::Gateway;
use crate::runs::{create_webhooks, gateway_env, publish, wait_history, Bench};
use crate::stats::{row, Counter};

/// Queues `backlog` deliveries through an API-only gateway, then measures
/// how fast a full gateway drains them.
pub async fn backlog(b: &Bench, url: &str, empty_rate: f64) -> Value {
    let n = b.args.backlog;
    let api = Gateway::spawn(url, &gateway_env(b, &[("HOOKRELAY_ROLE", "api".into())])).await;
    create_webhooks(b, &api).await;
    let events = n / b.args.webhooks;
    let filled = Instant::now();
    publish(b, &[&api], events, 1000, 3_000_000).await;
    let fill_secs = filled.elapsed().as_secs_f64();
    api.stop();
    b.tally.reset(false);
    let mut counter = Counter::open(url);
    let total = (events * b.args.webhooks) as i64;
    let g = Gateway::spawn(url, &gateway_env(b, &[])).await;
    let t0 = Instant::now();
    wait_history(
        b,
        &mut counter,
        total,
        total as u64,
        Duration::from_millis(200),
    )
    .await;
    let secs = t0.elapsed().as_secs_f64();
    let rate = total as f64 / secs;
    let rss = g.peak_rss_mib();
    g.stop();
    row(
        &format!("backlog: {total} queued, drained/s"),
        format!("{rate:.0}"),
        "",
    );
    row(
        "backlog: drain ÷ empty-queue rate",
        format!("{:.2}", rate / empty_rate),
        "target ≥ 0.9",
    );
    json!({"deliveries": total, "enqueue_seconds": fill_secs, "drain_seconds": secs, "drain_per_sec": rate,
        "ratio_to_empty_queue": rate / empty_rate, "peak_rss_mib": rss})
}

/// A PostgreSQL database for one run, dropped afterwards.
pub struct PgDb {
    admin: String,
    pub name: String,
    pub url: String,
}

impl PgDb {
    pub fn create(admin: &str) -> PgDb {
        let name = format!(
            "hookrelay_bench_{}",
            std::process::id() as u64 * 1000 + rand::random::<u16>() as u64
        );
        let mut c = PgConnection::establish(admin).expect("BENCH_PG_URL must reach PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
        PgDb {
            admin: admin.to_string(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut c);
        }
    }
}
