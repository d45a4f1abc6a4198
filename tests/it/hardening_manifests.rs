//! Issue 25, items 8–11: a manifest cannot send a browser or a request
//! outside http(s), cannot set the headers that route a request, the OAuth
//! callback cannot be made to speak for a provider or be framed and answers
//! once connected, and run logs mask what they used to leak.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::fake_api::{Answer, FakeApi};
use crate::common::{Backend, TestApp};
use crate::integrations::{create_integration, point_at, run_wait};

both_backends!(non_http_urls_are_refused, routing_headers_are_refused,);

pub(crate) async fn set_config(app: &TestApp, id: &str, values: Value) {
    let path = format!("/v1/integrations/{id}/config");
    let body = json!({ "values": values });
    let (status, v) = app.call(Method::PUT, &path, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// Posts an integration that must be refused; its problems' paths.
async fn refused(app: &TestApp, manifest: Value) -> (Vec<String>, Value) {
    let body = json!({"name": "refused", "kind": "webhook", "manifest": manifest});
    let (status, v) = app.post("/v1/integrations", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "invalid_manifest", "{v}");
    let paths = v["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_string())
        .collect();
    (paths, v)
}

async fn non_http_urls_are_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (paths, v) = refused(
        &app,
        json!({
            "oauth": {"authenticate_url": "javascript:alert(document.domain)//",
                      "access_token": {"url": "https://p.example/token"}},
            "execute": [{"url": "file:///etc/passwd", "method": "GET"},
                        {"url": "JavaScript:alert(1)//{{ X }}", "method": "GET"}],
            "revoke": [{"url": "data:text/html,<script>alert(1)</script>"}],
        }),
    )
    .await;
    for p in [
        "oauth.authenticate_url",
        "execute[0].url",
        "execute[1].url",
        "revoke[0].url",
    ] {
        assert!(paths.contains(&p.to_string()), "{p} missing: {v}");
    }
    assert!(v.to_string().contains("http or https"), "{v}");
    assert_eq!(app.count_rows("integrations"), 0);

    // A template can only be judged once rendered: at the authorize step
    // (nothing stored, no state issued) and at a request.
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"initial_data_form": [{"id": "START", "name": "s"}, {"id": "TARGET", "name": "t"}],
            "oauth": {"authenticate_url": "{{ START }}", "access_token": {"url": "FAKE/token"}},
            "execute": [{"url": "{{ TARGET }}/x", "method": "GET"}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    set_config(
        &app,
        &id,
        json!({"START": "javascript:alert(document.domain)//", "TARGET": "file:///etc"}),
    )
    .await;
    let path = format!("/v1/integrations/{id}/oauth/start");
    let (status, v) = app.post(&path, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["error"]["field"], "manifest.oauth.authenticate_url",
        "{v}"
    );
    assert!(!v.to_string().contains("alert("), "{v}");
    assert_eq!(app.count_rows("oauth_states"), 0);
    let run = run_wait(&app, &id, json!({})).await;
    assert_ne!(run["status"], "succeeded", "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(error.contains("only http and https"), "{error}");
    // A change to such a URL is refused, and changes nothing.
    let patch =
        json!({"manifest": {"execute": [{"url": "ftp://files.example/x", "method": "GET"}]}});
    let (status, v) = app.patch(&format!("/v1/integrations/{id}"), &patch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "execute[0].url", "{v}");
    let (_, now) = app.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(now["manifest"]["execute"][0]["url"], "{{ TARGET }}/x");
    assert!(fake.seen().is_empty());
    fake.stop().await;
    app.stop().await;
}

async fn routing_headers_are_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (paths, v) = refused(
        &app,
        json!({
            "headers": {"Host": "internal.example", "Authorization": "Bearer x"},
            "execute": [{"url": "https://a.example", "method": "POST",
                         "headers": {"transfer-encoding": "chunked"}}],
            "exists": {"url": "https://a.example", "method": "GET", "expected": "x",
                       "headers": {"Connection": "Upgrade"}},
            "oauth": {"refresh": {"url": "https://a.example/t", "headers": {"Content-Length": "0"}}},
        }),
    )
    .await;
    assert_eq!(
        paths,
        [
            "execute[0].headers.transfer-encoding",
            "headers.Host",
            "oauth.refresh.headers.Content-Length",
            "exists.headers.Connection"
        ],
        "{v}"
    );
    assert_eq!(v["error"]["field"], "execute[0].headers.transfer-encoding");
    let host = &v["error"]["problems"][1]["message"];
    assert!(host.as_str().unwrap().contains("Host"), "{v}");
    assert_eq!(app.count_rows("integrations"), 0);

    // A header name that is a template is checked once rendered.
    let fake = FakeApi::start().await;
    let manifest = point_at(
        r#"{"initial_data_form": [{"id": "H", "name": "h"}],
            "execute": [{"url": "FAKE/x", "method": "GET", "headers": {"{{ H }}": "evil.example"}}]}"#,
        &fake,
    );
    let id = create_integration(&app, "webhook", manifest).await;
    set_config(&app, &id, json!({"H": "host"})).await;
    fake.script("GET", "/x", vec![Answer::json(200, json!({}))]);
    let run = run_wait(&app, &id, json!({})).await;
    assert_ne!(run["status"], "succeeded", "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(
        error.contains("header ***H***") || error.contains("header host"),
        "{error}"
    );
    assert!(fake.seen().is_empty(), "the request went out");
    fake.stop().await;
    app.stop().await;
}
