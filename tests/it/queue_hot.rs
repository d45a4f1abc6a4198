//! Settlements are HOT updates on PostgreSQL (issue #19): with the claim
//! and reschedule columns in the narrow queue, a settlement changes only
//! record columns that no index covers, so PostgreSQL rewrites the record
//! in place. Read from `pg_stat_user_tables`: every settlement is one
//! update of `deliveries`, and nearly all of them must be HOT. (Before the
//! queue table, 0 of them were: claims and settlements both changed indexed
//! columns.) PostgreSQL only.

use std::time::Duration;

use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::wait::until_ok;
use crate::common::{event, notice, Backend, TestApp};

const EVENTS: usize = 150;

#[actix_web::test]
async fn settlements_update_records_in_place() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        notice("SKIPPED: queue_hot: PostgreSQL only (TEST_DATABASE_URL is not set)");
        return;
    };
    let rx = Receiver::start().await;
    for name in ["a", "b"] {
        app.create_webhook(json!({"name": name, "url": rx.url("/h"), "event_types": ["*"]}))
            .await;
    }
    for i in 0..EVENTS {
        app.publish(event("profile.parsing.success", &format!("hot{i}")))
            .await;
    }
    until_ok(
        "the deliveries to finish",
        Duration::from_secs(30),
        async || match app.count_rows("delivery_queue") {
            0 => Ok(()),
            queued => Err(format!("{queued} queued")),
        },
    )
    .await;
    // The statistics reach the shared view when each backend flushes them
    // (at most a second or so after its transactions).
    let want = (2 * EVENTS) as i64;
    let seen = until_ok(
        "one update per settlement in the statistics",
        Duration::from_secs(15),
        async || {
            let seen = app.pg_table_stats("deliveries");
            if seen.n_tup_upd >= want {
                Ok(seen)
            } else {
                Err(seen)
            }
        },
    )
    .await;
    eprintln!("deliveries updates: {seen:?}");
    assert!(
        seen.n_tup_hot_upd * 10 >= seen.n_tup_upd * 9,
        "settlements are HOT updates (at least 90 %): {seen:?}"
    );
    app.stop().await;
}
