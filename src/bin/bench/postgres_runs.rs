//! The PostgreSQL runs: for each process count of `--instances`, that many
//! gateway processes on one fresh database.

use serde_json::{json, Map, Value};

use crate::gateway_runs::gateway_runs;
use crate::harness::Bench;
use crate::postgres::PgDb;
use crate::stats::row;

/// Runs each process count of `--instances` on a fresh database; the
/// results by count, and each count's throughput relative to one process.
pub async fn runs(b: &Bench, admin: &str, ceiling: f64) -> Value {
    let mut by_count = Map::new();
    for &n in &b.args.instances {
        let db = PgDb::create(admin, b.args.citus_shards);
        let out = gateway_runs(b, &db.url, n, ceiling, Some(&db.name)).await;
        by_count.insert(n.to_string(), out);
    }
    let rate = |v: &Value| v["end_to_end"]["deliveries_per_sec"].as_f64();
    let one = by_count.get("1").and_then(rate);
    let mut scaling = Map::new();
    for (n, v) in &by_count {
        if let (Some(r1), Some(rn)) = (one, rate(v)) {
            if n != "1" {
                row(
                    &format!("postgres: {n} processes ÷ 1 process"),
                    format!("{:.2}", rn / r1),
                    "target ≥ 1.6 for 2",
                );
            }
            scaling.insert(n.clone(), json!(rn / r1));
        }
    }
    print_summary(&by_count, one);
    json!({"instances": by_count, "scaling_to_one_process": scaling})
}

/// One line per process count: throughput, steady latency, and the CPU
/// split of the end-to-end run.
fn print_summary(by_count: &Map<String, Value>, one: Option<f64>) {
    println!("\n  PostgreSQL by gateway processes (CPU-s/s over the end-to-end run)");
    println!(
        "  {:>5} {:>12} {:>5} {:>11} {:>22} {:>7}   {:<16} {:>8} {:>6} {:>6} {:>9}",
        "procs",
        "deliveries/s",
        "÷ 1",
        "single ev/s",
        "steady p50/p99/max ms",
        "kept up",
        "gateways",
        "postgres",
        "bench",
        "other",
        "machine"
    );
    for (n, v) in by_count {
        let e2e = &v["end_to_end"];
        let rate = e2e["deliveries_per_sec"].as_f64().unwrap_or(f64::NAN);
        // "-" without a one-process run to compare with.
        let ratio = one.map_or("-".to_string(), |r1| format!("{:.2}", rate / r1));
        let single = v["single_publish"]["events_per_sec"]
            .as_f64()
            .unwrap_or(f64::NAN);
        let lat = &v["steady"]["latency_ms"];
        let ms = |k: &str| lat[k].as_f64().unwrap_or(f64::NAN);
        let kept_up = match v["steady"]["kept_up"].as_bool() {
            Some(true) => "yes",
            Some(false) => "no",
            None => "?",
        };
        let cpu = &e2e["cpu"];
        let gateways = cpu["gateways"]
            .as_array()
            .map(|g| {
                g.iter()
                    .map(|x| format!("{:.2}", x.as_f64().unwrap_or(f64::NAN)))
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .unwrap_or_default();
        let f = |k: &str| cpu[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "  {n:>5} {rate:>12.0} {ratio:>5} {single:>11.0} {:>22} {kept_up:>7}   {gateways:<16} {:>8.2} {:>6.2} {:>6.2} {:>9}",
            format!("{:.1}/{:.1}/{:.1}", ms("p50"), ms("p99"), ms("max")),
            f("postgres_all"),
            f("bench"),
            f("other_processes"),
            format!("{:.2}/{}", f("machine_busy"), cpu["machine_cores"]),
        );
    }
    println!();
}
