//! Access tokens and their scopes.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::wait::until_ok;
use crate::common::{event, Backend, TestApp};

both_backends!(
    a_token_is_listed_without_its_value,
    a_publisher_may_only_publish,
    webhooks_read_sees_no_secrets,
    bad_token_input_writes_nothing,
    renamed_used_and_revoked,
);

/// Creates a token; returns its id and secret.
pub(crate) async fn create_token(app: &TestApp, name: &str, scopes: &[&str]) -> (String, String) {
    let (status, v) = app
        .post("/v1/tokens", &json!({"name": name, "scopes": scopes}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

/// A gateway with a web hook and a token that may only publish.
struct Publisher {
    app: TestApp,
    hook: Value,
    hook_id: String,
    publisher: String,
    publisher_id: String,
}

/// Sets up [`Publisher`]; on the way, checks the token as created: shown
/// once, `hr_` + 32 bytes base64url, with its scopes.
async fn publisher(backend: Backend) -> Option<Publisher> {
    let app = TestApp::start(backend).await?;
    let hook = app
        .create_webhook(json!({"name": "h", "url": "https://example.com/h", "event_types": ["*"]}))
        .await;
    let hook_id = hook["id"].as_str().unwrap().to_string();

    // Created: shown once, `hr_` + 32 bytes base64url; listed without it.
    let (status, created) = app
        .post(
            "/v1/tokens",
            &json!({"name": "publisher", "scopes": ["events:write"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let publisher = created["token"].as_str().unwrap().to_string();
    let publisher_id = created["id"].as_str().unwrap().to_string();
    assert!(publisher.starts_with("hr_") && publisher.len() >= 3 + 43);
    assert_eq!(created["scopes"], json!(["events:write"]));
    Some(Publisher {
        app,
        hook,
        hook_id,
        publisher,
        publisher_id,
    })
}

async fn a_token_is_listed_without_its_value(backend: Backend) {
    let Some(t) = publisher(backend).await else {
        return;
    };
    let Publisher {
        app,
        publisher,
        publisher_id,
        ..
    } = &t;
    let (status, list) = app.get("/v1/tokens").await;
    assert_eq!(status, StatusCode::OK);
    let text = list.to_string();
    assert!(!text.contains(publisher.as_str()), "the list shows a token");
    assert!(list["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("token").is_none() && t.get("token_hash").is_none()));
    assert!(list["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == publisher_id.as_str() && t["last_used_at"].is_null()));

    t.app.stop().await;
}

async fn a_publisher_may_only_publish(backend: Backend) {
    let Some(t) = publisher(backend).await else {
        return;
    };
    let Publisher {
        app,
        hook_id,
        publisher,
        ..
    } = &t;
    // The publisher publishes, and nothing else: 403 names the scope, and
    // comes before any validation of the body.
    let (status, v) = app
        .call_as(
            publisher,
            Method::POST,
            "/v1/events",
            Some(&event("profile.parsing.success", "k1")),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    for (method, path, body, scope) in [
        (Method::GET, "/v1/history".to_string(), None, "history:read"),
        (
            Method::GET,
            format!("/v1/webhooks/{hook_id}/secret"),
            None,
            "webhooks:write",
        ),
        (
            Method::GET,
            "/v1/webhooks".to_string(),
            None,
            "webhooks:read",
        ),
        (
            Method::POST,
            "/v1/webhooks".to_string(),
            Some(json!({"bogus": true})),
            "webhooks:write",
        ),
        (
            Method::POST,
            "/v1/tokens".to_string(),
            Some(json!({"name": "x", "scopes": ["admin"]})),
            "admin",
        ),
    ] {
        let (status, v) = app
            .call_as(publisher, method.clone(), &path, body.as_ref())
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], "forbidden");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(scope),
            "{v}"
        );
    }

    t.app.stop().await;
}

async fn webhooks_read_sees_no_secrets(backend: Backend) {
    let Some(t) = publisher(backend).await else {
        return;
    };
    let Publisher {
        app, hook, hook_id, ..
    } = &t;
    // webhooks:read sees webhooks but not their secrets.
    let (_, reader) = create_token(app, "reader", &["webhooks:read"]).await;
    let (status, got) = app
        .call_as(
            &reader,
            Method::GET,
            &format!("/v1/webhooks/{hook_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(got.get("secret").is_none());
    let (status, _) = app
        .call_as(
            &reader,
            Method::GET,
            &format!("/v1/webhooks/{hook_id}/secret"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, secret) = app.get(&format!("/v1/webhooks/{hook_id}/secret")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(secret["secret"], hook["secret"]);

    t.app.stop().await;
}

async fn bad_token_input_writes_nothing(backend: Backend) {
    let Some(t) = publisher(backend).await else {
        return;
    };
    let app = &t.app;
    // Bad input: 422 with the field, and no token written.
    let before = app.count_rows("api_tokens");
    for (body, field) in [
        (json!({"name": "x", "scopes": ["events:read"]}), "scopes[0]"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": " ", "scopes": ["admin"]}), "name"),
    ] {
        let (status, v) = app.post("/v1/tokens", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    assert_eq!(app.count_rows("api_tokens"), before);

    t.app.stop().await;
}

async fn renamed_used_and_revoked(backend: Backend) {
    let Some(t) = publisher(backend).await else {
        return;
    };
    let Publisher {
        app,
        publisher,
        publisher_id,
        ..
    } = &t;
    // Rename, use is recorded, revoke takes effect on the next request.
    let (status, v) = app
        .call_as(
            publisher,
            Method::POST,
            "/v1/events",
            Some(&event("profile.parsing.success", "k1")),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let (status, renamed) = app
        .patch(
            &format!("/v1/tokens/{publisher_id}"),
            &json!({"name": "ingest"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "ingest");
    until_ok(
        "last_used_at to be set",
        Duration::from_secs(20),
        async || {
            let (_, t) = app.get(&format!("/v1/tokens/{publisher_id}")).await;
            if t["last_used_at"].is_string() {
                Ok(())
            } else {
                Err(t)
            }
        },
    )
    .await;
    let (status, _) = app
        .call(Method::DELETE, &format!("/v1/tokens/{publisher_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, v) = app
        .call_as(
            publisher,
            Method::POST,
            "/v1/events",
            Some(&event("profile.parsing.success", "k2")),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    let (status, _) = app
        .call(Method::DELETE, &format!("/v1/tokens/{publisher_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revoked elsewhere (another instance, the CLI): this process trusts
    // what it looked up for at most `TRUSTED_FOR`, then asks again.
    let (other_id, other) = create_token(app, "elsewhere", &["webhooks:read"]).await;
    let (status, _) = app.call_as(&other, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(status, StatusCode::OK);
    app.execute_sql(&format!("DELETE FROM api_tokens WHERE id = '{other_id}'"));
    tokio::time::sleep(hookrelay::tokens::TRUSTED_FOR + Duration::from_millis(100)).await;
    let (status, v) = app.call_as(&other, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    t.app.stop().await;
}
