//! Claiming due runs fairly (issue 25, item 1), as deliveries are claimed
//! (`db::deliveries::fair`): a claim visits the organizations with due runs
//! in id order, starting after the last one the previous claim visited (a
//! cursor the worker keeps), and gives each an equal share of the free
//! slots, then what is left to those that had more. No organization is
//! given more than its cap of the process's slots, counting those it
//! already holds, so a backlog in one never fills them all.
//!
//! The open runs are indexed by organization first (`runs_org_due`): the
//! next organization with due runs is one index seek, and an
//! organization's due runs are one range of it, oldest first.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Run, RunStatus};
use crate::db::schema::runs;
use crate::db::DbConn;

/// Most organizations one claim visits; the cursor reaches the rest later.
const MAX_ORGS: usize = 32;

/// What one claim needs.
pub struct Claim<'a> {
    pub instance: &'a str,
    pub now: NaiveDateTime,
    pub lease_until: NaiveDateTime,
    /// Free slots.
    pub room: usize,
    /// Slots each organization holds in this process now.
    pub held: &'a HashMap<String, usize>,
    /// Most slots one organization may hold (`None`: no cap).
    pub cap: Option<usize>,
}

/// Open runs whose time has come: queued, due retries, waits that ended,
/// and claims whose lease ran out (their process died).
macro_rules! due {
    ($now:expr) => {
        runs::status
            .eq_any(RunStatus::OPEN.map(RunStatus::as_str))
            .and(runs::next_run_at.le($now))
    };
}

/// The first organization after `after` (in id order) with due runs.
fn next_org(conn: &mut DbConn, after: &str, now: NaiveDateTime) -> QueryResult<Option<String>> {
    runs::table
        .select(runs::organization_id)
        .filter(due!(now))
        .filter(runs::organization_id.gt(after))
        .order(runs::organization_id.asc())
        .first(conn)
        .optional()
}

/// Up to [`MAX_ORGS`] organizations with due runs, in id order starting
/// after `cursor` and wrapping around to it.
fn orgs_in_turn(conn: &mut DbConn, cursor: &str, now: NaiveDateTime) -> QueryResult<Vec<String>> {
    crate::db::turns::orgs_in_turn(cursor, MAX_ORGS, |after| next_org(conn, after, now))
}

/// Up to `n` of `org`'s due runs, oldest first, leaving out `skip`;
/// locked on PostgreSQL with `SKIP LOCKED` (another process claiming them
/// passes over them instead of waiting).
fn due_in(
    conn: &mut DbConn,
    org: &str,
    now: NaiveDateTime,
    skip: &[String],
    n: usize,
) -> QueryResult<Vec<String>> {
    let q = runs::table
        .select(runs::id)
        .filter(due!(now))
        .filter(runs::organization_id.eq(org))
        .filter(runs::id.ne_all(skip))
        .order(runs::next_run_at.asc())
        .limit(n as i64);
    match conn {
        DbConn::Pg(pg) => q.for_update().skip_locked().load(pg),
        // One writer: nothing else claims meanwhile.
        DbConn::Sqlite(lite) => q.load(lite),
    }
}

impl Claim<'_> {
    /// How many more slots `org` may take.
    fn allowance(&self, org: &str) -> usize {
        match self.cap {
            Some(cap) => cap.saturating_sub(self.held.get(org).copied().unwrap_or(0)),
            None => usize::MAX,
        }
    }

    /// The ids to claim, shared among the organizations in turn; moves
    /// `cursor` to the last organization given a run, so that with one
    /// free slot at a time the organizations still take turns.
    fn pick(&self, conn: &mut DbConn, cursor: &mut String) -> QueryResult<Vec<String>> {
        let orgs: Vec<String> = orgs_in_turn(conn, cursor, self.now)?;
        if orgs.is_empty() {
            return Ok(Vec::new());
        }
        let share = self.room.div_ceil(orgs.len()).max(1);
        let mut taken: Vec<Vec<String>> = Vec::with_capacity(orgs.len());
        let mut total = 0;
        for org in &orgs {
            let n = share.min(self.room - total).min(self.allowance(org));
            let got = if n > 0 {
                due_in(conn, org, self.now, &[], n)?
            } else {
                Vec::new()
            };
            total += got.len();
            taken.push(got);
        }
        // What organizations with less than a share left goes to those
        // that filled theirs and may take more, in turn.
        for (org, got) in orgs.iter().zip(taken.iter_mut()) {
            let left = (self.room - total).min(self.allowance(org).saturating_sub(got.len()));
            if left == 0 || got.len() < share {
                continue;
            }
            let more = due_in(conn, org, self.now, got, left)?;
            total += more.len();
            got.extend(more);
        }
        if let Some((org, _)) = orgs
            .iter()
            .zip(&taken)
            .rev()
            .find(|(_, got)| !got.is_empty())
        {
            cursor.clone_from(org);
        }
        Ok(taken.into_iter().flatten().collect())
    }
}

impl Run {
    /// Claims due runs for `c.instance` until `c.lease_until`, shared
    /// fairly among organizations, none beyond its cap; `cursor` is the
    /// round-robin position the caller keeps between claims.
    pub fn claim(conn: &mut DbConn, c: &Claim<'_>, cursor: &mut String) -> QueryResult<Vec<Run>> {
        if c.room == 0 {
            return Ok(Vec::new());
        }
        conn.transaction(|conn| {
            let ids = c.pick(conn, cursor)?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            // A scheduled retry starts its next attempt.
            diesel::update(
                runs::table
                    .filter(runs::id.eq_any(&ids))
                    .filter(runs::status.eq(RunStatus::RetryScheduled.as_str())),
            )
            .set(runs::attempt.eq(runs::attempt + 1))
            .execute(conn)?;
            // A run resuming after a wait keeps the time it started.
            diesel::update(
                runs::table
                    .filter(runs::id.eq_any(&ids))
                    .filter(runs::status.ne(RunStatus::Waiting.as_str())),
            )
            .set(runs::started_at.eq(c.now))
            .execute(conn)?;
            diesel::update(runs::table.filter(runs::id.eq_any(&ids)))
                .set((
                    runs::status.eq(RunStatus::Running.as_str()),
                    runs::claimed_by.eq(c.instance),
                    runs::next_run_at.eq(c.lease_until),
                    runs::updated_at.eq(c.now),
                ))
                .execute(conn)?;
            runs::table
                .filter(runs::id.eq_any(&ids))
                .select(Run::as_select())
                .load(conn)
        })
    }
}
