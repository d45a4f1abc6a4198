//! Waking the other processes on a PostgreSQL database when deliveries are
//! queued: the publishing transaction sends `NOTIFY` (delivered at commit,
//! and only then), and each process's listener (`delivery::wake`) holds a
//! connection that `LISTEN`s. Nothing on SQLite: one process per file.

use std::time::Duration;

use diesel::prelude::*;

use crate::db::DbConn;

/// The PostgreSQL channel on which publishes announce new deliveries to the
/// other processes on the database.
pub const DUE_CHANNEL: &str = "hookrelay_due";

/// How often the listening connection is checked for notifications. libpq
/// reads them without a query, but diesel exposes no socket to wait on, so
/// the listener looks every few milliseconds: a non-blocking read, cheap
/// next to the poll interval it replaces.
const CHECK_EVERY: Duration = Duration::from_millis(5);

/// Tells the processes listening on [`DUE_CHANNEL`] that deliveries were
/// queued. Call inside the transaction that wrote them: PostgreSQL sends
/// the notification at commit, and only then. Nothing on SQLite.
pub fn notify_due(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query(format!("NOTIFY {DUE_CHANNEL}")).execute(pg)?;
    }
    Ok(())
}

/// Listens on [`DUE_CHANNEL`] until `stop()` is true, calling `woken()`
/// after each look that found notifications. The connection stops
/// listening before it returns (it goes back to the pool). Returns at once
/// on SQLite.
pub fn listen_due(
    conn: &mut DbConn,
    stop: impl Fn() -> bool,
    mut woken: impl FnMut(),
) -> QueryResult<()> {
    let DbConn::Pg(pg) = conn else {
        return Ok(());
    };
    diesel::sql_query(format!("LISTEN {DUE_CHANNEL}")).execute(pg)?;
    while !stop() {
        let mut woke = false;
        for n in pg.notifications_iter() {
            n?;
            woke = true;
        }
        if woke {
            woken();
        }
        std::thread::sleep(CHECK_EVERY);
    }
    // A pooled connection must not keep listening.
    diesel::sql_query("UNLISTEN *").execute(pg)?;
    Ok(())
}
