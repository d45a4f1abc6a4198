//! How a delivery is read back: its record with its queue row, if it still
//! has one (new deliveries are written by `new`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Delivery, DeliveryQuery, DeliveryStatus};
use crate::db::schema::{deliveries, delivery_queue};
use crate::db::DbConn;

/// The record of a delivery: a row of `deliveries` (new ones are written
/// as [`super::NewDelivery`]).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// Batch-inserted: see `insert_rows!` for `treat_none_as_default_value`.
#[diesel(table_name = deliveries, treat_none_as_default_value = false)]
pub(super) struct Record {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub organization_id: String,
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
        // The join names the organization on both sides: on Citus
        // (`db::citus`) that keeps it within a shard.
        deliveries::table
            .left_join(
                delivery_queue::table.on(delivery_queue::delivery_id
                    .eq(deliveries::id)
                    .and(delivery_queue::organization_id.eq(deliveries::organization_id))),
            )
            .select((
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
