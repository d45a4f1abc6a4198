//! Publishing: idempotency, batches, listing and reading events.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::common::{event, Backend, TestApp, TOKEN};

both_backends!(
    idempotency_key_returns_first_event,
    batch_publish_is_all_or_nothing,
    list_filter_paginate,
    concurrent_publishes_with_and_without_keys
);

async fn idempotency_key_returns_first_event(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.create_webhook(
        json!({"name": "w", "url": "http://127.0.0.1:9/x", "event_types": ["*"], "active": true}),
    )
    .await;
    let send = |body: serde_json::Value, key: &str| {
        app.http
            .post(format!("{}/v1/events", app.base))
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let e = event("profile.parsing.success", "idem");
    let (s1, first) = crate::common::read(send(e.clone(), "key-1").await.unwrap()).await;
    assert_eq!(s1, StatusCode::ACCEPTED);
    let (s2, second) = crate::common::read(send(e.clone(), "key-1").await.unwrap()).await;
    assert_eq!(s2, StatusCode::OK);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["deliveries"], 1);
    let (s3, conflict) = crate::common::read(
        send(event("profile.parsing.success", "other"), "key-1")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s3, StatusCode::CONFLICT);
    assert_eq!(conflict["error"]["code"], "idempotency_key_reused");
    assert_eq!(app.count_rows("events"), 1);
    assert_eq!(app.count_rows("deliveries"), 1);
    let (s4, _) = crate::common::read(send(e, "key-2").await.unwrap()).await;
    assert_eq!(s4, StatusCode::ACCEPTED);
    assert_eq!(app.count_rows("events"), 2);
    app.stop().await;
}

/// Concurrent publishes are committed in groups; in a group, keyless ones
/// are written together and keyed ones one by one, so a replay or a
/// conflict answers for itself and leaves the others written.
async fn concurrent_publishes_with_and_without_keys(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.create_webhook(
        json!({"name": "w", "url": "http://127.0.0.1:9/x", "event_types": ["*"], "active": true}),
    )
    .await;
    let send = |body: serde_json::Value, key: Option<String>| {
        let mut req = app
            .http
            .post(format!("{}/v1/events", app.base))
            .bearer_auth(TOKEN)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        async move { crate::common::read(req.send().await.unwrap()).await }
    };
    let mut calls = Vec::new();
    for i in 0..40 {
        calls.push(send(
            event("profile.parsing.success", &format!("plain-{i}")),
            None,
        ));
    }
    for _ in 0..10 {
        let same = event("profile.parsing.success", "replayed");
        calls.push(send(same, Some("same".into())));
    }
    for i in 0..10 {
        let different = event("profile.parsing.success", &format!("clash-{i}"));
        calls.push(send(different, Some("clash".into())));
    }
    let answers = futures_util::future::join_all(calls).await;
    let (plain, keyed) = answers.split_at(40);
    let mut ids = std::collections::HashSet::new();
    for (status, body) in plain {
        assert_eq!(*status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["deliveries"], 1);
        assert!(ids.insert(body["id"].as_str().unwrap().to_string()));
    }
    let (same, clash) = keyed.split_at(10);
    let firsts = same
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(
        firsts, 1,
        "one publish of the key is first, the rest replays"
    );
    assert!(same
        .iter()
        .all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::ACCEPTED));
    let one_id: std::collections::HashSet<_> = same.iter().map(|(_, b)| b["id"].clone()).collect();
    assert_eq!(one_id.len(), 1, "every replay names the first event");
    let won = clash
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(won, 1, "one payload takes the key");
    for (status, body) in clash.iter().filter(|(s, _)| *s != StatusCode::ACCEPTED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "idempotency_key_reused");
    }
    assert_eq!(app.count_rows("events"), 42);
    assert_eq!(app.count_rows("deliveries"), 42);
    app.stop().await;
}

async fn batch_publish_is_all_or_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.create_webhook(
        json!({"name": "w", "url": "http://127.0.0.1:9/x", "event_types": ["profile.*"]}),
    )
    .await;
    let mut events: Vec<_> = (0..1000)
        .map(|i| {
            event(
                if i % 2 == 0 {
                    "profile.parsing.success"
                } else {
                    "job.parsing.success"
                },
                &format!("k{i}"),
            )
        })
        .collect();
    let (status, r) = app
        .post("/v1/events/batch", &json!({"events": events}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r["data"].as_array().unwrap().len(), 1000);
    assert_eq!(r["deliveries"], 500);
    // Rows go in by 64, 8 and 1: 1,000 events and 500 deliveries use each.
    assert_eq!(app.count_rows("events"), 1000);
    assert_eq!(app.count_rows("deliveries"), 500);

    events.push(event("profile.parsing.success", "one-too-many"));
    let (status, err) = app
        .post("/v1/events/batch", &json!({"events": events}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "events");

    let bad = json!({"events": [event("profile.parsing.success", "ok"), {"type": "profile.parsing.success", "origin": "api"}]});
    let (status, err) = app.post("/v1/events/batch", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "missing_entity");
    assert_eq!(err["error"]["field"], "events[1].profile");
    assert_eq!(
        app.count_rows("events"),
        1000,
        "a rejected batch writes nothing"
    );
    app.stop().await;
}

async fn list_filter_paginate(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.publish(event("job.scoring.success", &format!("j{i}")))
                .await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        app.publish(event("profile.scoring.success", &format!("p{i}")))
            .await;
    }
    // Newest first, type filter, cursor pages.
    let mut seen = Vec::new();
    let mut path = "/v1/events?type=job.scoring.success&limit=2".to_string();
    loop {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for e in page["data"].as_array().unwrap() {
            assert_eq!(e["type"], "job.scoring.success");
            assert_eq!(e["payload"]["type"], "job.scoring.success");
            seen.push(e["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/events?type=job.scoring.success&limit=2&cursor={c}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    let (_, future) = app.get("/v1/events?since=2999-01-01T00:00:00Z").await;
    assert_eq!(future["data"].as_array().unwrap().len(), 0);
    let (_, past) = app
        .get("/v1/events?until=2999-01-01T00:00:00Z&limit=500")
        .await;
    assert_eq!(past["data"].as_array().unwrap().len(), 10);

    let (status, one) = app.get(&format!("/v1/events/{}", ids[0])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["deliveries"].as_array().unwrap().len(), 0);
    let (status, _) = app.get("/v1/events/evt_missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
