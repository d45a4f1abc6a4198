//! The measured runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::gateway::Gateway;
use crate::receiver::{self, Tally};
use crate::stats::{percentile_ms, row, Counter};
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
    let sqlite = gateway_runs(&b, &sqlite_url, 1, ceiling, true).await;
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

    let mut postgres = Value::Null;
    if let Some(admin) = &args.pg_url {
        let one_db = crate::backlog::PgDb::create(admin);
        let one = gateway_runs(&b, &one_db.url, 1, ceiling, false).await;
        let two_db = crate::backlog::PgDb::create(admin);
        let two = gateway_runs(&b, &two_db.url, 2, ceiling, false).await;
        let r1 = one["end_to_end"]["deliveries_per_sec"]
            .as_f64()
            .unwrap_or(0.0);
        let r2 = two["end_to_end"]["deliveries_per_sec"]
            .as_f64()
            .unwrap_or(0.0);
        row(
            "postgres: 2 processes ÷ 1 process",
            format!("{:.2}", r2 / r1),
            "target ≥ 1.6",
        );
        postgres = json!({"one_process": one, "two_processes": two, "scaling": r2 / r1});
    }

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

/// End to end, single publish, steady rate, on one database with
/// `processes` gateways.
async fn gateway_runs(
    b: &Bench,
    url: &str,
    processes: usize,
    ceiling: f64,
    all_runs: bool,
) -> Value {
    let label = if url.starts_with("sqlite") {
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
    let g = &gateways[0];
    create_webhooks(b, g).await;
    let mut counter = Counter::open(url);
    let k = b.args.webhooks;
    let events = b.args.deliveries / k;
    let total = (events * k) as i64;

    // End to end.
    let upd0 = counter.delivery_updates();
    b.tally.reset(true);
    let cpu0: Duration = gateways.iter().map(Gateway::cpu).sum();
    let t0 = Instant::now();
    let all: Vec<&Gateway> = gateways.iter().collect();
    let sent = publish(b, &all, events, b.args.batch, 0).await;
    let done = wait_history(
        b,
        &mut counter,
        total,
        total as u64,
        Duration::from_millis(5),
    )
    .await;
    let secs = (done - t0).as_secs_f64();
    let cpu = gateways.iter().map(Gateway::cpu).sum::<Duration>() - cpu0;
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
    row(
        &format!("{label}: publish→receive p50/p95/p99 ms"),
        format!(
            "{:.1}/{:.1}/{:.1}",
            percentile_ms(&lat, 50.0),
            percentile_ms(&lat, 95.0),
            percentile_ms(&lat, 99.0)
        ),
        "",
    );
    let mut hot = Value::Null;
    if let Some((u0, h0)) = upd0 {
        // Backends report their statistics when idle, up to ~10 s late on
        // PostgreSQL 15: wait for a claim and a settlement per delivery.
        let mut last = None;
        for _ in 0..60 {
            last = counter.delivery_updates();
            if last.is_some_and(|(u1, _)| u1 - u0 >= 2 * total) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if let Some((u1, h1)) = last {
            let (u, h) = (u1 - u0, h1 - h0);
            let ratio = h as f64 / (u as f64).max(1.0);
            row(
                &format!("{label}: deliveries updates, HOT share"),
                format!("{u}, {:.1} %", ratio * 100.0),
                "",
            );
            hot = json!({"updates": u, "hot_updates": h, "hot_ratio": ratio});
        }
    }
    let mut out = json!({
        "deliveries_updates": hot,
        "end_to_end": {"deliveries": total, "seconds": secs, "deliveries_per_sec": rate, "ratio_to_ceiling": rate / ceiling,
            "gateway_cpu_us_per_delivery": cpu_us, "latency_ms": {"p50": percentile_ms(&lat, 50.0), "p95": percentile_ms(&lat, 95.0), "p99": percentile_ms(&lat, 99.0)}},
    });

    // Every delivery gets exactly one history row here (the receiver
    // always answers 200), so the expected count is known exactly.
    let mut expected = total;
    if all_runs {
        out["single_publish"] = crate::steady::single_publish(b, g).await;
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
    }
    out["steady"] = crate::steady::steady(b, &all, &mut counter, expected).await;
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
