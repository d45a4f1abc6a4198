//! Item 6: the events hookrelay publishes itself carry no credentials. A
//! web hook whose URL holds a user, a password and a token in its query is
//! disabled (410): its `webhook.disabled` event, as stored, listed,
//! delivered to subscribers and kept in history, shows the URL masked.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp};
use crate::security::create_token;

both_backends!(webhook_disabled_event_carries_no_credentials);

const SECRETS: [&str; 3] = ["alice", "pa55w0rd", "s3cretQ"];

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} holds '{s}': {text}");
    }
}

async fn webhook_disabled_event_carries_no_credentials(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_status("/gone", 410);
    app.create_webhook(json!({"name": "ops", "url": rx.url("/ops"),
        "event_types": ["webhook.disabled"], "format": "json"}))
        .await;
    let with_credentials =
        rx.url("/gone?token=s3cretQ&v=2")
            .replacen("http://", "http://alice:pa55w0rd@", 1);
    let gone = app
        .create_webhook(
            json!({"name": "gone", "url": with_credentials, "event_types": ["profile.*"]}),
        )
        .await;
    let first = app.publish(event("profile.parsing.success", "g1")).await;
    app.wait_event_deliveries(first["id"].as_str().unwrap(), |d| d[0]["status"] == "dead")
        .await;

    // The event as a subscriber received it.
    let got = rx.wait_for("/ops", 1).await;
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "webhook.disabled");
    assert_eq!(body["webhook"]["id"], gone["id"]);
    let masked = body["webhook"]["url"].as_str().unwrap();
    assert!(
        masked.starts_with("http://***:***@127.0.0.1:")
            && masked.ends_with("/gone?token=***&v=***"),
        "{masked}"
    );
    assert_clean("the delivered event", &got[0].body);
    // As stored: the events table, read raw.
    assert_clean("the events table", &app.table_text("events"));
    // As listed and kept in history, to a reader with `history:read`.
    let (_, reader) = create_token(&app, "reader", &["history:read"]).await;
    for path in ["/v1/events?type=webhook.disabled", "/v1/history?limit=500"] {
        let (s, v) = app.call_as(&reader, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_clean(path, &v.to_string());
    }
    rx.stop().await;
    app.stop().await;
}
