//! Issue 18, fair claiming: a backlog in one organization does not delay
//! another organization's deliveries.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::receiver::Receiver;
use crate::common::wait::until_ok;
use crate::common::{event, read, Backend, TestApp, TOKEN};

crate::all_backends!(a_backlog_in_one_organization_does_not_delay_another);

/// Queued deliveries seeded in organization A.
const BACKLOG: usize = 50_000;

/// Events B publishes while A's backlog is being sent.
const B_EVENTS: usize = 5;

/// How many of A's requests may reach the receiver between B's publish and
/// the arrival of all of B's events. Without fair claims, B's deliveries
/// (the newest) wait behind all 50,000 of A's (an hour old). With them, B
/// gets a share of the next claims: a round of at most the gateway's 32
/// workers' worth of A's requests, a few times over (a claim may hold up
/// to twice the workers), not thousands.
const A_WHILE_B_WAITS: usize = 1_000;

/// A request as the platform token acting in `org`.
pub async fn call_in(
    app: &TestApp,
    org: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(TOKEN)
        .header("Hookrelay-Organization", org);
    if let Some(b) = body {
        req = req.json(b);
    }
    read(req.send().await.expect("request reaches the gateway")).await
}

/// Creates an organization; its id.
pub async fn new_org(app: &TestApp, name: &str) -> String {
    let (s, v) = app
        .post("/v1/organizations", &json!({ "name": name }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Seeds `n` due deliveries (and their events) for `webhook` in `org`,
/// an hour old, straight into the database: publishing 50,000 events
/// through the API would take most of the test's time.
fn seed_backlog(app: &TestApp, backend: Backend, org: &str, webhook: &str, n: usize) {
    let payload = event("profile.parsing.success", "backlog").to_string();
    let (numbers, ts) = match backend {
        Backend::Sqlite => (
            format!(
                "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
                 SELECT i FROM s) AS s"
            ),
            "strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour')".to_string(),
        ),
        Backend::Postgres | Backend::Citus => (
            format!("generate_series(1, {n}) AS s(i)"),
            "((now() AT TIME ZONE 'UTC') - interval '1 hour')".to_string(),
        ),
    };
    let pad = match backend {
        Backend::Sqlite => "printf('%08d', i)",
        Backend::Postgres | Backend::Citus => "lpad(i::text, 8, '0')",
    };
    app.execute_sql(&format!(
        "INSERT INTO events (id, event_type, payload, idempotency_key, created_at, organization_id) \
         SELECT 'evt_0seed' || {pad}, 'profile.parsing.success', '{payload}', NULL, {ts}, '{org}' \
         FROM {numbers}"
    ));
    app.execute_sql(&format!(
        "INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, \
         last_status_code, last_error, created_at, updated_at, organization_id) \
         SELECT 'dlv_0seed' || {pad}, 'evt_0seed' || {pad}, '{webhook}', 'pending', 0, \
         NULL, NULL, {ts}, {ts}, '{org}' FROM {numbers}"
    ));
    app.execute_sql(&format!(
        "INSERT INTO delivery_queue (delivery_id, organization_id, webhook_id, event_id, \
         next_attempt_at, attempts, claimed_by, lease_until) \
         SELECT 'dlv_0seed' || {pad}, '{org}', '{webhook}', 'evt_0seed' || {pad}, {ts}, 0, \
         NULL, NULL FROM {numbers}"
    ));
}

async fn a_backlog_in_one_organization_does_not_delay_another(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let a = new_org(&app, "Backlogged").await;
    let b = new_org(&app, "Quiet").await;
    // A's receiver is slow, and its web hook may hold more requests than the
    // gateway has workers: nothing but the claim keeps A from taking them all.
    rx.set_delay("/a", Duration::from_millis(150));
    let hook = |path: &str| {
        json!({"name": "hook", "url": rx.url(path), "event_types": ["profile.*"],
               "concurrency": "fixed", "max_in_flight": 256})
    };
    let (s, wa) = call_in(&app, &a, Method::POST, "/v1/webhooks", Some(&hook("/a"))).await;
    assert_eq!(s, StatusCode::CREATED, "{wa}");
    let (s, wb) = call_in(&app, &b, Method::POST, "/v1/webhooks", Some(&hook("/b"))).await;
    assert_eq!(s, StatusCode::CREATED, "{wb}");
    seed_backlog(&app, backend, &a, wa["id"].as_str().unwrap(), BACKLOG);
    // A's deliveries are under way before B publishes.
    rx.wait_for("/a", 1).await;

    // B publishes a few events: all of them arrive while A's backlog is
    // still being worked through, after a bounded number of A's requests
    // (a share of a claim round or two), not after A's 50,000.
    let started = Instant::now();
    let events: Vec<Value> = (0..B_EVENTS)
        .map(|i| event("profile.parsing.success", &format!("quiet{i}")))
        .collect();
    let (s, v) = call_in(
        &app,
        &b,
        Method::POST,
        "/v1/events/batch",
        Some(&json!({ "events": events })),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let a_at_publish = rx.received_on("/a").len();
    let a_sent = until_ok(
        "all of B's events to arrive",
        Duration::from_secs(60),
        async || {
            let a_sent = rx.received_on("/a").len() - a_at_publish;
            let b_got = rx.unique_ids("/b").0;
            if b_got >= B_EVENTS {
                return Ok(a_sent);
            }
            // Fails as soon as B has waited longer than fairness allows.
            assert!(
                a_sent <= A_WHILE_B_WAITS,
                "{b_got} of B's {B_EVENTS} events arrived while {a_sent} of A's backlog were sent"
            );
            Err(format!("{b_got} of B's events, {a_sent} of A's"))
        },
    )
    .await;
    crate::common::notice(&format!(
        "fairness ({backend:?}): B's events arrived in {:?}, after {a_sent} of A's backlog",
        started.elapsed()
    ));
    // A was still being served from its backlog all along.
    let a_total = rx.received_on("/a").len();
    assert!(a_total < BACKLOG, "{a_total}");
    rx.stop().await;
    app.stop().await;
}
