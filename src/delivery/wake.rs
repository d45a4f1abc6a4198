//! Wake-ups across processes on PostgreSQL. A publish wakes its own
//! process's dispatcher directly; the other processes on the same database
//! learn of it through `NOTIFY hookrelay_due`, sent in the publish's
//! transaction (so only once it commits). Each process holds one pooled
//! connection that `LISTEN`s on that channel and wakes its dispatcher, so an
//! idle instance starts on work published elsewhere at once instead of at
//! its next poll. SQLite has one process per file: nothing to do there.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::deliveries::DUE_CHANNEL;
use crate::db::{Db, DbConn};

/// How often the listening connection is checked for notifications. libpq
/// reads them without a query, but diesel exposes no socket to wait on, so
/// the thread looks every few milliseconds: a non-blocking read, cheap next
/// to the poll interval it replaces.
const CHECK_EVERY: Duration = Duration::from_millis(5);

/// Starts the listener thread on PostgreSQL (`None` on SQLite). It holds one
/// connection of the pool until `cancel` fires, and reconnects after errors.
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
                let r = db.write_blocking(|c| Ok(listen(c, &notify, &cancel)?));
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

/// Listens on `conn` until `cancel` fires.
fn listen(conn: &mut DbConn, notify: &Notify, cancel: &CancellationToken) -> QueryResult<()> {
    let DbConn::Pg(pg) = conn else {
        return Ok(());
    };
    diesel::sql_query(format!("LISTEN {DUE_CHANNEL}")).execute(pg)?;
    while !cancel.is_cancelled() {
        let mut woke = false;
        for n in pg.notifications_iter() {
            n?;
            woke = true;
        }
        if woke {
            notify.notify_one();
        }
        std::thread::sleep(CHECK_EVERY);
    }
    // The connection goes back to the pool: it must not keep listening.
    diesel::sql_query("UNLISTEN *").execute(pg)?;
    Ok(())
}
