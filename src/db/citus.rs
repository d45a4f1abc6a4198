//! hookrelay on Citus, the PostgreSQL extension that distributes tables
//! across worker nodes (issue #30; docs/operations.md, "Past one database").
//!
//! The migrations are the same as on plain PostgreSQL. After them, on a
//! database where the `citus` extension is installed (or when
//! `HOOKRELAY_CITUS=true`), [`distribute`] lays the tables out, once:
//!
//! - the shared rows become reference tables, copied to every node:
//!   organizations, event types (the built-in ones belong to no
//!   organization), and the credentials that are looked up by hash before
//!   the organization is known (API tokens, portal sessions), which keeps
//!   their hashes unique across all organizations;
//! - every tenant table is distributed by `organization_id`, all
//!   co-located: an organization's rows of every table live on one shard,
//!   so its publish, claims and settlements are single-shard statements;
//! - Citus wants the distribution column in every primary key and foreign
//!   key of a distributed table: the keys lead with `organization_id` here
//!   (plain PostgreSQL keeps its narrower ones, which its queries and
//!   indexes are tuned for).
//!
//! Every step is skipped when already done, so it runs at every start and
//! finishes a layout a crash interrupted. The statements hookrelay runs on
//! such a database differ in a few places (claims and settlements per
//! organization); [`on`] tells them, for the thread running a query.

use std::cell::Cell;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

/// `HOOKRELAY_CITUS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Distribute when the `citus` extension is installed in the database.
    Auto,
    /// Distribute; start-up fails without the extension.
    On,
    /// Never distribute, even with the extension (tables stay local to the
    /// coordinator).
    Off,
}

/// Shared rows, replicated to every node (see the module comment).
pub const REFERENCE: &[&str] = &[
    "organizations",
    "event_types",
    "api_tokens",
    "portal_sessions",
];

/// Tenant tables, distributed by `organization_id` and co-located with the
/// first. `history`'s partitions, present and future, follow it.
pub const DISTRIBUTED: &[&str] = &[
    "webhooks",
    "events",
    "deliveries",
    "delivery_queue",
    "history",
    "history_events",
    "integrations",
    "integration_config",
    "oauth_states",
    "runs",
    "run_steps",
    "users",
    "delivery_minutes",
    "retention_totals",
];

/// Primary keys of tenant tables that do not lead with the distribution
/// column on plain PostgreSQL: (table, constraint, columns on Citus, the
/// plain key). The plain key keeps an index (not unique: Citus cannot
/// enforce that across shards): a statement that names a row by id alone
/// runs on every shard, and reads that index on each.
const KEYS: &[(&str, &str, &str, &str)] = &[
    ("webhooks", "webhooks_pkey", "organization_id, id", "id"),
    ("events", "events_pkey", "organization_id, id", "id"),
    ("deliveries", "deliveries_pkey", "organization_id, id", "id"),
    (
        "delivery_queue",
        "delivery_queue_pkey",
        "organization_id, delivery_id",
        "delivery_id",
    ),
    (
        "history",
        "history_pkey",
        "organization_id, id, sent_at",
        "id, sent_at",
    ),
    (
        "history_events",
        "history_events_pkey",
        "organization_id, event_id, history_id",
        "event_id, history_id",
    ),
    (
        "integrations",
        "integrations_pkey",
        "organization_id, id",
        "id",
    ),
    (
        "integration_config",
        "integration_config_pkey",
        "organization_id, integration_id, key",
        "integration_id, key",
    ),
    (
        "oauth_states",
        "oauth_states_pkey",
        "organization_id, state",
        "state",
    ),
    ("runs", "runs_pkey", "organization_id, id", "id"),
    ("run_steps", "run_steps_pkey", "organization_id, id", "id"),
    ("users", "users_pkey", "organization_id, id", "id"),
];

/// Indexes on `(organization_id, id)` that the Citus primary key replaces.
const SAME_AS_KEY: &[&str] = &[
    "webhooks_org",
    "events_org",
    "deliveries_org",
    "history_org",
    "integrations_org",
    "runs_org",
    "users_org",
];

