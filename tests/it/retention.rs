//! Issue 16, history retention: with the clock moved past the retention
//! period, old attempts, finished deliveries and events left without
//! deliveries go; recent rows and deliveries still waiting stay; each
//! organization's tally is its own.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::common::receiver::Receiver;
use crate::common::wait::until_ok;
use crate::common::{Backend, TestApp};
use crate::fairness::{call_in, new_org};
use crate::stats::{hook_in, publish_in, settled, stats_of};

both_backends!(retention_deletes_only_old_finished_rows);

/// Ids of `org`'s history rows.
pub async fn history_ids(app: &TestApp, org: &str) -> Vec<String> {
    let (s, v) = call_in(app, org, Method::GET, "/v1/history?limit=100", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut ids: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn retention_deletes_only_old_finished_rows(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let rx = Receiver::start().await;
    rx.set_status("/bad", 500);
    let (a, b) = (new_org(&app, "A").await, new_org(&app, "B").await);
    hook_in(&app, &a, "ok", rx.url("/ok")).await;
    hook_in(&app, &b, "ok", rx.url("/b")).await;

    // Old: E0 to `ok` only; E1 to `ok` and to `bad` (failing: its delivery
    // waits for a retry in an hour). B: one old event.
    let e0 = publish_in(&app, &a, "e0").await;
    settled(&app, &a, &e0).await;
    let bad = hook_in(&app, &a, "bad", rx.url("/bad")).await;
    let e1 = publish_in(&app, &a, "e1").await;
    settled(&app, &a, &e1).await;
    let eb = publish_in(&app, &b, "eb").await;
    settled(&app, &b, &eb).await;
    let old_history = history_ids(&app, &a).await;
    assert_eq!(old_history.len(), 3);

    tokio::time::sleep(Duration::from_millis(20)).await;
    let boundary = hookrelay::db::time::now();
    tokio::time::sleep(Duration::from_millis(20)).await;

    // Recent: E2 to both.
    let e2 = publish_in(&app, &a, "e2").await;
    settled(&app, &a, &e2).await;
    let all_history = history_ids(&app, &a).await;
    assert_eq!(all_history.len(), 5);

    // The clock moved 30 days on from the boundary: everything before it
    // is past a 30-day retention.
    let metrics = app.metrics();
    let now = boundary + chrono::Duration::days(30);
    let deleted = hookrelay::retention::sweep(app.db(), &metrics, 30, now)
        .await
        .unwrap()
        .expect("the sweep ran");
    // A: 3 old attempts, E0's and E1's succeeded deliveries, E0 (E1 keeps
    // its waiting delivery). B: 1 attempt, 1 delivery, 1 event.
    assert_eq!(
        deleted,
        hookrelay::retention::Deleted {
            history: 4,
            deliveries: 3,
            events: 2
        }
    );
    let left = history_ids(&app, &a).await;
    let recent: Vec<String> = all_history
        .iter()
        .filter(|h| !old_history.contains(h))
        .cloned()
        .collect();
    assert_eq!(left, recent);
    let (s, _) = call_in(&app, &a, Method::GET, &format!("/v1/events/{e0}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = call_in(&app, &a, Method::GET, &format!("/v1/events/{e1}"), None).await;
    assert_eq!(s, StatusCode::OK);
    // Only the waiting delivery is left of E1.
    assert_eq!(v["deliveries"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["deliveries"][0]["webhook_id"], bad.as_str(), "{v}");
    assert_eq!(v["deliveries"][0]["status"], "failed", "{v}");
    let (s, v) = call_in(&app, &a, Method::GET, &format!("/v1/events/{e2}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["deliveries"].as_array().unwrap().len(), 2, "{v}");
    let (s, _) = call_in(&app, &b, Method::GET, &format!("/v1/events/{eb}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Reported per organization, and in /metrics (no organization label).
    let s = stats_of(&app, &a).await;
    assert_eq!(
        s["retention"]["deleted"],
        json!({"history": 3, "deliveries": 2, "events": 1}),
        "{s}"
    );
    assert!(s["retention"]["last_run_at"].is_string(), "{s}");
    let s = stats_of(&app, &b).await;
    assert_eq!(
        s["retention"]["deleted"],
        json!({"history": 1, "deliveries": 1, "events": 1}),
        "{s}"
    );
    let text = app.metrics_text().await;
    assert!(
        text.contains(r#"hookrelay_retention_deleted_rows_total{table="history"} 4"#),
        "{text}"
    );

    // Again: nothing more to delete, nothing counted twice.
    let again = hookrelay::retention::sweep(app.db(), &metrics, 30, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, hookrelay::retention::Deleted::default());
    // 0 days keeps everything.
    assert!(
        hookrelay::retention::sweep(app.db(), &metrics, 0, now + chrono::Duration::days(999))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(history_ids(&app, &a).await.len(), 2);
    rx.stop().await;
    app.stop().await;
}

/// `PRAGMA page_count` of the app's SQLite file: its size in pages.
fn sqlite_pages(app: &TestApp) -> i64 {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let path = app.database_url.strip_prefix("sqlite://").unwrap();
    let mut c = diesel::SqliteConnection::establish(path).unwrap();
    diesel::sql_query("SELECT page_count AS n FROM pragma_page_count")
        .get_result::<N>(&mut c)
        .unwrap()
        .n
}

/// Under a steady load with retention, the SQLite file stops growing: the
/// pages a sweep frees are reused by the next rows (and beyond a reserve
/// given back, `auto_vacuum = INCREMENTAL`). Six rounds of 400 delivered
/// events, each followed by a sweep with the clock moved past retention:
/// without the sweeps the file grows about sixfold. PostgreSQL's
/// autovacuum does the same for its tables, so this is SQLite's test.
#[actix_web::test]
async fn sqlite_file_stops_growing_under_retention() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let rx = Receiver::start().await;
    let hook =
        json!({"name": "ok", "url": rx.url("/ok"), "event_types": ["profile.*"], "format": "json"});
    let (s, v) = app.post("/v1/webhooks", &hook).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let metrics = app.metrics();
    let filler = "x".repeat(2000);
    let mut sizes = Vec::new();
    for round in 0..6 {
        let events: Vec<_> = (0..400)
            .map(|i| {
                let mut e =
                    crate::common::event("profile.parsing.success", &format!("r{round}-{i}"));
                e["profile"]["summary"] = json!(filler);
                e
            })
            .collect();
        let (s, v) = app
            .post("/v1/events/batch", &json!({ "events": events }))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        until_ok(
            &format!("round {round} to settle"),
            Duration::from_secs(60),
            async || match app.count_rows("deliveries WHERE status = 'succeeded'") {
                n if n >= 400 => Ok(()),
                n => Err(format!("{n} of 400 succeeded")),
            },
        )
        .await;
        let now = hookrelay::db::time::now() + chrono::Duration::days(31);
        let deleted = hookrelay::retention::sweep(app.db(), &metrics, 30, now)
            .await
            .unwrap()
            .expect("the sweep ran");
        assert_eq!(deleted.deliveries, 400, "round {round}");
        sizes.push(sqlite_pages(&app));
    }
    // The first rounds size the file; from then on it holds steady.
    let settled = sizes[2];
    assert!(
        sizes[5] <= settled + settled / 10,
        "the file kept growing: pages per round {sizes:?}"
    );
    rx.stop().await;
    app.stop().await;
}
