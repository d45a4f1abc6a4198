//! Issue 19, history partitioned by day on PostgreSQL: retention drops a
//! whole old day and counts its rows per organization; an attempt no
//! partition covers lands in the default partition and moves out when its
//! day's partition is created; the migration carries the rows both ways.
//! PostgreSQL only (SQLite keeps its plain table: `retention.rs` covers it).

use chrono::NaiveDate;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::{fresh_database, Backend, TestApp};
use crate::fairness::{call_in, new_org};
use crate::retention::history_ids;
use crate::stats::{hook_in, publish_in, settled, stats_of};
use hookrelay::db::partitions::partition_name;

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

/// The text values one query returns.
fn texts(c: &mut PgConnection, sql: &str) -> Vec<String> {
    let rows: Vec<Text> = diesel::sql_query(sql).load(c).unwrap();
    rows.into_iter().map(|r| r.t).collect()
}

/// `history`'s kind (`p`: partitioned, `r`: plain) and its partitions.
fn shape(url: &str) -> (String, Vec<String>) {
    let mut c = PgConnection::establish(url).unwrap();
    let kind = texts(
        &mut c,
        "SELECT relkind::text AS t FROM pg_class WHERE relname = 'history'",
    );
    let parts = texts(
        &mut c,
        "SELECT child.relname::text AS t FROM pg_inherits \
         JOIN pg_class child ON child.oid = pg_inherits.inhrelid \
         WHERE pg_inherits.inhparent = 'history'::regclass ORDER BY 1",
    );
    (kind.concat(), parts)
}

fn today() -> NaiveDate {
    hookrelay::db::time::now().date()
}

/// Retention drops the partitions wholly past the cutoff (their tables are
/// gone, not emptied), counts their rows per organization, and leaves the
/// recent partitions alone. Fails without partitioning: `history` is a
/// plain table and there are no day partitions to drop.
#[actix_web::test]
async fn retention_drops_whole_old_partitions() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let rx = Receiver::start().await;
    let (a, b) = (new_org(&app, "A").await, new_org(&app, "B").await);
    hook_in(&app, &a, "ok", rx.url("/ok")).await;
    hook_in(&app, &b, "ok", rx.url("/b")).await;
    for (org, key) in [(&a, "a1"), (&a, "a2"), (&b, "b1")] {
        let e = publish_in(&app, org, key).await;
        settled(&app, org, &e).await;
    }
    let today = today();
    let (kind, parts) = shape(&app.database_url);
    assert_eq!(kind, "p", "history is partitioned");
    for day in today.iter_days().take(4) {
        assert!(parts.contains(&partition_name(day)), "{day}: {parts:?}");
    }
    assert!(parts.contains(&"history_default".to_string()), "{parts:?}");

    // Forty days on: that day's partitions, and one attempt of A's in them.
    let later = today + chrono::Duration::days(40);
    // Two processes at once: each creates only what the other has not.
    let (x, y) = tokio::join!(
        hookrelay::retention::create_partitions(app.db(), later),
        hookrelay::retention::create_partitions(app.db(), later)
    );
    assert_eq!(x.unwrap() + y.unwrap(), 4);
    let sent = later.and_hms_opt(12, 0, 0).unwrap();
    let kept = hookrelay::db::new_id_at("att", sent);
    app.execute_sql(&format!(
        "INSERT INTO history SELECT * FROM jsonb_populate_record(NULL::history, \
         (SELECT to_jsonb(h) || jsonb_build_object('id', '{kept}', 'sent_at', '{}') \
          FROM history h WHERE organization_id = '{a}' LIMIT 1))",
        sent.format("%Y-%m-%dT%H:%M:%S")
    ));

    // The clock at that day: a 30-day cutoff ten days after today.
    let metrics = app.metrics();
    let now = sent + chrono::Duration::hours(1);
    let deleted = hookrelay::retention::sweep(app.db(), &metrics, 30, now)
        .await
        .unwrap()
        .expect("the sweep ran");
    assert_eq!(deleted.history, 3);
    let (_, parts) = shape(&app.database_url);
    for day in today.iter_days().take(4) {
        assert!(!parts.contains(&partition_name(day)), "{day}: {parts:?}");
    }
    for day in later.iter_days().take(4) {
        assert!(parts.contains(&partition_name(day)), "{day}: {parts:?}");
    }
    assert!(parts.contains(&"history_default".to_string()), "{parts:?}");
    assert_eq!(app.count_rows(&partition_name(later)), 1);
    assert_eq!(history_ids(&app, &a).await, vec![kept]);
    assert!(history_ids(&app, &b).await.is_empty());

    for (org, n) in [(&a, 2), (&b, 1)] {
        let s = stats_of(&app, org).await;
        assert_eq!(s["retention"]["deleted"]["history"], json!(n), "{s}");
    }
    let text = app.metrics_text().await;
    assert!(
        text.contains(r#"hookrelay_retention_deleted_rows_total{table="history"} 3"#),
        "{text}"
    );
    // Nothing more to drop, nothing counted twice.
    let again = hookrelay::retention::sweep(app.db(), &metrics, 30, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.history, 0);
    rx.stop().await;
    app.stop().await;
}

