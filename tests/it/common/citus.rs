//! A fresh database on a Citus cluster (`TEST_CITUS_URL`: a database on the
//! coordinator, e.g. `postgres://postgres@127.0.0.1:5440/postgres`, whose
//! `pg_dist_node` lists the workers; `.ci/citus` sets one up), and what
//! Citus says of its tables.

use diesel::{Connection, PgConnection, RunQueryDsl};
use hookrelay::db::citus_database;

/// Creates database `name` on the cluster behind `admin_url` (see
/// `hookrelay::db::citus_database`); its URL on the coordinator. Four
/// shards per table (two per worker): enough to spread organizations over
/// both workers, quick to create.
pub fn create(admin_url: &str, name: &str) -> String {
    citus_database::create(admin_url, name, 4)
        .unwrap_or_else(|e| panic!("TEST_CITUS_URL: a new database on the cluster: {e}"))
}

/// Drops database `name` on every node.
pub fn drop(admin_url: &str, name: &str) {
    citus_database::drop(admin_url, name)
}

/// How Citus holds each table of the database at `url`: (table, type,
/// distribution column, co-location group), from `citus_tables`.
pub fn tables(url: &str) -> Vec<(String, String, String, i32)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        colocation: i32,
    }
    let mut c = PgConnection::establish(url).expect("connect to the Citus database");
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT table_name::text AS name, citus_table_type AS kind, \
         distribution_column AS \"column\", colocation_id AS colocation \
         FROM citus_tables ORDER BY 1",
    )
    .load(&mut c)
    .expect("read citus_tables");
    rows.into_iter()
        .map(|r| (r.name, r.kind, r.column, r.colocation))
        .collect()
}
