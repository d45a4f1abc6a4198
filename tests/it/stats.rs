//! Issue 16, the overview: `GET /v1/stats` counts attempts, deliveries and
//! web hooks exactly, per organization.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::wait::until_ok;
use crate::common::{event, Backend, TestApp};
use crate::fairness::{call_in, new_org};

both_backends!(stats_are_exact_and_per_organization);

/// Publishes one event in `org`; its id.
pub async fn publish_in(app: &TestApp, org: &str, key: &str) -> String {
    let (s, v) = call_in(
        app,
        org,
        Method::POST,
        "/v1/events",
        Some(&event("profile.parsing.success", key)),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Waits until every delivery of `event` (in `org`) is settled: none
/// pending or delivering. Their states, by webhook id.
pub async fn settled(app: &TestApp, org: &str, event: &str) -> Vec<(String, String)> {
    until_ok(
        &format!("the deliveries of {event} to settle"),
        Duration::from_secs(20),
        async || {
            let (s, v) = call_in(app, org, Method::GET, &format!("/v1/events/{event}"), None).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let list: Vec<(String, String)> = v["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d["webhook_id"].as_str().unwrap().to_string(),
                        d["status"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            if list
                .iter()
                .all(|(_, st)| st != "pending" && st != "delivering")
            {
                Ok(list)
            } else {
                Err(v)
            }
        },
    )
    .await
}

/// Creates a webhook in `org`; its id.
pub async fn hook_in(app: &TestApp, org: &str, name: &str, url: String) -> String {
    let body =
        json!({"name": name, "url": url, "event_types": ["profile.*"], "retry_schedule": ["1h"]});
    let (s, v) = call_in(app, org, Method::POST, "/v1/webhooks", Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

pub async fn stats_of(app: &TestApp, org: &str) -> Value {
    let (s, v) = call_in(app, org, Method::GET, "/v1/stats", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn stats_are_exact_and_per_organization(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_status("/bad", 500);
    rx.set_status("/gone", 410);
    let (a, b, c) = (
        new_org(&app, "A").await,
        new_org(&app, "B").await,
        new_org(&app, "C").await,
    );
    let ok = hook_in(&app, &a, "ok", rx.url("/ok")).await;
    let bad = hook_in(&app, &a, "bad", rx.url("/bad")).await;
    let gone = hook_in(&app, &a, "gone", rx.url("/gone")).await;
    hook_in(&app, &b, "b", rx.url("/b")).await;

    // One event to the three: 200, 500 (retry in an hour), 410 (dead, and
    // the web hook disabled).
    let e1 = publish_in(&app, &a, "e1").await;
    let states = settled(&app, &a, &e1).await;
    assert_eq!(states.len(), 3, "{states:?}");
    // Two more reach only the two web hooks left.
    for k in ["e2", "e3"] {
        let e = publish_in(&app, &a, k).await;
        assert_eq!(settled(&app, &a, &e).await.len(), 2);
    }
    let eb = publish_in(&app, &b, "eb").await;
    settled(&app, &b, &eb).await;

    let s = stats_of(&app, &a).await;
    assert_eq!(s["organization_id"], a.as_str(), "{s}");
    // Attempts: 3 answered 200; 3 answered 500 and 1 answered 410.
    assert_eq!(s["last_24h"]["succeeded"], 3, "{s}");
    assert_eq!(s["last_24h"]["failed"], 4, "{s}");
    assert_eq!(s["last_24h"]["success_rate"], json!(0.4286), "{s}");
    let minutes = s["per_minute"].as_array().unwrap();
    assert!(!minutes.is_empty() && minutes.len() <= 2, "{s}");
    let sum = |k: &str| minutes.iter().map(|m| m[k].as_i64().unwrap()).sum::<i64>();
    assert_eq!((sum("succeeded"), sum("failed")), (3, 4), "{s}");
    assert_eq!(
        s["queue"],
        json!({"pending": 0, "delivering": 0, "failed": 3, "dead": 1, "succeeded": 3}),
        "{s}"
    );
    // The failed ones are due in an hour: nothing is due now.
    assert_eq!(s["oldest_pending_at"], Value::Null, "{s}");
    assert_eq!(s["webhooks"]["total"], 3, "{s}");
    assert_eq!(s["webhooks"]["active"], 1, "{s}");
    let ids = |k: &str| -> Vec<String> {
        s["webhooks"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("failing"), vec![bad.clone()], "{s}");
    assert_eq!(ids("disabled"), vec![gone.clone()], "{s}");
    assert_eq!(s["webhooks"]["failing"][0]["state"], "failing");
    assert_eq!(s["webhooks"]["failing"][0]["url"], rx.url("/bad"));
    let tables: Vec<&str> = s["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["events", "deliveries", "history"], "{s}");
    for t in s["tables"].as_array().unwrap() {
        assert!(t["oldest_at"].is_string(), "{s}");
        assert!(t["rows"].as_i64().unwrap() >= 0, "{s}");
    }
    assert_eq!(s["retention"]["days"], 30, "{s}");
    assert!(s["window"]["from"].is_string() && s["window"]["to"].is_string());
    assert!(ok.starts_with("wh_"));

    // B sees only its own.
    let s = stats_of(&app, &b).await;
    assert_eq!(
        s["last_24h"],
        json!({"succeeded": 1, "failed": 0, "success_rate": 1.0}),
        "{s}"
    );
    assert_eq!(
        s["queue"],
        json!({"pending": 0, "delivering": 0, "failed": 0, "dead": 0, "succeeded": 1}),
        "{s}"
    );
    assert_eq!(s["webhooks"]["total"], 1, "{s}");
    // C has nothing yet.
    let s = stats_of(&app, &c).await;
    assert_eq!(s["per_minute"], json!([]), "{s}");
    assert_eq!(s["last_24h"]["success_rate"], Value::Null, "{s}");
    for t in s["tables"].as_array().unwrap() {
        assert_eq!(t["oldest_at"], Value::Null, "{s}");
    }
    rx.stop().await;
    app.stop().await;
}
