//! Run slots: fair claims and a cap per organization, waiting between
//! polling attempts without a slot, and the bounded shutdown.

use serde_json::{json, Value};

use super::{integration_in, one_get, queue, run_of, statuses, PATIENCE};
use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::wait::until;
use crate::common::{Backend, TestApp};
use crate::integrations::{create_integration, create_user, point_at};
use crate::organizations::new_org;

both_backends!(
    one_organization_cannot_hold_every_slot,
    polling_runs_wait_without_a_slot,
    waiting_runs_count_toward_the_quota,
    a_waiting_run_resumes_where_it_stopped,
    shutdown_hands_unfinished_runs_back,
);

async fn one_organization_cannot_hold_every_slot(backend: Backend) {
    // Requests may hang longer than the test: nothing times out meanwhile.
    let Some(app) = TestApp::start_with(backend, |c| c.request_timeout_secs = 300).await else {
        return;
    };
    let fake = FakeApi::start().await;
    fake.hold("GET", "/slow");
    fake.script("GET", "/slow", vec![Answer::json(200, json!({}))]);
    fake.script("GET", "/fast", vec![Answer::json(200, json!({}))]);
    let (a, b) = ("org_1".to_string(), new_org(&app, "B").await);
    let (slow, fast) = (
        integration_in(&app, &b, "webhook", one_get(&fake, "/slow")).await,
        integration_in(&app, &a, "webhook", one_get(&fake, "/fast")).await,
    );
    // B queues 16 runs against an API that does not answer.
    for _ in 0..16 {
        queue(&app, &b, &slow, json!({})).await;
    }
    until("B's runs in flight", PATIENCE, || async {
        (fake.seen_on("GET", "/slow").len() >= 6).then_some(())
    })
    .await;
    // A's one-step run is served while all of B's wait on the API.
    let mine = queue(&app, &a, &fast, json!({})).await;
    until("A's run to succeed", PATIENCE, || async {
        (run_of(&app, &a, &mine).await["status"] == "succeeded").then_some(())
    })
    .await;
    let b_now = statuses(&app, &b).await;
    assert_eq!(
        b_now.get("running"),
        Some(&6),
        "B holds its 6 slots: {b_now:?}"
    );
    assert_eq!(b_now.get("queued"), Some(&10), "{b_now:?}");
    assert_eq!(
        fake.seen_on("GET", "/slow").len(),
        6,
        "B went past its share"
    );
    // Once the API answers, B's backlog drains through its slots.
    fake.release("GET", "/slow");
    until("B's 16 runs", PATIENCE, || async {
        (statuses(&app, &b).await.get("succeeded") == Some(&16)).then_some(())
    })
    .await;
    fake.stop().await;
    app.stop().await;
}

/// A webhook manifest polling `FAKE/job` every `interval` seconds.
fn polling(fake: &FakeApi, interval: u64) -> Value {
    point_at(
        &format!(
            r#"{{"execute": [{{"url": "FAKE/job", "method": "GET", "polling": {{"interval": {interval}, "amount": 2}},
                "continue_if": {{"response_notation": "state", "value": "done"}}}}]}}"#
        ),
        fake,
    )
}

async fn polling_runs_wait_without_a_slot(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    fake.script(
        "GET",
        "/job",
        vec![Answer::json(200, json!({"state": "pending"}))],
    );
    fake.script("GET", "/fast", vec![Answer::json(200, json!({}))]);
    // As many runs as the process has slots, each waiting an hour between
    // its two attempts.
    let poll = create_integration(&app, "webhook", polling(&fake, 3600)).await;
    let mut waiting = Vec::new();
    for _ in 0..8 {
        waiting.push(queue(&app, "org_1", &poll, json!({})).await);
    }
    until("the 8 polling runs to wait", PATIENCE, || async {
        (statuses(&app, "org_1").await.get("waiting") == Some(&8)).then_some(())
    })
    .await;
    let run = run_of(&app, "org_1", &waiting[0]).await;
    assert!(run["next_run_at"].is_string(), "{run}");
    assert!(run["finished_at"].is_null(), "{run}");
    assert_eq!(run["steps"].as_array().unwrap().len(), 1, "{run}");
    // Their slots are free: another run is served at once.
    let fast = create_integration(&app, "webhook", one_get(&fake, "/fast")).await;
    let other = queue(&app, "org_1", &fast, json!({})).await;
    until("the other run", PATIENCE, || async {
        (run_of(&app, "org_1", &other).await["status"] == "succeeded").then_some(())
    })
    .await;
    assert_eq!(statuses(&app, "org_1").await.get("waiting"), Some(&8));
    fake.stop().await;
    app.stop().await;
}

