//! Settlements are HOT updates on PostgreSQL (issue #19): with the claim
//! and reschedule columns in the narrow queue, a settlement changes only
//! record columns that no index covers, so PostgreSQL rewrites the record
//! in place. Read from `pg_stat_user_tables`: every settlement is one
//! update of `deliveries`, and nearly all of them must be HOT. (Before the
//! queue table, 0 of them were: claims and settlements both changed indexed
//! columns.) PostgreSQL only.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::{event, notice, Backend, TestApp};

#[derive(QueryableByName, Debug)]
struct Updates {
    #[diesel(sql_type = BigInt)]
    upd: i64,
    #[diesel(sql_type = BigInt)]
    hot: i64,
}

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
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.count_rows("delivery_queue") > 0 {
        assert!(Instant::now() < deadline, "deliveries did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The statistics reach the shared view when each backend flushes them
    // (at most a second or so after its transactions).
    let mut c = PgConnection::establish(&app.database_url).unwrap();
    let want = (2 * EVENTS) as i64;
    let mut seen = Updates { upd: 0, hot: 0 };
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        diesel::sql_query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut c)
            .unwrap();
        seen = diesel::sql_query(
            "SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables \
             WHERE relname = 'deliveries'",
        )
        .get_result(&mut c)
        .unwrap();
        if seen.upd >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("deliveries updates: {seen:?}");
    assert!(seen.upd >= want, "one update per settlement: {seen:?}");
    assert!(
        seen.hot * 10 >= seen.upd * 9,
        "settlements are HOT updates (at least 90 %): {seen:?}"
    );
    app.stop().await;
}
