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
//!
//! On PostgreSQL `history` is partitioned by day (`db::partitions`): a run
//! first drops the days wholly before the cutoff, counting their rows per
//! organization, then deletes row by row what is left before the cutoff
//! (the cutoff's own day, the default partition). The job also keeps the
//! coming days' partitions created, even with retention off.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::Connection;
use tokio_util::sync::CancellationToken;

use crate::db::retention::{self, Swept, Tally};
use crate::db::{id_floor, partitions, time, Db, DbConn};
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
    match drop_partitions(db, metrics, cutoff).await {
        Some(n) => deleted.history += n,
        None => return Ok(None),
    }
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

/// PostgreSQL: drops the history partitions wholly before `cutoff`, one
/// per transaction; returns the rows they held, or `None` when another
/// instance is sweeping. A failure (say, `history` stayed locked past the
/// lock timeout) is logged and ends the drops: the rows path that follows
/// deletes those rows instead.
async fn drop_partitions(db: &Db, metrics: &Metrics, cutoff: NaiveDateTime) -> Option<i64> {
    let mut dropped = 0;
    if !db.partitions_history() {
        return Some(dropped);
    }
    loop {
        let got = db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    if !retention::try_lock(c)? {
                        return Ok(None);
                    }
                    let tally = partitions::drop_oldest(c, cutoff)?;
                    if let Some(t) = &tally {
                        retention::add_totals(c, Swept::History, t, time::now())?;
                    }
                    Ok(Some(tally))
                })
            })
            .await;
        match got {
            Ok(None) => return None,
            Ok(Some(None)) => return Some(dropped),
            Ok(Some(Some(tally))) => {
                let n: i64 = tally.values().sum();
                metrics.retention_deleted("history", n as u64);
                dropped += n;
            }
            Err(e) => {
                tracing::warn!(error = %e, "dropping old history partitions failed; deleting their rows instead");
                return Some(dropped);
            }
        }
    }
}

/// PostgreSQL: creates history's partitions for `today` and the next days
/// (`db::partitions::create_ahead`); returns how many were missing.
pub async fn create_partitions(db: &Db, today: chrono::NaiveDate) -> Result<usize> {
    db.write(move |c| Ok(partitions::create_ahead(c, today)?))
        .await
}

/// The running job; [`Job::stop`] ends it.
pub struct Job {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Job {
    /// Runs [`sweep`] now and every [`EVERY`], after [`create_partitions`]
    /// on PostgreSQL; `None` when there is nothing to do: `days` is 0 on
    /// SQLite.
    pub fn spawn(db: Db, metrics: Arc<Metrics>, days: u32) -> Option<Job> {
        if days == 0 && !db.partitions_history() {
            return None;
        }
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            loop {
                if db.partitions_history() {
                    let today = time::now().date();
                    if let Err(e) = create_partitions(&db, today).await {
                        tracing::warn!(error = %e, "creating history partitions failed; attempts go to the default partition meanwhile");
                    }
                }
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
