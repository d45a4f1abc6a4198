//! What every measured run shares: the bench's state (`Bench`: flags, the
//! loopback receiver and its tally), the gateways' environment and web
//! hooks, the events published, and the waits for their deliveries. The
//! scenarios (`gateway_runs`, `steady`, `latency`, `backlog`,
//! `postgres_runs`) use it; it uses none of them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::args::Args;
use crate::gateway::Gateway;
use crate::receiver::{self, Tally};
use crate::stats::Counter;

/// Everything a run needs.
pub struct Bench {
    pub args: Args,
    pub rx_url: String,
    pub tally: Arc<Tally>,
    epoch: Instant,
}

impl Bench {
    /// Starts the loopback receiver every run delivers to.
    pub fn start(args: Args) -> Bench {
        let epoch = Instant::now();
        let (rx_url, tally) = receiver::start(epoch);
        Bench {
            args,
            rx_url,
            tally,
            epoch,
        }
    }
}

pub fn gateway_env(b: &Bench, extra: &[(&str, String)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("HOOKRELAY_WORKERS", b.args.concurrency.to_string()),
        ("HOOKRELAY_MAX_BODY_BYTES", (64 * 1024 * 1024).to_string()),
    ];
    for (k, v) in extra {
        let k: &'static str = Box::leak(k.to_string().into_boxed_str());
        env.push((k, v.clone()));
    }
    env
}

pub async fn create_webhooks(b: &Bench, g: &Gateway) {
    for i in 0..b.args.webhooks {
        let mut hook = json!({"name": format!("bench-{i}"), "url": format!("{}/hook/{i}", b.rx_url), "event_types": ["*"], "format": b.args.format});
        if let Some(n) = b.args.in_flight {
            hook["concurrency"] = json!("fixed");
            hook["max_in_flight"] = json!(n);
        }
        if let Some(f) = &b.args.filter {
            hook["filter"] = json!(f);
        }
        g.post("/v1/webhooks", &hook).await;
    }
}

pub fn event(b: &Bench, i: usize) -> Value {
    let base = json!({"type": "profile.parsing.success", "origin": "api", "message": "profile parsing succeed",
        "profile": {"key": format!("{i:040x}"), "source": {"key": "d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}, "pad": ""}});
    let pad = b.args.body_size.saturating_sub(base.to_string().len());
    let mut e = base;
    e["profile"]["pad"] = Value::String("p".repeat(pad));
    e
}

/// Publishes `n` events in batches, spread over `gateways` in turn; returns
/// event id → publish time (ns since epoch).
pub async fn publish(
    b: &Bench,
    gateways: &[&Gateway],
    n: usize,
    batch: usize,
    from: usize,
) -> HashMap<String, u64> {
    let mut sent = HashMap::with_capacity(n);
    let mut i = 0;
    while i < n {
        let k = batch.min(n - i);
        let events: Vec<Value> = (i..i + k).map(|j| event(b, from + j)).collect();
        let at = b.epoch.elapsed().as_nanos() as u64;
        let g = gateways[(i / batch.max(1)) % gateways.len()];
        let r = g
            .post("/v1/events/batch", &json!({ "events": events }))
            .await;
        for e in r["data"].as_array().unwrap() {
            sent.insert(e["id"].as_str().unwrap().to_string(), at);
        }
        i += k;
    }
    sent
}

/// Waits until `target` history rows exist; returns when that was seen.
/// Waits until the receiver has counted `received` requests (since its
/// tally was last reset), then until `target` history rows exist. Counting
/// history rows reads the whole table, so it only starts once the requests
/// are in: polled all along, it loaded the very database being measured
/// (on PostgreSQL a backend was busy counting most of the time).
pub async fn wait_history(
    b: &Bench,
    counter: &mut Counter,
    target: i64,
    received: u64,
    poll: Duration,
) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(600);
    while b.tally.count.load(std::sync::atomic::Ordering::Relaxed) < received {
        assert!(
            Instant::now() < deadline,
            "deliveries never arrived ({} of {received})",
            b.tally.count.load(std::sync::atomic::Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    loop {
        if counter.history() >= target {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "deliveries never finished ({} of {target})",
            counter.history()
        );
        tokio::time::sleep(poll).await;
    }
}

pub fn latencies(b: &Bench, sent: &HashMap<String, u64>) -> Vec<u64> {
    let arrivals = b.tally.arrivals.lock().unwrap();
    let mut lat: Vec<u64> = arrivals
        .iter()
        .filter_map(|(id, at)| sent.get(id).map(|p| at.saturating_sub(*p)))
        .collect();
    lat.sort_unstable();
    lat
}
