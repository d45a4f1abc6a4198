//! The overview of one organization (`GET /v1/stats`, issue #16): attempt
//! outcomes per minute over the last 24 hours, the queue by state, its
//! oldest due delivery, web hooks that fail or are disabled, table sizes
//! and what retention deleted. Every figure comes from an index or from
//! the pre-aggregated `delivery_minutes`: no scan per request.

use chrono::NaiveDateTime;

use crate::db::deliveries::{oldest_due_in, org_counts, DeliveryStatus};
use crate::db::stats::{self, Table, WebhookBrief};
use crate::db::{retention, time, Db};
use crate::error::Result;

/// The overview's window: the last 24 hours.
pub const WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// Deliveries of the organization by state, exact.
#[derive(Debug, Default, Clone)]
pub struct Queue {
    pub pending: i64,
    pub delivering: i64,
    /// Failed at least once, waiting for a retry.
    pub failed: i64,
    pub dead: i64,
    pub succeeded: i64,
}

/// One table: the organization's rows and oldest row in it, and (for a
/// platform caller only) the whole database's size.
#[derive(Debug, Clone)]
pub struct TableStats {
    pub name: &'static str,
    /// The organization's own rows, exact up to [`stats::COUNT_CAP`].
    pub rows: i64,
    /// `rows` reached the cap: there are at least that many.
    pub rows_capped: bool,
    /// Every organization's rows, estimated; only for a platform caller
    /// (one organization must not learn how busy the others are).
    pub database_rows: Option<i64>,
    pub oldest_at: Option<NaiveDateTime>,
}

/// Everything the overview shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub organization_id: String,
    pub generated_at: NaiveDateTime,
    pub from: NaiveDateTime,
    /// `(minute, succeeded, failed)`, only minutes with attempts, oldest first.
    pub per_minute: Vec<(NaiveDateTime, i64, i64)>,
    pub queue: Queue,
    pub oldest_pending_at: Option<NaiveDateTime>,
    pub webhooks: Vec<WebhookBrief>,
    pub tables: Vec<TableStats>,
    pub retention_days: u32,
    pub retention_last_run_at: Option<NaiveDateTime>,
    /// Rows retention deleted in this organization: (history, deliveries, events).
    pub retention_deleted: (i64, i64, i64),
}

/// Reads the overview of `org` as of now; `whole_database` adds the
/// database's table sizes (platform callers).
pub async fn overview(
    db: &Db,
    org: String,
    retention_days: u32,
    whole_database: bool,
) -> Result<Overview> {
    db.read(move |c| {
        let now = time::now();
        // Whole minutes: the first one is the minute 24 h ago.
        let from = stats::minute_of(now - WINDOW);
        let per_minute = stats::minutes(c, &org, from)?;
        let mut queue = Queue::default();
        for (status, n) in org_counts(c, &org)? {
            match status {
                DeliveryStatus::Pending => queue.pending = n,
                DeliveryStatus::Delivering => queue.delivering = n,
                DeliveryStatus::Failed => queue.failed = n,
                DeliveryStatus::Dead => queue.dead = n,
                DeliveryStatus::Succeeded => queue.succeeded = n,
            }
        }
        let oldest_pending_at = oldest_due_in(c, &org, now)?;
        let webhooks = stats::webhooks(c, &org)?;
        let mut tables = Vec::new();
        for t in [Table::Events, Table::Deliveries, Table::History] {
            let rows = stats::count_rows(c, &org, t)?;
            tables.push(TableStats {
                name: t.name(),
                rows,
                rows_capped: rows >= stats::COUNT_CAP,
                database_rows: if whole_database {
                    Some(stats::estimate_rows(c, t)?)
                } else {
                    None
                },
                oldest_at: stats::oldest_at(c, &org, t)?,
            });
        }
        let retention_last_run_at = retention::last_run(c)?;
        let retention_deleted = retention::totals(c, &org)?;
        Ok(Overview {
            organization_id: org,
            generated_at: now,
            from,
            per_minute,
            queue,
            oldest_pending_at,
            webhooks,
            tables,
            retention_days,
            retention_last_run_at,
            retention_deleted,
        })
    })
    .await
}
