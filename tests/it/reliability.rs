//! Retries, Retry-After, disabling, recovery, isolation, rate limits, the
//! SSRF guard and the SQLite single-process lock.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp};

crate::all_backends!(
    retries_follow_schedule_and_retry_after,
    gone_disables_and_recover_replays,
    failing_too_long_disables,
    hanging_receiver_does_not_delay_others,
    rate_limit_spaces_requests,
    claims_are_handed_back_only_under_their_own_lease,
);

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn retries_follow_schedule_and_retry_after(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_status("/flaky", 503);
    rx.set_header("/flaky", "Retry-After", "1");
    // Planned steps of 30 s; the receiver asks for 1 s, which is honoured.
    let w = app
        .create_webhook(json!({"name": "flaky", "url": rx.url("/flaky"), "event_types": ["profile.*"], "retry_schedule": ["30s", "30s"]}))
        .await;
    assert_eq!(w["retry_schedule"], json!(["30s", "30s"]));
    let e = app.publish(event("profile.parsing.success", "r1")).await;
    let d = app
        .wait_event_deliveries(id(&e), |d| d[0]["status"] == "failed")
        .await;
    let next =
        chrono::DateTime::parse_from_rfc3339(d[0]["next_attempt_at"].as_str().unwrap()).unwrap();
    let wait = next
        .signed_duration_since(chrono::Utc::now())
        .num_milliseconds();
    assert!(
        wait <= 1500,
        "Retry-After: 1 should bring the retry within ~1 s, not {wait} ms"
    );
    rx.set_status("/flaky", 200);
    let d = app
        .wait_event_deliveries(id(&e), |d| d[0]["status"] == "succeeded")
        .await;
    assert_eq!(d[0]["attempts"], 2);
    let attempts = app
        .all_history(&format!("event_id={}&order=asc", id(&e)))
        .await;
    assert_eq!(
        attempts
            .iter()
            .map(|h| h["attempt"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(attempts[0]["response"]["status"], 503);

    // Out of attempts: dead, visible in the queue listing.
    rx.set_status("/down", 500);
    let down = app
        .create_webhook(json!({"name": "down", "url": rx.url("/down"), "event_types": ["job.*"], "retry_schedule": ["100ms", "100ms"]}))
        .await;
    let e2 = app.publish(event("job.parsing.success", "r2")).await;
    let d = app
        .wait_event_deliveries(id(&e2), |d| d[0]["status"] == "dead")
        .await;
    assert_eq!(d[0]["attempts"], 3);
    assert!(d[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("no attempts left"));
    assert_eq!(rx.received_on("/down").len(), 3);
    let (status, dead) = app
        .get(&format!(
            "/v1/deliveries?status=dead&webhook_id={}",
            id(&down)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dead["data"].as_array().unwrap().len(), 1);
    assert_eq!(dead["data"][0]["event_id"], e2["id"]);
    let (_, ok) = app.get("/v1/deliveries?status=succeeded").await;
    assert_eq!(ok["data"].as_array().unwrap().len(), 1);
    let (status, _) = app.get("/v1/deliveries?status=lost").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A schedule the API cannot parse is refused.
    let (status, err) = app
        .patch(
            &format!("/v1/webhooks/{}", id(&down)),
            &json!({"retry_schedule": ["soon"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "retry_schedule[0]");
    let (_, reset) = app
        .patch(
            &format!("/v1/webhooks/{}", id(&down)),
            &json!({"retry_schedule": null}),
        )
        .await;
    assert!(reset["retry_schedule"].is_null());
    rx.stop().await;
    app.stop().await;
}

async fn gone_disables_and_recover_replays(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_status("/gone", 410);
    let ops = app.create_webhook(json!({"name": "ops", "url": rx.url("/ops"), "event_types": ["webhook.disabled"], "format": "json"})).await;
    let w = app
        .create_webhook(
            json!({"name": "gone", "url": rx.url("/gone"), "event_types": ["profile.*"]}),
        )
        .await;
    let first = app.publish(event("profile.parsing.success", "g1")).await;
    let d = app
        .wait_event_deliveries(id(&first), |d| d[0]["status"] == "dead")
        .await;
    assert!(d[0]["last_error"].as_str().unwrap().contains("410"));
    let (_, wh) = app.get(&format!("/v1/webhooks/{}", id(&w))).await;
    assert_eq!(wh["state"], "disabled");
    assert_eq!(wh["active"], false);
    assert_eq!(wh["disabled_reason"], "receiver answered 410 Gone");
    assert!(wh["disabled_at"].is_string());

    // The disabling is an event, delivered to the operational subscriber.
    let (_, evs) = app.get("/v1/events?type=webhook.disabled").await;
    assert_eq!(evs["data"].as_array().unwrap().len(), 1);
    assert_eq!(evs["data"][0]["payload"]["webhook"]["id"], w["id"]);
    let got = rx.wait_for("/ops", 1).await;
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "webhook.disabled");
    assert!(crate::common::receiver::verify(
        &got[0],
        ops["secret"].as_str().unwrap()
    ));

    // While disabled, publishes create no deliveries for it.
    let second = app.publish(event("profile.parsing.success", "g2")).await;
    assert_eq!(second["deliveries"], 0);
    // Re-enabling replays nothing by itself.
    rx.set_status("/gone", 200);
    let (_, wh) = app
        .patch(
            &format!("/v1/webhooks/{}", id(&w)),
            &json!({"active": true}),
        )
        .await;
    assert_eq!(wh["state"], "active");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rx.received_on("/gone").len(), 1);
    // Recover re-queues what failed since a point in time.
    let (status, r) = app
        .post(
            &format!("/v1/webhooks/{}/recover", id(&w)),
            &json!({"since": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r["requeued"], 1);
    let d = app
        .wait_event_deliveries(id(&first), |d| d[0]["status"] == "succeeded")
        .await;
    assert_eq!(
        d[0]["attempts"], 1,
        "recovery starts a fresh attempt budget"
    );
    let (status, r) = app
        .post(
            &format!("/v1/webhooks/{}/recover", id(&w)),
            &json!({"since": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (status, r["requeued"].as_i64()),
        (StatusCode::ACCEPTED, Some(0))
    );
    let (status, _) = app
        .post(
            &format!("/v1/webhooks/{}/recover", id(&w)),
            &json!({"since": "yesterday"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // An operator's disable also gives up on queued work, recoverably.
    rx.hang("/slow");
    let slow = app.create_webhook(json!({"name": "slow", "url": rx.url("/slow"), "event_types": ["job.*"], "max_in_flight": 1})).await;
    // A first claim takes up to twice the default in-flight limit (8); the rest stays queued.
    let evs: Vec<Value> = (0..12)
        .map(|i| event("job.parsing.success", &format!("s{i}")))
        .collect();
    app.post("/v1/events/batch", &json!({"events": evs})).await;
    rx.wait_for("/slow", 1).await;
    let (_, wh) = app
        .patch(
            &format!("/v1/webhooks/{}", id(&slow)),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(wh["disabled_reason"], "disabled by an operator");
    let (_, dead) = app
        .get(&format!(
            "/v1/deliveries?status=dead&webhook_id={}",
            id(&slow)
        ))
        .await;
    assert!(dead["data"].as_array().unwrap().len() >= 2, "{dead}");
    let (status, _) = app
        .post(
            &format!("/v1/webhooks/{}/recover", id(&slow)),
            &json!({"since": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "recovering a disabled webhook is refused"
    );
    rx.stop().await;
    app.stop().await;
}

async fn failing_too_long_disables(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| {
        c.disable_after = std::time::Duration::from_secs(1)
    })
    .await
    else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_status("/broken", 500);
    let w = app
        .create_webhook(json!({"name": "broken", "url": rx.url("/broken"), "event_types": ["*"], "retry_schedule": ["300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms"]}))
        .await;
    let e = app.publish(event("user.updated", "f1")).await;
    let d = app
        .wait_event_deliveries(id(&e), |d| d[0]["status"] == "dead")
        .await;
    assert!(d[0]["attempts"].as_i64().unwrap() >= 3);
    let (_, wh) = app.get(&format!("/v1/webhooks/{}", id(&w))).await;
    assert_eq!(wh["state"], "disabled");
    assert!(
        wh["disabled_reason"]
            .as_str()
            .unwrap()
            .starts_with("every attempt failed since"),
        "{wh}"
    );
    rx.stop().await;
    app.stop().await;
}

async fn hanging_receiver_does_not_delay_others(backend: Backend) {
    // The hanging requests cannot time out during the test: only the
    // lanes can keep the healthy web hook's deliveries from waiting on them.
    let Some(app) = TestApp::start_with(backend, |c| {
        c.workers = 16;
        c.request_timeout_secs = 120;
    })
    .await
    else {
        return;
    };
    let rx = Receiver::start().await;
    rx.hang("/hang");
    app.create_webhook(json!({"name": "hang", "url": rx.url("/hang"), "event_types": ["*"]}))
        .await;
    app.create_webhook(json!({"name": "ok", "url": rx.url("/ok"), "event_types": ["*"]}))
        .await;
    let evs: Vec<Value> = (0..60)
        .map(|i| event("profile.parsing.success", &format!("i{i}")))
        .collect();
    let (status, _) = app.post("/v1/events/batch", &json!({"events": evs})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    rx.wait_for("/ok", 60).await;
    // The healthy receiver has all 60 while the hanging requests are still
    // open: none of them ended, by answer or timeout, to make room.
    let hanging = rx.received_on("/hang").len();
    assert!(hanging > 0, "no request to the hanging receiver");
    assert_eq!(rx.open("/hang"), hanging, "a hanging request ended");
    // The hanging one never had more than its in-flight limit (4) open.
    assert!(
        rx.received_on("/hang").len() <= 4,
        "{}",
        rx.received_on("/hang").len()
    );
    rx.stop().await;
    app.stop().await;
}

async fn rate_limit_spaces_requests(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    app.create_webhook(json!({"name": "slow", "url": rx.url("/limited"), "event_types": ["*"], "rate_limit_per_sec": 5, "max_in_flight": 10}))
        .await;
    let evs: Vec<Value> = (0..10)
        .map(|i| event("job.parsing.success", &format!("l{i}")))
        .collect();
    let started = Instant::now();
    app.post("/v1/events/batch", &json!({"events": evs})).await;
    rx.wait_for("/limited", 10).await;
    // 5 per second: ten requests cannot all land within the first ~0.8 s.
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    rx.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn ssrf_guard_refuses_internal_targets() {
    let app = TestApp::start_with(Backend::Sqlite, |c| c.allow_private_targets = false)
        .await
        .unwrap();
    let rx = Receiver::start().await;
    for url in [
        rx.url("/x"),
        "http://10.0.0.7/hook".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://[::1]:8080/x".to_string(),
    ] {
        let (status, err) = app
            .post(
                "/v1/webhooks",
                &json!({"name": "n", "url": url, "event_types": ["*"]}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(err["error"]["code"], "forbidden_target", "{url}");
    }
    // A host name is checked after resolution at the attempt too (its
    // address may change after the web hook was created): one that
    // resolved elsewhere then, loopback now.
    let port = rx.base.rsplit(':').next().unwrap();
    let w = app.create_webhook(json!({"name": "local", "url": format!("http://hookrelay-test.invalid:{port}/x"), "event_types": ["*"]})).await;
    app.execute_sql(&format!(
        "UPDATE webhooks SET url = 'http://localhost:{port}/x' WHERE id = '{}'",
        id(&w)
    ));
    let (status, row) = app
        .post(
            &format!("/v1/webhooks/{}/test", id(&w)),
            &json!({"event_type": "user.updated"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(row["response"]["status"].is_null());
    assert!(row["error"].as_str().unwrap().contains("loopback"), "{row}");
    assert!(rx.received().is_empty());
    rx.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn sqlite_refuses_a_second_process() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("one.db").display());
    let first = {
        let url = url.clone();
        TestApp::start_with(Backend::Sqlite, move |c| c.database_url = url)
            .await
            .unwrap()
    };
    let mut config = hookrelay::config::Config::from_env();
    config.bind = "127.0.0.1:0".into();
    config.database_url = url;
    let err = hookrelay::app::start(config)
        .await
        .err()
        .expect("second process must be refused");
    assert!(err.contains("another hookrelay process"), "{err}");
    first.stop().await;
}

#[actix_web::test]
async fn redirects_are_not_followed() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let rx = Receiver::start().await;
    rx.set_status("/moved", 302);
    rx.set_header("/moved", "Location", &rx.url("/elsewhere"));
    let w = app
        .create_webhook(json!({"name": "moved", "url": rx.url("/moved"), "event_types": ["*"]}))
        .await;
    let (_, row) = app
        .post(
            &format!("/v1/webhooks/{}/test", id(&w)),
            &json!({"event_type": "user.updated"}),
        )
        .await;
    assert_eq!(
        row["response"]["status"], 302,
        "a redirect is an answer, not a detour: {row}"
    );
    assert!(rx.received_on("/elsewhere").is_empty());
    rx.stop().await;
    app.stop().await;
}

#[actix_web::test]
async fn first_start_generates_a_hashed_operator_token() {
    let app = TestApp::start_with(Backend::Sqlite, |c| c.bootstrap_token = None)
        .await
        .unwrap();
    assert_eq!(app.count_rows("api_tokens"), 1);
    // Only a SHA-256 hash is stored, never the token (which starts with hr_).
    let path = app
        .database_url
        .strip_prefix("sqlite://")
        .unwrap()
        .to_string();
    // The WAL holds recent writes: read it too.
    let mut raw = std::fs::read(&path).unwrap();
    raw.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains("hr_"), "a token is stored in clear");
    // The test token of the harness is not valid here.
    let (status, _) = app.get("/v1/webhooks").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// The dispatcher hands back a claim that waited too long to be sent (see
/// `worker::execute`); that must never undo a newer claim on the same row.
async fn claims_are_handed_back_only_under_their_own_lease(backend: Backend) {
    use hookrelay::db::deliveries::Delivery;
    use hookrelay::db::time;
    // API only: no dispatcher of its own claims the delivery first.
    let Some(app) = TestApp::start_with(backend, |c| c.role = hookrelay::config::Role::Api).await
    else {
        return;
    };
    let rx = Receiver::start().await;
    app.create_webhook(json!({"name": "h", "url": rx.url("/h"), "event_types": ["*"]}))
        .await;
    let e = app.publish(event("profile.parsing.success", "hb1")).await;
    let claim = |instance: &'static str, lease_secs: i64| {
        app.db().write(move |c| {
            let now = time::now();
            let until = now + chrono::Duration::seconds(lease_secs);
            Ok(Delivery::claim(
                c,
                instance,
                now,
                until,
                10,
                &[],
                |_| true,
                &mut String::new(),
            )?)
        })
    };
    let hand_back = |ids: Vec<String>, lease| {
        app.db()
            .write(move |c| Ok(Delivery::hand_back(c, &ids, lease, time::now())?))
    };
    let first = claim("a", 60).await.unwrap();
    assert_eq!(first.len(), 1);
    let ids = vec![first[0].id.clone()];

    // Another lease (a newer claim by someone else): the row stays theirs.
    let other = first[0].lease - chrono::Duration::seconds(1);
    assert_eq!(hand_back(ids.clone(), other).await.unwrap(), 0);
    let d = app
        .wait_event_deliveries(id(&e), |d| d[0]["status"] == "delivering")
        .await;
    assert_eq!(d[0]["attempts"], 1);

    // Its own lease: back in the queue at once, the attempt not counted.
    assert_eq!(hand_back(ids.clone(), first[0].lease).await.unwrap(), 1);
    let d = app
        .wait_event_deliveries(id(&e), |d| d[0]["status"] == "pending")
        .await;
    assert_eq!(d[0]["attempts"], 0, "{d:?}");
    let again = claim("b", 60).await.unwrap();
    assert_eq!(
        again.len(),
        1,
        "a handed-back delivery is claimable at once"
    );
    assert_eq!(again[0].attempts, 1);
    assert!(rx.received().is_empty());
    rx.stop().await;
    app.stop().await;
}
