//! Wake-ups across processes on PostgreSQL. A publish wakes its own
//! process's dispatcher directly; the other processes on the same database
//! learn of it through a notification sent in the publish's transaction (so
//! only once it commits; `db::deliveries::wake`). Each process holds one
//! pooled connection that listens and wakes its dispatcher, so an idle
//! instance starts on work published elsewhere at once instead of at its
//! next poll. SQLite has one process per file: nothing to do there.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::deliveries::listen_due;
use crate::db::Db;

/// Starts the listener thread where processes can notify each other
/// (PostgreSQL; `None` on SQLite). It holds one connection of the pool
/// until `cancel` fires, and reconnects after errors.
pub fn spawn(
    db: Db,
    notify: Arc<Notify>,
    cancel: CancellationToken,
) -> Option<std::thread::JoinHandle<()>> {
    if !db.has_notify() {
        return None;
    }
    let thread = std::thread::Builder::new()
        .name("hookrelay-listen".into())
        .spawn(move || {
            while !cancel.is_cancelled() {
                let r = db.write_blocking(|c| {
                    Ok(listen_due(
                        c,
                        || cancel.is_cancelled(),
                        || notify.notify_one(),
                    )?)
                });
                if let Err(e) = r {
                    tracing::warn!(error = %e, "listening for published deliveries failed; retrying");
                    // Whatever arrived meanwhile is found by a claim.
                    notify.notify_one();
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .expect("spawn the listener thread");
    Some(thread)
}
