//! Access tokens and scopes, secrets at rest, secret rotation and the
//! Standard Webhooks signature.

use std::time::Duration;

use hookrelay::verify::{self, StandardHeaders};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::{self, Receiver};
use crate::common::{event, notice, Backend, TestApp};

both_backends!(
    tokens_and_scopes,
    secrets_are_sealed_at_rest,
    rotation_signs_with_both_secrets_during_grace
);

/// Creates a token; returns its id and secret.
pub(crate) async fn create_token(app: &TestApp, name: &str, scopes: &[&str]) -> (String, String) {
    let (status, v) = app
        .post("/v1/tokens", &json!({"name": name, "scopes": scopes}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

async fn tokens_and_scopes(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let hook = app
        .create_webhook(json!({"name": "h", "url": "https://example.com/h", "event_types": ["*"]}))
        .await;
    let hook_id = hook["id"].as_str().unwrap();

    // Created: shown once, `hr_` + 32 bytes base64url; listed without it.
    let (status, created) = app
        .post(
            "/v1/tokens",
            &json!({"name": "publisher", "scopes": ["events:write"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let publisher = created["token"].as_str().unwrap().to_string();
    let publisher_id = created["id"].as_str().unwrap().to_string();
    assert!(publisher.starts_with("hr_") && publisher.len() >= 3 + 43);
    assert_eq!(created["scopes"], json!(["events:write"]));
    let (status, list) = app.get("/v1/tokens").await;
    assert_eq!(status, StatusCode::OK);
    let text = list.to_string();
    assert!(!text.contains(&publisher), "the list shows a token");
    assert!(list["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("token").is_none() && t.get("token_hash").is_none()));
    assert!(list["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == publisher_id.as_str() && t["last_used_at"].is_null()));

    // The publisher publishes, and nothing else: 403 names the scope, and
    // comes before any validation of the body.
    let (status, v) = app
        .call_as(
            &publisher,
            Method::POST,
            "/v1/events",
            Some(&event("profile.parsing.success", "k1")),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    for (method, path, body, scope) in [
        (Method::GET, "/v1/history".to_string(), None, "history:read"),
        (
            Method::GET,
            format!("/v1/webhooks/{hook_id}/secret"),
            None,
            "webhooks:write",
        ),
        (
            Method::GET,
            "/v1/webhooks".to_string(),
            None,
            "webhooks:read",
        ),
        (
            Method::POST,
            "/v1/webhooks".to_string(),
            Some(json!({"bogus": true})),
            "webhooks:write",
        ),
        (
            Method::POST,
            "/v1/tokens".to_string(),
            Some(json!({"name": "x", "scopes": ["admin"]})),
            "admin",
        ),
    ] {
        let (status, v) = app
            .call_as(&publisher, method.clone(), &path, body.as_ref())
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], "forbidden");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(scope),
            "{v}"
        );
    }

    // webhooks:read sees webhooks but not their secrets.
    let (_, reader) = create_token(&app, "reader", &["webhooks:read"]).await;
    let (status, got) = app
        .call_as(
            &reader,
            Method::GET,
            &format!("/v1/webhooks/{hook_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(got.get("secret").is_none());
    let (status, _) = app
        .call_as(
            &reader,
            Method::GET,
            &format!("/v1/webhooks/{hook_id}/secret"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, secret) = app.get(&format!("/v1/webhooks/{hook_id}/secret")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(secret["secret"], hook["secret"]);

    // Bad input: 422 with the field, and no token written.
    let before = app.count_rows("api_tokens");
    for (body, field) in [
        (json!({"name": "x", "scopes": ["events:read"]}), "scopes[0]"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": " ", "scopes": ["admin"]}), "name"),
    ] {
        let (status, v) = app.post("/v1/tokens", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    assert_eq!(app.count_rows("api_tokens"), before);

    // Rename, use is recorded, revoke takes effect on the next request.
    let (status, renamed) = app
        .patch(
            &format!("/v1/tokens/{publisher_id}"),
            &json!({"name": "ingest"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "ingest");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, t) = app.get(&format!("/v1/tokens/{publisher_id}")).await;
        if t["last_used_at"].is_string() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "last_used_at never set"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = app
        .call(Method::DELETE, &format!("/v1/tokens/{publisher_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, v) = app
        .call_as(
            &publisher,
            Method::POST,
            "/v1/events",
            Some(&event("profile.parsing.success", "k2")),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    let (status, _) = app
        .call(Method::DELETE, &format!("/v1/tokens/{publisher_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revoked elsewhere (another instance, the CLI): this process trusts
    // what it looked up for at most `TRUSTED_FOR`, then asks again.
    let (other_id, other) = create_token(&app, "elsewhere", &["webhooks:read"]).await;
    let (status, _) = app.call_as(&other, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(status, StatusCode::OK);
    app.execute_sql(&format!("DELETE FROM api_tokens WHERE id = '{other_id}'"));
    tokio::time::sleep(hookrelay::tokens::TRUSTED_FOR + Duration::from_millis(100)).await;
    let (status, v) = app.call_as(&other, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    app.stop().await;
}

async fn secrets_are_sealed_at_rest(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let hook = app
        .create_webhook(
            json!({"name": "h", "url": rx.url("/h"), "event_types": ["*"], "format": "json"}),
        )
        .await;
    let id = hook["id"].as_str().unwrap().to_string();
    let first = hook["secret"].as_str().unwrap().to_string();
    let (_, rotated) = app
        .post(&format!("/v1/webhooks/{id}/rotate-secret"), &json!({}))
        .await;
    let second = rotated["secret"].as_str().unwrap().to_string();
    let (_, token) = create_token(&app, "t", &["events:write"]).await;
    app.publish(event("profile.parsing.success", "k")).await;
    rx.wait_for("/h", 1).await;

    // No secret or token in clear, in any table (or, on SQLite, anywhere in
    // the database files).
    let needles = [&first, &second, &token, &crate::common::TOKEN.to_string()];
    for table in ["webhooks", "api_tokens", "history", "events"] {
        let text = app.table_text(table);
        for n in needles {
            assert!(
                !text.contains(n.as_str()),
                "{table} holds a secret in clear"
            );
        }
    }
    let stored = app.table_text("webhooks");
    assert!(stored.contains("sealed:v1:"), "{stored}");
    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            bytes.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
        }
        for n in needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                "the SQLite files hold a secret in clear"
            );
        }
        // The generated key file sits beside the database, owner-only.
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(format!("{path}.key")).expect("key file generated");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    // A secret stored in clear (before encryption existed) is sealed at the
    // next start, and still signs.
    app.execute_sql(&format!(
        "UPDATE webhooks SET secret = '{first}', previous_secret = NULL WHERE id = '{id}'"
    ));
    let app = app.restart_with(|_| {}).await.expect("restarts");
    assert!(!app.table_text("webhooks").contains(&first));
    let (_, s) = app.get(&format!("/v1/webhooks/{id}/secret")).await;
    assert_eq!(s["secret"], first.as_str());

    // A wrong master key is refused at start-up, naming the key in use.
    let err = match app
        .restart_with(|c| c.master_key = Some("ab".repeat(32)))
        .await
    {
        Ok(_) => panic!("started with the wrong master key"),
        Err(e) => e,
    };
    assert!(err.contains("sealed with master key"), "{err}");
    rx.stop().await;
}

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

/// `hookrelay token …` works on the database without a server, and
/// `hookrelay verify` tells a receiver whether a signature holds.
#[actix_web::test]
async fn cli_tokens_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let cli = |args: &[&str], stdin: &[u8]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hookrelay"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, token, err) = cli(
        &[
            "token",
            "create",
            "--name",
            "ops",
            "--scope",
            "events:write,webhooks:read",
        ],
        b"",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(token.starts_with("hr_"), "{token}");
    let (code, _, err) = cli(&["token", "create", "--name", "x", "--scope", "root"], b"");
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown scope 'root'"), "{err}");
    let (code, list, _) = cli(&["token", "list"], b"");
    assert_eq!(code, Some(0));
    assert!(list.contains("ops") && list.contains("events:write webhooks:read"));
    assert!(!list.contains(&token));

    // The server accepts the CLI's token with exactly its scopes.
    let app = TestApp::start_with(Backend::Sqlite, |c| c.database_url = url.clone())
        .await
        .unwrap();
    let (status, _) = app.call_as(&token, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.call_as(&token, Method::GET, "/v1/history", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
    let id = list
        .lines()
        .find(|l| l.contains(" ops "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    // The stopped gateway's last tasks let go of the SQLite lock shortly.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (code, _, err) = cli(&["token", "revoke", &id], b"");
        if code == Some(0) {
            break;
        }
        assert!(
            err.contains("in use") && std::time::Instant::now() < deadline,
            "{err}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, _, err) = cli(&["token", "revoke", &id], b"");
    assert_eq!(code, Some(1));
    assert!(err.contains("no token"), "{err}");

    // verify: HrFlow (form and JSON) and Standard Webhooks.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let json_body = br#"{"type":"profile.parsing.success"}"#;
    let sig = hookrelay::signing::hrflow_signature(secret, json_body);
    let (code, out, _) = cli(
        &["verify", "--secret", secret, "--signature", &sig],
        json_body,
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("valid"), "{out}");
    let (code, out, _) = cli(
        &["verify", "--secret", "whsec_other", "--signature", &sig],
        json_body,
    );
    assert_eq!(code, Some(1));
    assert!(out.contains("signature does not match"), "{out}");
    let form = b"type=profile.parsing.success&origin=api";
    let form_sig = hookrelay::signing::hrflow_signature(
        secret,
        br#"{"type":"profile.parsing.success","origin":"api"}"#,
    );
    let (code, out, _) = cli(
        &[
            "verify",
            "--secret",
            secret,
            "--signature",
            &form_sig,
            "--format",
            "form",
        ],
        form,
    );
    assert_eq!(code, Some(0), "{out}");
    let now = chrono::Utc::now().timestamp().to_string();
    let std_sig = hookrelay::signing::standard_signature(
        &hookrelay::signing::standard_key(secret),
        "evt_1",
        now.parse().unwrap(),
        json_body,
    );
    let args = |ts: &str| {
        vec![
            "verify".to_string(),
            "--scheme".into(),
            "standard".into(),
            "--secret".into(),
            secret.into(),
            "--signature".into(),
            std_sig.clone(),
            "--webhook-id".into(),
            "evt_1".into(),
            "--timestamp".into(),
            ts.to_string(),
        ]
    };
    let a = args(&now);
    let (code, out, _) = cli(&a.iter().map(String::as_str).collect::<Vec<_>>(), json_body);
    assert_eq!(code, Some(0), "{out}");
    let old = (now.parse::<i64>().unwrap() - 3600).to_string();
    let a = args(&old);
    let (code, out, _) = cli(&a.iter().map(String::as_str).collect::<Vec<_>>(), json_body);
    assert_eq!(code, Some(1));
    assert!(out.contains("tolerance"), "{out}");
}

/// Rotating the master key re-seals every stored secret (webhook secrets
/// and integration config values) at start-up; afterwards the old key is
/// not needed, and alone it is refused.
#[actix_web::test]
async fn master_key_rotation_reseals_everything() {
    use crate::common::fake_api::{Answer, FakeApi};
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let fake = FakeApi::start().await;
    let hook = app
        .create_webhook(json!({"name": "h", "url": "https://example.com/h", "event_types": ["*"]}))
        .await;
    let (status, integration) = app
        .post(
            "/v1/integrations",
            &json!({"name": "i", "kind": "webhook", "manifest": {
                "initial_data_form": [{"id": "TOKEN", "name": "Token", "description": "d"}],
                "headers": {"Authorization": "Bearer {{ TOKEN }}"},
                "execute": [{"url": format!("{}/ping", fake.base), "method": "GET"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{integration}");
    let iid = integration["id"].as_str().unwrap().to_string();
    app.call(
        Method::PUT,
        &format!("/v1/integrations/{iid}/config"),
        Some(&json!({"values": {"TOKEN": "rotate-me-token"}})),
    )
    .await;
    let path = app.database_url.trim_start_matches("sqlite://").to_string();
    let old = std::fs::read_to_string(format!("{path}.key"))
        .unwrap()
        .trim()
        .to_string();
    let new = hookrelay::vault::generate_key();
    let old_id = hookrelay::vault::key_id(&hookrelay::vault::parse_key(&old).unwrap());
    let new_id = hookrelay::vault::key_id(&hookrelay::vault::parse_key(&new).unwrap());
    assert!(app.table_text("integration_config").contains(&old_id));

    let (n1, o1) = (new.clone(), old.clone());
    let app = app
        .restart_with(move |c| {
            c.master_key = Some(n1);
            c.previous_master_keys = o1;
        })
        .await
        .expect("starts with the new key and the old one as previous");
    for table in ["webhooks", "integration_config"] {
        let text = app.table_text(table);
        assert!(
            text.contains(&new_id) && !text.contains(&old_id),
            "{table} not re-sealed"
        );
    }
    let n2 = new.clone();
    let app = app
        .restart_with(move |c| {
            c.master_key = Some(n2);
            c.previous_master_keys = String::new();
        })
        .await
        .expect("the old key is no longer needed");
    let (_, s) = app
        .get(&format!(
            "/v1/webhooks/{}/secret",
            hook["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s["secret"], hook["secret"]);
    fake.script("GET", "/ping", vec![Answer::json(200, json!({}))]);
    let (status, run) = app
        .post(
            &format!("/v1/integrations/{iid}/runs?wait=true"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(
        fake.seen_on("GET", "/ping")[0].header("authorization"),
        Some("Bearer rotate-me-token")
    );
    let err = match app.restart_with(move |c| c.master_key = Some(old)).await {
        Ok(_) => panic!("started with the retired key"),
        Err(e) => e,
    };
    assert!(err.contains(&new_id), "{err}");
    fake.stop().await;
}
