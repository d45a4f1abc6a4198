//! Deliveries: the queue. One row per (event, webhook).
//!
//! States: `pending` (never tried), `delivering` (claimed; `next_attempt_at`
//! is the lease expiry), `succeeded`, `failed` (awaiting retry at
//! `next_attempt_at`), `dead` (out of attempts). A claim is one statement that
//! selects due rows and marks them, so a process that dies mid-flight leaves
//! leases that simply expire and are claimed again.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use super::schema::deliveries;
use super::DbConn;

/// A stored delivery.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_by: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a claim returns for each delivery it took.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub event_id: String,
    #[diesel(sql_type = Text)]
    pub webhook_id: String,
    /// Attempt number of the attempt now starting (1-based).
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// The result to store for one delivery after an attempt.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub delivery_id: String,
    /// `succeeded`, `failed` or `dead`.
    pub status: &'static str,
    pub next_attempt_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

const CLAIM_SQLITE: &str = "UPDATE deliveries \
     SET status = 'delivering', claimed_by = ?, lease_until = ?, next_attempt_at = ?, \
         attempts = attempts + 1, updated_at = ? \
     WHERE id IN (SELECT id FROM deliveries \
                  WHERE status IN ('pending', 'failed', 'delivering') AND next_attempt_at <= ? \
                  ORDER BY next_attempt_at LIMIT ?) \
     RETURNING id, event_id, webhook_id, attempts";

// SKIP LOCKED lets several processes claim from one table without waiting
// on, or double-claiming, each other's rows.
const CLAIM_PG: &str = "UPDATE deliveries \
     SET status = 'delivering', claimed_by = $1, lease_until = $2, next_attempt_at = $3, \
         attempts = attempts + 1, updated_at = $4 \
     WHERE id IN (SELECT id FROM deliveries \
                  WHERE status IN ('pending', 'failed', 'delivering') AND next_attempt_at <= $5 \
                  ORDER BY next_attempt_at LIMIT $6 FOR UPDATE SKIP LOCKED) \
     RETURNING id, event_id, webhook_id, attempts";

impl Delivery {
    /// Claims up to `limit` due deliveries for `instance` until `lease_until`.
    pub fn claim(
        conn: &mut DbConn,
        instance: &str,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<Claimed>> {
        macro_rules! run {
            ($c:expr, $sql:expr) => {
                diesel::sql_query($sql)
                    .bind::<Text, _>(instance)
                    .bind::<Timestamp, _>(lease_until)
                    .bind::<Timestamp, _>(lease_until)
                    .bind::<Timestamp, _>(now)
                    .bind::<Timestamp, _>(now)
                    .bind::<BigInt, _>(limit)
                    .load::<Claimed>($c)
            };
        }
        match conn {
            DbConn::Sqlite(c) => run!(c, CLAIM_SQLITE),
            DbConn::Pg(c) => run!(c, CLAIM_PG),
        }
    }

    /// Stores attempt results (call inside the history transaction).
    pub fn settle(conn: &mut DbConn, s: &Settlement, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(
            deliveries::table
                .find(&s.delivery_id)
                .filter(deliveries::status.eq("delivering")),
        )
        .set((
            deliveries::status.eq(s.status),
            deliveries::next_attempt_at.eq(s.next_attempt_at),
            deliveries::claimed_by.eq(None::<String>),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::last_status_code.eq(s.status_code),
            deliveries::last_error.eq(&s.error),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)
    }

    /// Marks deliveries succeeded after a successful manual re-send, unless a
    /// worker holds them right now.
    pub fn mark_resent_ok(
        conn: &mut DbConn,
        ids: &[String],
        code: i32,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            deliveries::table
                .filter(deliveries::id.eq_any(ids))
                .filter(deliveries::status.eq_any(["pending", "failed", "dead"])),
        )
        .set((
            deliveries::status.eq("succeeded"),
            deliveries::last_status_code.eq(Some(code)),
            deliveries::last_error.eq(None::<String>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)
    }

    /// Hands this instance's in-flight claims back to the queue (shutdown).
    pub fn release(conn: &mut DbConn, instance: &str, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(
            deliveries::table
                .filter(deliveries::status.eq("delivering"))
                .filter(deliveries::claimed_by.eq(instance)),
        )
        .set((
            deliveries::status.eq("pending"),
            deliveries::next_attempt_at.eq(now),
            deliveries::attempts.eq(deliveries::attempts - 1),
            deliveries::claimed_by.eq(None::<String>),
            deliveries::lease_until.eq(None::<NaiveDateTime>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)
    }

    /// The deliveries of one event.
    pub fn for_event(conn: &mut DbConn, event_id: &str) -> QueryResult<Vec<Delivery>> {
        deliveries::table
            .filter(deliveries::event_id.eq(event_id))
            .order(deliveries::id.asc())
            .select(Delivery::as_select())
            .load(conn)
    }

    /// Deliveries by id.
    pub fn find_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<Delivery>> {
        deliveries::table
            .filter(deliveries::id.eq_any(ids))
            .select(Delivery::as_select())
            .load(conn)
    }
}
