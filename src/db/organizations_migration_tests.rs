//! The organizations migration (000900) carries existing rows into the
//! default organization, and its down migration gives the old shape back.

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_migrations::MigrationHarness;

use super::pool::SQLITE_MIGRATIONS;

#[derive(QueryableByName)]
struct Org {
    #[diesel(sql_type = Text)]
    organization_id: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The organizations migration carries existing rows (and their
/// deliveries, through the events rebuild) into `org_1`, and its down
/// migration gives the old shape back with the rows intact.
#[test]
fn organizations_migration_carries_rows_into_the_default_organization() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = SqliteConnection::establish(dir.path().join("m.db").to_str().unwrap()).unwrap();
    c.batch_execute("PRAGMA foreign_keys = ON;").unwrap();
    let all = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS).unwrap();
    // Everything before the organizations migration.
    let at = all
        .iter()
        .position(|m| m.name().to_string().contains("000900_organizations"))
        .unwrap();
    for _ in 0..at {
        c.run_next_migration(SQLITE_MIGRATIONS).unwrap();
    }
    c.batch_execute(
        "INSERT INTO organization (id, name, updated_at) VALUES (1, 'Acme', '2026-11-23 00:00:00');
         INSERT INTO webhooks (id, name, url, event_types, format, active, verify_ssl, signing,
             max_events_per_request, secret, state, created_at, updated_at)
             VALUES ('wh_1', 'w', 'http://x', '[\"*\"]', 'json', 1, 1, 1, 1, 's', 'active',
             '2026-11-23 00:00:00', '2026-11-23 00:00:00');
         INSERT INTO events (id, event_type, payload, idempotency_key, created_at)
             VALUES ('evt_1', 'user.updated', '{}', 'k', '2026-11-23 00:00:00');
         INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, next_attempt_at,
             created_at, updated_at) VALUES ('dlv_1', 'evt_1', 'wh_1', 'pending', 0,
             '2026-11-23 00:00:00', '2026-11-23 00:00:00', '2026-11-23 00:00:00');",
    )
    .unwrap();
    // The organizations migration and every later one: their downs are
    // reverted below, down to (and including) the organizations one.
    c.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
    let org = |c: &mut SqliteConnection, table: &str| {
        diesel::sql_query(format!("SELECT organization_id FROM {table}"))
            .load::<Org>(c)
            .unwrap()
            .into_iter()
            .map(|o| o.organization_id)
            .collect::<Vec<_>>()
    };
    for table in ["webhooks", "events", "deliveries"] {
        assert_eq!(org(&mut c, table), vec!["org_1"], "{table}");
    }
    let name: Vec<Count> = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM organizations WHERE id = 'org_1' AND name = 'Acme'",
    )
    .load(&mut c)
    .unwrap();
    assert_eq!(name[0].n, 1);
    // The same key in another organization is a different event.
    c.batch_execute(
        "INSERT INTO events (id, event_type, payload, idempotency_key, created_at, organization_id)
             VALUES ('evt_2', 'user.updated', '{}', 'k', '2026-11-23 00:00:00', 'org_2');
         DELETE FROM events WHERE id = 'evt_2';",
    )
    .unwrap();
    // Down to (and including) the organizations migration.
    for _ in at..all.len() {
        c.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
    }
    let n: Vec<Count> = diesel::sql_query("SELECT COUNT(*) AS n FROM deliveries")
        .load(&mut c)
        .unwrap();
    assert_eq!(n[0].n, 1, "the down migration keeps the rows");
    assert!(diesel::sql_query("SELECT organization_id FROM webhooks")
        .execute(&mut c)
        .is_err());
    // Deleting an event still cascades to its deliveries.
    c.batch_execute("DELETE FROM events WHERE id = 'evt_1';")
        .unwrap();
    let n: Vec<Count> = diesel::sql_query("SELECT COUNT(*) AS n FROM deliveries")
        .load(&mut c)
        .unwrap();
    assert_eq!(n[0].n, 0, "deliveries still reference events");
}
