//! End to end, single publish and steady rate on one database, with one or
//! more gateway processes, each run with its CPU split.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cpu::CpuProbe;
use crate::gateway::Gateway;
use crate::harness::{create_webhooks, gateway_env, latencies, publish, wait_history, Bench};
use crate::stats::{percentile_ms, row, Counter};

/// `database`: the PostgreSQL database's name (its server's CPU is watched
/// and its queue tables reported), `None` on SQLite.
pub async fn gateway_runs(
    b: &Bench,
    url: &str,
    processes: usize,
    ceiling: f64,
    database: Option<&str>,
) -> Value {
    let label = if database.is_none() {
        "sqlite".to_string()
    } else {
        format!("postgres×{processes}")
    };
    let mut gateways = Vec::new();
    for p in 0..processes {
        gateways.push(
            Gateway::spawn(
                url,
                &gateway_env(b, &[("HOOKRELAY_INSTANCE_ID", format!("bench-{p}"))]),
            )
            .await,
        );
    }
    let all: Vec<&Gateway> = gateways.iter().collect();
    let pids: Vec<u32> = gateways.iter().map(Gateway::pid).collect();
    let probe = || CpuProbe::start(&pids, database);
    create_webhooks(b, &gateways[0]).await;
    let mut counter = Counter::open(url);
    let k = b.args.webhooks;
    let total = ((b.args.deliveries / k) * k) as i64;

    let tables0 = counter.table_activity();
    let cpu = probe();
    let mut out = end_to_end(b, &all, &mut counter, total, ceiling, &label).await;
    let split = cpu.finish();
    split.print(&format!("{label} end-to-end"));
    out["end_to_end"]["cpu"] = split.json();
    if let Some(before) = tables0 {
        out["tables"] = crate::postgres::table_activity(&mut counter, &before, total, &label).await;
    }

    // Every delivery gets exactly one history row here (the receiver
    // always answers 200), so the expected count is known exactly.
    let mut expected = total;
    let cpu = probe();
    out["single_publish"] = crate::steady::single_publish(b, &all).await;
    expected += (b.args.single_events * k) as i64;
    // The tally has counted since the end-to-end run, on a fresh database.
    wait_history(
        b,
        &mut counter,
        expected,
        expected as u64,
        Duration::from_millis(20),
    )
    .await;
    let split = cpu.finish();
    split.print(&format!("{label} single publish + its deliveries"));
    out["single_publish"]["cpu"] = split.json();

    let cpu = probe();
    out["steady"] = crate::steady::steady(b, &all, &mut counter, expected).await;
    let split = cpu.finish();
    split.print(&format!("{label} steady"));
    out["steady"]["cpu"] = split.json();

    let rss = gateways
        .iter()
        .map(Gateway::peak_rss_mib)
        .fold(0.0, f64::max);
    row(
        &format!("{label}: gateway peak RSS MiB"),
        format!("{rss:.1}"),
        "target < 150",
    );
    out["peak_rss_mib"] = json!(rss);
    for g in gateways {
        g.stop();
    }
    out
}

/// `total` deliveries published in batches, spread over the gateways in
/// turn, until every one has its history row.
async fn end_to_end(
    b: &Bench,
    gateways: &[&Gateway],
    counter: &mut Counter,
    total: i64,
    ceiling: f64,
    label: &str,
) -> Value {
    b.tally.reset(true);
    let cpu0: Duration = gateways.iter().map(|g| g.cpu()).sum();
    let t0 = Instant::now();
    let events = total as usize / b.args.webhooks;
    let sent = publish(b, gateways, events, b.args.batch, 0).await;
    let done = wait_history(b, counter, total, total as u64, Duration::from_millis(5)).await;
    let secs = (done - t0).as_secs_f64();
    let cpu = gateways.iter().map(|g| g.cpu()).sum::<Duration>() - cpu0;
    let lat = latencies(b, &sent);
    let rate = total as f64 / secs;
    let cpu_us = cpu.as_secs_f64() * 1e6 / total as f64;
    row(
        &format!("{label}: end-to-end deliveries/s"),
        format!("{rate:.0}"),
        "target ≥ 22000",
    );
    row(
        &format!("{label}: ratio to ceiling"),
        format!("{:.2}", rate / ceiling),
        "target ≥ 0.6",
    );
    row(
        &format!("{label}: gateway CPU µs per delivery"),
        format!("{cpu_us:.1}"),
        "target ≤ 60",
    );
    let (p50, p95, p99) = (
        percentile_ms(&lat, 50.0),
        percentile_ms(&lat, 95.0),
        percentile_ms(&lat, 99.0),
    );
    row(
        &format!("{label}: publish→receive p50/p95/p99 ms"),
        format!("{p50:.1}/{p95:.1}/{p99:.1}"),
        "",
    );
    json!({"end_to_end": {"deliveries": total, "seconds": secs, "deliveries_per_sec": rate, "ratio_to_ceiling": rate / ceiling,
        "gateway_cpu_us_per_delivery": cpu_us, "latency_ms": {"p50": p50, "p95": p95, "p99": p99}}})
}
