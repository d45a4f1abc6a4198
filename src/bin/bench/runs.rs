//! The measured runs, in order: the HTTP ceiling, then each scenario.

use std::time::Instant;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::args::Args;
use crate::harness::Bench;
use crate::stats::row;

pub async fn all(args: Args) -> Value {
    let b = Bench::start(args.clone());
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
    let (ceiling, client_us) = ceiling(&b, effective).await;
    row(
        "ceiling: plain reqwest POSTs/s",
        format!("{ceiling:.0}"),
        "",
    );
    row(
        "ceiling: client CPU µs per request",
        format!("{client_us:.1}"),
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
        Some(admin) => crate::postgres_runs::runs(&b, admin, ceiling).await,
        None => Value::Null,
    };

    json!({
        "machine": {"cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS},
        "args": format!("{args:?}"),
        "ceiling_requests_per_sec": ceiling,
        "ceiling_client_cpu_us_per_request": client_us,
        "sqlite": sqlite,
        "latency": latency,
        "backlog": backlog,
        "postgres": postgres,
    })
}

/// The same request the gateway makes, without the gateway: requests/s, and
/// the CPU the client alone spent per request (user + system, the kernel's
/// loopback work included; the receiver's threads left out): the part of
/// the gateway's CPU per delivery that no gateway built on this HTTP stack
/// can go below.
async fn ceiling(b: &Bench, concurrency: usize) -> (f64, f64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let body = "x".repeat(b.args.body_size);
    let n = b.args.deliveries.max(2_000);
    b.tally.reset(false);
    let ticks = crate::cpu::client_ticks();
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
    let secs = started.elapsed().as_secs_f64();
    let cpu_secs =
        crate::cpu::client_ticks().saturating_sub(ticks) as f64 / crate::cpu::CLOCK_TICKS;
    (n as f64 / secs, cpu_secs * 1e6 / n as f64)
}
