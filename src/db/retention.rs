//! History retention's SQL (issue #16): deletes in small batches, oldest
//! first, through the primary keys (ids grow with time, so "older than the
//! cutoff" is "id below the cutoff's id floor"), and the tallies of what
//! was deleted per organization.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::deliveries::DeliveryStatus;
use super::schema::{deliveries, events, history, history_events, retention_totals};
use super::DbConn;

/// Rows deleted per organization in one batch.
pub type Tally = BTreeMap<String, i64>;

/// The row of `retention_totals` that records the last run.
const LAST_RUN: &str = "*";

/// Advisory lock key of the retention job on PostgreSQL ("hr-retn").
const LOCK_KEY: i64 = 0x0068_722d_7265_746e;

/// Whether this transaction may sweep: on PostgreSQL, one instance at a
/// time (a transaction-level advisory lock, released at commit); SQLite
/// has one process.
pub fn try_lock(conn: &mut DbConn) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Got {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    match conn {
        DbConn::Pg(c) => Ok(
            diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(LOCK_KEY)
                .get_result::<Got>(c)?
                .locked,
        ),
        DbConn::Sqlite(_) => Ok(true),
    }
}

/// Deletes `ids` grouped by organization; counts what each lost.
macro_rules! delete_grouped {
    ($conn:expr, $table:ident, $rows:expr) => {{
        let mut by_org: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, org) in $rows {
            by_org.entry(org).or_default().push(id);
        }
        let mut tally = Tally::new();
        for (org, ids) in by_org {
            // The count of rows actually deleted: another instance may have
            // deleted some already, and they must not be counted twice.
            // Naming the organization keeps the delete on its shard (Citus).
            let n = diesel::delete(
                $table::table
                    .filter($table::organization_id.eq(&org))
                    .filter($table::id.eq_any(&ids)),
            )
            .execute($conn)?;
            if n > 0 {
                tally.insert(org, n as i64);
            }
        }
        Ok(tally)
    }};
}

/// Up to `n` attempts sent before `floor` (an attempt id floor). On
/// PostgreSQL the days wholly before it are dropped first
/// (`partitions::drop_oldest`): this deletes what is left, the cutoff's own
/// day and the default partition's rows. It filters on the id, not on
/// `sent_at`, so each partition's primary-key index is probed (no pruning).
pub fn history_batch(conn: &mut DbConn, floor: &str, n: i64) -> QueryResult<Tally> {
    let rows: Vec<(String, String)> = history::table
        .filter(history::id.lt(floor))
        .order(history::id.asc())
        .select((history::id, history::organization_id))
        .limit(n)
        .load(conn)?;
    delete_grouped!(conn, history, rows)
}

/// Up to `n` finished deliveries (`succeeded`, or `dead`: out of attempts)
/// created before `floor`. Waiting and claimed ones are never deleted.
pub fn deliveries_batch(conn: &mut DbConn, floor: &str, n: i64) -> QueryResult<Tally> {
    let rows: Vec<(String, String)> = deliveries::table
        .filter(deliveries::id.lt(floor))
        .filter(deliveries::status.eq_any([DeliveryStatus::Succeeded, DeliveryStatus::Dead]))
        .order(deliveries::id.asc())
        .select((deliveries::id, deliveries::organization_id))
        .limit(n)
        .load(conn)?;
    delete_grouped!(conn, deliveries, rows)
}

/// Up to `n` events created before `floor` that have no delivery left,
/// with their links to batched attempts.
pub fn events_batch(conn: &mut DbConn, floor: &str, n: i64) -> QueryResult<Tally> {
    let rows: Vec<(String, String)> = events::table
        .filter(events::id.lt(floor))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            deliveries::table
                .filter(deliveries::organization_id.eq(events::organization_id))
                .filter(deliveries::event_id.eq(events::id)),
        )))
        .order(events::id.asc())
        .select((events::id, events::organization_id))
        .limit(n)
        .load(conn)?;
    let mut links: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, org) in &rows {
        links.entry(org).or_default().push(id);
    }
    for (org, ids) in links {
        diesel::delete(
            history_events::table
                .filter(history_events::organization_id.eq(org))
                .filter(history_events::event_id.eq_any(ids)),
        )
        .execute(conn)?;
    }
    delete_grouped!(conn, events, rows)
}