/// Foreign keys between tenant tables: (table, constraint, columns, target
/// table). On Citus both sides name the organization; every one cascades
/// deletes, as on plain PostgreSQL.
const FOREIGN: &[(&str, &str, &str, &str)] = &[
    (
        "deliveries",
        "deliveries_event_id_fkey",
        "event_id",
        "events",
    ),
    (
        "deliveries",
        "deliveries_webhook_id_fkey",
        "webhook_id",
        "webhooks",
    ),
    (
        "delivery_queue",
        "delivery_queue_delivery_id_fkey",
        "delivery_id",
        "deliveries",
    ),
    (
        "integration_config",
        "integration_config_integration_id_fkey",
        "integration_id",
        "integrations",
    ),
    (
        "oauth_states",
        "oauth_states_integration_id_fkey",
        "integration_id",
        "integrations",
    ),
    (
        "runs",
        "runs_integration_id_fkey",
        "integration_id",
        "integrations",
    ),
    ("run_steps", "run_steps_run_id_fkey", "run_id", "runs"),
];

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
}

/// Whether the query about to run on this thread is for a Citus database
/// (set by the pools around each closure they run).
pub fn on() -> bool {
    ON.with(Cell::get)
}

/// Runs `f` with [`on`] answering `citus`; restores the previous answer
/// after, even if `f` panics.
pub(super) fn scoped<T>(citus: bool, f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ON.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(ON.with(|c| c.replace(citus)));
    f()
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    yes: bool,
}

#[derive(QueryableByName)]
struct Kind {
    #[diesel(sql_type = Text)]
    kind: String,
}

/// Whether the `citus` extension is installed in the connected database.
pub fn installed(conn: &mut PgConnection) -> QueryResult<bool> {
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AS yes")
        .get_result::<Flag>(conn)
        .map(|f| f.yes)
}

/// How Citus holds `table`: `distributed`, `reference`, or `None` for a
/// table local to the coordinator.
pub fn table_kind(conn: &mut PgConnection, table: &str) -> QueryResult<Option<String>> {
    diesel::sql_query(
        "SELECT CASE WHEN partmethod = 'n' THEN 'reference' ELSE 'distributed' END AS kind \
         FROM pg_dist_partition WHERE logicalrelid = $1::regclass",
    )
    .bind::<Text, _>(table)
    .load::<Kind>(conn)
    .map(|mut k| k.pop().map(|k| k.kind))
}

/// The first column of constraint `name` on `table`, if it exists.
fn first_column(conn: &mut PgConnection, table: &str, name: &str) -> QueryResult<Option<String>> {
    diesel::sql_query(
        "SELECT a.attname::text AS kind FROM pg_constraint c \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
         WHERE c.conrelid = $1::regclass AND c.conname = $2",
    )
    .bind::<Text, _>(table)
    .bind::<Text, _>(name)
    .load::<Kind>(conn)
    .map(|mut k| k.pop().map(|k| k.kind))
}

/// Whether this database is (to be) laid out for Citus under `mode`.
pub fn wanted(conn: &mut PgConnection, mode: Mode) -> Result<bool, String> {
    let installed = installed(conn).map_err(|e| format!("cannot look for Citus: {e}"))?;
    match (mode, installed) {
        (Mode::Off, _) => Ok(false),
        (Mode::Auto, found) => Ok(found),
        (Mode::On, true) => Ok(true),
        (Mode::On, false) => Err(
            "HOOKRELAY_CITUS=true, but the citus extension is not installed in this database \
             (CREATE EXTENSION citus on the coordinator and every worker; see docs/operations.md, \
             \"Past one database\")"
                .into(),
        ),
    }
}

/// Advisory lock key of the layout ("hr-citu"): instances starting at once
/// take turns, and the later ones find it done.
const LOCK_KEY: i64 = 0x0068_722d_6369_7475;

