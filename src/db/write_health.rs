//! Whether the database refuses writes for lack of space, and the probe
//! that tells when it takes them again.
//!
//! A write refused as `StorageFull` marks the database full. Only a probe
//! clears the mark, never any write that happens to succeed: a claim that
//! finds nothing to claim writes no page, and would say "fine" on a full
//! disk. The probe writes a 64 KiB row that needs fresh pages, then removes
//! it (on PostgreSQL with `TRUNCATE`, which gives the space back to the
//! file system; SQLite keeps the freed pages for the next writes).
//! `/readyz` runs it, at most once a second, while the mark is set.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Binary;

use super::DbConn;
use crate::error::{Error, Result};

/// Probes at most this often.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Bytes the probe writes: more than a page on either backend.
const PROBE_BYTES: usize = 64 * 1024;

/// Shared by every handle of one [`super::Db`].
#[derive(Default)]
pub struct WriteHealth {
    full: AtomicBool,
    last_probe: Mutex<Option<Instant>>,
}

impl WriteHealth {
    /// Notes the outcome of a write: a refusal for lack of space marks the
    /// database full.
    pub fn observe<T>(&self, result: &Result<T>) {
        if let Err(Error::StorageFull(why)) = result {
            if !self.full.swap(true, Ordering::Relaxed) {
                tracing::error!(error = %why, "the database refuses writes for lack of space; /readyz reports not ready until a write succeeds again");
            }
        }
    }

    /// Whether a write was refused for lack of space and no probe has
    /// succeeded since.
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Whether a probe may run now (and, if so, notes that it does).
    pub fn probe_due(&self) -> bool {
        let mut last = self.last_probe.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < PROBE_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Records a probe's outcome.
    pub fn probed(&self, result: &Result<()>) {
        match result {
            Ok(()) if self.full.swap(false, Ordering::Relaxed) => {
                tracing::info!("the database takes writes again");
            }
            other => self.observe(other),
        }
    }
}

/// Writes a probe row needing fresh pages and removes it (two commits: a
/// write that is rolled back may never reach the disk).
pub fn probe(conn: &mut DbConn) -> Result<()> {
    let filler: Vec<u8> = (0..PROBE_BYTES).map(|_| rand::random::<u8>()).collect();
    match conn {
        DbConn::Pg(c) => {
            diesel::sql_query("INSERT INTO write_probe (filler) VALUES ($1)")
                .bind::<Binary, _>(filler)
                .execute(c)?;
            diesel::sql_query("TRUNCATE write_probe").execute(c)?;
        }
        DbConn::Sqlite(c) => {
            diesel::sql_query("INSERT INTO write_probe (filler) VALUES (?)")
                .bind::<Binary, _>(filler)
                .execute(c)?;
            diesel::sql_query("DELETE FROM write_probe").execute(c)?;
        }
    }
    Ok(())
}
