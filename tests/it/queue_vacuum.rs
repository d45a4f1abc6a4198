//! The queue table is vacuumed by hookrelay itself on PostgreSQL as it
//! churns (issue #19): every delivery leaves dead row versions in
//! `delivery_queue`, and claims would otherwise step over their index
//! entries until autovacuum's next visit (up to a minute). After a few
//! thousand settled deliveries the table has been vacuumed by hookrelay
//! (`pg_stat_user_tables.vacuum_count` counts manual vacuums, not
//! autovacuum's). PostgreSQL only.

use std::time::Duration;

use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::wait::until_ok;
use crate::common::{event, notice, Backend, TestApp};

#[actix_web::test]
async fn a_churning_queue_is_vacuumed() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        notice("SKIPPED: queue_vacuum: PostgreSQL only (TEST_DATABASE_URL is not set)");
        return;
    };
    let rx = Receiver::start().await;
    for name in ["a", "b"] {
        app.create_webhook(json!({"name": name, "url": rx.url("/v"), "event_types": ["*"]}))
            .await;
    }
    // 1,500 events × 2 web hooks: 3,000 settled queue rows.
    for batch in 0..3 {
        let events: Vec<_> = (0..500)
            .map(|i| event("profile.parsing.success", &format!("vac{batch}-{i}")))
            .collect();
        let (s, body) = app
            .post("/v1/events/batch", &json!({ "events": events }))
            .await;
        assert_eq!(s.as_u16(), 202, "{body}");
    }
    until_ok(
        "the drained queue to be vacuumed",
        Duration::from_secs(60),
        async || {
            let v = app.pg_table_stats("delivery_queue");
            let queued = app.count_rows("delivery_queue");
            if v.vacuum_count > 0 && queued == 0 {
                Ok(())
            } else {
                Err((v, queued))
            }
        },
    )
    .await;
    app.stop().await;
}
