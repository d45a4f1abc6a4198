//! The Node receiver of docs/signatures.md verifies `signed_request`
//! deliveries with Node's standard library, and refuses a wrong secret.

use std::process::Command;

use serde_json::json;

use super::{printed_events, tool};
use crate::common::external::{doc_block, free_port, External};
use crate::common::{event, Backend, TestApp};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8G";

#[actix_web::test]
async fn node_example_verifies_signed_requests() {
    let Some(node) = tool("the Node receiver example", "node", &["-e", "0"]) else {
        return;
    };
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("receiver.mjs");
    std::fs::write(
        &script,
        doc_block("signatures.md", "Receiving in Node", "js"),
    )
    .unwrap();
    let spawn = |secret: &'static str| {
        let port = free_port();
        let mut cmd = Command::new(&node);
        cmd.arg(&script)
            .env("WEBHOOK_SECRET", secret)
            .env("PORT", port.to_string());
        External::spawn(cmd, port)
    };
    let good = spawn(SECRET).await;
    let wrong = spawn("not-the-secret").await;
    for (name, url) in [("good", good.url("/hooks")), ("wrong", wrong.url("/hooks"))] {
        app.create_webhook(
            json!({"name": name, "url": url, "event_types": ["*"], "format": "form",
            "signature_scheme": "signed_request", "secret": SECRET, "retry_schedule": []}),
        )
        .await;
    }
    let mut e = event("profile.parsing.success", "n1");
    e["message"] = json!("Zoë 😀");
    let id = app.publish(e.clone()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let printed = printed_events(&good.wait_lines("event ", 1).await);
    assert_eq!(printed, vec![(id.clone(), e)]);
    let deliveries = app
        .wait_event_deliveries(&id, |d| {
            d.len() == 2
                && d.iter()
                    .all(|d| d["status"] != "pending" && d["status"] != "delivering")
        })
        .await;
    let mut codes: Vec<i64> = deliveries
        .iter()
        .map(|d| d["last_status_code"].as_i64().unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, vec![204, 401], "{deliveries:?}");
    app.stop().await;
}
