//! Publish throughput (single-event POSTs) and the steady-rate run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::gateway::Gateway;
use crate::runs::{event, latencies, publish, wait_history, Bench};
use crate::stats::{percentile_ms, row, Counter};

/// `publishers` clients each POSTing one event at a time.
pub async fn single_publish(b: &Bench, g: &Gateway) -> Value {
    let n = b.args.single_events;
    let url = format!("{}/v1/events", g.base);
    let started = Instant::now();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let req = g
                .http
                .post(&url)
                .bearer_auth(crate::gateway::TOKEN)
                .json(&event(b, 1_000_000 + i));
            async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        })
        .buffer_unordered(b.args.publishers)
        .for_each(|s| async move { assert_eq!(s, 202, "single publish failed") })
        .await;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    row(
        &format!(
            "single-event POST /v1/events/s ({} publishers)",
            b.args.publishers
        ),
        format!("{rate:.0}"),
        "target ≥ 3000",
    );
    json!({"events": n, "publishers": b.args.publishers, "events_per_sec": rate})
}

/// Publishes at a fixed rate (a small batch every 10 ms) and watches
/// latency and queue depth.
pub async fn steady(b: &Bench, gateways: &[&Gateway], counter: &mut Counter, before: i64) -> Value {
    let per_tick = (b.args.steady_rate / 100).max(1);
    let ticks = b.args.steady_secs * 100;
    b.tally.reset(true);
    let mut sent = HashMap::new();
    let mut depth = Vec::new();
    let mut next = tokio::time::Instant::now();
    for t in 0..ticks {
        next += Duration::from_millis(10);
        let from = 2_000_000 + t as usize * per_tick;
        sent.extend(publish(b, gateways, per_tick, per_tick, from).await);
        if t % 100 == 99 {
            depth.push(counter.queued());
        }
        tokio::time::sleep_until(next).await;
    }
    let target = before + (sent.len() * b.args.webhooks) as i64;
    wait_history(
        b,
        counter,
        target,
        (target - before) as u64,
        Duration::from_millis(20),
    )
    .await;
    let lat = latencies(b, &sent);
    let (p50, p99) = (percentile_ms(&lat, 50.0), percentile_ms(&lat, 99.0));
    let rate = (per_tick * 100) as f64;
    row(
        &format!("steady {rate:.0} events/s: p50/p99 ms"),
        format!("{p50:.1}/{p99:.1}"),
        "target p99 < 25",
    );
    row(
        "steady: queue depth each second (max)",
        format!("{}", depth.iter().max().copied().unwrap_or(0)),
        "flat = small",
    );
    json!({"events_per_sec": rate, "seconds": b.args.steady_secs, "latency_ms": {"p50": p50, "p99": p99}, "queue_depth_per_sec": depth})
}
