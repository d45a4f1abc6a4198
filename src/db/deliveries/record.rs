//! How a delivery is written (its record and its queue row, together) and
//! read back (the record with its queue row, if it still has one).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamp};

use super::{Delivery, DeliveryQuery, DeliveryStatus};
use crate::db::schema::{deliveries, delivery_queue};
use crate::db::{insert_many, pg_statement, DbConn};

/// The record of a delivery: a row of `deliveries`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// Batch-inserted: see `insert_rows!` for `treat_none_as_default_value`.
#[diesel(table_name = deliveries, treat_none_as_default_value = false)]
struct Record {
    id: String,
    event_id: String,
    webhook_id: String,
    status: DeliveryStatus,
    attempts: i32,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    organization_id: String,
}

/// A queued delivery: a row of `delivery_queue`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = delivery_queue, treat_none_as_default_value = false)]
struct QueueRow {
    delivery_id: String,
    organization_id: String,
    webhook_id: String,
    event_id: String,
    next_attempt_at: NaiveDateTime,
    attempts: i32,
    claimed_by: Option<String>,
    lease_until: Option<NaiveDateTime>,
}

/// The queue columns read alongside a record (all NULL without a queue row).
type QueueCols = (i32, NaiveDateTime, Option<String>, Option<NaiveDateTime>);

fn view(r: Record, q: Option<QueueCols>) -> Delivery {
    let (status, attempts, next_attempt_at, claimed_by, lease_until) = match q {
        Some((attempts, next, claimed_by, lease)) => (
            if claimed_by.is_some() {
                DeliveryStatus::Delivering
            } else {
                r.status
            },
            attempts,
            lease.unwrap_or(next),
            claimed_by,
            lease,
        ),
        None => (r.status, r.attempts, r.updated_at, None, None),
    };
    Delivery {
        id: r.id,
        event_id: r.event_id,
        webhook_id: r.webhook_id,
        status,
        attempts,
        next_attempt_at,
        claimed_by,
        lease_until,
        last_status_code: r.last_status_code,
        last_error: r.last_error,
        created_at: r.created_at,
        updated_at: r.updated_at,
        organization_id: r.organization_id,
    }
}

/// A record with its queue row, if any, as the API reads them.
macro_rules! joined {
    () => {
        deliveries::table.left_join(delivery_queue::table).select((
            Record::as_select(),
            (
                delivery_queue::attempts,
                delivery_queue::next_attempt_at,
                delivery_queue::claimed_by,
                delivery_queue::lease_until,
            )
                .nullable(),
        ))
    };
}

impl Delivery {
    /// Writes new deliveries: their records and, for those waiting, their
    /// queue rows. Call inside the publish transaction. On PostgreSQL one
    /// statement writes both tables for the whole batch.
    pub fn insert_all(conn: &mut DbConn, all: &[Delivery]) -> QueryResult<()> {
        if all.is_empty() {
            return Ok(());
        }
        if let DbConn::Pg(pg) = conn {
            return insert_pg(pg, all);
        }
        let records: Vec<Record> = all.iter().map(record_of).collect();
        let queued: Vec<QueueRow> = all
            .iter()
            .filter(|d| d.status.is_waiting())
            .map(queue_row_of)
            .collect();
        insert_many!(conn, deliveries::table, &records[..])?;
        insert_many!(conn, delivery_queue::table, &queued[..])?;
        Ok(())
    }

