//! A signed request whose header would pass 8 KiB never leaves: the attempt
//! fails with `header_too_large`, is not retried, and shows in history and
//! in Check; the same event still reaches an `hrflow` webhook.

use std::time::Duration;

use serde_json::json;

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp};

both_backends!(a_signed_request_over_8_kib_is_never_sent);

async fn a_signed_request_over_8_kib_is_never_sent(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let big = app
        .create_webhook(
            json!({"name": "sdk", "url": rx.url("/sdk"), "event_types": ["*"],
            "format": "json", "signature_scheme": "hrflow_sdk", "retry_schedule": ["1s", "1s"]}),
        )
        .await;
    let hex = app
        .create_webhook(
            json!({"name": "hex", "url": rx.url("/hex"), "event_types": ["*"],
            "format": "json", "signature_scheme": "hrflow"}),
        )
        .await;
    let big_id = big["id"].as_str().unwrap();

    // About 7 KB of JSON: 9.4 KB of base64 in the header.
    let mut e = event("profile.parsing.success", "large");
    e["profile"]["summary"] = json!("x".repeat(7_000));
    let event_id = app.publish(e).await["id"].as_str().unwrap().to_string();
    rx.wait_for("/hex", 1).await;
    let deliveries = app
        .wait_event_deliveries(&event_id, |d| {
            d.iter()
                .any(|d| d["webhook_id"] == big_id && d["status"] == "dead")
        })
        .await;
    let dead = deliveries
        .iter()
        .find(|d| d["webhook_id"] == big_id)
        .unwrap();
    assert_eq!(dead["attempts"], 1, "not retried: {dead}");
    let error = dead["last_error"].as_str().unwrap();
    assert!(
        error.starts_with("header_too_large: the HTTP-HRFLOW-SIGNATURE header would be ")
            && error.contains("8192 bytes")
            && error.ends_with("; not retried"),
        "{error}"
    );

    // History: no response, the error, and the header that was not sent.
    let rows = app.all_history(&format!("webhook_id={big_id}")).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert!(row["response"]["status"].is_null(), "{row}");
    assert!(row["error"]
        .as_str()
        .unwrap()
        .starts_with("header_too_large: "));
    let shown = row["request"]["headers"]["HTTP-HRFLOW-SIGNATURE"]
        .as_str()
        .unwrap();
    assert!(
        shown.starts_with("[not sent: ") && shown.ends_with(" bytes]"),
        "{shown}"
    );

    // Re-send and Check fail the same way, each with its history row.
    let (status, resent) = app
        .post(
            &format!("/v1/history/{}/resend", row["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{resent}");
    assert!(resent["error"]
        .as_str()
        .unwrap()
        .starts_with("header_too_large: "));
    let (status, v) = app
        .post(
            "/v1/event-types",
            &json!({"name": "profile.archived", "example": {"type": "profile.archived",
                "profile": {"key": "k", "notes": "y".repeat(9_000)}}}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, checked) = app
        .post(
            &format!("/v1/webhooks/{big_id}/test"),
            &json!({"event_type": "profile.archived"}),
        )
        .await;
    assert_eq!(status, 201, "{checked}");
    assert!(checked["error"]
        .as_str()
        .unwrap()
        .starts_with("header_too_large: "));
    assert!(checked["response"]["status"].is_null());

    // After the planned retry delays, still nothing reached the receiver.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(rx.received_on("/sdk").is_empty());
    assert_eq!(
        app.all_history(&format!("webhook_id={big_id}")).await.len(),
        3
    );
    let _ = hex;
    rx.stop().await;
    app.stop().await;
}