/// Which table a tally is for.
#[derive(Debug, Clone, Copy)]
pub enum Swept {
    History,
    Deliveries,
    Events,
}

/// Adds a batch's tally to the organizations' totals.
pub fn add_totals(
    conn: &mut DbConn,
    table: Swept,
    tally: &Tally,
    now: NaiveDateTime,
) -> QueryResult<()> {
    for (org, n) in tally {
        let (h, d, e) = match table {
            Swept::History => (*n, 0, 0),
            Swept::Deliveries => (0, *n, 0),
            Swept::Events => (0, 0, *n),
        };
        upsert(conn, org, (h, d, e), now)?;
    }
    Ok(())
}

/// Records a finished run.
pub fn mark_run(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<()> {
    upsert(conn, LAST_RUN, (0, 0, 0), now)
}

fn upsert(
    conn: &mut DbConn,
    org: &str,
    add: (i64, i64, i64),
    now: NaiveDateTime,
) -> QueryResult<()> {
    use retention_totals as t;
    let row = (
        t::organization_id.eq(org),
        t::history.eq(add.0),
        t::deliveries.eq(add.1),
        t::events.eq(add.2),
        t::updated_at.eq(now),
    );
    let set = (
        t::history.eq(t::history + excluded(t::history)),
        t::deliveries.eq(t::deliveries + excluded(t::deliveries)),
        t::events.eq(t::events + excluded(t::events)),
        t::updated_at.eq(excluded(t::updated_at)),
    );
    match conn {
        DbConn::Sqlite(c) => diesel::insert_into(t::table)
            .values(row)
            .on_conflict(t::organization_id)
            .do_update()
            .set(set)
            .execute(c)?,
        DbConn::Pg(c) => diesel::insert_into(t::table)
            .values(row)
            .on_conflict(t::organization_id)
            .do_update()
            .set(set)
            .execute(c)?,
    };
    Ok(())
}

/// What the job deleted in `org` so far: (history, deliveries, events).
pub fn totals(conn: &mut DbConn, org: &str) -> QueryResult<(i64, i64, i64)> {
    Ok(retention_totals::table
        .find(org)
        .select((
            retention_totals::history,
            retention_totals::deliveries,
            retention_totals::events,
        ))
        .first(conn)
        .optional()?
        .unwrap_or_default())
}

/// When the last run finished, if one has.
pub fn last_run(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    retention_totals::table
        .find(LAST_RUN)
        .select(retention_totals::updated_at)
        .first(conn)
        .optional()
}

/// Free pages SQLite keeps for new rows before giving any back.
const FREE_PAGES_KEPT: i64 = 1024;

/// Most pages one call gives back (8 KiB each: 32 MiB).
const FREE_PAGES_STEP: i64 = 4096;

/// On SQLite, gives free pages beyond a reserve back to the file system
/// (`incremental_vacuum`; only with `auto_vacuum = INCREMENTAL`, which a
/// file created before it needs a VACUUM to take). Under steady load the
/// pages retention frees are reused by new rows, so the file stops
/// growing either way; this shrinks it after a one-off drop. Returns the
/// pages given back. PostgreSQL's autovacuum does the same for its tables.
pub fn give_back_space(conn: &mut DbConn) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let DbConn::Sqlite(c) = conn else {
        return Ok(0);
    };
    let mode = diesel::sql_query("SELECT auto_vacuum AS n FROM pragma_auto_vacuum")
        .get_result::<N>(c)?
        .n;
    // 2 is INCREMENTAL.
    if mode != 2 {
        return Ok(0);
    }
    let free = diesel::sql_query("SELECT freelist_count AS n FROM pragma_freelist_count")
        .get_result::<N>(c)?
        .n;
    let give = (free - FREE_PAGES_KEPT).min(FREE_PAGES_STEP);
    if give <= 0 {
        return Ok(0);
    }
    diesel::sql_query(format!("PRAGMA incremental_vacuum({give})")).execute(c)?;
    Ok(give)
}
