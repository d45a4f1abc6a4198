//! The backlog drain: deliveries queued by an API-only gateway, then drained.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::gateway::Gateway;
use crate::harness::{create_webhooks, gateway_env, publish, wait_history, Bench};
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
