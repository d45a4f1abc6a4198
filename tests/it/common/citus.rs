//! A fresh database on a Citus cluster (`TEST_CITUS_URL`: a database on the
//! coordinator, e.g. `postgres://postgres@127.0.0.1:5440/postgres`, whose
//! `pg_dist_node` lists the workers; `.ci/citus` sets one up).
//!
//! Citus keeps its metadata per database: a new database gets the
//! extension on every node and its own node list. `CREATE DATABASE` and
//! `DROP DATABASE` are propagated to the workers
//! (`citus.enable_create_database_propagation`).

use diesel::{Connection, PgConnection, RunQueryDsl};

/// A node of the cluster.
#[derive(diesel::QueryableByName)]
struct Node {
    #[diesel(sql_type = diesel::sql_types::Text)]
    host: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    port: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    group: i32,
}

/// The nodes the admin database knows: the coordinator (group 0) first.
fn nodes(admin: &mut PgConnection) -> Vec<Node> {
    diesel::sql_query(
        "SELECT nodename::text AS host, nodeport AS port, groupid AS \"group\" \
         FROM pg_dist_node WHERE noderole = 'primary' ORDER BY groupid",
    )
    .load(admin)
    .expect("read pg_dist_node on TEST_CITUS_URL")
}

/// `url` with its database replaced by `name` (and host/port by `at`).
fn with_database(url: &str, name: &str, at: Option<(&str, i32)>) -> String {
    let rest = url.strip_prefix("postgres://").unwrap_or(url);
    let (auth_host, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail.find('?').map(|q| &tail[q..]).unwrap_or("");
    let auth_host = match at {
        Some((host, port)) => {
            let user = auth_host.rsplit_once('@').map(|(u, _)| format!("{u}@"));
            format!("{}{host}:{port}", user.unwrap_or_default())
        }
        None => auth_host.to_string(),
    };
    format!("postgres://{auth_host}/{name}{query}")
}

fn run(c: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(c)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Creates database `name` on the cluster behind `admin_url`, with the
/// extension on every node and the workers registered; its URL on the
/// coordinator. Four shards per table (two per worker): enough to spread
/// organizations over both workers, quick to create.
pub fn create(admin_url: &str, name: &str) -> String {
    let mut admin = PgConnection::establish(admin_url)
        .expect("TEST_CITUS_URL must point at a reachable Citus coordinator");
    let nodes = nodes(&mut admin);
    let Some(coordinator) = nodes.iter().find(|n| n.group == 0) else {
        panic!("TEST_CITUS_URL: no coordinator in pg_dist_node (run .ci/citus setup)");
    };
    run(&mut admin, "SET citus.enable_create_database_propagation = on");
    run(&mut admin, &format!("CREATE DATABASE {name}"));
    run(
        &mut admin,
        &format!("ALTER DATABASE {name} SET citus.shard_count = 4"),
    );
    for n in &nodes {
        let url = with_database(admin_url, name, Some((&n.host, n.port)));
        let mut c = PgConnection::establish(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
        run(&mut c, "CREATE EXTENSION IF NOT EXISTS citus");
    }
    let url = with_database(admin_url, name, None);
    let mut c = PgConnection::establish(&url).expect("connect to the new database");
    run(
        &mut c,
        &format!(
            "SELECT citus_set_coordinator_host('{}', {})",
            coordinator.host, coordinator.port
        ),
    );
    for n in nodes.iter().filter(|n| n.group != 0) {
        run(
            &mut c,
            &format!("SELECT citus_add_node('{}', {})", n.host, n.port),
        );
    }
    url
}

/// Drops database `name` on every node.
pub fn drop(admin_url: &str, name: &str) {
    if let Ok(mut c) = PgConnection::establish(admin_url) {
        let _ = diesel::sql_query("SET citus.enable_create_database_propagation = on").execute(&mut c);
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c);
    }
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
