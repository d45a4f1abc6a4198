//! Settlements on SQLite: one process and no round trips, so a few plain
//! statements per group of alike results. Successes, the common case, go
//! in groups (same status code, same lease) of up to [`CHUNK`] rows;
//! failures one by one, each with its own retry time.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::SqliteConnection;

use crate::db::deliveries::{leased, DeliveryStatus, Settlement};
use crate::db::schema::{deliveries, delivery_queue};

/// Ids per statement: within SQLite's bound on parameters.
const CHUNK: usize = 400;

/// The queue rows of `$ids` still held by the claim with lease `$lease`
/// (any claim when `None`; see the parent module for why).
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

/// Stores `all` (one result per delivery: the caller drops repeats).
pub fn settle_all(
    conn: &mut SqliteConnection,
    all: &[&Settlement],
    now: NaiveDateTime,
) -> QueryResult<()> {
    type Key = (Option<i32>, Option<NaiveDateTime>);
    let mut ok: std::collections::BTreeMap<Key, Vec<&str>> = Default::default();
    for s in all {
        if s.status == DeliveryStatus::Succeeded {
            ok.entry((s.status_code, s.lease))
                .or_default()
                .push(&s.delivery_id);
        } else {
            let ids = [s.delivery_id.as_str()];
            let result = Stored {
                status: s.status,
                retry_at: s.next_attempt_at,
                code: s.status_code,
                error: s.error.as_deref(),
            };
            store(conn, &ids, s.lease, &result, now)?;
        }
    }
    for ((code, lease), ids) in ok {
        let result = Stored {
            status: DeliveryStatus::Succeeded,
            retry_at: now,
            code,
            error: None,
        };
        for chunk in ids.chunks(CHUNK) {
            store(conn, chunk, lease, &result, now)?;
        }
    }
    Ok(())
}

/// One result, stored for one or more deliveries.
struct Stored<'a> {
    status: DeliveryStatus,
    /// When a retry is due (used only for a retry).
    retry_at: NaiveDateTime,
    code: Option<i32>,
    error: Option<&'a str>,
}

/// Stores `result` for `ids` held under `lease`; how many landed.
fn store(
    conn: &mut SqliteConnection,
    ids: &[&str],
    lease: Option<NaiveDateTime>,
    result: &Stored,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let n = diesel::update(deliveries::table.filter(deliveries::id.eq_any(held!(ids, lease))))
        .set((
            deliveries::status.eq(result.status),
            deliveries::attempts.eq(queued_attempts!()),
            deliveries::last_status_code.eq(result.code),
            deliveries::last_error.eq(result.error),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(0);
    }
    if super::is_retry(result.status) {
        diesel::update(held_rows!(ids, lease))
            .set((
                delivery_queue::claimed_by.eq(None::<String>),
                delivery_queue::lease_until.eq(None::<NaiveDateTime>),
                delivery_queue::next_attempt_at.eq(result.retry_at),
            ))
            .execute(conn)?;
    } else {
        diesel::delete(held_rows!(ids, lease)).execute(conn)?;
    }
    Ok(n)
}
