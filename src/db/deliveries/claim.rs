//! Claims of due deliveries. Taking them: expired leases first, then each
//! organization's share (`fair`), marked as this instance's in one
//! statement. Handing them back to the queue unsent, their attempt not
//! counted: at shutdown or start-up, when a secret cannot be opened here,
//! and when a claim waited too long in this process (only queue rows
//! change and, for `unclaim`, the record's last error).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{fair, leased, per_org, Candidate, Claimed, Delivery};
use crate::db::schema::{deliveries, delivery_queue};
use crate::db::{citus, DbConn};

/// Expired leases, oldest first: the first query of a claim. Its order is
/// that of the `delivery_queue_leased` index. (Macros, so that `explain` runs
/// exactly the claim's statements.)
macro_rules! expired_query {
    ($now:expr, $exclude:expr, $limit:expr) => {
        delivery_queue::table
            .select(Candidate::as_select())
            .filter(leased())
            .filter(delivery_queue::lease_until.le($now))
            .filter(delivery_queue::webhook_id.ne_all($exclude))
            .order(delivery_queue::lease_until.asc())
            .limit($limit)
    };
}
pub(super) use expired_query;

/// Marks claimed rows: the last statement of a claim. Only the narrow
/// queue rows change; the records learn of the attempt when it settles.
macro_rules! mark_query {
    ($ids:expr, $instance:expr, $lease_until:expr) => {
        diesel::update(delivery_queue::table.filter(delivery_queue::delivery_id.eq_any($ids))).set(
            (
                delivery_queue::claimed_by.eq($instance),
                delivery_queue::lease_until.eq($lease_until),
                delivery_queue::attempts.eq(delivery_queue::attempts + 1),
            ),
        )
    };
}
pub(super) use mark_query;

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
    /// Claims due deliveries for `instance` until `lease_until`: selects up
    /// to `limit` due rows (expired leases first, then each organization's
    /// oldest, shared fairly among the organizations with due work: see
    /// `fair`; skipping `exclude` webhooks), lets `keep` pick among them, and
    /// marks the kept rows as this instance's. On PostgreSQL the selects
    /// take row locks with `SKIP LOCKED`, so concurrent instances never claim
    /// the same row. `cursor` is the round-robin position among
    /// organizations: the caller keeps it from one claim to the next.
    ///
    /// Call inside a transaction (the recorder's): the locks must last until
    /// the rows are marked. It opens no savepoint of its own, which on SQLite
    /// would copy every page it touches to a statement journal.
    #[expect(clippy::too_many_arguments, reason = "one claim's inputs, all needed")]
    pub fn claim(
        conn: &mut DbConn,
        instance: &str,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: i64,
        exclude: &[String],
        keep: impl FnMut(&Candidate) -> bool,
        cursor: &mut String,
    ) -> QueryResult<Vec<Claimed>> {
        // Leases that ran out first (their process died mid-attempt): they
        // have waited longest. Usually there are none.
        // `SKIP LOCKED` passes over rows another instance is claiming
        // instead of waiting for them. Built per backend: the selected
        // struct's columns are typed by it.
        let mut found = match &mut *conn {
            // Citus: locks are taken one organization (shard) at a time.
            DbConn::Pg(pg) if citus::on() => per_org::expired(pg, now, exclude, limit),
            DbConn::Pg(pg) => expired_query!(now, exclude, limit)
                .for_update()
                .skip_locked()
                .load(pg),
            DbConn::Sqlite(lite) => expired_query!(now, exclude, limit).load(lite),
        }?;
        let room = limit - found.len() as i64;
        if room > 0 {
            let due = fair::Due { now, exclude };
            found.extend(fair::candidates(conn, &due, room, cursor)?);
        }
        let kept: Vec<Candidate> = found.into_iter().filter(keep).collect();
        if kept.is_empty() {
            return Ok(Vec::new());
        }
        match conn {
            DbConn::Pg(pg) if citus::on() => per_org::mark(pg, &kept, instance, lease_until)?,
            _ => {
                let ids: Vec<&str> = kept.iter().map(|c| c.id.as_str()).collect();
                mark_query!(&ids, instance, lease_until).execute(conn)?;
            }
        }
        Ok(kept
            .into_iter()
            .map(|c| Claimed {
                id: c.id,
                event_id: c.event_id,
                webhook_id: c.webhook_id,
                attempts: c.attempts + 1,
                lease: lease_until,
                organization_id: c.organization_id,
            })
            .collect())
    }

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
