//! Hardening (issue 13, storage part): history keeps a capped copy of
//! request bodies, re-sends rebuild the body from the event, batched
//! requests stay under a byte bound, and `?wait=true` runs are bounded and
//! survive their client going away.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::{self, Receiver};
use crate::common::{Backend, TestApp};

both_backends!(
    large_event_is_sent_whole_kept_capped_and_resent_whole,
    batched_requests_stay_under_the_byte_bound,
    batch_publish_over_the_body_limit_is_refused_whole,
);

/// A `profile.parsing.success` event whose JSON text is about `bytes` long.
fn big_event(key: &str, bytes: usize) -> Value {
    json!({
        "type": "profile.parsing.success",
        "origin": "api",
        "message": format!("big event {key}"),
        "profile": {"key": key, "blob": "x".repeat(bytes)},
    })
}

/// Waits until the event's history holds at least `n` rows; returns them.
async fn history_of(app: &TestApp, event_id: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = app.all_history(&format!("event_id={event_id}")).await;
        if rows.len() >= n {
            return rows;
        }
        assert!(Instant::now() < deadline, "history of {event_id}: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn large_event_is_sent_whole_kept_capped_and_resent_whole(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let w = app
        .create_webhook(json!({"name": "big", "url": rx.url("/big"), "event_types": ["profile.*"], "format": "json"}))
        .await;
    let secret = w["secret"].as_str().unwrap().to_string();
    let id = app.publish(big_event("k1", 200 * 1024)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Delivered whole and signed.
    let first = rx.wait_for("/big", 1).await.remove(0);
    assert!(first.body.len() > 200 * 1024);
    assert!(receiver::verify(&first, &secret));
    let sent: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(sent["profile"]["blob"].as_str().unwrap().len(), 200 * 1024);

    // History keeps 64 KiB, says so, and gives the full size.
    let row = history_of(&app, &id, 1).await.remove(0);
    assert_eq!(row["request"]["body"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(row["request"]["body_truncated"], true);
    assert_eq!(row["request"]["body_size"], first.body.len());
    assert!(first
        .body
        .starts_with(row["request"]["body"].as_str().unwrap()));

    // A re-send rebuilds the whole body from the event, signed anew.
    let (status, again) = app
        .post(
            &format!("/v1/history/{}/resend", row["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["trigger"], "resend");
    assert_eq!(again["request"]["body_truncated"], true);
    assert_eq!(again["request"]["body_size"], first.body.len());
    let got = rx.wait_for("/big", 2).await;
    assert_eq!(got[1].body, first.body);
    assert!(receiver::verify(&got[1], &secret));

    // Small bodies are kept whole.
    let small = app.publish(big_event("k2", 10)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let row = history_of(&app, &small, 1).await.remove(0);
    assert_eq!(row["request"]["body_truncated"], false);
    let body = row["request"]["body"].as_str().unwrap();
    assert_eq!(row["request"]["body_size"], body.len());
    rx.stop().await;
    app.stop().await;
}

const LIMIT: usize = 100_000;

async fn batched_requests_stay_under_the_byte_bound(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.max_body_bytes = LIMIT).await else {
        return;
    };
    let rx = Receiver::start().await;
    // One request at a time, slow: the lane fills up and later events wait
    // in the queue, to be claimed together.
    rx.set_delay("/batch", Duration::from_millis(1500));
    let w = app
        .create_webhook(json!({"name": "batch", "url": rx.url("/batch"), "event_types": ["profile.*"], "format": "json", "max_events_per_request": 10, "max_in_flight": 1}))
        .await;
    let secret = w["secret"].as_str().unwrap().to_string();
    app.publish(big_event("a", 10)).await;
    rx.wait_for("/batch", 1).await;
    app.publish(big_event("b", 10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let p = app.publish(big_event(&format!("c{i}"), 40_000)).await;
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        app.wait_event_deliveries(id, |d| d[0]["status"] == "succeeded")
            .await;
    }
    let got = rx.received_on("/batch");
    let mut events = 0;
    for r in &got {
        assert!(receiver::verify(r, &secret));
        assert!(
            r.body.len() <= LIMIT + 1024,
            "a batched request carried {} bytes",
            r.body.len()
        );
        let v: Value = serde_json::from_str(&r.body).unwrap();
        events += v["events"].as_array().unwrap().len();
    }
    assert_eq!(events, 6);
    rx.stop().await;
    app.stop().await;
}

async fn batch_publish_over_the_body_limit_is_refused_whole(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.max_body_bytes = LIMIT).await else {
        return;
    };
    let events: Vec<Value> = (0..3)
        .map(|i| big_event(&format!("e{i}"), 40_000))
        .collect();
    let (status, err) = app
        .post("/v1/events/batch", &json!({"events": events}))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert_eq!(err["error"]["code"], "payload_too_large");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains(&LIMIT.to_string()), "{message}");
    assert!(message.contains("HOOKRELAY_MAX_BODY_BYTES"), "{message}");
    assert_eq!(app.count_rows("events"), 0);
    // Under the limit, the same events go through.
    let (status, _) = app
        .post("/v1/events/batch", &json!({"events": &events[..2]}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.stop().await;
}
