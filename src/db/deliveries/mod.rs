//! Deliveries: the queue. One row per (event, webhook).
//!
//! States: `pending` (never tried), `delivering` (claimed; `lease_until`,
//! and `next_attempt_at` with it, is the lease expiry), `succeeded`, `failed`
//! (awaiting retry at `next_attempt_at`), `dead` (out of attempts). A claim
//! selects due rows and marks them in one transaction, so a process that dies
//! mid-flight leaves leases that simply expire and are claimed again.

use chrono::NaiveDateTime;
use diesel::prelude::*;

mod claim;
mod explain;
mod fair;
mod handback;
mod settle_pg;
mod stats;

pub use claim::{notify_due, DUE_CHANNEL};

pub use explain::explain_claim;
pub use stats::{oldest_due_in, org_counts, QueueStats};

use super::schema::deliveries;
use super::DbConn;
use crate::text_enum::text_enum;

text_enum! {
    /// Where a delivery stands: waiting (`Pending`, or `Failed` with a retry
    /// time), claimed (`Delivering`), or done (`Succeeded`, `Dead`).
    DeliveryStatus {
        Pending = "pending",
        Delivering = "delivering",
        Succeeded = "succeeded",
        Failed = "failed",
        Dead = "dead",
    }
}

impl DeliveryStatus {
    /// Waiting for an attempt: new, or failed with a retry time.
    pub fn is_waiting(self) -> bool {
        matches!(self, DeliveryStatus::Pending | DeliveryStatus::Failed)
    }
}

/// A stored delivery.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// Batch-inserted: see `insert_rows!` for `treat_none_as_default_value`.
#[diesel(table_name = deliveries, treat_none_as_default_value = false)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_by: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The organization it belongs to.
    pub organization_id: String,
}

/// What a claim returns for each delivery it took.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    /// Attempt number of the attempt now starting (1-based).
    pub attempts: i32,
    /// The claim's lease expiry: also its token (see [`Settlement::lease`]).
    pub lease: NaiveDateTime,
}

/// The result to store for one delivery after an attempt.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub delivery_id: String,
    /// `Succeeded`, `Failed` or `Dead`.
    pub status: DeliveryStatus,
    pub next_attempt_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The lease of the claim the attempt ran under. A result only lands
    /// while that claim still holds the row: if the lease ran out and the
    /// row was claimed again, the late result must not overwrite the new one.
    pub lease: Option<NaiveDateTime>,
}

/// A due delivery a claim may take.
#[derive(Debug, Clone, Queryable)]
pub struct Candidate {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub attempts: i32,
}

/// Filters for listing deliveries (newest first).
pub struct DeliveryQuery {
    /// Only this organization's deliveries.
    pub organization: String,
    pub status: Option<DeliveryStatus>,
    pub webhook_id: Option<String>,
    pub event_id: Option<String>,
    pub before_id: Option<String>,
    pub limit: i64,
}

// The conditions of the partial indexes, as literals: a database uses a
// partial index only when the query's condition provably implies the
// index's, which it cannot see through bound parameters.

/// Waiting for an attempt (the `deliveries_org_due` index): the SQL twin of
/// [`DeliveryStatus::is_waiting`].
fn waiting() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("status IN ('pending', 'failed')")
}

/// Claimed, under a lease (the `deliveries_leased` index).
fn leased() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("status = 'delivering'")
}

impl Delivery {
    /// Gives up on a webhook's queued deliveries (it was disabled).
    pub fn abandon_for_webhook(
        conn: &mut DbConn,
        webhook_id: &str,
        reason: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            deliveries::table
                .filter(deliveries::webhook_id.eq(webhook_id))
                .filter(
                    deliveries::status.eq_any([DeliveryStatus::Pending, DeliveryStatus::Failed]),
                ),
        )
        .set((
            deliveries::status.eq(DeliveryStatus::Dead),
            deliveries::last_error.eq(reason),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)
    }

