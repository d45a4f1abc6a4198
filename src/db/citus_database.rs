//! A new database on a Citus cluster, ready for hookrelay: the test suite's
//! and the bench's throwaway databases (`.ci/citus` sets the cluster up).
//!
//! Citus keeps its metadata per database: a new database needs the
//! extension on every node, and its own list of nodes on the coordinator.
//! The cluster's nodes are read from the database `admin_url` names (on the
//! coordinator, e.g. `postgres`), where they are registered. `CREATE
//! DATABASE` and `DROP DATABASE` reach the workers through
//! `citus.enable_create_database_propagation`.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

/// A primary node of the cluster.
#[derive(QueryableByName)]
struct Node {
    #[diesel(sql_type = Text)]
    host: String,
    #[diesel(sql_type = Integer)]
    port: i32,
    #[diesel(sql_type = Integer)]
    group: i32,
}

fn run(c: &mut PgConnection, sql: &str) -> Result<(), String> {
    diesel::sql_query(sql)
        .execute(c)
        .map(|_| ())
        .map_err(|e| format!("{sql}: {e}"))
}

/// `url` with database `name`, and host and port `at` when given.
pub fn url_of(url: &str, name: &str, at: Option<(&str, i32)>) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (auth_host, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail.find('?').map(|q| &tail[q..]).unwrap_or("");
    let auth_host = match at {
        Some((host, port)) => {
            let user = auth_host.rsplit_once('@').map(|(u, _)| format!("{u}@"));
            format!("{}{host}:{port}", user.unwrap_or_default())
        }
        None => auth_host.to_string(),
    };
    format!("{scheme}://{auth_host}/{name}{query}")
}

/// Creates database `name` on the cluster behind `admin_url` with
/// `shard_count` shards per distributed table, the extension on every
/// node and the workers registered; returns its URL on the coordinator.
pub fn create(admin_url: &str, name: &str, shard_count: u32) -> Result<String, String> {
    let mut admin = PgConnection::establish(admin_url)
        .map_err(|e| format!("cannot reach the Citus coordinator: {e}"))?;
    let nodes = nodes(&mut admin)?;
    let coordinator = nodes
        .iter()
        .find(|n| n.group == 0)
        .ok_or("no coordinator in pg_dist_node (run .ci/citus setup)")?;
    run(
        &mut admin,
        "SET citus.enable_create_database_propagation = on",
    )?;
    run(&mut admin, &format!("CREATE DATABASE {name}"))?;
    run(
        &mut admin,
        &format!("ALTER DATABASE {name} SET citus.shard_count = {shard_count}"),
    )?;
    for n in &nodes {
        let url = url_of(admin_url, name, Some((&n.host, n.port)));
        let mut c = PgConnection::establish(&url).map_err(|e| format!("{url}: {e}"))?;
        run(&mut c, "CREATE EXTENSION IF NOT EXISTS citus")?;
    }
    let url = url_of(admin_url, name, None);
    let mut c = PgConnection::establish(&url).map_err(|e| format!("{url}: {e}"))?;
    run(
        &mut c,
        &format!(
            "SELECT citus_set_coordinator_host('{}', {})",
            coordinator.host, coordinator.port
        ),
    )?;
    for n in nodes.iter().filter(|n| n.group != 0) {
        run(
            &mut c,
            &format!("SELECT citus_add_node('{}', {})", n.host, n.port),
        )?;
    }
    Ok(url)
}

/// The primary nodes `admin` knows, the coordinator (group 0) first.
fn nodes(admin: &mut PgConnection) -> Result<Vec<Node>, String> {
    diesel::sql_query(
        "SELECT nodename::text AS host, nodeport AS port, groupid AS \"group\" \
         FROM pg_dist_node WHERE noderole = 'primary' ORDER BY groupid",
    )
    .load(admin)
    .map_err(|e| format!("cannot read pg_dist_node (is citus installed there?): {e}"))
}

/// Drops database `name` on every node of the cluster behind `admin_url`.
/// A propagated drop that fails (it is not atomic across nodes) is done
/// again node by node: a database left on one node would stop
/// `citus_add_node` later.
pub fn drop(admin_url: &str, name: &str) {
    let Ok(mut c) = PgConnection::establish(admin_url) else {
        return;
    };
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    let propagated = run(&mut c, "SET citus.enable_create_database_propagation = on")
        .and_then(|()| run(&mut c, &sql));
    let Err(error) = propagated else {
        return;
    };
    tracing::warn!(%error, "dropping {name} node by node");
    let admin_db = admin_url
        .rsplit_once('/')
        .map_or("postgres", |(_, db)| db.split('?').next().unwrap_or(db));
    for n in nodes(&mut c).unwrap_or_default() {
        let url = url_of(admin_url, admin_db, Some((&n.host, n.port)));
        if let Ok(mut node) = PgConnection::establish(&url) {
            let _ = run(&mut node, &sql);
        }
    }
}

/// Whether the database `url` names has the `citus` extension.
pub fn has_citus(url: &str) -> bool {
    PgConnection::establish(url)
        .ok()
        .and_then(|mut c| super::citus::installed(&mut c).ok())
        .unwrap_or(false)
}
