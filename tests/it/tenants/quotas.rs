//! Item 4, quotas: custom event types, people, integrations, waiting runs
//! and pending OAuth states are limited per organization. At its limit an
//! organization gets 409 `limit_reached` naming the setting (429 with
//! `Retry-After` for runs, which drain by themselves), nothing is written,
//! and another organization is not affected.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::{read, Backend, TestApp, TOKEN};
use crate::fairness::{call_in, new_org};

both_backends!(
    event_types_per_organization_are_limited,
    users_per_organization_are_limited,
    user_sync_keeps_to_the_people_quota,
    integrations_per_organization_are_limited,
    waiting_runs_per_organization_are_limited,
    oauth_states_per_organization_are_limited
);

/// Posts `body(i)` to `path` in `org` `n` times, each answered 201.
async fn fill(app: &TestApp, org: &str, path: &str, n: usize, body: impl Fn(usize) -> Value) {
    for i in 0..n {
        let (s, v) = call_in(app, org, Method::POST, path, Some(&body(i))).await;
        assert_eq!(s, StatusCode::CREATED, "{path} #{i}: {v}");
    }
}

/// Asserts a 409 `limit_reached` naming `variable`.
fn assert_limit(s: StatusCode, v: &Value, variable: &str) {
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "limit_reached", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains(variable), "{v}");
}

/// Rows of `table` in organization `org`, straight from the database.
fn rows_in(app: &TestApp, table: &str, org: &str) -> usize {
    let text = app.table_text(table);
    text.lines().filter(|l| l.contains(org)).count()
}

/// With `limit` set to 2 by `adjust`: A creates two at `path`, the third is
/// refused naming `variable` and not stored in `table`; B still creates two.
async fn two_then_refused(
    backend: Backend,
    adjust: impl FnOnce(&mut hookrelay::config::Config),
    (path, table, variable): (&str, &str, &str),
    body: impl Fn(usize) -> Value + Copy,
) {
    let Some(app) = TestApp::start_with(backend, adjust).await else {
        return;
    };
    let (a, b) = (new_org(&app, "A").await, new_org(&app, "B").await);
    fill(&app, &a, path, 2, body).await;
    let (s, v) = call_in(&app, &a, Method::POST, path, Some(&body(2))).await;
    assert_limit(s, &v, variable);
    assert_eq!(rows_in(&app, table, &a), 2);
    fill(&app, &b, path, 2, body).await;
    app.stop().await;
}

async fn event_types_per_organization_are_limited(backend: Backend) {
    // The built-in types do not count.
    let what = (
        "/v1/event-types",
        "event_types",
        "HOOKRELAY_MAX_EVENT_TYPES_PER_ORG",
    );
    let ty = |i: usize| json!({"name": format!("candidate.step{i}")});
    two_then_refused(backend, |c| c.limits.max_event_types_per_org = 2, what, ty).await;
}

async fn users_per_organization_are_limited(backend: Backend) {
    let what = ("/v1/users", "users", "HOOKRELAY_MAX_USERS_PER_ORG");
    two_then_refused(backend, |c| c.limits.max_users_per_org = 2, what, person).await;
}

fn person(i: usize) -> Value {
    json!({"email": format!("p{i}@example.com"), "first_name": "P", "last_name": "Q"})
}

fn integration(i: usize) -> Value {
    json!({"name": format!("i{i}"), "kind": "webhook",
           "manifest": {"execute": [{"url": "http://127.0.0.1:9/x", "method": "GET"}]}})
}

async fn integrations_per_organization_are_limited(backend: Backend) {
    let what = (
        "/v1/integrations",
        "integrations",
        "HOOKRELAY_MAX_INTEGRATIONS_PER_ORG",
    );
    two_then_refused(
        backend,
        |c| c.limits.max_integrations_per_org = 2,
        what,
        integration,
    )
    .await;
}

async fn user_sync_keeps_to_the_people_quota(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.limits.max_users_per_org = 2).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let id = crate::integrations::create_integration(
        &app,
        "sync_users",
        crate::integrations::sync_manifest(&fake),
    )
    .await;
    let employees: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|e| json!({"detail": {"workEmail": format!("{e}@example.com"), "firstName": "F", "lastName": "L"}}))
        .collect();
    fake.script(
        "GET",
        "/users",
        vec![Answer::json(
            200,
            json!({"directory": {"employees": employees}}),
        )],
    );
    crate::integrations::create_user(&app, "u@example.com").await;
    // The preview says which would be skipped, and why.
    let preview = crate::integrations::run_wait(&app, &id, json!({"dry_run": true}))
        .await
        .to_string();
    assert!(preview.contains("HOOKRELAY_MAX_USERS_PER_ORG"), "{preview}");
    // The sync imports one (the organization then has 2) and skips the rest.
    let run = crate::integrations::run_wait(&app, &id, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(app.count_rows("users"), 2);
    fake.stop().await;
    app.stop().await;
}

