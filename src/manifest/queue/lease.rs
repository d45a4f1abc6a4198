//! A run's claim while it works: a heartbeat extends its lease, and stops
//! with the run however the run ends.

use std::time::Duration;

use super::LEASE;
use crate::db::runs::Run;
use crate::db::{time, Db};

/// How often a run in progress extends its claim.
const HEARTBEAT: Duration = Duration::from_secs(120);

/// Aborts a task when dropped: a run's heartbeat ends with the run however
/// the run ends, finished or its future dropped mid-way (a heartbeat left
/// behind would keep the run `running` forever).
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Extends run `id`'s claim (held by `instance`) every [`HEARTBEAT`] until
/// the guard is dropped.
pub(super) fn heartbeat(db: &Db, instance: &str, id: &str) -> AbortOnDrop {
    let (db, id, instance) = (db.clone(), id.to_string(), instance.to_string());
    AbortOnDrop(tokio::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            let (id, instance) = (id.clone(), instance.clone());
            let until = time::now() + LEASE;
            let _ = db
                .write(move |c| Ok(Run::extend_lease(c, &id, &instance, until)?))
                .await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::AbortOnDrop;

    /// A run's heartbeat ends when its guard goes, as it does when the run's
    /// future is dropped mid-way.
    #[tokio::test]
    async fn dropping_the_guard_stops_the_heartbeat() {
        let beats = Arc::new(AtomicUsize::new(0));
        let b = beats.clone();
        let run = async move {
            let _heartbeat = AbortOnDrop(tokio::spawn(async move {
                loop {
                    b.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
            std::future::pending::<()>().await
        };
        // The caller gives up on the run: its future is dropped.
        let _ = tokio::time::timeout(Duration::from_millis(30), run).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        let seen = beats.load(Ordering::SeqCst);
        assert!(seen > 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            beats.load(Ordering::SeqCst),
            seen,
            "the heartbeat kept going"
        );
    }
}
