//! Item 7: answers that carry secrets (a new token, a web hook's signing
//! secret on create, reveal and rotate) say `Cache-Control: no-store`, and
//! so does every other API answer.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Backend, TestApp, TOKEN};

/// `Cache-Control` of an API answer to `method path` with `body`.
async fn cache_control(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, Option<String>) {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request reaches the gateway");
    let cc = r
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status(), cc)
}

#[actix_web::test]
async fn answers_with_secrets_are_not_stored() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let hook = json!({"name": "h", "url": "http://127.0.0.1:9/h", "event_types": ["*"]});
    let (s, cc) = cache_control(&app, Method::POST, "/v1/webhooks", Some(hook.clone())).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(cc.as_deref(), Some("no-store"), "create web hook");
    let created = app.create_webhook(hook).await;
    let id = created["id"].as_str().unwrap();
    for (method, path, body, status) in [
        (
            Method::GET,
            format!("/v1/webhooks/{id}/secret"),
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/rotate-secret"),
            Some(json!({})),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v1/tokens".to_string(),
            Some(json!({"name": "t", "scopes": ["history:read"]})),
            StatusCode::CREATED,
        ),
        // Any other answer too, errors included.
        (
            Method::GET,
            "/v1/webhooks".to_string(),
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v1/webhooks/wh_none".to_string(),
            None,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, cc) = cache_control(&app, method, &path, body).await;
        assert_eq!(s, status, "{path}");
        assert_eq!(cc.as_deref(), Some("no-store"), "{path}");
    }
    app.stop().await;
}
