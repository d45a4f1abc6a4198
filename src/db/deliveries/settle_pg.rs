//! Settlements on PostgreSQL in one statement per flush: every row's result
//! travels as arrays that `unnest` turns back into rows; one statement
//! deletes the queue rows their claims still hold (or reschedules the
//! retries) and writes the records of exactly those. A row another process
//! re-claimed meanwhile is checked again after its lock is released, as
//! every `UPDATE`/`DELETE` does, and no longer matches the lease. The records' changed columns are in no
//! index, so their updates can be HOT. SQLite keeps its per-group
//! statements (one process, no round trips).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamp};

use super::Settlement;
use crate::db::pg_statement;

/// Rows per statement: bounds the parameter arrays of one flush.
const CHUNK: usize = 2_000;

pg_statement! {
    /// One flush's settlements (see the module comment).
    SettleFlush<'a> {
        ids: Vec<&'a str> => Array<Text>,
        status: Vec<&'a str> => Array<Text>,
        next: Vec<NaiveDateTime> => Array<Timestamp>,
        codes: Vec<Option<i32>> => Array<Nullable<Integer>>,
        errors: Vec<Option<&'a str>> => Array<Nullable<Text>>,
        leases: Vec<Option<NaiveDateTime>> => Array<Nullable<Timestamp>>,
        now: NaiveDateTime => Timestamp,
    } = "WITH v AS (SELECT * FROM unnest(?::text[], ?::text[], ?::timestamp[], \
         ?::integer[], ?::text[], ?::timestamp[]) \
         AS v(id, status, next_attempt_at, code, error, lease)), \
         gone AS (DELETE FROM delivery_queue AS q USING v \
         WHERE q.delivery_id = v.id AND v.status <> 'failed' AND q.claimed_by IS NOT NULL \
         AND (v.lease IS NULL OR q.lease_until = v.lease) \
         RETURNING q.delivery_id, q.attempts, v.status, v.code, v.error), \
         again AS (UPDATE delivery_queue AS q SET claimed_by = NULL, lease_until = NULL, \
         next_attempt_at = v.next_attempt_at FROM v \
         WHERE q.delivery_id = v.id AND v.status = 'failed' AND q.claimed_by IS NOT NULL \
         AND (v.lease IS NULL OR q.lease_until = v.lease) \
         RETURNING q.delivery_id, q.attempts, v.status, v.code, v.error), \
         h AS (SELECT * FROM gone UNION ALL SELECT * FROM again) \
         UPDATE deliveries AS d SET status = h.status, attempts = h.attempts, \
         last_status_code = h.code, last_error = h.error, updated_at = ? \
         FROM h WHERE d.id = h.delivery_id"
}

/// Stores `all` with one statement per [`CHUNK`] rows. A result lands only
/// while its claim still holds the queue row (claimed, same lease), as in
/// [`super::Delivery::settle`]. When one delivery appears twice, the
/// first result wins, as it did when they were written one by one.
pub fn settle_all(
    conn: &mut PgConnection,
    all: &[&Settlement],
    now: NaiveDateTime,
) -> QueryResult<()> {
    let mut seen = std::collections::HashSet::with_capacity(all.len());
    let rows: Vec<&Settlement> = all
        .iter()
        .copied()
        .filter(|s| seen.insert(s.delivery_id.as_str()))
        .collect();
    for chunk in rows.chunks(CHUNK) {
        SettleFlush {
            ids: chunk.iter().map(|s| s.delivery_id.as_str()).collect(),
            status: chunk.iter().map(|s| s.status.as_str()).collect(),
            next: chunk.iter().map(|s| s.next_attempt_at).collect(),
            codes: chunk.iter().map(|s| s.status_code).collect(),
            errors: chunk.iter().map(|s| s.error.as_deref()).collect(),
            leases: chunk.iter().map(|s| s.lease).collect(),
            now,
        }
        .execute(conn)?;
    }
    Ok(())
}
