//! The access log of the real binary (issue 31, item 7): at the default
//! level one short line per request, with a client error's message once;
//! the request's detail at `debug`.

use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::gateway::{free_port, Gateway};
use crate::common::{event, fresh_database, Backend};

/// Runs a few requests (a success, a 404, a 422) against the binary with
/// `RUST_LOG` as given (`None`: unset), and returns its log.
async fn session_log(rust_log: Option<&str>) -> String {
    let db = fresh_database(Backend::Sqlite).unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let port = free_port();
    let mut cmd = Gateway::command(&db.url, port);
    match rust_log {
        Some(level) => cmd.env("RUST_LOG", level),
        None => cmd.env_remove("RUST_LOG"),
    };
    cmd.stderr(Stdio::from(log.reopen().unwrap()));
    let mut g = Gateway::start(cmd, port).await;
    let (status, _) = g
        .post("/v1/events", &event("profile.parsing.success", "k1"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = g.get("/v1/webhooks/wh_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, err) = g
        .post(
            "/v1/webhooks",
            &json!({"name": "n", "url": "ftp://example.com/x", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("url scheme must be http or https"));
    assert!(g.terminate().success());
    std::fs::read_to_string(log.path()).unwrap()
}

#[actix_web::test]
async fn one_short_line_per_request_by_default() {
    let text = session_log(None).await;
    for (path, status) in [
        ("/v1/events", "202"),
        ("/v1/webhooks/wh_nope", "404"),
        ("/v1/webhooks", "422"),
    ] {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(&format!("path={path} ")))
            .collect();
        assert_eq!(lines.len(), 1, "{path}: {lines:#?}\n{text}");
        let line = lines[0];
        for part in [
            "method=",
            &format!("status={status}"),
            "duration_ms=",
            "request_id=",
        ] {
            assert!(line.contains(part), "{part} missing: {line}");
        }
        assert!(line.chars().count() <= 250, "{} chars: {line}", line.len());
    }
    // A client error's message once, in its request's line.
    for message in [
        "webhook 'wh_nope' does not exist",
        "url scheme must be http or https",
    ] {
        assert_eq!(text.matches(message).count(), 1, "{message}:\n{text}");
    }
    // The span's detail (user agent, route, otel fields) is for debug.
    assert!(!text.contains("http.user_agent"), "{text}");
    assert!(!text.contains("otel."), "{text}");
}

#[actix_web::test]
async fn request_detail_at_debug() {
    let text = session_log(Some("debug")).await;
    let detail = text
        .lines()
        .find(|l| l.contains("http.route=/v1/webhooks/{id}") && l.contains("http.user_agent"));
    assert!(detail.is_some(), "no request detail at debug:\n{text}");
    assert!(text.contains("path=/v1/webhooks/wh_nope "), "{text}");
}
