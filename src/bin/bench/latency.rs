//! Receivers with real latency, where a gateway's concurrency decides its
//! rate: one endpoint answering in 50 ms; ten at 20 ms, one of them hanging;
//! one at 50 ms that answers 503 beyond 16 open requests. Each runs at the
//! gateway's defaults (adaptive limits) and at fixed limits, in the same
//! run, on a fresh SQLite gateway each.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::gateway::Gateway;
use crate::harness::{event, Bench};
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

/// Longest a variant is watched: a slow one (fixed 4 at 50 ms does 80/s)
/// is reported by its rate over this time.
fn watch(b: &Bench) -> Duration {
    Duration::from_secs(if b.args.smoke { 5 } else { 20 })
}

pub async fn all(b: &Bench) -> Value {
    let n = if b.args.smoke { 40 } else { 2_000 };
    let scenarios = [
        (
            Scenario {
                name: "one endpoint at 50 ms",
                paths: vec!["/lat/50/one".into()],
                events: 5 * n,
                healthy: 5 * n,
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
        for (i, v) in variants(&fixed).iter().enumerate() {
            // Paths of their own per variant: a hanging request of the
            // previous variant is still open at the receiver.
            let s = Scenario {
                paths: s.paths.iter().map(|p| format!("{p}-{i}")).collect(),
                extra: s.extra.clone(),
                ..s
            };
            out.push(run(b, &s, v).await);
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
    let mut first = String::new();
    for (i, path) in s.paths.iter().enumerate() {
        let mut hook = json!({"name": format!("lat-{i}"), "url": format!("{}{path}", b.rx_url),
            "event_types": ["*"], "format": "json"});
        let fields = v.fields.as_object().unwrap().iter();
        let extra = s.extra.as_object().unwrap().iter();
        for (k, val) in fields.chain(extra) {
            hook[k] = val.clone();
        }
        let created = g.post("/v1/webhooks", &hook).await;
        if i == 0 {
            first = created["id"].as_str().unwrap_or_default().to_string();
        }
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
    let deadline = t0 + watch(b);
    // The first webhook's lane, sampled: how fast its limit moves.
    let mut limits: Vec<(f64, u64)> = Vec::new();
    let mut last_sample = Instant::now() - Duration::from_secs(1);
    while (b.tally.ok.load(Ordering::Relaxed) as usize) < s.healthy {
        if Instant::now() > deadline {
            break;
        }
        if last_sample.elapsed() >= Duration::from_millis(50) {
            last_sample = Instant::now();
            let lane = g.get(&format!("/v1/webhooks/{first}")).await["lane"].clone();
            if let Some(l) = lane["limit"].as_u64() {
                limits.push((t0.elapsed().as_secs_f64(), l));
            }
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
    let done = if ok >= s.healthy {
        String::new()
    } else {
        format!(
            " ({ok} of {} in {:.0} s)",
            s.healthy,
            watch(b).as_secs_f64()
        )
    };
    row(
        &format!("{}, {}: deliveries/s{done}", s.name, v.label),
        format!("{rate:.0}"),
        &note,
    );
    let top = limits.iter().map(|(_, l)| *l).max().unwrap_or(0);
    json!({"scenario": s.name, "variant": v.label, "delivered": ok, "seconds": secs,
        "deliveries_per_sec": rate, "answered_503": refused, "max_open": max_open,
        "highest_limit": top, "limit_samples": limits})
}
