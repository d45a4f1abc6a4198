//! Settlements on PostgreSQL in one statement per flush: every row's result
//! travels as arrays that `unnest` turns back into rows; one statement locks
//! the queue rows their claims still hold, deletes them (or reschedules the
//! retries) and writes the records. The records' changed columns are in no
//! index, so their updates can be HOT. SQLite keeps its per-group
//! statements (one process, no round trips).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamp};

use super::Settlement;

/// Rows per statement: bounds the parameter arrays of one flush.
const CHUNK: usize = 2_000;

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
        let ids: Vec<&str> = chunk.iter().map(|s| s.delivery_id.as_str()).collect();
        let status: Vec<&str> = chunk.iter().map(|s| s.status.as_str()).collect();
        let next: Vec<NaiveDateTime> = chunk.iter().map(|s| s.next_attempt_at).collect();
        let codes: Vec<Option<i32>> = chunk.iter().map(|s| s.status_code).collect();
        let errors: Vec<Option<&str>> = chunk.iter().map(|s| s.error.as_deref()).collect();
        let leases: Vec<Option<NaiveDateTime>> = chunk.iter().map(|s| s.lease).collect();
        diesel::sql_query(
            "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::timestamp[], \
             $4::integer[], $5::text[], $6::timestamp[]) \
             AS v(id, status, next_attempt_at, code, error, lease)), \
             h AS (SELECT q.delivery_id, q.attempts, v.status, v.next_attempt_at, v.code, v.error \
             FROM delivery_queue AS q JOIN v ON q.delivery_id = v.id \
             WHERE q.claimed_by IS NOT NULL AND (v.lease IS NULL OR q.lease_until = v.lease) \
             FOR UPDATE OF q), \
             gone AS (DELETE FROM delivery_queue AS q USING h \
             WHERE q.delivery_id = h.delivery_id AND h.status <> 'failed'), \
             again AS (UPDATE delivery_queue AS q SET claimed_by = NULL, lease_until = NULL, \
             next_attempt_at = h.next_attempt_at FROM h \
             WHERE q.delivery_id = h.delivery_id AND h.status = 'failed') \
             UPDATE deliveries AS d SET status = h.status, attempts = h.attempts, \
             last_status_code = h.code, last_error = h.error, updated_at = $7 \
             FROM h WHERE d.id = h.delivery_id",
        )
        .bind::<Array<Text>, _>(&ids)
        .bind::<Array<Text>, _>(&status)
        .bind::<Array<Timestamp>, _>(&next)
        .bind::<Array<Nullable<Integer>>, _>(&codes)
        .bind::<Array<Nullable<Text>>, _>(&errors)
        .bind::<Array<Nullable<Timestamp>>, _>(&leases)
        .bind::<Timestamp, _>(now)
        .execute(conn)?;
    }
    Ok(())
}
