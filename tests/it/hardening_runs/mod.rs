//! Issue 25, items 1 and 2: integration runs are claimed fairly among
//! organizations and one organization never holds every slot; a run that
//! waits between polling attempts gives its slot back and resumes where it
//! stopped; shutdown is bounded and hands unfinished runs back (`slots`);
//! a run's reads and what it keeps are bounded, failing the step when hit
//! (`memory`).

mod memory;
mod slots;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::fake_api::FakeApi;
use crate::common::{TestApp, TOKEN};
use crate::organizations::call;

/// Generous: a safety net for a condition that never comes, not a bound.
pub(crate) const PATIENCE: Duration = Duration::from_secs(90);

/// Queues a run of `integration` in `org` (no wait); its id.
pub(crate) async fn queue(app: &TestApp, org: &str, integration: &str, body: Value) -> String {
    let path = format!("/v1/integrations/{integration}/runs");
    let (s, v) = call(app, TOKEN, Some(org), Method::POST, &path, Some(&body)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// How many of `org`'s runs are in each status.
pub(crate) async fn statuses(
    app: &TestApp,
    org: &str,
) -> std::collections::BTreeMap<String, usize> {
    let (s, v) = call(
        app,
        TOKEN,
        Some(org),
        Method::GET,
        "/v1/runs?limit=100",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut out = std::collections::BTreeMap::new();
    for r in v["data"].as_array().unwrap() {
        *out.entry(r["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    out
}

/// Run `id` of `org`, with its steps.
pub(crate) async fn run_of(app: &TestApp, org: &str, id: &str) -> Value {
    let (s, v) = call(
        app,
        TOKEN,
        Some(org),
        Method::GET,
        &format!("/v1/runs/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// Creates an integration in `org`; its id.
pub(crate) async fn integration_in(
    app: &TestApp,
    org: &str,
    kind: &str,
    manifest: Value,
) -> String {
    let body = json!({"name": "t", "kind": kind, "manifest": manifest});
    let (s, v) = call(
        app,
        TOKEN,
        Some(org),
        Method::POST,
        "/v1/integrations",
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// A webhook manifest of one `GET` of `path` on the fake API.
pub(crate) fn one_get(fake: &FakeApi, path: &str) -> Value {
    json!({"execute": [{"url": format!("{}{path}", fake.base), "method": "GET"}]})
}
