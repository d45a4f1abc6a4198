//! Storing attempt results: the record gets the result, the queue row goes
//! (or, for a retry, is rescheduled). A result lands only while the claim
//! it ran under still holds the queue row (claimed, same lease): a late
//! result, after the lease ran out and the row was claimed again, must not
//! overwrite the new claim's. PostgreSQL stores a whole flush in one
//! statement (`postgres`); SQLite, one process with no round trips, runs a
//! few statements per group of alike results (`sqlite`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{leased, waiting, Delivery, DeliveryStatus, Settlement};
use crate::db::schema::{deliveries, delivery_queue};
use crate::db::DbConn;

mod postgres;
mod sqlite;

/// Whether a result keeps its queue row, rescheduled for a retry; any
/// other result ends the delivery (succeeded, or dead) and its queue row
/// goes.
fn is_retry(status: DeliveryStatus) -> bool {
    status == DeliveryStatus::Failed
}

impl Delivery {
    /// Stores attempt results (call inside the history transaction). When
    /// one delivery appears twice, the first result wins, whatever the
    /// backend and whatever the order of successes and failures.
    pub fn settle_all<'a>(
        conn: &mut DbConn,
        all: impl Iterator<Item = &'a Settlement>,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        let mut seen = std::collections::HashSet::new();
        let first: Vec<&Settlement> = all
            .filter(|s| seen.insert(s.delivery_id.as_str()))
            .collect();
        match conn {
            DbConn::Pg(pg) if crate::db::citus::on() => postgres::settle_per_org(pg, &first, now),
            DbConn::Pg(pg) => postgres::settle_all(pg, &first, now),
            DbConn::Sqlite(lite) => sqlite::settle_all(lite, &first, now),
        }
    }

    /// Marks deliveries succeeded after a successful manual re-send, unless a
    /// worker holds them right now: their queue rows (unclaimed) go.
    pub fn mark_resent_ok(
        conn: &mut DbConn,
        ids: &[String],
        code: i32,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let claimed = delivery_queue::table
            .select(delivery_queue::delivery_id)
            .filter(delivery_queue::delivery_id.eq_any(ids))
            .filter(leased());
        let n = diesel::update(
            deliveries::table
                .filter(deliveries::id.eq_any(ids))
                .filter(deliveries::id.ne_all(claimed))
                .filter(deliveries::status.ne(DeliveryStatus::Succeeded)),
        )
        .set((
            deliveries::status.eq(DeliveryStatus::Succeeded),
            deliveries::last_status_code.eq(Some(code)),
            deliveries::last_error.eq(None::<String>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
        diesel::delete(
            delivery_queue::table
                .filter(delivery_queue::delivery_id.eq_any(ids))
                .filter(waiting()),
        )
        .execute(conn)?;
        Ok(n)
    }
}
