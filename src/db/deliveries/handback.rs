//! Claims handed back to the queue unsent, their attempt not counted: at
//! shutdown or start-up, when a secret cannot be opened here, and when a
//! claim waited too long in this process.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Delivery, DeliveryStatus};
use crate::db::schema::deliveries;
use crate::db::DbConn;

/// The columns of a claim handed back to the queue, due at `$at`, its
/// attempt not counted.
macro_rules! back_in_queue {
    ($at:expr, $now:expr) => {
        (
            deliveries::status.eq(DeliveryStatus::Pending),
            deliveries::next_attempt_at.eq($at),
            deliveries::attempts.eq(deliveries::attempts - 1),
            deliveries::claimed_by.eq(None::<String>),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::updated_at.eq($now),
        )
    };
}

impl Delivery {
    /// Hands claims back to the queue: this instance's at shutdown, or at
    /// start-up those a previous run left behind (`instance` = `None`: all of
    /// them, which only a single-process SQLite deployment may do).
    pub fn release(
        conn: &mut DbConn,
        instance: Option<&str>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let mut q = diesel::update(deliveries::table)
            .filter(deliveries::status.eq(DeliveryStatus::Delivering))
            .into_boxed();
        if let Some(i) = instance {
            q = q.filter(deliveries::claimed_by.eq(i));
        }
        q.set(back_in_queue!(now, now)).execute(conn)
    }

    /// Hands specific claims back without counting the attempt, to be tried
    /// at `at` (by whichever process can: e.g. one that holds the master key
    /// their webhook's secret is sealed with).
    pub fn unclaim(
        conn: &mut DbConn,
        ids: &[String],
        at: NaiveDateTime,
        why: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            deliveries::table
                .filter(deliveries::id.eq_any(ids))
                .filter(deliveries::status.eq(DeliveryStatus::Delivering)),
        )
        .set((back_in_queue!(at, now), deliveries::last_error.eq(why)))
        .execute(conn)
    }

    /// Hands back claims that waited too long to be sent, unless their lease
    /// already ran out (another process may have claimed them since).
    pub fn hand_back(
        conn: &mut DbConn,
        ids: &[String],
        lease: NaiveDateTime,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            deliveries::table
                .filter(deliveries::id.eq_any(ids))
                .filter(deliveries::status.eq(DeliveryStatus::Delivering))
                .filter(deliveries::lease_until.eq(lease)),
        )
        .set(back_in_queue!(now, now))
        .execute(conn)
    }
}
