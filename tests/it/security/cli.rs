//! The `hookrelay token …` and `hookrelay verify` commands.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::common::wait::until_ok;
use crate::common::{Backend, TestApp};

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
    until_ok(
        "the stopped gateway to let go of the database",
        Duration::from_secs(10),
        async || {
            let (code, _, err) = cli(&["token", "revoke", &id], b"");
            if code == Some(0) {
                return Ok(());
            }
            assert!(err.contains("in use"), "{err}");
            Err(err)
        },
    )
    .await;
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
