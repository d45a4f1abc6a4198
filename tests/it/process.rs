//! The real binary as a child process: kill -9 mid-delivery loses nothing,
//! SIGTERM drains gracefully, and two processes share a PostgreSQL queue.

use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::gateway::Gateway;
use crate::common::receiver::Receiver;
use crate::common::wait::{throughout, until, until_ok};
use crate::common::{event, fresh_database, notice, Backend, TOKEN};

async fn publish_many(g: &Gateway, n: usize, tag: &str) {
    for chunk in 0..n.div_ceil(1000) {
        let evs: Vec<Value> = (chunk * 1000..((chunk + 1) * 1000).min(n))
            .map(|i| event("profile.parsing.success", &format!("{tag}{i}")))
            .collect();
        let (status, body) = g.post("/v1/events/batch", &json!({"events": evs})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
}

/// Waits until `path` got `n` distinct Webhook-Ids; `(distinct, requests)`.
async fn wait_unique(rx: &Receiver, path: &str, n: usize, secs: u64) -> (usize, usize) {
    until_ok(
        &format!("{n} distinct events on {path}"),
        Duration::from_secs(secs),
        async || {
            let (unique, total) = rx.unique_ids(path);
            if unique >= n {
                Ok((unique, total))
            } else {
                Err(format!("{unique} distinct in {total} requests"))
            }
        },
    )
    .await
}

crate::both_backends!(
    kill_9_mid_delivery_loses_nothing,
    sigterm_drains_and_exits_zero
);
crate::on_citus!(
    kill_9_mid_delivery_loses_nothing,
    leases_of_a_dead_process_are_taken_over,
    two_processes_share_the_queue_exactly_once,
);

async fn kill_9_mid_delivery_loses_nothing(backend: Backend) {
    let Some(db) = fresh_database(backend) else {
        return;
    };
    // A named instance re-queues its own stale claims at start (PostgreSQL);
    // SQLite always does.
    let env = [
        ("HOOKRELAY_INSTANCE_ID", "crash-test"),
        ("HOOKRELAY_WORKERS", "64"),
    ];
    let rx = Receiver::start().await;
    rx.set_delay("/crash", Duration::from_millis(2));
    let mut g = Gateway::spawn(&db.url, &env).await;
    let (status, w) = g.post("/v1/webhooks", &json!({"name": "crash", "url": rx.url("/crash"), "event_types": ["*"], "max_in_flight": 32})).await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    const N: usize = 10_000;
    publish_many(&g, N, "c").await;
    // Kill while deliveries are in flight.
    wait_unique(&rx, "/crash", 1_500, 60).await;
    g.kill9();
    let at_kill = rx.unique_ids("/crash");
    assert!(at_kill.0 < N, "the kill came too late to test anything");
    let g = Gateway::spawn(&db.url, &env).await;
    let (unique, total) = wait_unique(&rx, "/crash", N, 240).await;
    assert_eq!(unique, N);
    notice(&format!(
        "crash test ({backend:?}): killed after {} of {N} events; all {N} arrived; {} duplicate deliveries (same Webhook-Id)",
        at_kill.0,
        total - unique
    ));
    // Nothing is left in the queue, nothing died.
    until_ok(
        "the queue to drain",
        Duration::from_secs(30),
        async || match (g.count("delivering").await, g.count("pending").await) {
            (0, 0) => Ok(()),
            left => Err(left),
        },
    )
    .await;
    assert_eq!(g.count("dead").await + g.count("failed").await, 0);
    let mut g = g;
    assert!(g.terminate().success(), "SIGTERM exits 0");
    rx.stop().await;
    drop(db);
}

async fn sigterm_drains_and_exits_zero(backend: Backend) {
    let Some(db) = fresh_database(backend) else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_delay("/slow", Duration::from_millis(700));
    let mut g = Gateway::spawn(&db.url, &[]).await;
    g.post(
        "/v1/webhooks",
        &json!({"name": "slow", "url": rx.url("/slow"), "event_types": ["*"], "max_in_flight": 4}),
    )
    .await;
    publish_many(&g, 40, "t").await;
    rx.wait_for("/slow", 4).await;
    let status = g.terminate_within(Duration::from_secs(60)).await;
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
    // It stopped taking work: the backlog was not sent during the grace
    // period (the in-flight requests finished; the rest waits, below).
    let sent = rx.received_on("/slow").len();
    assert!(
        sent < 40,
        "the whole backlog was sent after SIGTERM: {sent}"
    );
    // In-flight requests finished and were recorded; the rest went back to the queue.
    let g = Gateway::spawn(
        &db.url,
        &[
            ("HOOKRELAY_WORKERS", "1"),
            ("HOOKRELAY_POLL_INTERVAL_MS", "60000"),
        ],
    )
    .await;
    let (_, hist) = g.get("/v1/history?limit=500").await;
    let recorded = hist["data"].as_array().unwrap().len();
    assert!(
        recorded >= rx.received_on("/slow").len().min(4),
        "requests in flight at SIGTERM were recorded"
    );
    let (_, ok) = g.get("/v1/deliveries?status=succeeded&limit=500").await;
    assert_eq!(ok["data"].as_array().unwrap().len(), recorded);
    // What was not sent went back to the queue: nothing lost, nothing
    // given up on.
    assert_eq!(g.count("dead").await + g.count("failed").await, 0);
    drop(g);
    rx.stop().await;
    drop(db);
}

/// A process that dies holding claims leaves leases that another process
/// takes over once they run out (the `deliveries_leased` index), and only
/// then: every delivery ends succeeded, none stays claimed.
#[actix_web::test]
async fn expired_leases_of_a_dead_process_are_taken_over() {
    leases_of_a_dead_process_are_taken_over(Backend::Postgres).await
}

async fn leases_of_a_dead_process_are_taken_over(backend: Backend) {
    let Some(db) = fresh_database(backend) else {
        return;
    };
    let rx = Receiver::start().await;
    // Requests to A hang past the kill; its lease is 3 × 1 s + 30 s.
    rx.set_delay("/lease", Duration::from_secs(20));
    let env_a = [
        ("HOOKRELAY_INSTANCE_ID", "a"),
        ("HOOKRELAY_REQUEST_TIMEOUT_SECS", "1"),
        ("HOOKRELAY_WORKERS", "8"),
    ];
    let mut a = Gateway::spawn(&db.url, &env_a).await;
    let (status, _) = a.post("/v1/webhooks", &json!({"name": "leased", "url": rx.url("/lease"), "event_types": ["*"], "max_in_flight": 8})).await;
    assert_eq!(status, StatusCode::CREATED);
    const N: usize = 200;
    publish_many(&a, N, "l").await;
    wait_unique(&rx, "/lease", 1, 30).await;
    let held = a.count("delivering").await;
    a.kill9();
    assert!(held > 0, "A held no claims when it died");
    let started = Instant::now();
    rx.set_delay("/lease", Duration::ZERO);
    let b = Gateway::spawn(&db.url, &[("HOOKRELAY_INSTANCE_ID", "b")]).await;
    until_ok(
        "every delivery to succeed",
        Duration::from_secs(120),
        async || {
            let (_, ok) = b.get("/v1/deliveries?status=succeeded&limit=500").await;
            let succeeded = ok["data"].as_array().map(Vec::len).unwrap_or(0);
            if succeeded == N {
                return Ok(());
            }
            // A's leases are not A's to give back any more, nor B's to take
            // early. (A lower bound: a loaded machine only makes it later.)
            if started.elapsed() < Duration::from_secs(25) {
                assert!(succeeded <= N - held, "a live lease was taken over");
            }
            Err(format!("{succeeded} of {N} succeeded"))
        },
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(25),
        "A's claims were taken before their lease ran out"
    );
    assert_eq!(b.count("delivering").await, 0);
    notice(&format!(
        "lease test: {held} claims of a killed process taken over after {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    drop(b);
    rx.stop().await;
    drop(db);
}

#[actix_web::test]
async fn two_processes_share_the_postgres_queue_exactly_once() {
    two_processes_share_the_queue_exactly_once(Backend::Postgres).await
}

async fn two_processes_share_the_queue_exactly_once(backend: Backend) {
    let Some(db) = fresh_database(backend) else {
        return;
    };
    let rx = Receiver::start().await;
    let a = Gateway::spawn(&db.url, &[("HOOKRELAY_INSTANCE_ID", "a")]).await;
    let b = Gateway::spawn(&db.url, &[("HOOKRELAY_INSTANCE_ID", "b")]).await;
    let (status, _) = a.post("/v1/webhooks", &json!({"name": "shared", "url": rx.url("/shared"), "event_types": ["*"], "max_in_flight": 32})).await;
    assert_eq!(status, StatusCode::CREATED);
    const N: usize = 5_000;
    publish_many(&a, N / 2, "a").await;
    publish_many(&b, N / 2, "b").await;
    let (unique, total) = wait_unique(&rx, "/shared", N, 240).await;
    assert_eq!(unique, N);
    // No duplicate then, nor a late one for a while after.
    throughout(
        "every event delivered exactly once across both processes",
        Duration::from_millis(500),
        async || match rx.unique_ids("/shared") {
            (u, t) if (u, t) == (N, N) => Ok(()),
            seen => Err(format!(
                "{seen:?} (distinct, requests); {total} requests at first"
            )),
        },
    )
    .await;
    let total2 = rx.unique_ids("/shared").1;
    notice(&format!(
        "cluster test: {N} events over 2 processes, {} requests, 0 duplicates",
        total2
    ));
    drop((a, b));
    rx.stop().await;
    drop(db);
}

/// Debug-level JSON logs of a session that creates tokens, webhooks,
/// rotations, deliveries and re-sends hold no token, secret or master key,
/// and carry request and delivery spans; history keeps signatures but no
/// Authorization header.
#[actix_web::test]
async fn logs_hold_no_secrets() {
    let db = fresh_database(Backend::Sqlite).unwrap();
    let log_path = std::env::temp_dir().join(format!("hookrelay-log-{}.jsonl", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut g = Gateway::spawn_logging(
        &db.url,
        &[("RUST_LOG", "debug"), ("HOOKRELAY_LOG_FORMAT", "json")],
        Stdio::from(log),
    )
    .await;
    let rx = Receiver::start().await;
    let mut needles: Vec<String> = vec![TOKEN.to_string()];
    let (status, t) = g
        .post(
            "/v1/tokens",
            &json!({"name": "pub", "scopes": ["events:write"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let publisher = t["token"].as_str().unwrap().to_string();
    needles.push(publisher.clone());
    let (_, hook) = g
        .post(
            "/v1/webhooks",
            &json!({"name": "h", "url": rx.url("/h"), "event_types": ["*"]}),
        )
        .await;
    let id = hook["id"].as_str().unwrap().to_string();
    needles.push(hook["secret"].as_str().unwrap().to_string());
    let (_, rotated) = g
        .post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            &json!({"grace_period": "1h"}),
        )
        .await;
    needles.push(rotated["secret"].as_str().unwrap().to_string());
    let (_, s) = g.get(&format!("/v1/webhooks/{id}/secret")).await;
    assert_eq!(s["secret"], rotated["secret"]);
    let (status, _) = g
        .post_as(
            &publisher,
            "/v1/events",
            &event("profile.parsing.success", "k"),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    rx.wait_for("/h", 1).await;
    // A refused token is logged as a 401, not by its value.
    let (status, _) = g
        .post_as("hr_wrong_token_value", "/v1/events", &json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    needles.push("hr_wrong_token_value".into());
    // The OAuth callback's code and state are one-time credentials: its
    // request is logged without them.
    let resp = g
        .http
        .get(format!(
            "{}/oauth/callback?code=c0de-4-l0gs-only&state=st-4-l0gs-only",
            g.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    needles.extend(["c0de-4-l0gs-only".to_string(), "st-4-l0gs-only".to_string()]);
    let history = until("a history row", Duration::from_secs(20), async || {
        let (_, h) = g.get(&format!("/v1/history?webhook_id={id}")).await;
        h["data"].as_array().and_then(|d| d.first()).cloned()
    })
    .await;
    let (status, row) = g
        .get(&format!("/v1/history/{}", history["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let headers = row["request"]["headers"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(headers.contains_key("HTTP-HRFLOW-SIGNATURE"), "{row}");
    assert!(headers.contains_key("Webhook-Signature"), "{row}");
    assert!(!headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("authorization")));
    let (status, _) = g
        .post(
            &format!("/v1/history/{}/resend", history["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let exit = g.terminate();
    assert!(exit.success());
    rx.stop().await;

    let key_file = format!("{}.key", db.url.trim_start_matches("sqlite://"));
    needles.push(
        std::fs::read_to_string(key_file)
            .unwrap()
            .trim()
            .to_string(),
    );
    let text = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    for n in &needles {
        assert!(
            !text.contains(n.as_str()),
            "the log holds a secret ({}…)",
            &n[..8]
        );
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let has = |pred: &dyn Fn(&Value) -> bool| lines.iter().any(pred);
    assert!(
        has(&|l| l["span"]["http.route"] == "/v1/events" && l["span"]["http.status_code"] == 401),
        "no request span for the refused publish"
    );
    assert!(
        has(&|l| l["span"]["http.route"] == "/oauth/callback"
            && l["span"]["http.status_code"] == 422),
        "no request span for the OAuth callback"
    );
    assert!(
        has(&|l| l["span"]["name"] == "delivery" && l["span"]["webhook_id"] == id.as_str()),
        "no delivery span with the webhook id"
    );
}
