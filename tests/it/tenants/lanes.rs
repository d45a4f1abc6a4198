//! Item 4, lanes: Check (test sends) and re-sends go through the web
//! hook's lane, its concurrency and `rate_limit_per_sec`, as deliveries
//! do, instead of around it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{Backend, TestApp};

both_backends!(checks_and_resends_keep_to_the_lane);

async fn checks_and_resends_keep_to_the_lane(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    // One request at a time, each answered after 300 ms.
    rx.set_delay("/one", Duration::from_millis(300));
    let one = app
        .create_webhook(
            json!({"name": "one", "url": rx.url("/one"), "event_types": ["profile.*"],
            "concurrency": "fixed", "max_in_flight": 1}),
        )
        .await;
    let test_path = format!("/v1/webhooks/{}/test", one["id"].as_str().unwrap());
    let check = json!({"event_type": "profile.parsing.success"});
    let checks = (0..3).map(|_| app.post(&test_path, &check));
    let answers: Vec<(StatusCode, Value)> = futures_util::future::join_all(checks).await;
    for (s, v) in &answers {
        assert_eq!(*s, StatusCode::CREATED, "{v}");
    }
    assert_eq!(rx.received_on("/one").len(), 3);
    assert_eq!(rx.max_open("/one"), 1, "the checks kept to max_in_flight");
    // Re-sends too.
    let row = answers[0].1["id"].as_str().unwrap().to_string();
    let resend_path = format!("/v1/history/{row}/resend");
    let empty = json!({});
    let resends = (0..3).map(|_| app.post(&resend_path, &empty));
    for (s, v) in futures_util::future::join_all(resends).await {
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    assert_eq!(rx.received_on("/one").len(), 6);
    assert_eq!(rx.max_open("/one"), 1, "the re-sends kept to max_in_flight");

    // One request per second: three checks take at least two seconds.
    let slow = app
        .create_webhook(
            json!({"name": "slow", "url": rx.url("/slow"), "event_types": ["profile.*"],
            "rate_limit_per_sec": 1}),
        )
        .await;
    let test_path = format!("/v1/webhooks/{}/test", slow["id"].as_str().unwrap());
    let started = Instant::now();
    for _ in 0..3 {
        let (s, v) = app.post(&test_path, &check).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "three checks at 1/s took {:?}",
        started.elapsed()
    );
    rx.stop().await;
    app.stop().await;
}
