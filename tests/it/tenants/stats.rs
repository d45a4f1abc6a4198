//! Item 3: `tables[].rows` of `GET /v1/stats` counts the organization's own
//! rows; another organization's traffic does not move them. Only a platform
//! token also sees the database's size (`database_rows`).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::{event, Backend, TestApp};
use crate::fairness::{call_in, new_org};
use crate::organizations::org_token;
use crate::stats::{hook_in, publish_in, settled, stats_of};

both_backends!(table_rows_are_the_organizations_own);

/// `name → (rows, database_rows)` of a stats answer.
fn tables(s: &Value) -> Vec<(String, i64, Value)> {
    s["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["rows_capped"], false, "{s}");
            (
                t["name"].as_str().unwrap().to_string(),
                t["rows"].as_i64().unwrap(),
                t["database_rows"].clone(),
            )
        })
        .collect()
}

async fn table_rows_are_the_organizations_own(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    let (a, b) = (new_org(&app, "A").await, new_org(&app, "B").await);
    hook_in(&app, &a, "a", rx.url("/a")).await;
    hook_in(&app, &b, "b", rx.url("/b")).await;
    for k in ["b1", "b2"] {
        let e = publish_in(&app, &b, k).await;
        settled(&app, &b, &e).await;
    }
    // A publishes 30 events in one batch.
    let events: Vec<Value> = (0..30)
        .map(|i| event("profile.parsing.success", &format!("a{i}")))
        .collect();
    let (s, v) = call_in(
        &app,
        &a,
        Method::POST,
        "/v1/events/batch",
        Some(&json!({ "events": events })),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    rx.wait_for("/a", 30).await;

    // B, with a token of its own, sees its own 2 of each and nothing of
    // the database's.
    let (_, b_admin) = org_token(&app, &b).await;
    let (s, own) = app.call_as(&b_admin, Method::GET, "/v1/stats", None).await;
    assert_eq!(s, StatusCode::OK, "{own}");
    for (name, rows, database_rows) in tables(&own) {
        assert_eq!(rows, 2, "{name}: {own}");
        assert_eq!(database_rows, Value::Null, "{name}: {own}");
    }
    // A counts its 30 (history: once every attempt is written).
    let a_stats = crate::common::wait::until(
        "A's history rows",
        std::time::Duration::from_secs(30),
        || async {
            let s = stats_of(&app, &a).await;
            (tables(&s)[2].1 == 30).then_some(s)
        },
    )
    .await;
    for (name, rows, _) in tables(&a_stats) {
        assert_eq!(rows, 30, "{name}: {a_stats}");
    }
    // The platform token acting in B: B's counts, and the database's.
    let platform = stats_of(&app, &b).await;
    for (name, rows, database_rows) in tables(&platform) {
        assert_eq!(rows, 2, "{name}: {platform}");
        let n = database_rows.as_i64().unwrap_or(-1);
        // PostgreSQL's estimate may lag (0 before the first ANALYZE);
        // SQLite's rowid span is exact here.
        match backend {
            Backend::Sqlite => assert_eq!(n, 32, "{name}: {platform}"),
            Backend::Postgres | Backend::Citus => assert!(n >= 0, "{name}: {platform}"),
        }
    }
    rx.stop().await;
    app.stop().await;
}
