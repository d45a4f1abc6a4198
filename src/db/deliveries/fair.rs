//! Fair claims: each claim shares its room among the organizations that
//! have due deliveries, so a backlog in one organization never delays
//! another's (issue #18).
//!
//! The waiting deliveries are indexed by organization first
//! (`delivery_queue_due`), so finding the next organization with waiting
//! rows is one index seek and an organization's due rows are one range of
//! the index, oldest first. A claim visits up to [`MAX_ORGS`] organizations
//! in id order, starting after the last one the previous claim visited (a
//! round-robin cursor the caller keeps), gives each an equal share of the
//! room, then hands what is left to those that had more.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{waiting, Candidate};
use crate::db::schema::delivery_queue;
use crate::db::DbConn;

/// Most organizations one claim visits: bounds its cost when thousands of
/// organizations have work; the cursor reaches the rest in later claims.
pub const MAX_ORGS: usize = 32;

/// The query of [`next_org`] (which takes its first row), shared with
/// `explain`.
macro_rules! next_org_query {
    ($after:expr) => {
        delivery_queue::table
            .select(delivery_queue::organization_id)
            .filter(waiting())
            .filter(delivery_queue::organization_id.gt($after))
            .order(delivery_queue::organization_id.asc())
    };
}
pub(super) use next_org_query;

/// The first organization after `after` (in id order) with waiting
/// deliveries, due or not.
fn next_org(conn: &mut DbConn, after: &str) -> QueryResult<Option<String>> {
    next_org_query!(after).first(conn).optional()
}

/// Up to `max` organizations with waiting deliveries, in id order starting
/// after `cursor` and wrapping around to it.
pub fn orgs_in_turn(conn: &mut DbConn, cursor: &str, max: usize) -> QueryResult<Vec<String>> {
    if let (DbConn::Pg(pg), true) = (&mut *conn, crate::db::citus::on()) {
        // A seek per organization would be a read of every shard each.
        return super::per_org::orgs_in_turn(pg, cursor, max);
    }
    crate::db::turns::orgs_in_turn(cursor, max, |after| next_org(conn, after))
}

/// What one organization's candidate query needs.
pub struct Due<'a> {
    pub now: NaiveDateTime,
    /// Saturated webhooks, skipped.
    pub exclude: &'a [String],
}

/// The query of [`due_in`] (without its row locks), shared with `explain`.
/// Its order is exactly that of the `delivery_queue_due` index after the
/// organization, so PostgreSQL reads the index in order and stops at the
/// limit: no sort, whatever the statistics say.
macro_rules! due_query {
    ($org:expr, $due:expr, $skip:expr, $n:expr) => {
        delivery_queue::table
            .select(Candidate::as_select())
            .filter(waiting())
            .filter(delivery_queue::organization_id.eq($org))
            .filter(delivery_queue::next_attempt_at.le($due.now))
            .filter(delivery_queue::webhook_id.ne_all($due.exclude))
            .filter(delivery_queue::delivery_id.ne_all($skip))
            // The index order, which is also (per organization) storage
            // order: a claim and its settlement touch few pages.
            .order((
                delivery_queue::next_attempt_at.asc(),
                delivery_queue::event_id.asc(),
            ))
            .limit($n)
    };
}
pub(super) use due_query;

/// Up to `n` of `org`'s due deliveries, oldest first, leaving out `skip`
/// (those an earlier pass of this claim took). Locked on PostgreSQL with
/// `SKIP LOCKED`.
fn due_in(
    conn: &mut DbConn,
    org: &str,
    due: &Due<'_>,
    skip: &[String],
    n: i64,
) -> QueryResult<Vec<Candidate>> {
    // Built per backend: the selected struct's columns are typed by it.
    match conn {
        DbConn::Pg(pg) => due_query!(org, due, skip, n)
            .for_update()
            .skip_locked()
            .load(pg),
        DbConn::Sqlite(lite) => due_query!(org, due, skip, n).load(lite),
    }
}

/// Up to `room` due candidates shared among the organizations in turn;
/// moves `cursor` to the last organization visited.
pub fn candidates(
    conn: &mut DbConn,
    due: &Due<'_>,
    room: i64,
    cursor: &mut String,
) -> QueryResult<Vec<Candidate>> {
    let orgs = orgs_in_turn(conn, cursor, MAX_ORGS)?;
    let Some(last) = orgs.last() else {
        return Ok(Vec::new());
    };
    cursor.clone_from(last);
    let share = (room as usize).div_ceil(orgs.len()).max(1) as i64;
    let mut taken: Vec<Vec<Candidate>> = Vec::with_capacity(orgs.len());
    let mut total = 0i64;
    for org in &orgs {
        let n = share.min(room - total);
        let got = if n > 0 {
            due_in(conn, org, due, &[], n)?
        } else {
            Vec::new()
        };
        total += got.len() as i64;
        taken.push(got);
    }
    // What the organizations with less than a share left over goes to
    // those that filled theirs, in turn.
    for (org, got) in orgs.iter().zip(taken.iter_mut()) {
        let left = room - total;
        if left <= 0 {
            break;
        }
        if (got.len() as i64) < share {
            continue;
        }
        let skip: Vec<String> = got.iter().map(|c| c.id.clone()).collect();
        let more = due_in(conn, org, due, &skip, left)?;
        total += more.len() as i64;
        got.extend(more);
    }
    Ok(taken.into_iter().flatten().collect())
}
