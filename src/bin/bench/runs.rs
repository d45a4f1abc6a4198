//! The measured runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::gateway::Gateway;
use crate::receiver::{self, Tally};
use crate::stats::{row, Counter};
use crate::Args;

/// Everything a run needs.
pub struct Bench {
    pub args: Args,
    pub rx_url: String,
    pub tally: Arc<Tally>,
    epoch: Instant,
}

pub async fn all(args: Args) -> Value {
    let epoch = Instant::now();
    let (rx_url, tally) = receiver::start(epoch);
    let b = Bench {
        args: args.clone(),
        rx_url,
        tally,
        epoch,
    };
    let per_hook = match args.in_flight {
        Some(n) => format!("fixed {n}"),
        None => "adaptive (defaults)".to_string(),
    };
    let effective = args
        .concurrency
        .min(args.webhooks * args.in_flight.unwrap_or(usize::MAX / args.webhooks.max(1)))
        .max(1);
    println!(
        "hookrelay bench: {} deliveries, {} webhooks, {} format, ~{} B events, {} workers × {per_hook} per webhook, {} cores",
        args.deliveries,
        args.webhooks,
        args.format,
        args.body_size,
        args.concurrency,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    if args.latency_only {
        let latency = crate::latency::all(&b).await;
        return json!({"args": format!("{args:?}"), "latency": latency});
    }
    let ceiling = ceiling(&b, effective).await;
    row(
        "ceiling: plain reqwest POSTs/s",
        format!("{ceiling:.0}"),
        "",
    );

    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite = crate::gateway_runs::gateway_runs(&b, &sqlite_url, 1, ceiling, None).await;
    let latency = if args.skip_latency {
        Value::Null
    } else {
        crate::latency::all(&b).await
    };

    let backlog = if args.backlog > 0 {
        let url = format!("sqlite://{}", dir.path().join("backlog.db").display());
        let empty_rate = sqlite["end_to_end"]["deliveries_per_sec"]
            .as_f64()
            .unwrap_or(0.0);
        Some(crate::backlog::backlog(&b, &url, empty_rate).await)
    } else {
        None
    };

    let postgres = match &args.pg_url {
        Some(admin) => crate::postgres::runs(&b, admin, ceiling).await,
        None => Value::Null,
    };

    json!({
        "machine": {"cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS},
        "args": format!("{args:?}"),
        "ceiling_requests_per_sec": ceiling,
        "sqlite": sqlite,
        "latency": latency,
        "backlog": backlog,
        "postgres": postgres,
    })
}

/// The same request the gateway makes, without the gateway.
async fn ceiling(b: &Bench, concurrency: usize) -> f64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let body = "x".repeat(b.args.body_size);
    let n = b.args.deliveries.max(2_000);
    b.tally.reset(false);
    let started = Instant::now();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let req = client
                .post(format!("{}/ceiling", b.rx_url))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Webhook-Id", format!("evt_{i}"))
                .body(body.clone());
            async move {
                req.send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .buffer_unordered(concurrency)
        .for_each(|_| async {})
        .await;
    n as f64 / started.elapsed().as_secs_f64()
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
