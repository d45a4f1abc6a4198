//! History: filters, sorts, pagination, the test send.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::{self, Receiver};
use crate::common::wait::until_ok;
use crate::common::{event, Backend, TestApp};

both_backends!(filter_sort_paginate, test_send_uses_the_example_payload);

async fn filter_sort_paginate(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_status("/bad", 422);
    let good = app
        .create_webhook(
            json!({"name": "good", "url": rx.url("/good"), "event_types": ["profile.*"]}),
        )
        .await;
    let bad = app.create_webhook(json!({"name": "bad", "url": rx.url("/bad"), "event_types": ["profile.parsing.success"]})).await;
    let mut last = String::new();
    for i in 0..6 {
        let t = if i % 2 == 0 {
            "profile.parsing.success"
        } else {
            "profile.storing.success"
        };
        last = app.publish(event(t, &format!("h{i}"))).await["id"]
            .as_str()
            .unwrap()
            .to_string();
    }
    rx.wait_for("/good", 6).await;
    rx.wait_for("/bad", 3).await;
    // Wait until all nine attempts are recorded.
    let all = until_ok(
        "nine history rows",
        std::time::Duration::from_secs(20),
        async || {
            let all = app.all_history("").await;
            if all.len() >= 9 {
                Ok(all)
            } else {
                Err(all)
            }
        },
    )
    .await;
    assert_eq!(all.len(), 9);
    // Default order: newest first by sent_at.
    let times: Vec<&str> = all.iter().map(|h| h["sent_at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);

    let ids = |v: &[Value]| {
        v.iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // Keyset pages (sent_at) and offset pages (other sorts) both cover everything once.
    for q in [
        "limit=2",
        "limit=2&order=asc",
        "limit=4&sort=status",
        "limit=2&sort=duration&order=asc",
        "limit=3&sort=url",
    ] {
        let mut got = ids(&app.all_history(q).await);
        assert_eq!(got.len(), 9, "{q}");
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 9, "{q}: duplicates across pages");
    }
    assert_eq!(app.all_history("status=2xx").await.len(), 6);
    assert_eq!(app.all_history("status=4xx").await.len(), 3);
    assert_eq!(app.all_history("status=5xx").await.len(), 0);
    assert_eq!(app.all_history("status=error").await.len(), 0);
    assert_eq!(
        app.all_history(&format!("webhook_id={}", bad["id"].as_str().unwrap()))
            .await
            .len(),
        3
    );
    assert_eq!(
        app.all_history(&format!(
            "webhook_id={}&status=2xx",
            good["id"].as_str().unwrap()
        ))
        .await
        .len(),
        6
    );
    assert_eq!(app.all_history(&format!("event_id={last}")).await.len(), 1);
    assert_eq!(app.all_history("q=profile.storing").await.len(), 3);
    assert_eq!(app.all_history("q=%2Fbad").await.len(), 3);
    let by_status = app.all_history("sort=status&order=desc").await;
    assert_eq!(by_status[0]["response"]["status"], 422);
    assert_eq!(app.all_history("since=2999-01-01T00:00:00Z").await.len(), 0);

    let (status, one) = app
        .get(&format!("/v1/history/{}", all[0]["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, all[0]);
    assert!(one["response"]["headers"].is_object());
    assert_eq!(one["response"]["body"], "ok");
    assert_eq!(one["response"]["body_truncated"], false);
    let (status, _) = app.get("/v1/history/att_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Response bodies are kept up to 64 KiB and flagged when cut.
    rx.set_body_size("/big", 200 * 1024);
    let big = app
        .create_webhook(json!({"name": "big", "url": rx.url("/big"), "event_types": ["job.*"]}))
        .await;
    let (status, row) = app
        .post(
            &format!("/v1/webhooks/{}/test", big["id"].as_str().unwrap()),
            &json!({"event_type": "job.parsing.success"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(row["response"]["body"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(row["response"]["body_truncated"], true);
    assert_eq!(row["response"]["status"], 200);
    rx.stop().await;
    app.stop().await;
}

async fn test_send_uses_the_example_payload(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let w = app.create_webhook(json!({"name": "check", "url": rx.url("/check"), "event_types": ["job.*"], "format": "json"})).await;
    let secret = w["secret"].as_str().unwrap();
    let id = w["id"].as_str().unwrap();
    let (status, row) = app
        .post(
            &format!("/v1/webhooks/{id}/test"),
            &json!({"event_type": "job.parsing.success"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{row}");
    assert_eq!(row["trigger"], "test");
    assert_eq!(row["response"]["status"], 200);
    let got = rx.wait_for("/check", 1).await;
    assert!(receiver::verify(&got[0], secret));
    let (_, t) = app.get("/v1/event-types/job.parsing.success").await;
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body, t["example"]);
    // The "Check" is visible in history and can be re-sent.
    let (status, again) = app
        .post(
            &format!("/v1/history/{}/resend", row["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["request"]["body"], row["request"]["body"]);
    assert_eq!(app.all_history(&format!("webhook_id={id}")).await.len(), 2);
    let (status, err) = app
        .post(
            &format!("/v1/webhooks/{id}/test"),
            &json!({"event_type": "nope.nothing"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "unknown_event_type");
    let (status, _) = app
        .post(
            "/v1/webhooks/wh_missing/test",
            &json!({"event_type": "job.parsing.success"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    rx.stop().await;
    app.stop().await;
}
