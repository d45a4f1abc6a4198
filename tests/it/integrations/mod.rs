//! Integration manifests run against a fake third-party API on loopback:
//! the real Asana manifest end to end, polling, store_data, files, OAuth,
//! revoke, retries, Basic auth, generated secrets, validation, triggers and
//! user sync. Shared helpers here, scenarios by topic in the submodules.

mod cli;
mod failures;
mod oauth;
mod preview;
mod runs;
mod sync;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::fake_api::FakeApi;
use crate::common::wait::until_ok;
use crate::common::TestApp;

/// The manifest with every `FAKE` replaced by the fake API's base URL.
pub(crate) fn point_at(manifest: &str, fake: &FakeApi) -> Value {
    serde_json::from_str(&manifest.replace("FAKE", &fake.base)).unwrap()
}

/// The reference paginated user-sync manifest, reading the fake API's
/// `/users`.
pub(crate) fn sync_manifest(fake: &FakeApi) -> Value {
    let raw = include_str!(
        "../../fixtures/manifests/reference-test-sync-paginated-token-nested-data-from.json"
    )
    .replace("http://localhost/test_api/users", "FAKE/users")
    .replace("https://localhost/test_api/users", "FAKE/users");
    point_at(&raw, fake)
}

pub(crate) async fn create_user(app: &TestApp, email: &str) -> String {
    let (status, u) = app
        .post(
            "/v1/users",
            &json!({"email": email, "first_name": "Ada", "last_name": "O'Brien", "phone": "+3212345678"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    u["id"].as_str().unwrap().to_string()
}

pub(crate) async fn create_integration(app: &TestApp, kind: &str, manifest: Value) -> String {
    let (status, v) = app
        .post(
            "/v1/integrations",
            &json!({"name": "test", "kind": kind, "manifest": manifest}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Starts the OAuth flow; the URL the admin is sent to.
pub(crate) async fn authorize(app: &TestApp, id: &str) -> url::Url {
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirect
        .get(format!("{}/v1/integrations/{id}/oauth/authorize", app.base))
        .bearer_auth(crate::common::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

pub(crate) async fn run_wait(app: &TestApp, integration: &str, body: Value) -> Value {
    let (status, run) = app
        .post(
            &format!("/v1/integrations/{integration}/runs?wait=true"),
            &body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    run
}

/// The labels of a run's steps, in order.
pub(crate) fn step_labels(run: &Value) -> Vec<&str> {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect()
}

pub(crate) async fn wait_run(app: &TestApp, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    until_ok(
        &format!("run {id} to reach the state"),
        Duration::from_secs(20),
        async || {
            let (_, r) = app.get(&format!("/v1/runs/{id}")).await;
            if check(&r) {
                Ok(r)
            } else {
                Err(r)
            }
        },
    )
    .await
}
