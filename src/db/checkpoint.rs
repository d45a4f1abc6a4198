//! The SQLite WAL checkpointer: a thread of its own that keeps the
//! writer's commits from stalling behind checkpoints.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// Copies the WAL back into the database file from its own thread, so the
/// writer's commits do not stall on checkpoints. It runs often while the
/// WAL grows: a checkpoint first flushes the WAL to disk, and the less it
/// has to flush, the sooner it catches up with the writer, which then
/// starts the log over instead of reaching its own limit (10,000 pages) and
/// stalling every commit behind a checkpoint of its own. At 1,000 events/s
/// (10,000 deliveries/s), checking every second left those stalls at
/// 50-120 ms every ~0.8 s; every 50 ms, they are gone.
pub(super) struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Pause between checkpoints while the WAL grows, and once it stopped growing.
const CHECKPOINT_BUSY: Duration = Duration::from_millis(50);
const CHECKPOINT_IDLE: Duration = Duration::from_millis(500);

/// The answer of `PRAGMA wal_checkpoint`.
#[derive(diesel::QueryableByName)]
struct CheckpointResult {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
}

impl Checkpointer {
    pub(super) fn start(path: &str) -> Checkpointer {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, path) = (stop.clone(), path.to_string());
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let Ok(mut conn) = diesel::SqliteConnection::establish(&path) else {
                    return;
                };
                let _ = conn.batch_execute("PRAGMA busy_timeout = 1000;");
                let mut pause = CHECKPOINT_IDLE;
                let mut last_log = -1;
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(pause);
                    match diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                        .get_result::<CheckpointResult>(&mut conn)
                    {
                        // `log` is the WAL's length in pages: unchanged means idle.
                        Ok(r) => {
                            pause = if r.log == last_log {
                                CHECKPOINT_IDLE
                            } else {
                                CHECKPOINT_BUSY
                            };
                            last_log = r.log;
                        }
                        Err(e) => tracing::debug!(error = %e, "background checkpoint failed"),
                    }
                }
            })
            .expect("spawn checkpoint thread");
        Checkpointer { stop }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
