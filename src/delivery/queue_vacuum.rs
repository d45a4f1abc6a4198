//! Vacuums the queue table on PostgreSQL as it churns (see
//! `db::deliveries::vacuum` for why autovacuum alone is too slow for it).
//! Each process vacuums after settling [`SETTLED_ROWS`] queue rows, checked
//! every [`CHECK_EVERY`], and, as a backstop for what other processes left,
//! whenever PostgreSQL's statistics show more dead row versions than live
//! ones (at least [`DEAD_ROWS`]). With several processes one vacuums at a
//! time and the others skip (`SKIP_LOCKED`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::deliveries::{queue_rows, vacuum_queue};
use crate::db::Db;

/// Deliveries this process settled since the vacuum task last looked (the
/// recorder counts them): each left two dead row versions in the queue,
/// its claim's and its settlement's. Counted here because PostgreSQL's own
/// statistics lag by a second, in which a busy queue leaves tens of
/// thousands.
static SETTLED: AtomicU64 = AtomicU64::new(0);

/// Counts `n` settled deliveries (see [`SETTLED`]).
pub fn note_settled(n: usize) {
    SETTLED.fetch_add(n as u64, Ordering::Relaxed);
}

/// How often the count of settled rows is looked at.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// Settled rows (two dead row versions each) that make a vacuum worth its
/// cost: a few milliseconds for a few thousand rows.
const SETTLED_ROWS: u64 = 2_000;

/// Dead row versions in the statistics that call for a vacuum.
const DEAD_ROWS: i64 = 5_000;

/// The statistics are read once in this many checks (once a second).
const STATS_EVERY: u32 = 10;

/// Starts the task where dead row versions pile up (PostgreSQL; `None` on
/// SQLite); it ends with `cancel`.
pub fn spawn(db: Db, cancel: CancellationToken) -> Option<tokio::task::JoinHandle<()>> {
    if !db.leaves_dead_rows() {
        return None;
    }
    Some(tokio::spawn(async move {
        let (mut settled, mut tick) = (0u64, 0u32);
        loop {
            tick = tick.wrapping_add(1);
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(CHECK_EVERY) => {}
            }
            settled += SETTLED.swap(0, Ordering::Relaxed);
            let due = settled >= SETTLED_ROWS
                || (tick % STATS_EVERY == 0 && piled_up(&db).await.unwrap_or(false));
            if !due {
                continue;
            }
            match db.write(|c| Ok(vacuum_queue(c)?)).await {
                Ok(()) => settled = 0,
                Err(e) => tracing::debug!(error = %e, "queue vacuum failed; will retry"),
            }
        }
    }))
}

/// Whether the statistics show the queue piled up with dead row versions.
async fn piled_up(db: &Db) -> crate::error::Result<bool> {
    let rows = db.read(|c| Ok(queue_rows(c)?)).await?;
    Ok(matches!(rows, Some((live, dead)) if dead >= DEAD_ROWS && dead >= live))
}
