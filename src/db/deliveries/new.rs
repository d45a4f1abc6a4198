//! New deliveries, the one shape in which deliveries are written: a record
//! and a queue row each, both in one go (see the parent module for the two
//! tables).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamp};

use super::record::Record;
use super::DeliveryStatus;
use crate::db::schema::{deliveries, delivery_queue};
use crate::db::{insert_many, pg_statement, DbConn};

/// A delivery of one event to one web hook, as a publish creates it: new
/// deliveries are `pending`, due at `due`, with no attempt made yet.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    /// The organization it belongs to (its web hook's).
    pub organization_id: String,
    /// When its first attempt is due.
    pub due: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// A queued delivery: a row of `delivery_queue`.
#[derive(Debug, Clone, Insertable)]
// Batch-inserted: see `insert_rows!` for `treat_none_as_default_value`.
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

impl NewDelivery {
    /// Writes new deliveries: their records and their queue rows. Call
    /// inside the publish transaction. On PostgreSQL one statement writes
    /// both tables for the whole batch.
    pub fn insert_all(conn: &mut DbConn, all: &[NewDelivery]) -> QueryResult<()> {
        if all.is_empty() {
            return Ok(());
        }
        if let DbConn::Pg(pg) = conn {
            return insert_pg(pg, all);
        }
        let records: Vec<Record> = all.iter().map(NewDelivery::record).collect();
        let queued: Vec<QueueRow> = all.iter().map(NewDelivery::queue_row).collect();
        insert_many!(conn, deliveries::table, &records[..])?;
        insert_many!(conn, delivery_queue::table, &queued[..])?;
        Ok(())
    }

    /// Its record: pending, no attempt, no result yet.
    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            event_id: self.event_id.clone(),
            webhook_id: self.webhook_id.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status_code: None,
            last_error: None,
            created_at: self.created_at,
            updated_at: self.created_at,
            organization_id: self.organization_id.clone(),
        }
    }

    /// Its queue row: due, unclaimed.
    fn queue_row(&self) -> QueueRow {
        QueueRow {
            delivery_id: self.id.clone(),
            organization_id: self.organization_id.clone(),
            webhook_id: self.webhook_id.clone(),
            event_id: self.event_id.clone(),
            next_attempt_at: self.due,
            attempts: 0,
            claimed_by: None,
            lease_until: None,
        }
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
        pending: &'a str => Text,
    } = "WITH v AS (SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], \
         ?::timestamp[], ?::timestamp[]) AS v(id, event_id, webhook_id, org, due, created)), \
         r AS (INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, \
         last_status_code, last_error, created_at, updated_at, organization_id) \
         SELECT id, event_id, webhook_id, ?::text, 0, NULL, NULL, created, created, org FROM v) \
         INSERT INTO delivery_queue (delivery_id, organization_id, webhook_id, event_id, \
         next_attempt_at, attempts, claimed_by, lease_until) \
         SELECT id, org, webhook_id, event_id, due, 0, NULL, NULL FROM v"
}

/// Both tables in one statement: the rows travel as arrays, a CTE inserts
/// the records and the outer `INSERT` their queue rows (the foreign key is
/// checked at the end of the statement, when the records are there).
fn insert_pg(conn: &mut PgConnection, all: &[NewDelivery]) -> QueryResult<()> {
    let col = |f: fn(&NewDelivery) -> &str| all.iter().map(f).collect::<Vec<&str>>();
    InsertNew {
        ids: col(|d| &d.id),
        events: col(|d| &d.event_id),
        hooks: col(|d| &d.webhook_id),
        orgs: col(|d| &d.organization_id),
        due: all.iter().map(|d| d.due).collect(),
        created: all.iter().map(|d| d.created_at).collect(),
        pending: DeliveryStatus::Pending.as_str(),
    }
    .execute(conn)?;
    Ok(())
}
