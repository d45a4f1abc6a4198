//! Receivers with real latency, where a gateway's concurrency decides its
//! rate: one endpoint answering in 50 ms; ten at 20 ms, one of them hanging;
//! one at 50 ms that answers 503 beyond 16 open requests. Each runs at the
//! gateway's defaults (adaptive limits) and at fixed limits, in the same
//! run, on a fresh SQLite gateway each.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::gateway::Gateway;
use crate::runs::{event, Bench};
use crate::stats::row;

/// One way of configuring the webhooks.
struct Variant {
    label: &'static str,
    /// Fields added to every webhook.
    fields: Value,
}

fn variants(fixed: &[usize]) -> Vec<Variant> {
    let mut out = vec![Variant {
        label: "defaults",
        fields: json!({}),
    }];
    for n in fixed {
        out.push(Variant {
            label: Box::leak(format!("fixed {n}").into_boxed_str()),
            fields: json!({"concurrency": "fixed", "max_in_flight": n}),
        });
    }
    out
}

/// One scenario: receiver paths, events, and answers to wait for.
struct Scenario {
    name: &'static str,
    paths: Vec<String>,
    events: usize,
    /// 2xx answers that end the run.
    healthy: usize,
    extra: Value,
}

pub async fn all(b: &Bench) -> Value {
    let n = if b.args.smoke { 40 } else { 2_000 };
    let scenarios = [
        (
            Scenario {
                name: "one endpoint at 50 ms",
                paths: vec!["/lat/50/one".into()],
                events: n,
                healthy: n,
                extra: json!({}),
            },
            vec![4, 256],
        ),
        (
            Scenario {
                name: "ten endpoints at 20 ms, one hanging",
                paths: (0..9)
                    .map(|i| format!("/lat/20/ten{i}"))
                    .chain(["/hang/ten9".to_string()])
                    .collect(),
                events: n / 2,
                healthy: n / 2 * 9,
                extra: json!({}),
            },
            vec![4, 32],
        ),
        (
            Scenario {
                name: "one endpoint, capacity 16 (503 beyond)",
                paths: vec!["/cap/16/50/cap".into()],
                events: n,
                healthy: n,
                extra: json!({"retry_schedule": vec!["1s"; 20]}),
            },
            vec![16, 256],
        ),
    ];
    let mut out = Vec::new();
    for (s, fixed) in scenarios {
        for v in variants(&fixed) {
            out.push(run(b, &s, &v).await);
        }
    }
    Value::Array(out)
}

async fn run(b: &Bench, s: &Scenario, v: &Variant) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("latency.db").display());
    let env = vec![
        ("HOOKRELAY_WORKERS", b.args.concurrency.to_string()),
        ("HOOKRELAY_MAX_BODY_BYTES", (64 * 1024 * 1024).to_string()),
    ];
    let g = Gateway::spawn(&url, &env).await;
    for (i, path) in s.paths.iter().enumerate() {
        let mut hook = json!({"name": format!("lat-{i}"), "url": format!("{}{path}", b.rx_url),
            "event_types": ["*"], "format": "json"});
        let fields = v.fields.as_object().unwrap().iter();
        let extra = s.extra.as_object().unwrap().iter();
        for (k, val) in fields.chain(extra) {
            hook[k] = val.clone();
        }
        g.post("/v1/webhooks", &hook).await;
    }
    b.tally.reset(false);
    let t0 = Instant::now();
    let mut i = 0;
    while i < s.events {
        let k = 500.min(s.events - i);
        let events: Vec<Value> = (i..i + k).map(|j| event(b, 5_000_000 + j)).collect();
        g.post("/v1/events/batch", &json!({ "events": events }))
            .await;
        i += k;
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while (b.tally.ok.load(Ordering::Relaxed) as usize) < s.healthy {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let ok = b.tally.ok.load(Ordering::Relaxed) as usize;
    let refused = b.tally.refused.load(Ordering::Relaxed);
    let max_open: Value = b
        .tally
        .max_open
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    g.stop();
    let rate = ok as f64 / secs;
    let hanging = s.paths.iter().find(|p| p.starts_with("/hang"));
    let note = match hanging {
        Some(p) => format!(
            "hanging endpoint held ≤ {} open",
            max_open
                .get(p.as_str())
                .and_then(Value::as_u64)
                .unwrap_or(0)
        ),
        None if refused > 0 => format!("{refused} answered 503"),
        None => String::new(),
    };
    let done = if ok >= s.healthy { "" } else { " (timed out)" };
    row(
        &format!("{}, {}: deliveries/s{done}", s.name, v.label),
        format!("{rate:.0}"),
        &note,
    );
    json!({"scenario": s.name, "variant": v.label, "delivered": ok, "seconds": secs,
        "deliveries_per_sec": rate, "answered_503": refused, "max_open": max_open})
}
