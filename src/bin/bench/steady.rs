//! Publish throughput (single-event POSTs) and the steady-rate run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::gateway::Gateway;
use crate::harness::{event, latencies, publish, wait_history, Bench};
use crate::stats::{percentile_ms, row, Counter};

/// `publishers` clients each POSTing one event at a time, to the gateways
/// in turn.
pub async fn single_publish(b: &Bench, gateways: &[&Gateway]) -> Value {
    let n = b.args.single_events;
    let started = Instant::now();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let g = gateways[i % gateways.len()];
            let req = g
                .http
                .post(format!("{}/v1/events", g.base))
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

/// Longest wait, after the last publish of the steady run, for its last
/// delivery for the run to count as kept up (with history rows batched, a
/// gateway that keeps up is done within a few hundred ms).
const KEPT_UP_TAIL: Duration = Duration::from_secs(1);

/// Publishes at a fixed rate (a small batch every 10 ms, to the gateways in
/// turn) and watches latency and queue depth. It kept up when the bench
/// held the rate (publishing took at most 10 % longer than planned) and the
/// last delivery was in within `KEPT_UP_TAIL` of the last publish.
pub async fn steady(b: &Bench, gateways: &[&Gateway], counter: &mut Counter, before: i64) -> Value {
    let per_tick = (b.args.steady_rate / 100).max(1);
    let ticks = b.args.steady_secs * 100;
    b.tally.reset(true);
    let mut sent = HashMap::new();
    let mut depth = Vec::new();
    let started = Instant::now();
    let mut next = tokio::time::Instant::now();
    for t in 0..ticks {
        next += Duration::from_millis(10);
        let from = 2_000_000 + t as usize * per_tick;
        let g = gateways[t as usize % gateways.len()];
        sent.extend(publish(b, &[g], per_tick, per_tick, from).await);
        if t % 100 == 99 {
            depth.push(counter.queued());
        }
        tokio::time::sleep_until(next).await;
    }
    let publish_secs = started.elapsed().as_secs_f64();
    let last_publish = Instant::now();
    let target = before + (sent.len() * b.args.webhooks) as i64;
    let done = wait_history(
        b,
        counter,
        target,
        (target - before) as u64,
        Duration::from_millis(20),
    )
    .await;
    let tail = done - last_publish;
    let lat = latencies(b, &sent);
    let (p50, p99, max) = (
        percentile_ms(&lat, 50.0),
        percentile_ms(&lat, 99.0),
        percentile_ms(&lat, 100.0),
    );
    let rate = (per_tick * 100) as f64;
    let achieved = sent.len() as f64 / publish_secs;
    let kept_up = publish_secs <= b.args.steady_secs as f64 * 1.1 && tail <= KEPT_UP_TAIL;
    row(
        &format!("steady {rate:.0} events/s: p50/p99/max ms"),
        format!("{p50:.1}/{p99:.1}/{max:.1}"),
        "target p99 < 25",
    );
    row(
        "steady: kept up (events/s sent, s last publish→delivery)",
        format!(
            "{} ({achieved:.0}, {:.2})",
            if kept_up { "yes" } else { "no" },
            tail.as_secs_f64()
        ),
        "",
    );
    row(
        "steady: queue depth each second (max)",
        format!("{}", depth.iter().max().copied().unwrap_or(0)),
        "flat = small",
    );
    json!({"events_per_sec": rate, "seconds": b.args.steady_secs, "latency_ms": {"p50": p50, "p99": p99, "max": max},
        "queue_depth_per_sec": depth, "kept_up": kept_up, "sent_events_per_sec": achieved, "publish_seconds": publish_secs,
        "seconds_after_last_publish": tail.as_secs_f64()})
}
