//! PostgreSQL restarting under load: API calls during the outage answer 503
//! JSON, hookrelay reconnects by itself, and every accepted event is
//! delivered. A separate test binary, so no other test uses PostgreSQL while
//! it restarts. Runs when TEST_DATABASE_URL and HOOKRELAY_TEST_PG_RESTART_CMD
//! (the command that restarts the server, e.g. pg_ctlcluster … restart) are set.

#[expect(dead_code, reason = "the shared harness; this binary uses part of it")]
#[path = "it/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::receiver::Receiver;
use common::wait::until_ok;
use common::{event, notice, Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

#[actix_web::test]
async fn postgres_restart_loses_nothing_accepted() {
    let Ok(cmd) = std::env::var("HOOKRELAY_TEST_PG_RESTART_CMD") else {
        notice("SKIPPED: PostgreSQL restart test: HOOKRELAY_TEST_PG_RESTART_CMD is not set (.ci/run sets it)");
        return;
    };
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let rx = Receiver::start().await;
    app.create_webhook(
        json!({"name": "r", "url": rx.url("/r"), "event_types": ["*"], "format": "json"}),
    )
    .await;

    let restart = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(700));
        let out = std::process::Command::new("sh")
            .args(["-c", &cmd])
            .output()
            .expect("run restart command");
        assert!(
            out.status.success(),
            "restart failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    let mut accepted = HashSet::new();
    let (mut unavailable, mut other) = (0, Vec::new());
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(6) || !restart.is_finished() {
        i += 1;
        let (status, body) = app
            .post(
                "/v1/events",
                &event("profile.parsing.success", &format!("pg{i}")),
            )
            .await;
        match status {
            StatusCode::ACCEPTED => {
                accepted.insert(body["id"].as_str().unwrap().to_string());
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                unavailable += 1;
            }
            s => other.push(format!("{s}: {body}")),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    restart.await.unwrap();
    assert!(
        other.is_empty(),
        "during the restart only 202 or 503 are acceptable: {other:?}"
    );
    // After the restart the API works again by itself.
    let after = until_ok(
        "the API to recover after the restart",
        Duration::from_secs(30),
        async || {
            let (status, body) = app
                .post("/v1/events", &event("profile.parsing.success", "after"))
                .await;
            if status == StatusCode::ACCEPTED {
                Ok(body["id"].as_str().unwrap().to_string())
            } else {
                Err(format!("{status} {body}"))
            }
        },
    )
    .await;
    accepted.insert(after);
    // Every accepted event reaches the receiver.
    until_ok(
        "every accepted event to arrive",
        Duration::from_secs(60),
        async || {
            let got: HashSet<String> = rx
                .received_on("/r")
                .iter()
                .filter_map(|r| r.header("webhook-id").map(String::from))
                .collect();
            match accepted.difference(&got).count() {
                0 => Ok(()),
                missing => Err(format!("{missing} accepted events missing")),
            }
        },
    )
    .await;
    notice(&format!(
        "PostgreSQL restart test: {} events accepted, {unavailable} requests answered 503 during the restart, all accepted events delivered",
        accepted.len()
    ));
    rx.stop().await;
    app.stop().await;
}
