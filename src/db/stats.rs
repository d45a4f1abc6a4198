//! The overview's statistics (`GET /v1/stats`, issue #16): attempt outcomes
//! per organization and minute, kept up to date with the history rows, and
//! cheap reads for the rest. Nothing here scans a table per request.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Timelike};
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::history::HistoryRow;
use super::schema::{deliveries, delivery_minutes, events, history, webhooks};
use super::webhooks::WebhookState;
use super::DbConn;

/// The minute `t` falls in.
pub fn minute_of(t: NaiveDateTime) -> NaiveDateTime {
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// Adds attempts to their organization's minutes (call in the transaction
/// that writes their history rows): 2xx answers are `succeeded`, anything
/// else (another status, or no answer) `failed`.
pub fn add_attempts(conn: &mut DbConn, rows: &[HistoryRow]) -> QueryResult<()> {
    let mut per: BTreeMap<(&str, NaiveDateTime), (i64, i64)> = BTreeMap::new();
    for r in rows {
        let e = per
            .entry((&r.organization_id, minute_of(r.sent_at)))
            .or_default();
        if (200..300).contains(&r.response_status) {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    // In key order: two writers adding to the same minutes in different
    // orders would deadlock on PostgreSQL.
    for ((org, minute), (ok, failed)) in per {
        let row = (
            delivery_minutes::organization_id.eq(org),
            delivery_minutes::minute.eq(minute),
            delivery_minutes::succeeded.eq(ok),
            delivery_minutes::failed.eq(failed),
        );
        let add = (
            delivery_minutes::succeeded
                .eq(delivery_minutes::succeeded + excluded(delivery_minutes::succeeded)),
            delivery_minutes::failed
                .eq(delivery_minutes::failed + excluded(delivery_minutes::failed)),
        );
        let key = (delivery_minutes::organization_id, delivery_minutes::minute);
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(delivery_minutes::table)
                .values(row)
                .on_conflict(key)
                .do_update()
                .set(add)
                .execute(c)?,
            DbConn::Pg(c) => diesel::insert_into(delivery_minutes::table)
                .values(row)
                .on_conflict(key)
                .do_update()
                .set(add)
                .execute(c)?,
        };
    }
    Ok(())
}

/// `(minute, succeeded, failed)` of `org` since `since`, oldest first.
pub fn minutes(
    conn: &mut DbConn,
    org: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<(NaiveDateTime, i64, i64)>> {
    delivery_minutes::table
        .filter(delivery_minutes::organization_id.eq(org))
        .filter(delivery_minutes::minute.ge(since))
        .order(delivery_minutes::minute.asc())
        .select((
            delivery_minutes::minute,
            delivery_minutes::succeeded,
            delivery_minutes::failed,
        ))
        .load(conn)
}

/// Drops minutes older than `before` (the retention job).
pub fn prune_minutes(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(delivery_minutes::table.filter(delivery_minutes::minute.lt(before)))
        .execute(conn)
}

/// A webhook as the overview lists it.
#[derive(Debug, Clone, Queryable)]
pub struct WebhookBrief {
    pub id: String,
    pub name: String,
    pub url: String,
    pub state: WebhookState,
}

/// Every webhook of `org`, briefly (at most `HOOKRELAY_MAX_WEBHOOKS_PER_ORG`).
pub fn webhooks(conn: &mut DbConn, org: &str) -> QueryResult<Vec<WebhookBrief>> {
    webhooks::table
        .filter(webhooks::organization_id.eq(org))
        .order(webhooks::id.asc())
        .select((webhooks::id, webhooks::name, webhooks::url, webhooks::state))
        .load(conn)
}

/// The three tables the overview describes.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Events,
    Deliveries,
    History,
}

impl Table {
    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Events => "events",
            Table::Deliveries => "deliveries",
            Table::History => "history",
        }
    }
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Rows in the whole table, estimated without counting them: PostgreSQL's
/// planner statistic (`pg_class.reltuples`, as of the last ANALYZE or
/// autovacuum), SQLite's rowid span (rows are appended; deleting the oldest
/// moves its start).
pub fn estimate_rows(conn: &mut DbConn, table: Table) -> QueryResult<i64> {
    let name = table.name();
    let n = match conn {
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT GREATEST(COALESCE(MAX(reltuples), 0), 0)::bigint AS n \
             FROM pg_class WHERE relname = $1 AND relkind = 'r'",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Estimate>(c)?,
        // Two index seeks: MIN and MAX of the rowid.
        DbConn::Sqlite(c) => diesel::sql_query(format!(
            "SELECT COALESCE(MAX(rowid) - MIN(rowid) + 1, 0) AS n FROM {name}"
        ))
        .get_result::<Estimate>(c)?,
    };
    Ok(n.n)
}

/// Counted rows stop here: an organization's count reads its index range,
/// and a dashboard polled every few seconds must not read millions of
/// entries. Past it, the overview says "at least".
pub const COUNT_CAP: i64 = 100_000;

/// `org`'s rows in `table`, counted through the `(organization_id, id)`
/// index up to [`COUNT_CAP`] (a larger count reads as the cap).
pub fn count_rows(conn: &mut DbConn, org: &str, table: Table) -> QueryResult<i64> {
    let name = table.name();
    // The LIMIT in a subquery stops the index scan at the cap.
    let sql = |param: &str| {
        format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {name} WHERE organization_id = {param} \
             LIMIT {COUNT_CAP}) AS t"
        )
    };
    let n = match conn {
        DbConn::Pg(c) => diesel::sql_query(sql("$1"))
            .bind::<diesel::sql_types::Text, _>(org)
            .get_result::<Estimate>(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(sql("?"))
            .bind::<diesel::sql_types::Text, _>(org)
            .get_result::<Estimate>(c)?,
    };
    Ok(n.n)
}

/// When `org`'s oldest row of `table` was created (for history: sent),
/// through the `(organization_id, id)` index: ids grow with time.
pub fn oldest_at(conn: &mut DbConn, org: &str, table: Table) -> QueryResult<Option<NaiveDateTime>> {
    match table {
        Table::Events => events::table
            .filter(events::organization_id.eq(org))
            .order(events::id.asc())
            .select(events::created_at)
            .first(conn)
            .optional(),
        Table::Deliveries => deliveries::table
            .filter(deliveries::organization_id.eq(org))
            .order(deliveries::id.asc())
            .select(deliveries::created_at)
            .first(conn)
            .optional(),
        Table::History => history::table
            .filter(history::organization_id.eq(org))
            .order(history::id.asc())
            .select(history::sent_at)
            .first(conn)
            .optional(),
    }
}
