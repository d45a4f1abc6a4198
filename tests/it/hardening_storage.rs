//! Hardening (issue 13, storage part): history keeps a capped copy of
//! request bodies, re-sends rebuild the body from the event, batched
//! requests stay under a byte bound, and `?wait=true` runs are bounded and
//! survive their client going away.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::{self, Receiver};
use crate::common::wait::until_ok;
use crate::common::{Backend, TestApp};

both_backends!(
    large_event_is_sent_whole_kept_capped_and_resent_whole,
    batched_requests_stay_under_the_byte_bound,
    batch_publish_over_the_body_limit_is_refused_whole,
    wait_run_outlives_a_client_that_goes_away,
    wait_runs_beyond_the_inline_bound_are_queued,
    wait_run_longer_than_the_wait_bound_answers_202,
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
    until_ok(
        &format!("{n} history rows of {event_id}"),
        Duration::from_secs(20),
        async || {
            let rows = app.all_history(&format!("event_id={event_id}")).await;
            if rows.len() >= n {
                Ok(rows)
            } else {
                Err(rows)
            }
        },
    )
    .await
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

    // History keeps 64 KiB, says so, and gives the full size (the detail
    // view: a list carries only an excerpt, issue 25).
    let listed = history_of(&app, &id, 1).await.remove(0);
    assert_eq!(listed["request"]["body_excerpt"], true);
    let (_, row) = app
        .get(&format!("/v1/history/{}", listed["id"].as_str().unwrap()))
        .await;
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

/// An integration whose `execute` posts to the receiver's `/slow`, and a
/// user to run it for; returns the run path and the body to post.
async fn slow_integration(app: &TestApp, rx: &Receiver) -> (String, Value) {
    let manifest =
        json!({"execute": [{"url": rx.url("/slow"), "method": "POST", "status_code": [200]}]});
    let (status, i) = app
        .post(
            "/v1/integrations",
            &json!({"name": "slow", "kind": "webhook", "manifest": manifest}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{i}");
    let (status, u) = app
        .post(
            "/v1/users",
            &json!({"email": "slow@example.com", "first_name": "Ada", "last_name": "Lovelace"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    (
        format!("/v1/integrations/{}/runs", i["id"].as_str().unwrap()),
        json!({"user_id": u["id"]}),
    )
}

/// The integration's runs, newest first.
async fn runs_of(app: &TestApp) -> Vec<Value> {
    let (status, v) = app.get("/v1/runs").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["data"].as_array().cloned().unwrap_or_default()
}

/// Waits until every run has ended as `succeeded`; returns them.
async fn all_succeed(app: &TestApp, n: usize) -> Vec<Value> {
    until_ok(
        &format!("{n} runs, all succeeded"),
        Duration::from_secs(20),
        async || {
            let runs = runs_of(app).await;
            if runs.len() == n && runs.iter().all(|r| r["status"] == "succeeded") {
                Ok(runs)
            } else {
                Err(runs)
            }
        },
    )
    .await
}

/// Sends a POST by hand and resets the connection before the answer.
async fn abandon_request(app: &TestApp, path: &str, body: &Value) {
    use tokio::io::AsyncWriteExt;
    let addr = app.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        crate::common::TOKEN,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Linger 0: closing sends a reset instead of a polite FIN.
    conn.set_zero_linger().unwrap();
    drop(conn);
}

async fn wait_run_outlives_a_client_that_goes_away(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_delay("/slow", Duration::from_millis(1500));
    let (path, body) = slow_integration(&app, &rx).await;
    // The client goes away abruptly (a reset, as a crashed client or a
    // proxy would) while the third-party API is still answering: actix then
    // drops the handler's future. (A polite close is not enough to show
    // it: actix lets half-closed connections finish their request.)
    abandon_request(&app, &format!("{path}?wait=true"), &body).await;
    rx.wait_for("/slow", 1).await;
    // The run still ends, and is not run twice.
    let runs = all_succeed(&app, 1).await;
    assert!(runs[0]["finished_at"].is_string());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.received_on("/slow").len(), 1);
    rx.stop().await;
    app.stop().await;
}

async fn wait_runs_beyond_the_inline_bound_are_queued(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.inline_runs = 2).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_delay("/slow", Duration::from_millis(1500));
    let (path, body) = slow_integration(&app, &rx).await;
    let wait_path = format!("{path}?wait=true");
    let call = || app.post(&wait_path, &body);
    let (a, b, c) = tokio::join!(call(), call(), call());
    let mut statuses = vec![a.0, b.0, c.0];
    statuses.sort();
    assert_eq!(
        statuses,
        vec![StatusCode::OK, StatusCode::OK, StatusCode::ACCEPTED],
        "{a:?} {b:?} {c:?}"
    );
    let queued = [a, b, c]
        .into_iter()
        .find(|(s, _)| *s == StatusCode::ACCEPTED)
        .unwrap()
        .1;
    assert_eq!(queued["status"], "queued", "{queued}");
    // The queued one is run by the worker.
    all_succeed(&app, 3).await;
    rx.stop().await;
    app.stop().await;
}

async fn wait_run_longer_than_the_wait_bound_answers_202(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.inline_run_wait_secs = 1).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_delay("/slow", Duration::from_millis(2500));
    let (path, body) = slow_integration(&app, &rx).await;
    let (status, run) = app.post(&format!("{path}?wait=true"), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    // Answered while the run was still waiting on the third party (which
    // answers after 2.5 s, and only once): it did not wait for the run.
    assert_eq!(run["status"], "running", "{run}");
    assert!(run["finished_at"].is_null(), "{run}");
    let runs = all_succeed(&app, 1).await;
    assert!(runs[0]["finished_at"].is_string(), "{runs:?}");
    assert_eq!(rx.received_on("/slow").len(), 1);
    rx.stop().await;
    app.stop().await;
}
