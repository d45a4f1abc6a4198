//! The narrow-queue migration (000906, issue #19) carries every queued,
//! retrying and in-flight delivery into `delivery_queue` without loss, the
//! claim then finds them, and the down migration gives the old shape back;
//! on both backends (PostgreSQL when `TEST_DATABASE_URL` is set).

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel_migrations::MigrationHarness;

use super::deliveries::Delivery;
use super::pool::{PG_MIGRATIONS, SQLITE_MIGRATIONS};
use super::DbConn;

#[derive(QueryableByName, Debug, PartialEq)]
struct Row {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    claimed_by: Option<String>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

const SEED: &str = "
INSERT INTO webhooks (id, name, url, event_types, format, active, verify_ssl, signing,
    max_events_per_request, secret, state, created_at, updated_at)
    VALUES ('wh_1', 'w', 'http://x', '[\"*\"]', 'json', TRUE, TRUE, TRUE, 1, 's', 'active',
    '2026-11-23 00:00:00', '2026-11-23 00:00:00');
INSERT INTO events (id, event_type, payload, idempotency_key, created_at)
    VALUES ('evt_1', 'user.updated', '{}', 'k', '2026-11-23 00:00:00');
INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, next_attempt_at,
    claimed_by, lease_until, last_status_code, created_at, updated_at) VALUES
    ('dlv_p', 'evt_1', 'wh_1', 'pending', 0, '2026-11-23 00:00:00', NULL, NULL, NULL,
        '2026-11-23 00:00:00', '2026-11-23 00:00:00'),
    ('dlv_f', 'evt_1', 'wh_1', 'failed', 2, '2026-11-23 00:10:00', NULL, NULL, 503,
        '2026-11-23 00:00:00', '2026-11-23 00:00:00'),
    ('dlv_d', 'evt_1', 'wh_1', 'delivering', 3, '2026-11-23 00:05:00', 'gone',
        '2026-11-23 00:05:00', 503, '2026-11-23 00:00:00', '2026-11-23 00:00:00'),
    ('dlv_s', 'evt_1', 'wh_1', 'succeeded', 1, '2026-11-23 00:00:00', NULL, NULL, 200,
        '2026-11-23 00:00:00', '2026-11-23 00:00:00'),
    ('dlv_x', 'evt_1', 'wh_1', 'dead', 10, '2026-11-23 00:00:00', NULL, NULL, 500,
        '2026-11-23 00:00:00', '2026-11-23 00:00:00');
";

fn at(h: u32, m: u32) -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

/// Runs the check on one backend's connection type and migrations.
macro_rules! check_backend {
    ($conn:expr, $migrations:expr, $backend:ty, $url:expr) => {{
        let c = $conn;
        let all = MigrationSource::<$backend>::migrations(&$migrations).unwrap();
        let at_queue = all
            .iter()
            .position(|m| m.name().to_string().contains("000906_delivery_queue"))
            .unwrap();
        for _ in 0..at_queue {
            c.run_next_migration($migrations).unwrap();
        }
        c.batch_execute(SEED).unwrap();
        let old =
            || "SELECT id, status, attempts, claimed_by FROM deliveries ORDER BY id".to_string();
        let before: Vec<Row> = diesel::sql_query(old()).load(c).unwrap();
        c.run_next_migration($migrations).unwrap();

        // The records: the one in flight counts its finished attempts.
        let records: Vec<Row> = diesel::sql_query(
            "SELECT id, status, attempts, NULL AS claimed_by FROM deliveries ORDER BY id",
        )
        .load(c)
        .unwrap();
        let want = [
            ("dlv_d", "failed", 2),
            ("dlv_f", "failed", 2),
            ("dlv_p", "pending", 0),
            ("dlv_s", "succeeded", 1),
            ("dlv_x", "dead", 10),
        ];
        let got: Vec<(&str, &str, i32)> = records
            .iter()
            .map(|r| (r.id.as_str(), r.status.as_str(), r.attempts))
            .collect();
        assert_eq!(got, want);
        // The queue: every unfinished delivery, with its claim.
        let queued: Vec<Row> = diesel::sql_query(
            "SELECT delivery_id AS id, 'queued' AS status, attempts, claimed_by \
             FROM delivery_queue ORDER BY delivery_id",
        )
        .load(c)
        .unwrap();
        let got: Vec<(&str, i32, Option<&str>)> = queued
            .iter()
            .map(|r| (r.id.as_str(), r.attempts, r.claimed_by.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("dlv_d", 3, Some("gone")),
                ("dlv_f", 2, None),
                ("dlv_p", 0, None)
            ]
        );

        // Down again: the old rows, exactly.
        c.revert_last_migration($migrations).unwrap();
        let after: Vec<Row> = diesel::sql_query(old()).load(c).unwrap();
        assert_eq!(after, before, "the down migration gives the rows back");
        let n: Vec<Count> = diesel::sql_query(
            "SELECT COUNT(*) AS n FROM deliveries WHERE lease_until = next_attempt_at",
        )
        .load(c)
        .unwrap();
        assert_eq!(n[0].n, 1, "the claim keeps its lease");

        // Up to date, then a claim after every due time takes all three: the
        // expired lease first, its attempt counted once more.
        c.run_pending_migrations($migrations).unwrap();
        let mut app = DbConn::establish($url).unwrap();
        let mut cursor = String::new();
        let claimed = Delivery::claim(
            &mut app,
            "new",
            at(1, 0),
            at(1, 5),
            10,
            &[],
            |_| true,
            &mut cursor,
        )
        .unwrap();
        let got: Vec<(&str, i32)> = claimed
            .iter()
            .map(|d| (d.id.as_str(), d.attempts))
            .collect();
        assert_eq!(got, [("dlv_d", 4), ("dlv_p", 1), ("dlv_f", 3)]);
    }};
}

#[test]
fn queue_migration_carries_unfinished_deliveries_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let url = path.to_str().unwrap().to_string();
    let mut c = SqliteConnection::establish(&url).unwrap();
    c.batch_execute("PRAGMA foreign_keys = ON;").unwrap();
    check_backend!(&mut c, SQLITE_MIGRATIONS, diesel::sqlite::Sqlite, &url);
}

#[test]
fn queue_migration_carries_unfinished_deliveries_postgres() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("SKIPPED: queue_migration (PostgreSQL): TEST_DATABASE_URL is not set");
        return;
    };
    let name = format!("hookrelay_qm_{}", std::process::id());
    let mut a = PgConnection::establish(&admin).unwrap();
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut a)
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut a)
        .unwrap();
    let base = &admin[..admin.rfind('/').unwrap()];
    let url = format!("{base}/{name}");
    {
        let mut c = PgConnection::establish(&url).unwrap();
        check_backend!(&mut c, PG_MIGRATIONS, diesel::pg::Pg, &url);
    }
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut a)
        .unwrap();
}
