//! A claim's statements read their indexes on PostgreSQL (issue #19): the
//! plans of exactly the statements `Delivery::claim` runs, on a realistic
//! queue (20,000 due deliveries over two organizations behind 20,000 done
//! ones), with statistics taken before the burst (stale: what every bulk
//! publish leaves), after it, and as a generic plan (what a prepared
//! statement may switch to). A sequential scan of the queue or a sort of
//! the due rows fails the test. PostgreSQL only: SQLite plans are pinned by
//! the partial indexes and need no test here.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::{event, notice, Backend, TestApp};

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// Why a plan is wrong for a claim, if it is.
fn flaw(plan: &str) -> Option<&'static str> {
    if plan.contains("Sort") {
        Some("a sort of the due rows")
    } else if plan.contains("Seq Scan on deliveries") || plan.contains("Seq Scan on delivery_queue")
    {
        Some("a sequential scan of the queue")
    } else {
        None
    }
}

fn explain_sql(c: &mut PgConnection, sql: &str) -> String {
    let lines: Vec<Line> = diesel::sql_query(format!("EXPLAIN {sql}"))
        .load(c)
        .expect("explain");
    lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every statement of a claim, checked; `case` names the statistics.
fn check_claim(url: &str, org: &str, case: &str) {
    let mut conn = hookrelay::db::DbConn::establish(url).expect("connect");
    let plans =
        hookrelay::db::deliveries::explain_claim(&mut conn, Utc::now().naive_utc(), org).unwrap();
    assert_eq!(plans.len(), 5, "every statement of a claim is explained");
    for (what, plan) in plans {
        if let Some(f) = flaw(&plan) {
            panic!("{case}: the claim's \"{what}\" statement has {f}:\n{plan}");
        }
    }
}

#[actix_web::test]
async fn claim_statements_use_their_indexes() {
    // No worker: the seeded rows must stay queued while they are explained.
    let Some(app) =
        TestApp::start_with(Backend::Postgres, |c| c.role = hookrelay::config::Role::Api).await
    else {
        notice("SKIPPED: claim_plans: PostgreSQL only (TEST_DATABASE_URL is not set)");
        return;
    };
    let rx = Receiver::start().await;
    let w = app
        .create_webhook(json!({"name": "plans", "url": rx.url("/p"), "event_types": ["*"]}))
        .await;
    let e = app.publish(event("profile.parsing.success", "plans")).await;
    let (event_id, webhook_id) = (e["id"].as_str().unwrap(), w["id"].as_str().unwrap());
    let mut c = PgConnection::establish(&app.database_url).unwrap();
    #[derive(QueryableByName)]
    struct Org {
        #[diesel(sql_type = Text)]
        organization_id: String,
    }
    let org = diesel::sql_query("SELECT organization_id FROM deliveries LIMIT 1")
        .get_result::<Org>(&mut c)
        .unwrap()
        .organization_id;
    let seed = |c: &mut PgConnection, status: &str, from: i32| {
        // Half in the test's organization, half in another; all due.
        diesel::sql_query(format!(
            "INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, \
             created_at, updated_at, organization_id) \
             SELECT 'dlv_seed_' || lpad(g::text, 6, '0'), '{event_id}', '{webhook_id}', \
             CASE WHEN '{status}' = 'pending' AND g % 10 = 0 THEN 'failed' ELSE '{status}' END, 0, \
             now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc', \
             CASE WHEN g % 2 = 0 THEN '{org}' ELSE 'org_plans_other' END \
             FROM generate_series({from}, {from} + 19999) g"
        ))
        .execute(c)
        .unwrap();
        // The waiting ones are queued, each due 100 ms after the last.
        diesel::sql_query(format!(
            "INSERT INTO delivery_queue (delivery_id, organization_id, webhook_id, event_id, \
             next_attempt_at, attempts) \
             SELECT id, organization_id, webhook_id, event_id, \
             (now() AT TIME ZONE 'utc') - interval '1 hour' \
             + (substr(id, 10)::int - {from}) * interval '100 ms', 0 \
             FROM deliveries WHERE id LIKE 'dlv_seed_%' AND status IN ('pending', 'failed')"
        ))
        .execute(c)
        .unwrap();
    };
    // A history of done deliveries, analyzed; then a burst of due ones that
    // the statistics have not seen.
    seed(&mut c, "succeeded", 1);
    diesel::sql_query("ANALYZE deliveries, delivery_queue")
        .execute(&mut c)
        .unwrap();
    seed(&mut c, "pending", 100_001);
    check_claim(&app.database_url, &org, "stale statistics");
    diesel::sql_query("ANALYZE deliveries, delivery_queue")
        .execute(&mut c)
        .unwrap();
    check_claim(&app.database_url, &org, "fresh statistics");
    // What a prepared statement may switch to after five runs.
    let generic = format!(
        "{}?options=-c%20plan_cache_mode%3Dforce_generic_plan",
        app.database_url
    );
    check_claim(&generic, &org, "generic plan");

    // The check can fail: the same query in an order no index has sorts,
    // and a filter no index covers scans the table.
    let bad_order = explain_sql(
        &mut c,
        &format!(
            "SELECT delivery_id FROM delivery_queue WHERE claimed_by IS NULL \
             AND organization_id = '{org}' ORDER BY attempts LIMIT 128 FOR UPDATE SKIP LOCKED"
        ),
    );
    assert_eq!(
        flaw(&bad_order),
        Some("a sort of the due rows"),
        "{bad_order}"
    );
    let bad_scan = explain_sql(
        &mut c,
        "SELECT delivery_id FROM delivery_queue WHERE attempts = 0 LIMIT 128 \
         FOR UPDATE SKIP LOCKED",
    );
    assert_eq!(
        flaw(&bad_scan),
        Some("a sequential scan of the queue"),
        "{bad_scan}"
    );
    app.stop().await;
}
