//! `hookrelay manifest validate|run`, for manifest authors.

use serde_json::json;

use crate::common::fake_api::{Answer, FakeApi};

/// `hookrelay manifest validate|run`: for manifest authors, no database.
#[actix_web::test]
async fn manifest_cli_validates_and_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    // Async: the fake API is served by this test's runtime.
    async fn cli(args: &[&str]) -> (Option<i32>, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookrelay"))
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .await
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    }
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/manifests");
    for entry in std::fs::read_dir(fixtures).unwrap() {
        let path = entry.unwrap().path();
        let (code, out) = cli(&["manifest", "validate", path.to_str().unwrap()]).await;
        assert_eq!(code, Some(0), "{}: {out}", path.display());
    }
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"execute": [{"url": "https://x", "method": "GET", "polling": {"interval": 0, "amount": 1}, "continue_if": {"response_notation": "a", "value": "b"}}]}"#).unwrap();
    let (code, out) = cli(&["manifest", "validate", broken.to_str().unwrap()]).await;
    assert_eq!(code, Some(1));
    assert!(
        out.contains("error: execute[0].polling.interval: must be"),
        "{out}"
    );

    let fake = FakeApi::start().await;
    fake.script("POST", "/hire", vec![Answer::json(200, json!({"id": 5}))]);
    let manifest = dir.path().join("m.json");
    std::fs::write(
        &manifest,
        r#"{"headers": {"Authorization": "Bearer {{ TOKEN }}"}, "form": [{"id": "TEAM", "name": "Team", "type": "input"}], "execute": [{"url": "FAKE/hire", "method": "POST", "data": {"email": "{{ email }}", "team": "{{ TEAM }}"}, "store_data": {"REMOTE": "id"}}]}"#
            .replace("FAKE", &fake.base),
    )
    .unwrap();
    let user = dir.path().join("user.json");
    std::fs::write(&user, r#"{"email": "cli@example.com", "first_name": "C"}"#).unwrap();
    let (code, out) = cli(&[
        "manifest",
        "run",
        manifest.to_str().unwrap(),
        "--config",
        "TOKEN=cli-secret",
        "--form",
        "TEAM=red",
        "--user",
        user.to_str().unwrap(),
        "--allow-private-targets",
    ])
    .await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("#0 execute[0]: POST"), "{out}");
    assert!(out.contains("Bearer ***TOKEN***"), "{out}");
    assert!(!out.contains("cli-secret"), "{out}");
    assert!(out.contains(r#"stored: {"REMOTE":5}"#), "{out}");
    assert_eq!(
        fake.seen_on("POST", "/hire")[0].json(),
        json!({"email": "cli@example.com", "team": "red"})
    );
    // Without --allow-private-targets the SSRF guard refuses loopback.
    let (code, out) = cli(&[
        "manifest",
        "run",
        manifest.to_str().unwrap(),
        "--config",
        "TOKEN=x",
    ])
    .await;
    assert_eq!(code, Some(1), "{out}");
    fake.stop().await;
}
