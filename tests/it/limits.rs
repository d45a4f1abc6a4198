//! Issue 18, per-organization limits: web hooks, tokens and the publish
//! rate. An organization at its limit gets a clear error; another one is
//! not affected.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::{event, Backend, TestApp, TOKEN};
use crate::fairness::{call_in, new_org};

both_backends!(
    webhooks_per_organization_are_limited,
    tokens_per_organization_are_limited,
    publish_rate_is_per_organization
);

async fn webhooks_per_organization_are_limited(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.limits.max_webhooks_per_org = 2).await
    else {
        return;
    };
    let (a, b) = (new_org(&app, "A").await, new_org(&app, "B").await);
    let hook = json!({"name": "h", "url": "http://127.0.0.1:9/h", "event_types": ["*"]});
    for _ in 0..2 {
        let (s, v) = call_in(&app, &a, Method::POST, "/v1/webhooks", Some(&hook)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = call_in(&app, &a, Method::POST, "/v1/webhooks", Some(&hook)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "limit_reached", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HOOKRELAY_MAX_WEBHOOKS_PER_ORG"),
        "{v}"
    );
    // Nothing was stored.
    let (_, list) = call_in(&app, &a, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "{list}");
    // B is not affected by A being at its limit.
    for _ in 0..2 {
        let (s, v) = call_in(&app, &b, Method::POST, "/v1/webhooks", Some(&hook)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // Deleting one makes room again.
    let id = list["data"][0]["id"].as_str().unwrap();
    let (s, _) = call_in(
        &app,
        &a,
        Method::DELETE,
        &format!("/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert!(s.is_success(), "{s}");
    let (s, v) = call_in(&app, &a, Method::POST, "/v1/webhooks", Some(&hook)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.stop().await;
}

async fn tokens_per_organization_are_limited(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| c.limits.max_tokens_per_org = 2).await else {
        return;
    };
    let (a, b) = (new_org(&app, "A").await, new_org(&app, "B").await);
    let body = json!({"name": "t", "scopes": ["history:read"]});
    for _ in 0..2 {
        let (s, v) = call_in(&app, &a, Method::POST, "/v1/tokens", Some(&body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = call_in(&app, &a, Method::POST, "/v1/tokens", Some(&body)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "limit_reached", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HOOKRELAY_MAX_TOKENS_PER_ORG"),
        "{v}"
    );
    let (s, v) = call_in(&app, &b, Method::POST, "/v1/tokens", Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.stop().await;
}

/// Publishes `n` events in one batch as the platform token in `org`.
async fn publish_batch(app: &TestApp, org: &str, n: usize) -> reqwest::Response {
    let events: Vec<Value> = (0..n)
        .map(|i| event("profile.parsing.success", &format!("k{i}")))
        .collect();
    app.http
        .post(format!("{}/v1/events/batch", app.base))
        .bearer_auth(TOKEN)
        .header("Hookrelay-Organization", org)
        .json(&json!({ "events": events }))
        .send()
        .await
        .unwrap()
}

async fn publish_rate_is_per_organization(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |c| {
        // A slow refill: on a loaded machine a second may pass between two
        // requests, and the test must not see a refilled bucket.
        c.limits.publish_rate_per_org = 1;
        c.limits.publish_burst_per_org = 1000;
    })
    .await
    else {
        return;
    };
    let (a, b) = (new_org(&app, "A").await, new_org(&app, "B").await);
    // A spends its whole burst…
    let r = publish_batch(&app, &a, 1000).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // …so it is soon refused (a slow batch may have earned it a token or
    // two meanwhile), with when to retry, and nothing is stored.
    let publish_a = |key: &'static str| {
        app.http
            .post(format!("{}/v1/events", app.base))
            .bearer_auth(TOKEN)
            .header("Hookrelay-Organization", &a)
            .json(&event("profile.parsing.success", key))
            .send()
    };
    let mut refused = None;
    for _ in 0..20 {
        let before = app.count_rows("events");
        let r = publish_a("over").await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(
                app.count_rows("events"),
                before,
                "a refused publish wrote nothing"
            );
            refused = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    let r = refused.expect("A is refused once its burst is spent");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
    // A batch too.
    let r = publish_batch(&app, &a, 5).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // B has its own bucket: its full burst goes through while A waits.
    let r = publish_batch(&app, &b, 1000).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // B spent its burst too: refused, like A; before that it was accepted.
    let r = publish_batch(&app, &b, 5).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // After the wait A publishes again.
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    let (s, v) = call_in(
        &app,
        &a,
        Method::POST,
        "/v1/events",
        Some(&event("profile.parsing.success", "later")),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    app.stop().await;
}