async fn waiting_runs_per_organization_are_limited(backend: Backend) {
    // An API-only process: no run worker takes the queued runs away.
    let Some(app) = TestApp::start_with(backend, |c| {
        c.role = hookrelay::config::Role::Api;
        c.limits.max_queued_runs_per_org = 2;
    })
    .await
    else {
        return;
    };
    let (a, b) = (new_org(&app, "A").await, new_org(&app, "B").await);
    // Every new person of A triggers a run.
    let mut with_trigger = integration(0);
    with_trigger["triggers"] = json!([{"event_type": "user.updated"}]);
    let (s, v) = call_in(
        &app,
        &a,
        Method::POST,
        "/v1/integrations",
        Some(&with_trigger),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ia = v["id"].as_str().unwrap().to_string();
    // Two people: two runs waiting, A's limit.
    fill(&app, &a, "/v1/users", 2, person).await;
    let runs_path = format!("/v1/integrations/{ia}/runs");
    let (s, v) = call_in(
        &app,
        &a,
        Method::GET,
        &format!("/v1/runs?integration_id={ia}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let user = v["data"][0]["user_id"].as_str().unwrap().to_string();
    assert_eq!(v["data"].as_array().unwrap().len(), 2, "{v}");
    // A run asked for through the API: 429 with when to retry, nothing stored.
    let r = app
        .http
        .post(format!("{}{runs_path}", app.base))
        .bearer_auth(TOKEN)
        .header("Hookrelay-Organization", &a)
        .json(&json!({"user_id": user}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    let (_, v) = read(r).await;
    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("HOOKRELAY_MAX_QUEUED_RUNS_PER_ORG"));
    // A third person is still created; the run it triggers is recorded
    // failed with the reason, not queued.
    let (s, v) = call_in(&app, &a, Method::POST, "/v1/users", Some(&person(2))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = call_in(
        &app,
        &a,
        Method::GET,
        &format!("/v1/runs?integration_id={ia}"),
        None,
    )
    .await;
    let runs = v["data"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{v}");
    let statuses: Vec<&str> = runs.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "queued").count(),
        2,
        "{v}"
    );
    let skipped = runs
        .iter()
        .find(|r| r["status"] == "failed")
        .expect("one failed");
    assert!(
        skipped["error"]
            .as_str()
            .unwrap()
            .contains("HOOKRELAY_MAX_QUEUED_RUNS_PER_ORG"),
        "{v}"
    );
    // B queues its own.
    let (s, v) = call_in(
        &app,
        &b,
        Method::POST,
        "/v1/integrations",
        Some(&integration(0)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ib = v["id"].as_str().unwrap().to_string();
    let (s, v) = call_in(&app, &b, Method::POST, "/v1/users", Some(&person(0))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ub = v["id"].as_str().unwrap().to_string();
    let (s, v) = call_in(
        &app,
        &b,
        Method::POST,
        &format!("/v1/integrations/{ib}/runs"),
        Some(&json!({"user_id": ub})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    app.stop().await;
}

/// `GET …/oauth/authorize` in `org`, not following the redirect.
async fn authorize_in(app: &TestApp, org: &str, id: &str) -> (StatusCode, Value) {
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .get(format!("{}/v1/integrations/{id}/oauth/authorize", app.base))
        .bearer_auth(TOKEN)
        .header("Hookrelay-Organization", org)
        .send()
        .await
        .unwrap();
    read(r).await
}

async fn oauth_states_per_organization_are_limited(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.limits.max_oauth_states_per_org = 2).await
    else {
        return;
    };
    let (a, b) = (new_org(&app, "A").await, new_org(&app, "B").await);
    let with_oauth = json!({"name": "o", "kind": "webhook", "manifest": {
        "oauth": {"authenticate_url": "http://127.0.0.1:9/authorize?client_id=c",
                  "access_token": {"url": "http://127.0.0.1:9/token", "method": "POST"}},
        "execute": [{"url": "http://127.0.0.1:9/x", "method": "GET"}]}});
    let mut ids = Vec::new();
    for org in [&a, &b] {
        let (s, v) = call_in(
            &app,
            org,
            Method::POST,
            "/v1/integrations",
            Some(&with_oauth),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    for _ in 0..2 {
        let (s, v) = authorize_in(&app, &a, &ids[0]).await;
        assert_eq!(s, StatusCode::FOUND, "{v}");
    }
    let (s, v) = authorize_in(&app, &a, &ids[0]).await;
    assert_limit(s, &v, "HOOKRELAY_MAX_OAUTH_STATES_PER_ORG");
    assert_eq!(rows_in(&app, "oauth_states", &a), 2);
    let (s, v) = authorize_in(&app, &b, &ids[1]).await;
    assert_eq!(s, StatusCode::FOUND, "{v}");
    app.stop().await;
}
