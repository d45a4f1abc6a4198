//! Claims of due deliveries: what a claim asks for ([`ClaimSpec`]), running
//! one in the caller's transaction ([`claim_now`]), and on PostgreSQL in
//! transactions of their own ([`DirectClaims`]). The recorder uses both
//! ways; this module knows nothing of the recorder.
//!
//! On SQLite a claim rides in the recorder's next transaction (one writer:
//! one commit instead of two). On PostgreSQL that made every claim wait
//! behind the history write in progress, and the next one's, while a claim
//! needs only its own rows: run apart, on a connection of their own, claims
//! and history writes proceed side by side. Claims and settlements never
//! wait on each other's locks in a cycle: a claim skips locked rows
//! (`SKIP LOCKED`), and a settlement only touches rows its own process holds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::Connection;

use crate::db::deliveries::{Candidate, Claimed, Delivery};
use crate::db::{time, Db, DbConn};
use crate::error::{Error, Result};

/// Picks among claim candidates (see `lanes`).
pub type Admit = Box<dyn FnMut(&Candidate) -> bool + Send>;

/// What to claim (see `Delivery::claim`).
pub struct ClaimSpec {
    pub instance: String,
    pub limit: i64,
    pub lease: Duration,
    pub exclude: Vec<String>,
    pub admit: Admit,
}

/// Claims straight on the database, keeping the round-robin cursor among
/// organizations (see `Delivery::claim`) from one claim to the next.
#[derive(Clone)]
pub struct DirectClaims {
    db: Db,
    cursor: Arc<Mutex<String>>,
}

impl DirectClaims {
    pub fn new(db: Db) -> DirectClaims {
        DirectClaims {
            db,
            cursor: Default::default(),
        }
    }

    /// Claims what `spec` asks for, in one transaction.
    pub async fn claim(&self, spec: ClaimSpec) -> Result<Vec<Claimed>> {
        let cursor = self.cursor.clone();
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    let mut cursor = cursor.lock().unwrap_or_else(|e| e.into_inner());
                    claim_now(c, spec, &mut cursor)
                })
            })
            .await
    }
}

/// Runs one claim as of now, in the caller's transaction.
pub fn claim_now(c: &mut DbConn, spec: ClaimSpec, cursor: &mut String) -> Result<Vec<Claimed>> {
    let now = time::now();
    let until = now + chrono::Duration::from_std(spec.lease).unwrap_or_default();
    Ok(Delivery::claim(
        c,
        &spec.instance,
        now,
        until,
        spec.limit,
        &spec.exclude,
        spec.admit,
        cursor,
    )?)
}
