//! History retention (issue #16): a background job, one per process, that
//! deletes attempts and finished deliveries older than
//! `HOOKRELAY_RETENTION_DAYS`, then the events left without deliveries.
//!
//! It deletes [`BATCH`] rows per transaction and pauses between batches, so
//! it never holds SQLite's one writer for long and delivery's own writes
//! (claims, history) get their turns. Waiting and claimed deliveries are
//! never deleted, nor their events. On PostgreSQL each batch takes an
//! advisory lock: while one instance sweeps, the others skip their run; the
//! deletes are idempotent anyway, and tallies count only rows really deleted.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::Connection;
use tokio_util::sync::CancellationToken;

use crate::db::retention::{self, Swept, Tally};
use crate::db::{id_floor, time, Db, DbConn};
use crate::error::{Error, Result};
use crate::metrics::Metrics;

/// Rows deleted per statement and transaction.
pub const BATCH: i64 = 500;

/// Pause between batches: the writer is free for others meanwhile.
const YIELD: Duration = Duration::from_millis(20);

/// How often the job runs (and once at start).
pub const EVERY: Duration = Duration::from_secs(5 * 60);

/// Per-minute statistics are kept this long (the overview shows 24 h).
const MINUTES_KEPT: chrono::Duration = chrono::Duration::days(2);

/// One batch of one table's deletes (`db::retention`).
type BatchFn = fn(&mut DbConn, &str, i64) -> diesel::QueryResult<Tally>;

/// Rows one run deleted, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub history: i64,
    pub deliveries: i64,
    pub events: i64,
}

/// One run as of `now`: deletes what is older than `days` days. `None`
/// when `days` is 0 (keep everything) or another instance is sweeping.
pub async fn sweep(
    db: &Db,
    metrics: &Metrics,
    days: u32,
    now: NaiveDateTime,
) -> Result<Option<Deleted>> {
    if days == 0 {
        return Ok(None);
    }
    let cutoff = now - chrono::Duration::days(i64::from(days));
    let mut deleted = Deleted::default();
    let steps: [(Swept, &str, &str, BatchFn); 3] = [
        (Swept::History, "history", "att", retention::history_batch),
        (
            Swept::Deliveries,
            "deliveries",
            "dlv",
            retention::deliveries_batch,
        ),
        (Swept::Events, "events", "evt", retention::events_batch),
    ];
    for (table, name, prefix, batch) in steps {
        let floor = id_floor(prefix, cutoff);
        loop {
            let floor = floor.clone();
            let got = db
                .write(move |c| {
                    c.transaction::<_, Error, _>(|c| {
                        if !retention::try_lock(c)? {
                            return Ok(None);
                        }
                        let tally = batch(c, &floor, BATCH)?;
                        retention::add_totals(c, table, &tally, time::now())?;
                        Ok(Some(tally))
                    })
                })
                .await?;
            let Some(tally) = got else {
                return Ok(None);
            };
            let n: i64 = tally.values().sum();
            metrics.retention_deleted(name, n as u64);
            match table {
                Swept::History => deleted.history += n,
                Swept::Deliveries => deleted.deliveries += n,
                Swept::Events => deleted.events += n,
            }
            if n < BATCH {
                break;
            }
            tokio::time::sleep(YIELD).await;
        }
    }
    db.write(move |c| {
        crate::db::stats::prune_minutes(c, now - MINUTES_KEPT)?;
        retention::mark_run(c, time::now())?;
        Ok(())
    })
    .await?;
    // Outside the deletes' transactions: a pragma of its own.
    db.write(|c| Ok(retention::give_back_space(c)?)).await?;
    if deleted != Deleted::default() {
        tracing::info!(?deleted, days, "retention deleted old delivery history");
    }
    Ok(Some(deleted))
}

/// The running job; [`Job::stop`] ends it.
pub struct Job {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Job {
    /// Runs [`sweep`] now and every [`EVERY`]; `None` when `days` is 0.
    pub fn spawn(db: Db, metrics: Arc<Metrics>, days: u32) -> Option<Job> {
        if days == 0 {
            return None;
        }
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Err(e) = sweep(&db, &metrics, days, time::now()).await {
                    tracing::warn!(error = %e, "retention run failed; next run as scheduled");
                }
                tokio::select! {
                    _ = tokio::time::sleep(EVERY) => {}
                    _ = stop.cancelled() => return,
                }
            }
        });
        Some(Job { cancel, task })
    }

    /// Stops the job. A batch's transaction runs on the blocking pool and
    /// finishes (or rolls back) on its own; nothing is left half-done.
    pub async fn stop(self) {
        self.cancel.cancel();
        self.task.abort();
        let _ = self.task.await;
    }
}
