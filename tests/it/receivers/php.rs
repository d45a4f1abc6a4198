//! The HrFlow docs' PHP `parse_signed_request`, in the receiver that
//! docs/signatures.md shows, under PHP's own server: it verifies and decodes
//! `signed_request` deliveries (form, JSON, a batch) and refuses a wrong
//! secret.

use std::process::Command;

use serde_json::{json, Value};

use super::{history_rows, printed_events, tool};
use crate::both_backends;
use crate::common::external::{doc_block, free_port, External};
use crate::common::{event, TestApp};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8G";

both_backends!(php_sample_verifies_signed_requests);

async fn php_sample_verifies_signed_requests(backend: crate::common::Backend) {
    let Some(php) = tool("the HrFlow PHP sample", "php", &["-r", "exit(0);"]) else {
        return;
    };
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("receiver.php");
    std::fs::write(
        &script,
        doc_block(
            "signatures.md",
            "Receiving with the HrFlow PHP sample",
            "php",
        ),
    )
    .unwrap();
    let good = php_server(&php, &script, SECRET).await;
    let wrong = php_server(&php, &script, "not-the-secret").await;
    for (format, batch) in [("form", 1), ("json", 1), ("json", 2)] {
        app.create_webhook(
            json!({"name": format, "url": good.url("/hooks"), "event_types": ["*"],
            "format": format, "max_events_per_request": batch, "signature_scheme": "signed_request",
            "secret": SECRET}),
        )
        .await;
    }
    let refused = app
        .create_webhook(json!({"name": "wrong", "url": wrong.url("/hooks"), "event_types": ["*"],
            "format": "json", "signature_scheme": "signed_request", "secret": SECRET, "retry_schedule": []}))
        .await;

    let mut first = event("job.storing.success", "j1");
    first["message"] = json!("Zoë a reçu l'offre 😀 — 東京");
    let second = event("profile.parsing.success", "p2");
    let (status, v) = app
        .post("/v1/events/batch", &json!({"events": [first, second]}))
        .await;
    assert_eq!(status, 202, "{v}");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();

    // Form and JSON: each event alone. The batch webhook: both, in
    // `{"events": [...]}` requests (one, or two if they were claimed apart).
    let singles = |lines: &[String]| {
        printed_events(lines)
            .into_iter()
            .filter(|(_, v)| v.get("events").is_none())
            .collect::<Vec<_>>()
    };
    let batched = |lines: &[String]| {
        printed_events(lines)
            .into_iter()
            .flat_map(|(_, v)| {
                v.get("events")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
    };
    crate::common::wait::until(
        "every delivery at the PHP receiver",
        std::time::Duration::from_secs(30),
        || {
            let lines = good.lines();
            let done = singles(&lines).len() >= 4 && batched(&lines).len() >= 2;
            async move { done.then_some(()) }
        },
    )
    .await;
    let lines = good.lines();
    for (id, e) in ids.iter().zip([&first, &second]) {
        let copies: Vec<Value> = singles(&lines)
            .into_iter()
            .filter(|(got, _)| got == id)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            copies,
            vec![e.clone(), e.clone()],
            "event {id} as PHP decoded it"
        );
    }
    assert_eq!(batched(&lines), vec![first.clone(), second.clone()]);

    // The wrong secret: the sample returns null, the receiver answers 401.
    let hook = refused["id"].as_str().unwrap();
    let rows = history_rows(&app, hook, 2).await;
    assert!(
        rows.iter().all(|r| r["response"]["status"] == 401),
        "{rows:?}"
    );
    assert!(wrong
        .lines()
        .iter()
        .any(|l| l.contains("Bad Signed JSON signature!")));
    app.stop().await;
}

/// `php -S` serving the receiver script for every path.
async fn php_server(php: &str, script: &std::path::Path, secret: &str) -> External {
    let port = free_port();
    let mut cmd = Command::new(php);
    cmd.arg("-S")
        .arg(format!("127.0.0.1:{port}"))
        .arg(script)
        .env("WEBHOOK_SECRET", secret);
    External::spawn(cmd, port).await
}