    /// One page of deliveries, newest first; `limit + 1` rows.
    pub fn list(conn: &mut DbConn, query: &DeliveryQuery) -> QueryResult<Vec<Delivery>> {
        let mut q = joined!()
            .filter(deliveries::organization_id.eq(query.organization.clone()))
            .into_boxed::<<DbConn as Connection>::Backend>();
        q = match query.status {
            None => q,
            Some(DeliveryStatus::Delivering) => q.filter(delivery_queue::claimed_by.is_not_null()),
            Some(s) if s.is_waiting() => q
                .filter(deliveries::status.eq(s))
                .filter(delivery_queue::claimed_by.is_null()),
            Some(s) => q.filter(deliveries::status.eq(s)),
        };
        if let Some(w) = &query.webhook_id {
            q = q.filter(deliveries::webhook_id.eq(w.clone()));
        }
        if let Some(e) = &query.event_id {
            q = q.filter(deliveries::event_id.eq(e.clone()));
        }
        if let Some(b) = &query.before_id {
            q = q.filter(deliveries::id.lt(b.clone()));
        }
        let rows: Vec<(Record, Option<QueueCols>)> = q
            .order(deliveries::id.desc())
            .limit(query.limit + 1)
            .load(conn)?;
        Ok(rows.into_iter().map(|(r, q)| view(r, q)).collect())
    }

    /// The deliveries of one event.
    pub fn for_event(conn: &mut DbConn, event_id: &str) -> QueryResult<Vec<Delivery>> {
        let rows: Vec<(Record, Option<QueueCols>)> = joined!()
            .filter(deliveries::event_id.eq(event_id))
            .order(deliveries::id.asc())
            .load(conn)?;
        Ok(rows.into_iter().map(|(r, q)| view(r, q)).collect())
    }
}

fn record_of(d: &Delivery) -> Record {
    Record {
        id: d.id.clone(),
        event_id: d.event_id.clone(),
        webhook_id: d.webhook_id.clone(),
        status: d.status,
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        last_error: d.last_error.clone(),
        created_at: d.created_at,
        updated_at: d.updated_at,
        organization_id: d.organization_id.clone(),
    }
}

fn queue_row_of(d: &Delivery) -> QueueRow {
    QueueRow {
        delivery_id: d.id.clone(),
        organization_id: d.organization_id.clone(),
        webhook_id: d.webhook_id.clone(),
        event_id: d.event_id.clone(),
        next_attempt_at: d.next_attempt_at,
        attempts: d.attempts,
        claimed_by: None,
        lease_until: None,
    }
}

pg_statement! {
    /// New deliveries into both tables (see [`insert_pg`]).
    InsertNew<'a> {
        ids: Vec<&'a str> => Array<Text>,
        events: Vec<&'a str> => Array<Text>,
        hooks: Vec<&'a str> => Array<Text>,
        orgs: Vec<&'a str> => Array<Text>,
        due: Vec<NaiveDateTime> => Array<Timestamp>,
        created: Vec<NaiveDateTime> => Array<Timestamp>,
    } = "WITH v AS (SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], \
         ?::timestamp[], ?::timestamp[]) AS v(id, event_id, webhook_id, org, due, created)), \
         r AS (INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, \
         last_status_code, last_error, created_at, updated_at, organization_id) \
         SELECT id, event_id, webhook_id, 'pending', 0, NULL, NULL, created, created, org FROM v) \
         INSERT INTO delivery_queue (delivery_id, organization_id, webhook_id, event_id, \
         next_attempt_at, attempts, claimed_by, lease_until) \
         SELECT id, org, webhook_id, event_id, due, 0, NULL, NULL FROM v"
}

/// Both tables in one statement: the rows travel as arrays, a CTE inserts
/// the records and the outer `INSERT` their queue rows (the foreign key is
/// checked at the end of the statement, when the records are there). New
/// deliveries have no result yet, and every one is queued.
fn insert_pg(conn: &mut PgConnection, all: &[Delivery]) -> QueryResult<()> {
    debug_assert!(all.iter().all(|d| d.status == DeliveryStatus::Pending));
    let col = |f: fn(&Delivery) -> &str| all.iter().map(f).collect::<Vec<&str>>();
    InsertNew {
        ids: col(|d| &d.id),
        events: col(|d| &d.event_id),
        hooks: col(|d| &d.webhook_id),
        orgs: col(|d| &d.organization_id),
        due: all.iter().map(|d| d.next_attempt_at).collect(),
        created: all.iter().map(|d| d.created_at).collect(),
    }
    .execute(conn)?;
    Ok(())
}
