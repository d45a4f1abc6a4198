//! Claims handed back to the queue unsent, their attempt not counted: at
//! shutdown or start-up, when a secret cannot be opened here, and when a
//! claim waited too long in this process. Only queue rows change (and, for
//! `unclaim`, the record's last error).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{leased, Delivery};
use crate::db::schema::{deliveries, delivery_queue};
use crate::db::DbConn;

/// The columns of a claim handed back to the queue, due at `$at`, its
/// attempt not counted.
macro_rules! back_in_queue {
    ($at:expr) => {
        (
            delivery_queue::next_attempt_at.eq($at),
            delivery_queue::attempts.eq(delivery_queue::attempts - 1),
            delivery_queue::claimed_by.eq(None::<String>),
            delivery_queue::lease_until.eq(None::<NaiveDateTime>),
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
        let mut q = diesel::update(delivery_queue::table)
            .filter(leased())
            .into_boxed();
        if let Some(i) = instance {
            q = q.filter(delivery_queue::claimed_by.eq(i));
        }
        q.set(back_in_queue!(now)).execute(conn)
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
        let n = diesel::update(
            delivery_queue::table
                .filter(delivery_queue::delivery_id.eq_any(ids))
                .filter(leased()),
        )
        .set(back_in_queue!(at))
        .execute(conn)?;
        diesel::update(deliveries::table.filter(deliveries::id.eq_any(ids)))
            .set((
                deliveries::last_error.eq(why),
                deliveries::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(n)
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
            delivery_queue::table
                .filter(delivery_queue::delivery_id.eq_any(ids))
                .filter(leased())
                .filter(delivery_queue::lease_until.eq(lease)),
        )
        .set(back_in_queue!(now))
        .execute(conn)
    }
}