/// Runs parked between polling attempts still count as waiting work: the
/// per-organization quota (`HOOKRELAY_MAX_QUEUED_RUNS_PER_ORG`) bounds them.
async fn waiting_runs_count_toward_the_quota(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.limits.max_queued_runs_per_org = 2).await
    else {
        return;
    };
    let fake = FakeApi::start().await;
    fake.script(
        "GET",
        "/job",
        vec![Answer::json(200, json!({"state": "pending"}))],
    );
    let poll = create_integration(&app, "webhook", polling(&fake, 3600)).await;
    for _ in 0..2 {
        queue(&app, "org_1", &poll, json!({})).await;
    }
    until("the 2 polling runs to wait", PATIENCE, || async {
        (statuses(&app, "org_1").await.get("waiting") == Some(&2)).then_some(())
    })
    .await;
    let path = format!("/v1/integrations/{poll}/runs");
    let (status, v) = app.post(&path, &json!({})).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
    fake.stop().await;
    app.stop().await;
}

async fn a_waiting_run_resumes_where_it_stopped(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"initial_data_form": [{"id": "PASSWORD", "name": "generate"}],
            "execute": [
              {"url": "FAKE/accounts", "method": "POST", "data": {"password": "{{ PASSWORD }}"},
               "store_data": {"ACCOUNT": "id"}},
              {"url": "FAKE/accounts/{{ responses.0.id }}?p={{ PASSWORD }}", "method": "GET",
               "polling": {"interval": 2, "amount": 3},
               "continue_if": {"response_notation": "state", "value": "ready"}}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    let user = create_user(&app, "ada@example.com").await;
    fake.script(
        "POST",
        "/accounts",
        vec![Answer::json(201, json!({"id": "acc-1"}))],
    );
    fake.script(
        "GET",
        "/accounts/acc-1",
        vec![
            Answer::json(200, json!({"state": "pending"})),
            Answer::json(200, json!({"state": "ready"})),
        ],
    );
    let run = queue(&app, "org_1", &id, json!({"user_id": user})).await;
    let parked = until("the run to wait", PATIENCE, || async {
        let r = run_of(&app, "org_1", &run).await;
        (r["status"] == "waiting").then_some(r)
    })
    .await;
    let labels = |r: &Value| -> Vec<String> {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["label"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(labels(&parked), ["execute[0]", "execute[1]"]);
    let done = until("the run to end", PATIENCE, || async {
        let r = run_of(&app, "org_1", &run).await;
        (r["finished_at"].is_string()).then_some(r)
    })
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        labels(&done),
        ["execute[0]", "execute[1]", "execute[1] poll 2"]
    );
    let positions: Vec<i64> = done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [0, 1, 2]);
    assert_eq!(done["started_at"], parked["started_at"], "{done}");
    // The account was created once, and both polls used its id and the
    // same generated password.
    let created = fake.seen_on("POST", "/accounts");
    assert_eq!(created.len(), 1);
    let password = created[0].json()["password"].as_str().unwrap().to_string();
    let polls = fake.seen_on("GET", "/accounts/acc-1");
    assert_eq!(polls.len(), 2);
    for p in polls {
        assert_eq!(p.query, format!("p={password}"));
    }
    assert_eq!(done["result"], json!({"stored": {"ACCOUNT": "acc-1"}}));
    let (_, u) = app.get(&format!("/v1/users/{user}")).await;
    assert_eq!(u["extra_fields"]["ACCOUNT"], "acc-1", "{u}");
    // The checkpoint held the generated password: it is stored sealed.
    assert!(!app.table_text("runs").contains(&password));
    fake.stop().await;
    app.stop().await;
}

async fn shutdown_hands_unfinished_runs_back(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| {
        c.request_timeout_secs = 120;
        c.shutdown_grace_secs = 1;
    })
    .await
    else {
        return;
    };
    let fake = FakeApi::start().await;
    fake.hold("GET", "/slow");
    fake.script("GET", "/slow", vec![Answer::json(200, json!({}))]);
    let slow = create_integration(&app, "webhook", one_get(&fake, "/slow")).await;
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(queue(&app, "org_1", &slow, json!({})).await);
    }
    until("the runs in flight", PATIENCE, || async {
        (fake.seen_on("GET", "/slow").len() == 3).then_some(())
    })
    .await;
    // Stopped while the API hangs; started again without a run worker.
    let app = app
        .restart_with(|c| c.role = hookrelay::config::Role::Api)
        .await
        .expect("restarts");
    for id in &runs {
        let r = run_of(&app, "org_1", id).await;
        assert_eq!(r["status"], "queued", "handed back: {r}");
        assert!(r["error"].is_null() && r["finished_at"].is_null(), "{r}");
        assert_eq!(r["attempt"], 1, "{r}");
    }
    // A process with a worker runs them again, to the end.
    let app = app
        .restart_with(|c| c.role = hookrelay::config::Role::All)
        .await
        .expect("restarts");
    fake.release("GET", "/slow");
    until("the handed-back runs", PATIENCE, || async {
        (statuses(&app, "org_1").await.get("succeeded") == Some(&3)).then_some(())
    })
    .await;
    fake.stop().await;
    app.stop().await;
}
