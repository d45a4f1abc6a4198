//! hookrelay on Citus (issue #30): the layout `db::citus` gives the tables
//! on a coordinator with two workers. Every tenant table is distributed by
//! `organization_id`, all in one co-location group (an organization's rows
//! of every table on one shard); the shared rows are reference tables;
//! `history`'s partitions, including the ones created later, are
//! distributed with it; nothing else is left local but the write probe.
//! With `HOOKRELAY_CITUS=false` nothing is distributed; an existing
//! database is laid out, rows and all, at a later start.

use std::collections::BTreeMap;

use diesel::{Connection, PgConnection, RunQueryDsl};
use hookrelay::db::citus::{DISTRIBUTED, REFERENCE};
use serde_json::json;

use crate::common::receiver::Receiver;
use crate::common::{citus, event, Backend, TestApp};

/// Tables that stay local to the coordinator: the write probe tests the
/// coordinator's own disk, diesel's migration log is the coordinator's.
const LOCAL: &[&str] = &["write_probe", "__diesel_schema_migrations"];

/// Every table of the `public` schema.
fn public_tables(url: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut c = PgConnection::establish(url).expect("connect");
    let rows: Vec<T> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .load(&mut c)
    .expect("list tables");
    rows.into_iter().map(|t| t.name).collect()
}

#[actix_web::test]
async fn citus_tables_are_distributed_by_organization() {
    let Some(app) = TestApp::start(Backend::Citus).await else {
        return;
    };
    assert!(app.db().is_citus(), "the gateway did not see Citus");
    // A partition created after the layout (the next days' partitions are
    // created ahead by the gateway, the same way).
    let day = chrono::NaiveDate::from_ymd_opt(2099, 12, 31).unwrap();
    app.db()
        .write_blocking(|c| Ok(hookrelay::db::partitions::create_ahead(c, day)?))
        .expect("create partitions");
    let later = hookrelay::db::partitions::partition_name(day);

    let held: BTreeMap<String, (String, String, i32)> = citus::tables(&app.database_url)
        .into_iter()
        .map(|(t, kind, col, group)| (t, (kind, col, group)))
        .collect();
    let group = held
        .get(DISTRIBUTED[0])
        .unwrap_or_else(|| panic!("{} is not distributed: {held:?}", DISTRIBUTED[0]))
        .2;
    for t in DISTRIBUTED {
        let Some((kind, col, g)) = held.get(*t) else {
            panic!("{t} is local to the coordinator: {held:?}");
        };
        assert_eq!(
            (kind.as_str(), col.as_str(), *g),
            ("distributed", "organization_id", group),
            "{t}: distributed by organization_id, co-located with {}",
            DISTRIBUTED[0]
        );
    }
    for t in REFERENCE {
        assert_eq!(
            held.get(*t).map(|h| h.0.as_str()),
            Some("reference"),
            "{t} is a reference table"
        );
    }
    // Every other table: a partition of history, distributed with it.
    let mut partitions = 0;
    for t in public_tables(&app.database_url) {
        if LOCAL.contains(&t.as_str())
            || DISTRIBUTED.contains(&t.as_str())
            || REFERENCE.contains(&t.as_str())
        {
            continue;
        }
        assert!(
            t.starts_with("history_p") || t == "history_default",
            "{t} is neither distributed, reference nor known to be local"
        );
        assert_eq!(
            held.get(&t).map(|h| (h.0.as_str(), h.1.as_str(), h.2)),
            Some(("distributed", "organization_id", group)),
            "history partition {t}"
        );
        partitions += 1;
    }
    assert!(
        held.contains_key(&later),
        "{later}, created later, is distributed"
    );
    assert!(partitions >= 2, "history has partitions: {partitions}");
    // The shards are on both workers.
    let nodes = shard_nodes(&app.database_url);
    assert!(nodes >= 2, "the shards are spread over {nodes} node(s)");
    app.stop().await;
}

/// How many nodes hold shards of `deliveries`.
fn shard_nodes(url: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = PgConnection::establish(url).expect("connect");
    diesel::sql_query(
        "SELECT COUNT(DISTINCT nodeport) AS n FROM citus_shards \
         WHERE table_name = 'deliveries'::regclass",
    )
    .get_result::<N>(&mut c)
    .expect("citus_shards")
    .n
}

/// `HOOKRELAY_CITUS=false`: the tables stay local to the coordinator.
#[actix_web::test]
async fn citus_false_leaves_the_tables_local() {
    let Some(app) = TestApp::start_with(Backend::Citus, |c| {
        c.citus = hookrelay::config::Citus::False;
    })
    .await
    else {
        return;
    };
    assert!(!app.db().is_citus());
    assert_eq!(citus::tables(&app.database_url), Vec::new());
    app.stop().await;
}

/// A second start finds the layout done and changes nothing.
#[actix_web::test]
async fn citus_layout_is_done_once() {
    let Some(app) = TestApp::start(Backend::Citus).await else {
        return;
    };
    let before = citus::tables(&app.database_url);
    let app = app.restart_with(|_| {}).await.expect("restart");
    assert!(app.db().is_citus());
    assert_eq!(citus::tables(&app.database_url), before);
    app.stop().await;
}

/// An existing database, with rows, laid out at a later start (the
/// migration path of docs/operations.md): its events, deliveries and
/// history are still there, and deliveries go on.
#[actix_web::test]
async fn citus_lays_out_an_existing_database_with_its_rows() {
    let Some(app) = TestApp::start_with(Backend::Citus, |c| {
        c.citus = hookrelay::config::Citus::False;
    })
    .await
    else {
        return;
    };
    let rx = Receiver::start().await;
    app.create_webhook(json!({"name": "w", "url": rx.url("/w"), "event_types": ["*"]}))
        .await;
    let before: Vec<String> = (0..3).map(|i| format!("before-{i}")).collect::<Vec<_>>();
    let mut ids = Vec::new();
    for key in &before {
        let v = app.publish(event("profile.parsing.success", key)).await;
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        app.wait_event_deliveries(id, |d| d.iter().all(|d| d["status"] == "succeeded"))
            .await;
    }
    assert!(citus::tables(&app.database_url).is_empty());

    let app = app
        .restart_with(|c| c.citus = hookrelay::config::Citus::True)
        .await
        .expect("restart on Citus");
    assert!(app.db().is_citus());
    let held = citus::tables(&app.database_url);
    assert!(
        held.iter()
            .any(|(t, kind, _, _)| t == "deliveries" && kind == "distributed"),
        "{held:?}"
    );
    for id in &ids {
        let list = app
            .wait_event_deliveries(id, |d| d.len() == 1 && d[0]["status"] == "succeeded")
            .await;
        assert_eq!(list[0]["attempts"], 1, "{list:?}");
    }
    assert_eq!(app.all_history("").await.len(), 3);
    let v = app.publish(event("profile.parsing.success", "after")).await;
    app.wait_event_deliveries(v["id"].as_str().unwrap(), |d| {
        d.iter().all(|d| d["status"] == "succeeded")
    })
    .await;
    assert_eq!(rx.received_on("/w").len(), 4);
    app.stop().await;
    rx.stop().await;
}