/// With no partition for its day, an attempt still lands (in the default
/// partition), and creating the day's partition afterwards moves it there
/// (PostgreSQL refuses the partition while the default one holds rows of
/// its range). Fails without partitioning: no default partition.
#[actix_web::test]
async fn attempts_without_a_partition_land_in_the_default_one() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let rx = Receiver::start().await;
    let a = new_org(&app, "A").await;
    hook_in(&app, &a, "ok", rx.url("/ok")).await;
    let day = partition_name(today());
    app.execute_sql(&format!("DROP TABLE {day}"));

    let e = publish_in(&app, &a, "e1").await;
    settled(&app, &a, &e).await;
    assert_eq!(app.count_rows("history_default"), 1);
    let ids = history_ids(&app, &a).await;
    assert_eq!(ids.len(), 1);

    let created = hookrelay::retention::create_partitions(app.db(), today())
        .await
        .unwrap();
    assert_eq!(created, 1);
    assert_eq!(app.count_rows("history_default"), 0);
    assert_eq!(app.count_rows(&day), 1);
    // Found by id alone (every partition's index is probed).
    let (s, v) = call_in(
        &app,
        &a,
        Method::GET,
        &format!("/v1/history/{}", ids[0]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The next attempt goes to the day's partition.
    let e = publish_in(&app, &a, "e2").await;
    settled(&app, &a, &e).await;
    assert_eq!(app.count_rows(&day), 2);
    rx.stop().await;
    app.stop().await;
}

/// The partitions migration, run with attempts of two days in place,
/// makes one partition per day and keeps the rows and indexes; its down
/// migration gives the plain table back, rows kept. Fails without the
/// migration (it is looked up by name).
#[test]
fn partitions_migration_carries_history_rows_both_ways() {
    use diesel::migration::MigrationSource;
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    // In the migration's name and its version ("20261127000907").
    const PARTITIONS: &str = "000907";
    let Some(db) = fresh_database(Backend::Postgres) else {
        return;
    };
    let mut c = PgConnection::establish(&db.url).unwrap();
    let dir = format!("{}/migrations/postgres", env!("CARGO_MANIFEST_DIR"));
    let m = FileBasedMigrations::from_path(dir).unwrap();
    // In version order (the directory's order is not guaranteed).
    let mut all: Vec<String> = MigrationSource::<diesel::pg::Pg>::migrations(&m)
        .unwrap()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    all.sort();
    let at = all
        .iter()
        .position(|name| name.contains(PARTITIONS))
        .expect("the partitions migration");
    for _ in 0..at {
        c.run_next_migration(m.clone()).unwrap();
    }
    let row =
        |id: &str, sent: &str, org: &str| {
            format!(
            "INSERT INTO history (id, webhook_id, event_id, event_type, event_ids, delivery_ids, \
             url, request_headers, request_body, response_status, response_headers, \
             response_body, response_truncated, duration_ms, attempt, triggered_by, sent_at{}) \
             VALUES ('{id}', 'wh_1', 'evt_1', 't', '[]', '[]', 'http://x', '{{}}', '', 200, \
             '{{}}', '', FALSE, 1, 1, 'auto', '{sent}'{});",
            if org.is_empty() { "" } else { ", organization_id" },
            if org.is_empty() {
                String::new()
            } else {
                format!(", '{org}'")
            }
        )
        };
    diesel::sql_query(row("att_1", "2026-10-01 08:00:00", ""))
        .execute(&mut c)
        .unwrap();
    diesel::sql_query(row("att_2", "2026-10-01 23:59:59.999999", "org_2"))
        .execute(&mut c)
        .unwrap();
    diesel::sql_query(row("att_3", "2026-11-20 00:00:00", "org_2"))
        .execute(&mut c)
        .unwrap();
    let placed = |c: &mut PgConnection| {
        texts(
            c,
            "SELECT id || ' ' || tableoid::regclass::text || ' ' || organization_id AS t \
             FROM history ORDER BY id",
        )
    };
    let indexes = |c: &mut PgConnection| {
        texts(
            c,
            "SELECT indexname::text AS t FROM pg_indexes WHERE tablename = 'history' ORDER BY 1",
        )
    };
    let before = indexes(&mut c);

    c.run_pending_migrations(m.clone()).unwrap();
    let (kind, parts) = shape(&db.url);
    assert_eq!(kind, "p");
    assert!(
        parts.contains(&"history_p20261001".to_string()),
        "{parts:?}"
    );
    assert!(
        parts.contains(&"history_p20261120".to_string()),
        "{parts:?}"
    );
    assert!(parts.contains(&"history_default".to_string()), "{parts:?}");
    assert_eq!(
        placed(&mut c),
        [
            "att_1 history_p20261001 org_1",
            "att_2 history_p20261001 org_2",
            "att_3 history_p20261120 org_2"
        ]
    );
    assert_eq!(indexes(&mut c), before);

    while !c
        .revert_last_migration(m.clone())
        .unwrap()
        .to_string()
        .contains(PARTITIONS)
    {}
    let (kind, parts) = shape(&db.url);
    assert_eq!(kind, "r");
    assert!(parts.is_empty(), "{parts:?}");
    assert_eq!(
        placed(&mut c),
        [
            "att_1 history org_1",
            "att_2 history org_2",
            "att_3 history org_2"
        ]
    );
    assert_eq!(indexes(&mut c), before);
    let key = texts(
        &mut c,
        "SELECT pg_get_constraintdef(oid) AS t FROM pg_constraint WHERE conname = 'history_pkey'",
    );
    assert_eq!(key, ["PRIMARY KEY (id)"]);
}
