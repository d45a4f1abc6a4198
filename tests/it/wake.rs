//! Wake-ups across processes (PostgreSQL, issue #19): an idle instance with
//! a poll interval of a minute delivers an event published through another
//! instance on the same database within moments, woken by `NOTIFY`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::{event, notice, Backend, TestApp};

#[actix_web::test]
async fn an_idle_instance_wakes_on_a_publish_elsewhere() {
    // A: the API only; it publishes and delivers nothing.
    let Some(a) = TestApp::start_with(Backend::Postgres, |c| {
        c.role = hookrelay::config::Role::Api;
    })
    .await
    else {
        notice("SKIPPED: wake: PostgreSQL only (TEST_DATABASE_URL is not set)");
        return;
    };
    let rx = Receiver::start().await;
    a.create_webhook(json!({"name": "w", "url": rx.url("/w"), "event_types": ["*"]}))
        .await;
    // B: a full instance on the same database that polls once a minute.
    let mut config = a.config.clone();
    config.role = hookrelay::config::Role::All;
    config.instance_id = Some("wake-b".into());
    config.poll_interval_ms = 60_000;
    let b = hookrelay::app::start(config).await.expect("B starts");
    // B's first claim found nothing; it now waits for a wake-up or a minute.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let t0 = Instant::now();
    a.publish(event("profile.parsing.success", "wake")).await;
    while rx.received().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "B did not deliver within 5 s of a publish through A (its poll interval is 60 s)"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    notice(&format!(
        "wake: delivered by the other instance {:?} after the publish",
        t0.elapsed()
    ));
    b.stop().await;
    a.stop().await;
}
