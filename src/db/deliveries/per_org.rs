//! Claims and settlements one organization at a time, on Citus
//! (`db::citus`): there every table is distributed by `organization_id`,
//! and a statement that names one organization runs on its shard alone (a
//! router query). `FOR UPDATE SKIP LOCKED` works only in such statements;
//! the others here are routed the same way, so a claim or a settlement
//! touches the shards of the organizations it serves, and no other.
//!
//! Finding which organizations have work is a read across all shards,
//! without locks (which Citus allows); each organization's rows are then
//! locked, marked and settled by statements of their own.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::claim::{expired_query, mark_query};
use super::{leased, waiting, Candidate};
use crate::db::schema::delivery_queue;

/// Organizations whose claims ran out (their process died mid-attempt):
/// at most this many per claim; later claims take the rest.
const MAX_EXPIRED_ORGS: i64 = 32;

/// Expired leases, oldest first within each organization, up to `limit`.
pub(super) fn expired(
    pg: &mut PgConnection,
    now: NaiveDateTime,
    exclude: &[String],
    limit: i64,
) -> QueryResult<Vec<Candidate>> {
    let orgs: Vec<String> = delivery_queue::table
        .select(delivery_queue::organization_id)
        .filter(leased())
        .filter(delivery_queue::lease_until.le(now))
        .distinct()
        .order(delivery_queue::organization_id.asc())
        .limit(MAX_EXPIRED_ORGS)
        .load(pg)?;
    let mut found = Vec::new();
    for org in orgs {
        let room = limit - found.len() as i64;
        if room <= 0 {
            break;
        }
        found.extend(
            expired_query!(now, exclude, room)
                .filter(delivery_queue::organization_id.eq(org))
                .for_update()
                .skip_locked()
                .load(pg)?,
        );
    }
    Ok(found)
}

/// Up to `max` organizations with waiting deliveries, in id order after
/// `cursor`, then wrapping around to it (as `db::turns::orgs_in_turn`):
/// two reads across the shards instead of one per organization.
pub(super) fn orgs_in_turn(
    pg: &mut PgConnection,
    cursor: &str,
    max: usize,
) -> QueryResult<Vec<String>> {
    // Organizations with waiting rows, in id order, after the cursor or
    // (`wrapped`) up to it.
    let page = |pg: &mut PgConnection, wrapped: bool, n: usize| {
        let q = delivery_queue::table
            .select(delivery_queue::organization_id)
            .filter(waiting())
            .distinct()
            .order(delivery_queue::organization_id.asc())
            .limit(n as i64)
            .into_boxed();
        let q = if wrapped {
            q.filter(delivery_queue::organization_id.le(cursor))
        } else {
            q.filter(delivery_queue::organization_id.gt(cursor))
        };
        q.load::<String>(pg)
    };
    let mut out = page(pg, false, max)?;
    if out.len() < max && !cursor.is_empty() {
        let rest = max - out.len();
        out.extend(page(pg, true, rest)?);
    }
    Ok(out)
}

/// `items` grouped by organization (in organization order: two processes
/// lock shards in the same order).
pub(super) fn by_org<'a, T>(
    items: impl IntoIterator<Item = (&'a str, T)>,
) -> BTreeMap<&'a str, Vec<T>> {
    let mut groups: BTreeMap<&str, Vec<T>> = BTreeMap::new();
    for (org, item) in items {
        groups.entry(org).or_default().push(item);
    }
    groups
}

/// Marks claimed rows as `instance`'s, one statement per organization.
pub(super) fn mark(
    pg: &mut PgConnection,
    kept: &[Candidate],
    instance: &str,
    lease_until: NaiveDateTime,
) -> QueryResult<()> {
    let groups = by_org(
        kept.iter()
            .map(|c| (c.organization_id.as_str(), c.id.as_str())),
    );
    for (org, ids) in groups {
        mark_query!(&ids, instance, lease_until)
            .filter(delivery_queue::organization_id.eq(org))
            .execute(pg)?;
    }
    Ok(())
}