    /// Puts a webhook's failed and dead deliveries created since `since`
    /// back in the queue with a fresh attempt budget; returns how many.
    pub fn requeue(
        conn: &mut DbConn,
        webhook_id: &str,
        since: NaiveDateTime,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            deliveries::table
                .filter(deliveries::webhook_id.eq(webhook_id))
                .filter(deliveries::status.eq_any([DeliveryStatus::Failed, DeliveryStatus::Dead]))
                .filter(deliveries::created_at.ge(since)),
        )
        .set((
            deliveries::status.eq(DeliveryStatus::Pending),
            deliveries::attempts.eq(0),
            deliveries::next_attempt_at.eq(now),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)
    }

    /// One page of deliveries, newest first; `limit + 1` rows.
    pub fn list(conn: &mut DbConn, query: &DeliveryQuery) -> QueryResult<Vec<Delivery>> {
        let mut q = deliveries::table
            .select(Delivery::as_select())
            .filter(deliveries::organization_id.eq(query.organization.clone()))
            .into_boxed::<<DbConn as Connection>::Backend>();
        if let Some(s) = &query.status {
            q = q.filter(deliveries::status.eq(*s));
        }
        if let Some(w) = &query.webhook_id {
            q = q.filter(deliveries::webhook_id.eq(w.clone()));
        }
        if let Some(e) = &query.event_id {
            q = q.filter(deliveries::event_id.eq(e.clone()));
        }
        if let Some(b) = &query.before_id {
            q = q.filter(deliveries::id.lt(b.clone()));
        }
        q.order(deliveries::id.desc())
            .limit(query.limit + 1)
            .load(conn)
    }

    /// Stores attempt results (call inside the history transaction). On
    /// PostgreSQL all of them in one statement (see `settle_pg`); on SQLite
    /// successes, the common case, with one statement per status code and
    /// chunk, failures one by one (each has its own retry time).
    pub fn settle_all<'a>(
        conn: &mut DbConn,
        all: impl Iterator<Item = &'a Settlement>,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        if let DbConn::Pg(pg) = conn {
            // One round trip for the whole flush.
            let all: Vec<&Settlement> = all.collect();
            return settle_pg::settle_all(pg, &all, now);
        }
        type Key = (Option<i32>, Option<NaiveDateTime>);
        let mut ok: std::collections::BTreeMap<Key, Vec<&str>> = Default::default();
        for s in all {
            if s.status == DeliveryStatus::Succeeded {
                ok.entry((s.status_code, s.lease))
                    .or_default()
                    .push(&s.delivery_id);
            } else {
                Delivery::settle(conn, s, now)?;
            }
        }
        for ((code, lease), ids) in ok {
            for chunk in ids.chunks(500) {
                let mut rows = diesel::update(deliveries::table)
                    .filter(deliveries::id.eq_any(chunk))
                    .filter(deliveries::status.eq(DeliveryStatus::Delivering))
                    .into_boxed();
                if let Some(l) = lease {
                    rows = rows.filter(deliveries::lease_until.eq(l));
                }
                rows.set((
                    deliveries::status.eq(DeliveryStatus::Succeeded),
                    deliveries::next_attempt_at.eq(now),
                    deliveries::claimed_by.eq(None::<String>),
                    deliveries::lease_until.eq(None::<NaiveDateTime>),
                    deliveries::last_status_code.eq(code),
                    deliveries::last_error.eq(None::<String>),
                    deliveries::updated_at.eq(now),
                ))
                .execute(conn)?;
            }
        }
        Ok(())
    }

    /// Stores one attempt result.
    pub fn settle(conn: &mut DbConn, s: &Settlement, now: NaiveDateTime) -> QueryResult<usize> {
        let mut row = diesel::update(deliveries::table)
            .filter(deliveries::id.eq(&s.delivery_id))
            .filter(deliveries::status.eq(DeliveryStatus::Delivering))
            .into_boxed();
        if let Some(l) = s.lease {
            row = row.filter(deliveries::lease_until.eq(l));
        }
        row.set((
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
        diesel::update(deliveries::table.filter(deliveries::id.eq_any(ids)).filter(
            deliveries::status.eq_any([
                DeliveryStatus::Pending,
                DeliveryStatus::Failed,
                DeliveryStatus::Dead,
            ]),
        ))
        .set((
            deliveries::status.eq(DeliveryStatus::Succeeded),
            deliveries::last_status_code.eq(Some(code)),
            deliveries::last_error.eq(None::<String>),
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
}
