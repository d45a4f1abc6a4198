//! The queue's statistics for `/metrics` and `/v1/stats`, read from the
//! narrow queue (small, and indexed by state) and, for finished
//! deliveries, from the records.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{leased, waiting, DeliveryStatus};
use crate::db::schema::{deliveries, delivery_queue};
use crate::db::DbConn;

/// The delivery queue at a glance (for metrics).
#[derive(Debug, Default, Clone)]
pub struct QueueStats {
    pub pending: i64,
    /// Failed at least once, waiting for their next attempt.
    pub retrying: i64,
    pub delivering: i64,
    /// How long the longest-waiting due delivery has been due.
    pub oldest_due_secs: f64,
}

impl QueueStats {
    /// Counts the queue rows (all of them unfinished deliveries) by state
    /// and finds the oldest one that is due.
    pub fn read(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<QueueStats> {
        let (pending, retrying) = waiting_counts(conn, None)?;
        let delivering: i64 = delivery_queue::table
            .filter(leased())
            .select(diesel::dsl::count_star())
            .get_result(conn)?;
        let oldest: Option<NaiveDateTime> = delivery_queue::table
            .filter(waiting())
            .filter(delivery_queue::next_attempt_at.le(now))
            .select(diesel::dsl::min(delivery_queue::next_attempt_at))
            .get_result(conn)?;
        Ok(QueueStats {
            pending,
            retrying,
            delivering,
            oldest_due_secs: oldest
                .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0),
        })
    }
}

/// Waiting queue rows never tried (pending) and tried before (retrying),
/// of one organization or all.
fn waiting_counts(conn: &mut DbConn, org: Option<&str>) -> QueryResult<(i64, i64)> {
    let mut out = [0i64; 2];
    for (tried, n) in out.iter_mut().enumerate() {
        let mut q = delivery_queue::table
            .filter(waiting())
            .select(diesel::dsl::count_star())
            .into_boxed::<<DbConn as Connection>::Backend>();
        q = if tried == 0 {
            q.filter(delivery_queue::attempts.eq(0))
        } else {
            q.filter(delivery_queue::attempts.gt(0))
        };
        if let Some(o) = org {
            q = q.filter(delivery_queue::organization_id.eq(o.to_string()));
        }
        *n = q.get_result(conn)?;
    }
    Ok((out[0], out[1]))
}

/// One organization's deliveries by state, exactly: the unfinished ones
/// from the queue, the finished ones from the records (which no index by
/// state covers, so that settlements stay HOT updates: this reads every
/// record of the organization; `/v1/stats` is its only caller).
pub fn org_counts(conn: &mut DbConn, org: &str) -> QueryResult<Vec<(DeliveryStatus, i64)>> {
    let (pending, retrying) = waiting_counts(conn, Some(org))?;
    let delivering: i64 = delivery_queue::table
        .filter(leased())
        .filter(delivery_queue::organization_id.eq(org))
        .select(diesel::dsl::count_star())
        .get_result(conn)?;
    let mut out = vec![
        (DeliveryStatus::Pending, pending),
        (DeliveryStatus::Failed, retrying),
        (DeliveryStatus::Delivering, delivering),
    ];
    out.extend(
        deliveries::table
            .filter(deliveries::organization_id.eq(org))
            .filter(deliveries::status.eq_any([DeliveryStatus::Succeeded, DeliveryStatus::Dead]))
            .group_by(deliveries::status)
            .select((deliveries::status, diesel::dsl::count_star()))
            .load::<(DeliveryStatus, i64)>(conn)?,
    );
    Ok(out)
}

/// When `org`'s longest-waiting due delivery (new, or with its retry time
/// passed) became due: the first entry of its range of `delivery_queue_due`.
pub fn oldest_due_in(
    conn: &mut DbConn,
    org: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    delivery_queue::table
        .filter(waiting())
        .filter(delivery_queue::organization_id.eq(org))
        .filter(delivery_queue::next_attempt_at.le(now))
        .order(delivery_queue::next_attempt_at.asc())
        .select(delivery_queue::next_attempt_at)
        .first(conn)
        .optional()
}
