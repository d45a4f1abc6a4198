//! Settlements on SQLite: one process and no round trips, so a few plain
//! statements per group of alike results. Successes, the common case, go
//! in groups (same status code, same lease) of up to [`CHUNK`] rows;
//! failures one by one, each with its own retry time.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
use diesel::SqliteConnection;

use crate::db::deliveries::{DeliveryStatus, Settlement};

/// Ids per statement: one JSON array each, so any count fits; capped to
/// keep one statement's work (and the writer's hold) bounded.
const CHUNK: usize = 400;

/// Picks the queue rows of the ids in the JSON array `?1` still held by the
/// claim whose lease lies between `?2` and `?3` (see the parent module for
/// why). The ids travel as one JSON array, not one parameter each: a
/// statement with `IN (?, ?, …)` has a new text for every count and
/// SQLite would parse and plan it anew on every flush; this one is
/// prepared once per connection.
macro_rules! held {
    () => {
        "delivery_queue.delivery_id IN (SELECT value FROM json_each(?1)) \
         AND delivery_queue.claimed_by IS NOT NULL \
         AND delivery_queue.lease_until BETWEEN ?2 AND ?3"
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

/// Stores `result` for `ids` held under `lease` (any claim when `None`);
/// how many landed.
fn store(
    conn: &mut SqliteConnection,
    ids: &[&str],
    lease: Option<NaiveDateTime>,
    result: &Stored,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let ids = serde_json::to_string(ids).expect("strings serialize");
    // One statement shape for both: with no lease to match, any lease
    // (every claimed row has one) lies between the bounds.
    let (from, to) = lease.map_or((EARLIEST, LATEST), |l| (l, l));
    let n = sql_query(concat!(
        "UPDATE deliveries SET status = ?4, \
         attempts = (SELECT attempts FROM delivery_queue WHERE delivery_id = deliveries.id), \
         last_status_code = ?5, last_error = ?6, updated_at = ?7 \
         WHERE id IN (SELECT delivery_id FROM delivery_queue WHERE ",
        held!(),
        ")"
    ))
    .bind::<Text, _>(&ids)
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .bind::<Text, _>(result.status)
    .bind::<Nullable<Integer>, _>(result.code)
    .bind::<Nullable<Text>, _>(result.error)
    .bind::<Timestamp, _>(now)
    .execute(conn)?;
    if n == 0 {
        return Ok(0);
    }
    if super::is_retry(result.status) {
        sql_query(concat!(
            "UPDATE delivery_queue SET claimed_by = NULL, lease_until = NULL, next_attempt_at = ?4 WHERE ",
            held!()
        ))
        .bind::<Text, _>(&ids)
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .bind::<Timestamp, _>(result.retry_at)
        .execute(conn)?;
    } else {
        sql_query(concat!("DELETE FROM delivery_queue WHERE ", held!()))
            .bind::<Text, _>(&ids)
            .bind::<Timestamp, _>(from)
            .bind::<Timestamp, _>(to)
            .execute(conn)?;
    }
    Ok(n)
}
