//! `GET /metrics`: counters, the latency histogram, queue gauges, and the
//! optional metrics token.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::wait::until_ok;
use crate::common::{event, Backend, TestApp};

both_backends!(metrics_count_traffic_and_queue);

/// Samples of a metrics page: `name{labels}` → value.
async fn scrape(app: &TestApp, token: Option<&str>) -> (StatusCode, HashMap<String, f64>) {
    let mut req = app.http.get(format!("{}/metrics", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect();
    (status, samples)
}

async fn metrics_count_traffic_and_queue(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_status("/bad", 500);
    app.create_webhook(
        json!({"name": "ok", "url": rx.url("/ok"), "event_types": ["*"], "format": "json"}),
    )
    .await;
    app.create_webhook(json!({"name": "bad", "url": rx.url("/bad"), "event_types": ["*"], "format": "json", "retry_schedule": ["1h"]}))
        .await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let e = app
            .publish(event("profile.parsing.success", &format!("k{i}")))
            .await;
        ids.push(e["id"].as_str().unwrap().to_string());
    }
    app.publish(event("job.parsing.success", "j")).await;
    for id in &ids {
        app.wait_event_deliveries(id, |d| {
            d.len() == 2
                && d.iter()
                    .all(|x| x["status"] == "succeeded" || x["status"] == "failed")
        })
        .await;
    }
    rx.wait_for("/ok", 4).await;
    // Let the recorder write the last attempts.
    let m = until_ok(
        "the metrics to settle",
        Duration::from_secs(20),
        async || {
            let (status, m) = scrape(&app, None).await;
            assert_eq!(status, StatusCode::OK);
            let get = |k: &str| m.get(k).copied().unwrap_or(0.0);
            if get(r#"hookrelay_queue_depth{state="retrying"}"#) == 4.0
                && get(r#"hookrelay_delivery_attempts_total{outcome="succeeded",trigger="auto"}"#)
                    == 4.0
            {
                Ok(m)
            } else {
                Err(m)
            }
        },
    )
    .await;
    let get = |k: &str| {
        m.get(k)
            .copied()
            .unwrap_or_else(|| panic!("no sample {k} in {m:?}"))
    };
    assert_eq!(
        get(r#"hookrelay_events_accepted_total{event_type="profile.parsing.success"}"#),
        3.0
    );
    assert_eq!(
        get(r#"hookrelay_events_accepted_total{event_type="job.parsing.success"}"#),
        1.0
    );
    assert_eq!(
        get(r#"hookrelay_delivery_attempts_total{outcome="failed",trigger="auto"}"#),
        4.0
    );
    assert_eq!(
        get("hookrelay_delivery_attempt_duration_seconds_count"),
        8.0
    );
    assert_eq!(
        get(r#"hookrelay_delivery_attempt_duration_seconds_bucket{le="+Inf"}"#),
        8.0
    );
    assert_eq!(get(r#"hookrelay_queue_depth{state="pending"}"#), 0.0);
    // Retries are not due for an hour: nothing is late.
    assert_eq!(get("hookrelay_oldest_due_delivery_age_seconds"), 0.0);
    assert_eq!(get("hookrelay_workers"), 32.0);
    assert_eq!(get("hookrelay_workers_busy"), 0.0);
    assert!(get("hookrelay_worker_busy_seconds_total") > 0.0);
    rx.stop().await;
    app.stop().await;
}

/// An API-only node delivers nothing: its queue ages, and the metrics say
/// so. With a metrics token, scrapes without it get 401.
#[actix_web::test]
async fn metrics_show_a_stuck_queue_and_honour_the_token() {
    let app = TestApp::start_with(Backend::Sqlite, |c| {
        c.role = hookrelay::config::Role::Api;
        c.metrics_token = Some("scrape-secret".into());
    })
    .await
    .unwrap();
    app.create_webhook(json!({"name": "h", "url": "https://example.com/h", "event_types": ["*"]}))
        .await;
    app.publish(event("profile.parsing.success", "k")).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, _) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scrape(&app, Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, m) = scrape(&app, Some("scrape-secret")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m[r#"hookrelay_queue_depth{state="pending"}"#], 1.0);
    assert!(
        m["hookrelay_oldest_due_delivery_age_seconds"] >= 1.0,
        "{m:?}"
    );
    app.stop().await;
}
