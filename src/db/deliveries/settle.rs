//! Storing attempt results: the record gets the result, the queue row goes
//! (or, for a retry, is rescheduled). PostgreSQL does a whole flush in one
//! statement (`settle_pg`); SQLite, one process with no round trips, runs
//! a few statements per group of alike results.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{leased, settle_pg, Delivery, DeliveryStatus, Settlement};
use crate::db::schema::{deliveries, delivery_queue};
use crate::db::DbConn;

/// The queue rows of `$ids` still held by the claim with lease `$lease`
/// (any claim when `None`): a result lands only while its claim still holds
/// the row, so that a late result after a lease ran out and the row was
/// claimed again does not overwrite the new claim's.
macro_rules! held_rows {
    ($ids:expr, $lease:expr) => {{
        // One statement shape for both: with no lease to match, any lease
        // (every claimed row has one) lies between the bounds.
        let (from, to) = $lease.map_or((EARLIEST, LATEST), |l| (l, l));
        delivery_queue::table
            .filter(delivery_queue::delivery_id.eq_any($ids))
            .filter(leased())
            .filter(delivery_queue::lease_until.between(from, to))
    }};
}

/// The ids of [`held_rows`], as a subquery.
macro_rules! held {
    ($ids:expr, $lease:expr) => {
        held_rows!($ids, $lease).select(delivery_queue::delivery_id)
    };
}

/// Bounds of any lease (both backends can store them).
const EARLIEST: NaiveDateTime = NaiveDateTime::new(
    chrono::NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
    chrono::NaiveTime::MIN,
);
const LATEST: NaiveDateTime = NaiveDateTime::new(
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
    chrono::NaiveTime::MIN,
);

/// The attempt count of a record's queue row (the claim's).
macro_rules! queued_attempts {
    () => {
        delivery_queue::table
            .filter(delivery_queue::delivery_id.eq(deliveries::id))
            .select(delivery_queue::attempts)
            .single_value()
            .assume_not_null()
    };
}

/// Stores the same result for `ids` held under `lease`; how many landed.
#[expect(
    clippy::too_many_arguments,
    reason = "one result for many rows: all needed"
)]
fn store(
    conn: &mut DbConn,
    ids: &[&str],
    lease: Option<NaiveDateTime>,
    status: DeliveryStatus,
    retry_at: NaiveDateTime,
    code: Option<i32>,
    error: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let n = diesel::update(deliveries::table.filter(deliveries::id.eq_any(held!(ids, lease))))
        .set((
            deliveries::status.eq(status),
            deliveries::attempts.eq(queued_attempts!()),
            deliveries::last_status_code.eq(code),
            deliveries::last_error.eq(error),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(0);
    }
    if status == DeliveryStatus::Failed {
        diesel::update(held_rows!(ids, lease))
            .set((
                delivery_queue::claimed_by.eq(None::<String>),
                delivery_queue::lease_until.eq(None::<NaiveDateTime>),
                delivery_queue::next_attempt_at.eq(retry_at),
            ))
            .execute(conn)?;
    } else {
        diesel::delete(held_rows!(ids, lease)).execute(conn)?;
    }
    Ok(n)
}

impl Delivery {
    /// Stores attempt results (call inside the history transaction). On
    /// PostgreSQL all of them in one statement (see `settle_pg`); on SQLite
    /// successes, the common case, with a few statements per status code
    /// and chunk, failures one by one (each has its own retry time). When
    /// one delivery appears twice, the first result wins.
    pub fn settle_all<'a>(
        conn: &mut DbConn,
        all: impl Iterator<Item = &'a Settlement>,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        if let DbConn::Pg(pg) = conn {
            // One round trip for the whole flush.
            let all: Vec<&Settlement> = all.collect();
            return settle_pg::settle_all(pg, &all, now);
        }
        type Key = (Option<i32>, Option<NaiveDateTime>);
        let mut ok: std::collections::BTreeMap<Key, Vec<&str>> = Default::default();
        // Later results for a delivery already seen are dropped here, as on
        // PostgreSQL: failures are stored at once and successes in groups
        // afterwards, so without this a failure would win whatever the order.
        let mut seen = std::collections::HashSet::new();
        for s in all.filter(|s| seen.insert(s.delivery_id.as_str())) {
            if s.status == DeliveryStatus::Succeeded {
                ok.entry((s.status_code, s.lease))
                    .or_default()
                    .push(&s.delivery_id);
            } else {
                Delivery::settle(conn, s, now)?;
            }
        }
        for ((code, lease), ids) in ok {
            for chunk in ids.chunks(400) {
                let status = DeliveryStatus::Succeeded;
                store(conn, chunk, lease, status, now, code, None, now)?;
            }
        }
        Ok(())
    }

    /// Stores one attempt result; 1 if it landed.
    pub fn settle(conn: &mut DbConn, s: &Settlement, now: NaiveDateTime) -> QueryResult<usize> {
        let ids = [s.delivery_id.as_str()];
        let (code, error) = (s.status_code, s.error.as_deref());
        store(
            conn,
            &ids,
            s.lease,
            s.status,
            s.next_attempt_at,
            code,
            error,
            now,
        )
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
                .filter(super::waiting()),
        )
        .execute(conn)?;
        Ok(n)
    }
}
