//! The queue's statistics for `/metrics`, read through its partial indexes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{leased, waiting, DeliveryStatus};
use crate::db::schema::deliveries;
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
    /// Counts the unfinished deliveries (the partial indexes `deliveries_org_due`
    /// and `deliveries_leased` hold exactly those) and finds the oldest one
    /// that is due.
    pub fn read(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<QueueStats> {
        // Each count through its partial index. Grouping by status still
        // reads the table row of every waiting delivery (the index does not
        // hold status); the claimed ones are counted from the index alone.
        let mut counts: Vec<(DeliveryStatus, i64)> = deliveries::table
            .filter(waiting())
            .group_by(deliveries::status)
            .select((deliveries::status, diesel::dsl::count_star()))
            .load(conn)?;
        let delivering: i64 = deliveries::table
            .filter(leased())
            .select(diesel::dsl::count_star())
            .get_result(conn)?;
        counts.push((DeliveryStatus::Delivering, delivering));
        let oldest: Option<NaiveDateTime> = deliveries::table
            .filter(waiting())
            .filter(deliveries::next_attempt_at.le(now))
            .select(diesel::dsl::min(deliveries::next_attempt_at))
            .get_result(conn)?;
        let mut stats = QueueStats {
            oldest_due_secs: oldest
                .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0),
            ..Default::default()
        };
        for (status, n) in counts {
            match status {
                DeliveryStatus::Pending => stats.pending = n,
                DeliveryStatus::Failed => stats.retrying = n,
                _ => stats.delivering = n,
            }
        }
        Ok(stats)
    }
}

/// One organization's deliveries by state, exactly, counted from the
/// `deliveries_org_status` index alone.
pub fn org_counts(conn: &mut DbConn, org: &str) -> QueryResult<Vec<(DeliveryStatus, i64)>> {
    deliveries::table
        .filter(deliveries::organization_id.eq(org))
        .group_by(deliveries::status)
        .select((deliveries::status, diesel::dsl::count_star()))
        .load(conn)
}

/// When `org`'s longest-waiting due delivery (new, or with its retry time
/// passed) became due: the first entry of its range of `deliveries_org_due`.
pub fn oldest_due_in(
    conn: &mut DbConn,
    org: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    deliveries::table
        .filter(waiting())
        .filter(deliveries::organization_id.eq(org))
        .filter(deliveries::next_attempt_at.le(now))
        .order(deliveries::next_attempt_at.asc())
        .select(deliveries::next_attempt_at)
        .first(conn)
        .optional()
}
