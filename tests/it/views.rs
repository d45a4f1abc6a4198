//! The shape of the API's views, pinned by snapshots (tests/it/snapshots/):
//! a web hook, a history entry, a token, an organization, an event type and
//! the error envelope. Ids, times and secrets are redacted; everything else
//! (field names, nesting, nulls, defaults) is the contract. Both backends
//! share one snapshot per view: they must answer alike.
//!
//! A change of shape fails here first: review it with `cargo insta review`
//! (docs/testing.md) and update openapi.yaml with it.

use reqwest::{Method, StatusCode};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp};

both_backends!(
    webhook_view,
    history_entry_view,
    token_view,
    organization_view,
    event_type_view,
    error_envelope,
);

/// Snapshots `v` under `name`, with ids, times and secrets redacted
/// wherever they appear in these views.
macro_rules! snapshot {
    ($name:expr, $v:expr) => {
        insta::assert_json_snapshot!($name, Plain(&$v), {
            ".id" => "[id]",
            ".**.id" => "[id]",
            ".**.webhook_id" => "[id]",
            ".**.event_id" => "[id]",
            ".**.event_ids[]" => "[id]",
            ".**.delivery_ids[]" => "[id]",
            ".**.organization_id" => "[id]",
            ".**.created_at" => "[time]",
            ".**.updated_at" => "[time]",
            ".**.sent_at" => "[time]",
            ".**.secret" => "[secret]",
            ".**.token" => "[secret]",
        })
    };
}

/// A JSON value as plain serde data. The crate's `serde_json` has
/// `arbitrary_precision`, under which a number serializes, to any other
/// serializer than serde_json's, as a private struct: insta would snapshot
/// `{"$serde_json::private::Number": "1"}` instead of `1`.
struct Plain<'a>(&'a Value);

impl Serialize for Plain<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => s.serialize_i64(i),
                (_, Some(u), _) => s.serialize_u64(u),
                (_, _, Some(f)) => s.serialize_f64(f),
                _ => s.serialize_str(&n.to_string()),
            },
            Value::String(t) => s.serialize_str(t),
            Value::Array(a) => s.collect_seq(a.iter().map(Plain)),
            Value::Object(o) => {
                let mut m = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    m.serialize_entry(k, &Plain(v))?;
                }
                m.end()
            }
        }
    }
}

async fn webhook_view(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let created = app
        .create_webhook(json!({"name": "orders", "url": "http://127.0.0.1:9/hook",
                                "event_types": ["profile.*"]}))
        .await;
    snapshot!("webhook_created", created);
    let (s, v) = app
        .get(&format!("/v1/webhooks/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    snapshot!("webhook", v);
    app.stop().await;
}

async fn history_entry_view(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    app.create_webhook(json!({"name": "h", "url": rx.url("/h"), "event_types": ["profile.*"]}))
        .await;
    let e = app.publish(event("profile.parsing.success", "view")).await;
    let row = crate::common::wait::until(
        "a history row",
        std::time::Duration::from_secs(20),
        async || {
            app.all_history(&format!("event_id={}", e["id"].as_str().unwrap()))
                .await
                .pop()
        },
    )
    .await;
    let (s, v) = app
        .get(&format!("/v1/history/{}", row["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The request's headers carry the signatures, the body and the timing,
    // which change with every delivery: their names are the shape.
    let mut v = v;
    for part in ["request", "response"] {
        if let Some(h) = v[part]["headers"].as_object_mut() {
            for value in h.values_mut() {
                *value = json!("[value]");
            }
        }
    }
    v["request"]["body"] = json!("[body]");
    v["url"] = json!("[receiver]/h");
    v["duration_ms"] = json!("[ms]");
    snapshot!("history_entry", v);
    rx.stop().await;
    app.stop().await;
}

async fn token_view(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (s, created) = app
        .post(
            "/v1/tokens",
            &json!({"name": "publisher", "scopes": ["events:write"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    snapshot!("token_created", created);
    let (s, v) = app
        .get(&format!("/v1/tokens/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    snapshot!("token", v);
    app.stop().await;
}

async fn organization_view(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (s, created) = app
        .post("/v1/organizations", &json!({"name": "Acme"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    snapshot!("organization_created", created);
    let (s, v) = app
        .get(&format!(
            "/v1/organizations/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    snapshot!("organization", v);
    app.stop().await;
}

async fn event_type_view(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let (s, v) = app.get("/v1/event-types/profile.parsing.success").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    snapshot!("event_type_builtin", v);
    let (s, v) = app
        .post(
            "/v1/event-types",
            &json!({"name": "invoice.paid", "description": "An invoice was paid."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app.get("/v1/event-types/invoice.paid").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    snapshot!("event_type_custom", v);
    app.stop().await;
}

async fn error_envelope(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    // A field's error names the field; others have none.
    let (s, v) = app
        .post(
            "/v1/webhooks",
            &json!({"name": "n", "url": "not a url", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    snapshot!("error_invalid_field", v);
    let (s, v) = app.get("/v1/webhooks/wh_nothing").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    snapshot!("error_not_found", v);
    let (s, v) = app
        .call_as("hr_wrong", Method::GET, "/v1/webhooks", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    snapshot!("error_unauthorized", v);
    app.stop().await;
}
