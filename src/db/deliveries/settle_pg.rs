//! Settlements on PostgreSQL in one statement per flush: every row's result
//! travels as arrays that `unnest` turns back into rows, and one `UPDATE …
//! FROM` joins them to the deliveries. Each statement is a round trip to the
//! server; per status code, per lease and per failure there was one before.
//! SQLite keeps its per-group statements (one process, no round trips).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamp};

use super::Settlement;

/// Rows per statement: bounds the parameter arrays of one flush.
const CHUNK: usize = 2_000;

/// Stores `all` with one `UPDATE` per [`CHUNK`] rows. A result lands only
/// while its claim still holds the row (still `delivering`, same lease),
/// as in [`super::Delivery::settle`]. When one delivery appears twice, the
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
            "UPDATE deliveries AS d SET status = v.status, next_attempt_at = v.next_attempt_at, \
             claimed_by = NULL, lease_until = NULL, last_status_code = v.code, \
             last_error = v.error, updated_at = $7 \
             FROM unnest($1::text[], $2::text[], $3::timestamp[], $4::integer[], $5::text[], \
             $6::timestamp[]) AS v(id, status, next_attempt_at, code, error, lease) \
             WHERE d.id = v.id AND d.status = 'delivering' \
             AND (v.lease IS NULL OR d.lease_until = v.lease)",
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
