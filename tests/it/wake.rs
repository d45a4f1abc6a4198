//! Wake-ups across processes (PostgreSQL, issue #19): an idle instance
//! whose poll interval is an hour delivers an event published through
//! another instance on the same database, woken by `NOTIFY`: no poll tick
//! comes during the test, so only the wake-up can explain the delivery.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::wait::{until, until_ok};
use crate::common::{event, notice, Backend, TestApp};

/// B's poll interval: longer than the whole test.
const AN_HOUR_MS: u64 = 3_600_000;

#[actix_web::test]
async fn an_idle_instance_wakes_on_a_publish_elsewhere() {
    idle_instance_wakes_on_a_publish_elsewhere(Backend::Postgres).await
}

// On Citus both instances talk to the coordinator, where the publish's
// NOTIFY is sent at the commit of a transaction that wrote to the shards.
crate::on_citus!(idle_instance_wakes_on_a_publish_elsewhere);

async fn idle_instance_wakes_on_a_publish_elsewhere(backend: Backend) {
    // A: the API only; it publishes and delivers nothing.
    let Some(a) = TestApp::start_with(backend, |c| {
        c.role = hookrelay::config::Role::Api;
    })
    .await
    else {
        notice("SKIPPED: wake: PostgreSQL only (its database URL is not set)");
        return;
    };
    let rx = Receiver::start().await;
    a.create_webhook(json!({"name": "w", "url": rx.url("/w"), "event_types": ["*"]}))
        .await;
    // B: a full instance on the same database that polls once an hour.
    let mut config = a.config.clone();
    config.role = hookrelay::config::Role::All;
    config.instance_id = Some("wake-b".into());
    config.poll_interval_ms = AN_HOUR_MS;
    let b = hookrelay::app::start(config).await.expect("B starts");
    // B listens (A, an API node, does not): its connection's last statement.
    until_ok("B to LISTEN", Duration::from_secs(30), async || {
        match a.count_rows(
            "pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        ) {
            0 => Err("no listening connection"),
            _ => Ok(()),
        }
    })
    .await;
    // The first event shows B past its first claim, now waiting for a
    // wake-up (or an hour); the second can then only come by a wake-up.
    for (n, key) in [(1, "first"), (2, "second")] {
        let t0 = Instant::now();
        a.publish(event("profile.parsing.success", key)).await;
        until(
            &format!("B to deliver the {key} event published through A"),
            Duration::from_secs(30),
            async || (rx.received_on("/w").len() >= n).then_some(()),
        )
        .await;
        notice(&format!(
            "wake: the {key} event delivered by the other instance {:?} after the publish",
            t0.elapsed()
        ));
    }
    assert_eq!(rx.received_on("/w").len(), 2, "each event delivered once");
    b.stop().await;
    a.stop().await;
}
