//! Secret rotation and the Standard Webhooks signature, checked by our
//! verifier and by the official Python package.

use std::time::Duration;

use hookrelay::verify::{self, StandardHeaders};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::{self, Receiver};
use crate::common::{event, notice, Backend, TestApp};

both_backends!(rotation_signs_with_both_secrets_during_grace);

async fn rotation_signs_with_both_secrets_during_grace(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let hook = app
        .create_webhook(
            json!({"name": "h", "url": rx.url("/r"), "event_types": ["*"], "format": "json"}),
        )
        .await;
    assert_eq!(hook["signature_scheme"], "both");
    let id = hook["id"].as_str().unwrap();
    let old = hook["secret"].as_str().unwrap().to_string();

    // Bad grace periods and secrets are refused and change nothing.
    for (body, field) in [
        (json!({"grace_period": "forever"}), "grace_period"),
        (json!({"grace_period": "31d"}), "grace_period"),
        (json!({"secret": "not-whsec"}), "secret"),
    ] {
        let (status, v) = app
            .post(&format!("/v1/webhooks/{id}/rotate-secret"), &body)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], field);
    }
    let (_, s) = app.get(&format!("/v1/webhooks/{id}/secret")).await;
    assert_eq!(s["secret"], old.as_str());

    // Rotation without a body: 24 h grace.
    let resp = app
        .http
        .post(format!("{}/v1/webhooks/{id}/rotate-secret", app.base))
        .bearer_auth(crate::common::TOKEN)
        .send()
        .await
        .unwrap();
    let (status, rotated) = crate::common::read(resp).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_string();
    let until = chrono::DateTime::parse_from_rfc3339(
        rotated["previous_secret_expires_at"].as_str().unwrap(),
    )
    .unwrap();
    let hours =
        (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "grace ends in {hours} h");

    app.publish(event("profile.parsing.success", "during"))
        .await;
    let got = rx.wait_for("/r", 1).await;
    let r = &got[0];
    assert!(
        receiver::verify(r, &new),
        "HrFlow signature uses the new secret"
    );
    let sigs = r.header("webhook-signature").unwrap();
    assert_eq!(sigs.split(' ').count(), 2, "{sigs}");
    for secret in [&new, &old] {
        standard_verifies(r, secret);
    }

    // Rotation with no grace: only the new secret signs.
    let (_, third) = app
        .post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            &json!({"grace_period": "0s"}),
        )
        .await;
    assert!(third["previous_secret_expires_at"].is_null());
    let third = third["secret"].as_str().unwrap().to_string();
    app.publish(event("profile.parsing.success", "after")).await;
    let got = rx.wait_for("/r", 2).await;
    let r = &got[1];
    assert_eq!(r.header("webhook-signature").unwrap().split(' ').count(), 1);
    standard_verifies(r, &third);
    assert!(receiver::verify(r, &third));

    // A chosen secret, and the scheme switch: hrflow only, then standard only.
    let mine = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8G";
    let (status, v) = app
        .post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            &json!({"secret": mine, "grace_period": "0s"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    for (scheme, hrflow, standard) in [("hrflow", true, false), ("standard", false, true)] {
        let (status, v) = app
            .patch(
                &format!("/v1/webhooks/{id}"),
                &json!({"signature_scheme": scheme}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let n = rx.received_on("/r").len();
        app.publish(event("profile.parsing.success", scheme)).await;
        let got = rx.wait_for("/r", n + 1).await;
        let r = &got[n];
        assert_eq!(r.header("http-hrflow-signature").is_some(), hrflow);
        assert_eq!(r.header("webhook-signature").is_some(), standard);
        assert_eq!(r.header("webhook-timestamp").is_some(), standard);
        assert!(r.header("webhook-id").is_some());
        if standard {
            standard_verifies(r, mine);
        } else {
            assert!(receiver::verify(r, mine));
        }
    }
    let (status, v) = app
        .patch(
            &format!("/v1/webhooks/{id}"),
            &json!({"signature_scheme": "v2"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "signature_scheme");
    rx.stop().await;
    app.stop().await;
}

fn standard_verifies(r: &receiver::Received, secret: &str) {
    let headers = StandardHeaders {
        id: r.header("webhook-id").unwrap(),
        timestamp: r.header("webhook-timestamp").unwrap(),
        signature: r.header("webhook-signature").unwrap(),
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        verify::standard(
            secret,
            r.body.as_bytes(),
            &headers,
            Duration::from_secs(300),
            now
        ),
        Ok(()),
        "Standard Webhooks signature with {secret}"
    );
}

/// The official `standardwebhooks` Python package (PyPI) verifies our
/// requests, form and JSON. `.ci/run` installs it and names its Python in
/// HOOKRELAY_TEST_PYTHON; without it the test says it is skipped.
#[actix_web::test]
async fn standardwebhooks_python_package_verifies() {
    let python = std::env::var("HOOKRELAY_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_package = std::process::Command::new(&python)
        .args(["-c", "import standardwebhooks"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_package {
        notice("SKIPPED: standardwebhooks Python package check: `import standardwebhooks` fails (.ci/run installs it and sets HOOKRELAY_TEST_PYTHON)");
        return;
    }
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let rx = Receiver::start().await;
    let mut cases = Vec::new();
    for format in ["form", "json"] {
        let hook = app
            .create_webhook(json!({"name": format, "url": rx.url(&format!("/{format}")), "event_types": ["*"], "format": format}))
            .await;
        cases.push((format, hook["secret"].as_str().unwrap().to_string()));
    }
    // Non-ASCII content: the signature covers the exact bytes sent.
    let mut e = event("profile.parsing.success", "k");
    e["message"] = json!("Zoë a reçu 😀");
    app.publish(e).await;
    let mut checks: Vec<Value> = Vec::new();
    for (format, secret) in &cases {
        let r = &rx.wait_for(&format!("/{format}"), 1).await[0];
        checks.push(json!({
            "json": *format == "json",
            "secret": secret,
            "body": r.body,
            "headers": {
                "webhook-id": r.header("webhook-id"),
                "webhook-timestamp": r.header("webhook-timestamp"),
                "webhook-signature": r.header("webhook-signature"),
            },
        }));
    }
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
cases = json.load(sys.stdin)
for c in cases:
    # Form bodies verify too; only the package's JSON parsing is for JSON.
    Webhook(c["secret"]).verify(c["body"], c["headers"], json_parse=c["json"])
    try:
        Webhook(c["secret"]).verify(c["body"] + " ", c["headers"], json_parse=False)
    except Exception:
        pass
    else:
        sys.exit("a tampered body verified")
print("verified", len(cases))
"#;
    let out = crate::common::run_python(&python, script, &Value::Array(checks));
    assert!(
        out.status.success(),
        "standardwebhooks rejected a request: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "verified 2");
    rx.stop().await;
    app.stop().await;
}
