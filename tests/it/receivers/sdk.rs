//! The official HrFlow Python SDK (`hrflow` on PyPI) verifies and decodes
//! `hrflow_sdk` deliveries, form and JSON, in the Flask receiver that
//! docs/signatures.md shows, and refuses a wrong secret and a tampered
//! payload.

use std::process::Command;

use serde_json::{json, Value};

use super::{history_rows, printed_events, python_with};
use crate::both_backends;
use crate::common::external::{doc_block, free_port, External};
use crate::common::{event, run_python, TestApp};

/// A secret in the form HrFlow issues (not `whsec_`): accepted by the
/// HrFlow-only schemes.
const SECRET: &str = "wsk_3b9d1f0e7a6c4b2e9f8d7c6b5a4e3d2c";

both_backends!(hrflow_sdk_verifies_deliveries);

async fn hrflow_sdk_verifies_deliveries(backend: crate::common::Backend) {
    let Some(python) = python_with("the official hrflow SDK receiver", "hrflow, flask") else {
        return;
    };
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let good = sdk_receiver(&python, SECRET).await;
    let wrong = sdk_receiver(&python, "wsk_not_the_webhook_secret_000000").await;
    // A custom type named as the SDK names its events: handle() dispatches it
    // without help; the built-in type is added to its table by the receiver.
    let (status, v) = app
        .post(
            "/v1/event-types",
            &json!({"name": "profile.parse.success", "description": "named as the HrFlow SDK names it"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let types = json!(["profile.parse.success", "profile.parsing.success"]);
    let mut hooks = Vec::new();
    for format in ["form", "json"] {
        let hook = app
            .create_webhook(
                json!({"name": format, "url": good.url("/hooks"), "event_types": types,
                "format": format, "signature_scheme": "hrflow_sdk", "secret": SECRET}),
            )
            .await;
        assert_eq!(hook["signature_scheme"], "hrflow_sdk");
        hooks.push(hook["id"].as_str().unwrap().to_string());
    }
    let refused = app
        .create_webhook(json!({"name": "wrong", "url": wrong.url("/hooks"), "event_types": types,
            "format": "json", "signature_scheme": "hrflow_sdk", "secret": SECRET, "retry_schedule": []}))
        .await;

    let mut parsed = event("profile.parsing.success", "k1");
    parsed["message"] = json!("Zoë a reçu l'offre 😀 — 東京");
    let native = event("profile.parse.success", "k2");
    let mut published = Vec::new();
    for e in [parsed, native] {
        let id = app.publish(e.clone()).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        published.push((id, e));
    }

    // Two events, each to the form and the JSON webhook, decoded whole.
    let printed = printed_events(&good.wait_lines("event ", 4).await);
    assert_eq!(printed.len(), 4, "{printed:?}");
    for (id, e) in &published {
        let copies: Vec<&Value> = printed
            .iter()
            .filter(|(got, _)| got == id)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(copies, vec![e, e], "event {id} as the SDK decoded it");
    }
    for hook in &hooks {
        // History is written just after the answer arrives.
        let rows = history_rows(&app, hook, 2).await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows.iter().all(|r| r["response"]["status"] == 204),
            "{rows:?}"
        );
    }

    // The wrong secret: handle() refuses with its own message.
    let refused_id = refused["id"].as_str().unwrap();
    let rows = history_rows(&app, refused_id, 2).await;
    for r in &rows {
        assert_eq!(r["response"]["status"], 401, "{r}");
        assert!(
            r["response"]["body"]
                .as_str()
                .unwrap()
                .contains("invalid signature"),
            "{r}"
        );
    }

    // A header from history: the SDK decodes it, and refuses it tampered
    // or with another secret.
    let rows = app.all_history(&format!("webhook_id={}", hooks[1])).await;
    let header = rows[0]["request"]["headers"]["HTTP-HRFLOW-SIGNATURE"]
        .as_str()
        .unwrap();
    let out = run_python(
        &python,
        TAMPER_CHECK,
        &json!({"secret": SECRET, "header": header}),
    );
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "refused 2");
    app.stop().await;
}

/// The Flask receiver of docs/signatures.md, run as written.
async fn sdk_receiver(python: &str, secret: &str) -> External {
    let script = doc_block(
        "signatures.md",
        "Receiving with the official HrFlow Python SDK",
        "python",
    );
    let port = free_port();
    let mut cmd = Command::new(python);
    cmd.args(["-c", &script])
        .env("WEBHOOK_SECRET", secret)
        .env("PORT", port.to_string());
    External::spawn(cmd, port).await
}

/// The SDK on a received header: it verifies; a payload changed after
/// signing, and another secret, are refused as `invalid signature`.
const TAMPER_CHECK: &str = r#"
import base64, json, sys
from hrflow import Hrflow

case = json.load(sys.stdin)

def webhooks(secret):
    w = Hrflow(webhook_secret=secret).webhooks
    for name in ["profile.parsing.success", "profile.parse.success"]:
        w.handlers.setdefault(name, None)
    return w

w = webhooks(case["secret"])
got = []
for name in list(w.handlers):
    w.setHandler(name, lambda event, event_type: got.append(event))
w.handle(request_headers={"HTTP-HRFLOW-SIGNATURE": case["header"]})
assert len(got) == 1 and got[0]["type"], got

signature, payload = case["header"].split(".", 1)
event = json.loads(base64.urlsafe_b64decode(payload))
event["message"] = "tampered"
forged = signature + "." + base64.urlsafe_b64encode(json.dumps(event, separators=(",", ":")).encode()).decode()
refused = 0
for header, secret in [(forged, case["secret"]), (case["header"], "wsk_some_other_secret_0000000")]:
    try:
        webhooks(secret).handle(request_headers={"HTTP-HRFLOW-SIGNATURE": header})
    except ValueError as e:
        assert "invalid signature" in str(e), e
        refused += 1
print("refused", refused)
"#;
