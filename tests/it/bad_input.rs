//! Every class of bad input gets a clear 4xx JSON error and writes nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::{read, Backend, TestApp, TOKEN};

both_backends!(
    bad_authentication_is_refused,
    bad_bodies_are_refused,
    bad_events_are_refused,
    bad_webhooks_are_refused,
    bad_list_queries_are_refused,
);

/// Asserts the documented error shape and returns the code.
fn code(status: StatusCode, body: &Value, expected: StatusCode) -> String {
    assert_eq!(status, expected, "{body}");
    let e = &body["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    e["code"].as_str().expect("error.code").to_string()
}

/// Starts a gateway with one web hook, sends the bad `requests`, and checks
/// that they wrote nothing.
async fn refused_cleanly(backend: Backend, requests: impl AsyncFnOnce(&TestApp)) {
    let Some(app) = TestApp::start_with(backend, |c| c.max_body_bytes = 64 * 1024).await else {
        return;
    };
    app.create_webhook(json!({"name": "w", "url": "http://127.0.0.1:9/x", "event_types": ["*"]}))
        .await;
    let counts = || {
        (
            app.count_rows("events"),
            app.count_rows("deliveries"),
            app.count_rows("webhooks"),
            app.count_rows("event_types"),
        )
    };
    let before = counts();
    requests(&app).await;
    assert_eq!(counts(), before, "refused requests wrote nothing");
    app.stop().await;
}

async fn bad_authentication_is_refused(backend: Backend) {
    refused_cleanly(backend, async |app: &TestApp| {
        // Authentication.
        let (s, b) = read(
            app.http
                .get(format!("{}/v1/webhooks", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(code(s, &b, StatusCode::UNAUTHORIZED), "unauthorized");
        let (s, b) = read(
            app.http
                .get(format!("{}/v1/webhooks", app.base))
                .bearer_auth("hr_wrong")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(code(s, &b, StatusCode::UNAUTHORIZED), "unauthorized");
        let (s, b) = read(
            app.http
                .get(format!("{}/v1/webhooks", app.base))
                .header("Authorization", "Basic abc")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(code(s, &b, StatusCode::UNAUTHORIZED), "unauthorized");
        let (s, b) = read(
            app.http
                .post(format!("{}/v1/events", app.base))
                .json(&json!({}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(code(s, &b, StatusCode::UNAUTHORIZED), "unauthorized");
    })
    .await
}

async fn bad_bodies_are_refused(backend: Backend) {
    refused_cleanly(backend, async |app: &TestApp| {
        let raw = |path: &str, ctype: &str, body: Vec<u8>| {
            app.http
                .post(format!("{}{path}", app.base))
                .bearer_auth(TOKEN)
                .header("Content-Type", ctype.to_string())
                .body(body)
                .send()
        };
        // Malformed JSON, wrong content type, oversized body.
        let (s, b) = read(
            raw("/v1/events", "application/json", b"{\"type\": ".to_vec())
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(code(s, &b, StatusCode::BAD_REQUEST), "malformed_json");
        let (s, b) = read(
            raw("/v1/events", "text/plain", b"{}".to_vec())
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            code(s, &b, StatusCode::UNSUPPORTED_MEDIA_TYPE),
            "unsupported_media_type"
        );
        let big =
            json!({"type": "profile.parsing.success", "profile": {"blob": "x".repeat(70 * 1024)}});
        let (s, b) = read(
            raw(
                "/v1/events",
                "application/json",
                serde_json::to_vec(&big).unwrap(),
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            code(s, &b, StatusCode::PAYLOAD_TOO_LARGE),
            "payload_too_large"
        );
        let (s, b) = read(
            raw("/v1/webhooks", "application/json", b"[1,2]".to_vec())
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
            "invalid_body"
        );
    })
    .await
}

async fn bad_events_are_refused(backend: Backend) {
    refused_cleanly(backend, async |app: &TestApp| {
        // Events: not an object, unknown type, missing/invalid entity, bad fields.
        let cases = [
            (json!([1]), "invalid_event", None),
            (
                json!({"origin": "api", "profile": {}}),
                "invalid_field",
                Some("type"),
            ),
            (
                json!({"type": 7, "profile": {}}),
                "invalid_field",
                Some("type"),
            ),
            (
                json!({"type": "nope.nothing", "nope": {}}),
                "unknown_event_type",
                Some("type"),
            ),
            (
                json!({"type": "profile.parsing.success", "origin": "api"}),
                "missing_entity",
                Some("profile"),
            ),
            (
                json!({"type": "job.parsing.success", "job": "j1"}),
                "invalid_entity",
                Some("job"),
            ),
            (
                json!({"type": "job.parsing.success", "message": 5, "job": {}}),
                "invalid_field",
                Some("message"),
            ),
            (
                json!({"type": "webhook.disabled", "webhook": {}}),
                "reserved_event_type",
                Some("type"),
            ),
        ];
        for (body, want, field) in cases {
            let (s, b) = app.post("/v1/events", &body).await;
            assert_eq!(
                code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
                want,
                "{body}"
            );
            if let Some(f) = field {
                assert_eq!(b["error"]["field"], f, "{body}");
            }
        }
        let (s, b) = app.post("/v1/events/batch", &json!({"events": []})).await;
        assert_eq!(
            code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
            "invalid_field"
        );
    })
    .await
}

async fn bad_webhooks_are_refused(backend: Backend) {
    refused_cleanly(backend, async |app: &TestApp| {
        // Webhooks: bad URL, unknown event type, bad pattern, bad format, unknown field.
        let base = json!({"name": "n", "url": "https://ok.example.com", "event_types": ["*"]});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        let cases = [
            (with("url", json!("not a url")), "invalid_url", "url"),
            (
                with("url", json!("ftp://example.com/x")),
                "invalid_url",
                "url",
            ),
            (with("url", json!("/relative/path")), "invalid_url", "url"),
            (
                with("event_types", json!(["nope.nothing"])),
                "unknown_event_type",
                "event_types[0]",
            ),
            (
                with("event_types", json!(["profile.*", "Profile.*"])),
                "invalid_field",
                "event_types[1]",
            ),
            (
                with("event_types", json!([])),
                "invalid_field",
                "event_types",
            ),
            (with("format", json!("xml")), "invalid_field", "format"),
            (
                with("max_events_per_request", json!(5)),
                "invalid_field",
                "max_events_per_request",
            ),
            (
                with("max_events_per_request", json!(0)),
                "invalid_field",
                "max_events_per_request",
            ),
            (with("name", json!("  ")), "invalid_field", "name"),
        ];
        for (body, want, field) in cases {
            let (s, b) = app.post("/v1/webhooks", &body).await;
            assert_eq!(
                code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
                want,
                "{body}"
            );
            assert_eq!(b["error"]["field"], field, "{body}");
        }
        let (s, b) = app
            .post("/v1/webhooks", &with("colour", json!("red")))
            .await;
        assert_eq!(
            code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
            "invalid_body"
        );
        assert!(b["error"]["message"].as_str().unwrap().contains("colour"));
    })
    .await
}

async fn bad_list_queries_are_refused(backend: Backend) {
    refused_cleanly(backend, async |app: &TestApp| {
        // Lists: unknown sort key, bad order, bad limit, bad cursor, bad time, unknown parameter.
        for (path, field) in [
            ("/v1/webhooks?sort=colour", "sort"),
            ("/v1/webhooks?order=sideways", "order"),
            ("/v1/webhooks?limit=0", "limit"),
            ("/v1/webhooks?cursor=%%%", "cursor"),
            ("/v1/history?sort=colour", "sort"),
            ("/v1/history?status=6xx", "status"),
            ("/v1/events?since=yesterday", "since"),
        ] {
            let (s, b) = app.get(path).await;
            assert_eq!(
                code(s, &b, StatusCode::UNPROCESSABLE_ENTITY),
                "invalid_field",
                "{path}"
            );
            assert_eq!(b["error"]["field"], field, "{path}");
        }
        let (s, b) = app.get("/v1/webhooks?colour=red").await;
        assert_eq!(code(s, &b, StatusCode::BAD_REQUEST), "invalid_query");
        let (s, b) = app.get("/v1/webhooks?limit=abc").await;
        assert_eq!(code(s, &b, StatusCode::BAD_REQUEST), "invalid_query");
        let (s, b) = app.get("/v1/nothing-here").await;
        assert_eq!(code(s, &b, StatusCode::NOT_FOUND), "not_found");
    })
    .await
}

#[actix_web::test]
async fn https_only_switch_refuses_plain_http() {
    let app = TestApp::start_with(Backend::Sqlite, |c| c.require_https = true)
        .await
        .unwrap();
    let (s, b) = app
        .post(
            "/v1/webhooks",
            &json!({"name": "n", "url": "http://example.com/x", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(code(s, &b, StatusCode::UNPROCESSABLE_ENTITY), "invalid_url");
    let (s, _) = app
        .post(
            "/v1/webhooks",
            &json!({"name": "n", "url": "https://example.com/x", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.stop().await;
}
