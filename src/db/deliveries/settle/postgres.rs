//! Settlements on PostgreSQL in one statement per flush: every row's result
//! travels as arrays that `unnest` turns back into rows; one statement
//! deletes the queue rows their claims still hold (or reschedules the
//! retries) and writes the records of exactly those. A row another process
//! re-claimed meanwhile is checked again after its lock is released, as
//! every `UPDATE`/`DELETE` does, and no longer matches the lease. The
//! records' changed columns are in no index, so their updates can be HOT.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text, Timestamp};

use crate::db::deliveries::{per_org, Settlement};
use crate::db::pg_statement;

/// Rows per statement: bounds the parameter arrays of one flush.
const CHUNK: usize = 2_000;

/// The settlement statement, with `$q` and `$d` in front of the queue
/// rows' and the records' conditions: nothing on PostgreSQL, the
/// organization on Citus (`SettleFlushIn`).
macro_rules! settle_sql {
    ($q:literal, $d:literal) => {
        concat!(
            "WITH v AS (SELECT * FROM unnest(?::text[], ?::text[], ?::boolean[], ?::timestamp[], \
             ?::integer[], ?::text[], ?::timestamp[]) \
             AS v(id, status, retry, next_attempt_at, code, error, lease)), \
             gone AS (DELETE FROM delivery_queue AS q USING v \
             WHERE ",
            $q,
            "q.delivery_id = v.id AND NOT v.retry AND q.claimed_by IS NOT NULL \
             AND (v.lease IS NULL OR q.lease_until = v.lease) \
             RETURNING q.delivery_id, q.attempts, v.status, v.code, v.error), \
             again AS (UPDATE delivery_queue AS q SET claimed_by = NULL, lease_until = NULL, \
             next_attempt_at = v.next_attempt_at FROM v \
             WHERE ",
            $q,
            "q.delivery_id = v.id AND v.retry AND q.claimed_by IS NOT NULL \
             AND (v.lease IS NULL OR q.lease_until = v.lease) \
             RETURNING q.delivery_id, q.attempts, v.status, v.code, v.error), \
             h AS (SELECT * FROM gone UNION ALL SELECT * FROM again) \
             UPDATE deliveries AS d SET status = h.status, attempts = h.attempts, \
             last_status_code = h.code, last_error = h.error, updated_at = ? \
             FROM h WHERE ",
            $d,
            "d.id = h.delivery_id"
        )
    };
}

pg_statement! {
    /// One flush's settlements (see the module comment). `retry` says
    /// which rows keep their queue row, rescheduled (`is_retry`).
    SettleFlush<'a> {
        ids: Vec<&'a str> => Array<Text>,
        status: Vec<&'a str> => Array<Text>,
        retry: Vec<bool> => Array<Bool>,
        next: Vec<NaiveDateTime> => Array<Timestamp>,
        codes: Vec<Option<i32>> => Array<Nullable<Integer>>,
        errors: Vec<Option<&'a str>> => Array<Nullable<Text>>,
        leases: Vec<Option<NaiveDateTime>> => Array<Nullable<Timestamp>>,
        now: NaiveDateTime => Timestamp,
    } = settle_sql!("", "")
}

impl<'a> SettleFlush<'a> {
    /// The statement for `rows`.
    fn of(rows: &[&'a Settlement], now: NaiveDateTime) -> SettleFlush<'a> {
        SettleFlush {
            ids: rows.iter().map(|s| s.delivery_id.as_str()).collect(),
            status: rows.iter().map(|s| s.status.as_str()).collect(),
            retry: rows.iter().map(|s| super::is_retry(s.status)).collect(),
            next: rows.iter().map(|s| s.next_attempt_at).collect(),
            codes: rows.iter().map(|s| s.status_code).collect(),
            errors: rows.iter().map(|s| s.error.as_deref()).collect(),
            leases: rows.iter().map(|s| s.lease).collect(),
            now,
        }
    }

    /// The same statement for rows that are all `org`'s.
    fn in_org(self, org: &'a str) -> SettleFlushIn<'a> {
        SettleFlushIn {
            ids: self.ids,
            status: self.status,
            retry: self.retry,
            next: self.next,
            codes: self.codes,
            errors: self.errors,
            leases: self.leases,
            org,
            org_again: org,
            now: self.now,
            org_records: org,
        }
    }
}

/// Stores `all` (one result per delivery: the caller drops repeats) with
/// one statement per [`CHUNK`] rows.
pub fn settle_all(
    conn: &mut PgConnection,
    all: &[&Settlement],
    now: NaiveDateTime,
) -> QueryResult<()> {
    for chunk in all.chunks(CHUNK) {
        SettleFlush::of(chunk, now).execute(conn)?;
    }
    Ok(())
}

pg_statement! {
    /// [`SettleFlush`] for the rows of one organization, which every table
    /// names: on Citus a statement on that organization's shard alone.
    SettleFlushIn<'a> {
        ids: Vec<&'a str> => Array<Text>,
        status: Vec<&'a str> => Array<Text>,
        retry: Vec<bool> => Array<Bool>,
        next: Vec<NaiveDateTime> => Array<Timestamp>,
        codes: Vec<Option<i32>> => Array<Nullable<Integer>>,
        errors: Vec<Option<&'a str>> => Array<Nullable<Text>>,
        leases: Vec<Option<NaiveDateTime>> => Array<Nullable<Timestamp>>,
        org: &'a str => Text,
        org_again: &'a str => Text,
        now: NaiveDateTime => Timestamp,
        org_records: &'a str => Text,
    } = settle_sql!("q.organization_id = ? AND ", "d.organization_id = ? AND ")
}

/// [`settle_all`] on Citus: one statement per organization (its shard),
/// in organization order.
pub fn settle_per_org(
    conn: &mut PgConnection,
    all: &[&Settlement],
    now: NaiveDateTime,
) -> QueryResult<()> {
    let groups = per_org::by_org(all.iter().map(|s| (s.organization_id.as_str(), *s)));
    for (org, rows) in groups {
        for chunk in rows.chunks(CHUNK) {
            SettleFlush::of(chunk, now).in_org(org).execute(conn)?;
        }
    }
    Ok(())
}