/// Lays the tables out for Citus (see the module comment); returns how many
/// tables it distributed or replicated now (0 when all already were).
pub fn distribute(conn: &mut PgConnection) -> QueryResult<usize> {
    let (reference, distributed) = pending(conn)?;
    if reference.is_empty() && distributed.is_empty() {
        return Ok(0);
    }
    let lock =
        |conn: &mut PgConnection, f: &str| conn.batch_execute(&format!("SELECT {f}({LOCK_KEY})"));
    lock(conn, "pg_advisory_lock")?;
    let done = lay_out(conn);
    lock(conn, "pg_advisory_unlock")?;
    done
}

/// The tables not laid out yet: (reference, distributed).
fn pending(conn: &mut PgConnection) -> QueryResult<(Vec<&'static str>, Vec<&'static str>)> {
    let mut pending_reference = Vec::new();
    for t in REFERENCE {
        if table_kind(conn, t)?.is_none() {
            pending_reference.push(*t);
        }
    }
    let mut pending = Vec::new();
    for t in DISTRIBUTED {
        if table_kind(conn, t)?.is_none() {
            pending.push(*t);
        }
    }
    Ok((pending_reference, pending))
}

/// [`distribute`], under its lock.
fn lay_out(conn: &mut PgConnection) -> QueryResult<usize> {
    let (pending_reference, pending) = pending(conn)?;
    if pending.is_empty() && pending_reference.is_empty() {
        return Ok(0);
    }
    // 1. Foreign keys off (Citus cannot distribute one side of a key at a
    //    time); they come back in step 4, naming the organization.
    for (table, name, _, _) in FOREIGN {
        if pending.contains(table) {
            conn.batch_execute(&format!(
                "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}"
            ))?;
        }
    }
    conn.batch_execute(
        "ALTER TABLE portal_sessions DROP CONSTRAINT IF EXISTS portal_sessions_organization_id_fkey",
    )?;
    // 2. Primary keys led by the distribution column.
    for (table, name, columns, plain) in KEYS {
        if pending.contains(table)
            && first_column(conn, table, name)?.as_deref() != Some("organization_id")
        {
            conn.batch_execute(&format!(
                "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}; \
                 ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY ({columns}); \
                 CREATE INDEX IF NOT EXISTS {table}_key ON {table} ({plain})"
            ))?;
        }
    }
    for index in SAME_AS_KEY {
        conn.batch_execute(&format!("DROP INDEX IF EXISTS {index}"))?;
    }
    // 3. Shared rows on every node, then the tenant tables by organization.
    for t in &pending_reference {
        conn.batch_execute(&format!("SELECT create_reference_table('{t}')"))?;
        truncate_local(conn, t)?;
    }
    for t in &pending {
        let colocate = if *t == DISTRIBUTED[0] {
            "default".to_string()
        } else {
            DISTRIBUTED[0].to_string()
        };
        conn.batch_execute(&format!(
            "SELECT create_distributed_table('{t}', 'organization_id', colocate_with => '{colocate}')"
        ))?;
        truncate_local(conn, t)?;
    }
    // 4. The foreign keys again, within each organization.
    for (table, name, column, target) in FOREIGN {
        if first_column(conn, table, name)?.is_none() {
            conn.batch_execute(&format!(
                "ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (organization_id, {column}) \
                 REFERENCES {target} (organization_id, id) ON DELETE CASCADE"
            ))?;
        }
    }
    if first_column(
        conn,
        "portal_sessions",
        "portal_sessions_organization_id_fkey",
    )?
    .is_none()
    {
        conn.batch_execute(
            "ALTER TABLE portal_sessions ADD CONSTRAINT portal_sessions_organization_id_fkey \
             FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE",
        )?;
    }
    Ok(pending.len() + pending_reference.len())
}

/// The rows a table held before Citus copied them to the shards stay in
/// the coordinator's local table, unseen: they go.
fn truncate_local(conn: &mut PgConnection, table: &str) -> QueryResult<()> {
    conn.batch_execute(&format!(
        "SELECT truncate_local_data_after_distributing_table('{table}')"
    ))
}
