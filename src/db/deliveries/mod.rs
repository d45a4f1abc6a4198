//! Deliveries: one per (event, webhook), in two tables (issue #19).
//!
//! `deliveries` is the record: state and last result. `delivery_queue` is
//! the narrow queue: one row per delivery still waiting or in flight, with
//! its due time, attempt count and lease. A claim selects due queue rows
//! and marks them (claimed_by, lease_until) in one transaction, so a process
//! that dies mid-flight leaves leases that simply expire and are claimed
//! again. A settlement removes the queue row (or reschedules it, for a
//! retry) and writes the record, whose changed columns no index covers: on
//! PostgreSQL a HOT update.
//!
//! The states the API shows: `pending` (never tried), `delivering` (its
//! queue row is claimed), `failed` (waiting for a retry), `succeeded`,
//! `dead` (out of attempts). The record holds all but `delivering`: while
//! claimed it stays `pending` or `failed`. Invariant: a record is `pending`
//! or `failed` exactly when it has a queue row.

use chrono::NaiveDateTime;
use diesel::{Queryable, Selectable};

mod by_webhook;
mod claim;
mod explain;
mod fair;
mod new;
mod per_org;
mod record;
mod settle;
mod stats;
mod vacuum;
mod wake;

pub use explain::explain_claim;
pub use new::NewDelivery;
pub use stats::{oldest_due_in, org_counts, QueueStats};
pub use vacuum::{queue_rows, vacuum_queue};
pub use wake::{listen_due, notify_due};

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

/// A delivery as the API shows it: its record with, while it is queued,
/// its queue row (`new` writes the two, `record` reads them back).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub status: DeliveryStatus,
    /// Attempts started (the one in flight included).
    pub attempts: i32,
    /// When it is due (while waiting); otherwise when it last changed.
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
    /// Its organization: on Citus, the shard its settlement goes to.
    pub organization_id: String,
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
    /// Its organization: on Citus, the one shard the settlement touches.
    pub organization_id: String,
}

/// A due delivery a claim may take: the queue row's columns a claim reads.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::delivery_queue)]
pub struct Candidate {
    #[diesel(column_name = delivery_id)]
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub attempts: i32,
    /// Its organization: on Citus, where its row lives.
    pub organization_id: String,
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

/// A queue row waiting for an attempt (the `delivery_queue_due` index).
fn waiting() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("claimed_by IS NULL")
}

/// A queue row claimed, under a lease (the `delivery_queue_leased` index).
fn leased() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("claimed_by IS NOT NULL")
}
