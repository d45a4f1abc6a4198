//! Delivery engine: claims due deliveries, sends them signed, records every
//! attempt. Talks to the database through `db` only, never to `api`.

mod attempt_row;
pub mod attempt_span;
pub mod cache;
pub mod claims;
pub mod concurrency;
pub mod history;
pub mod lanes;
pub mod manual;
pub mod payload;
pub mod queue_vacuum;
pub mod recorder;
pub mod send;
pub mod wake;
pub mod webhooks;
pub mod worker;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::deliveries::Delivery;
use crate::db::runs::Run;
use crate::db::{time, Db};
use recorder::Recorder;
use worker::{EngineDeps, WorkerSettings};

/// A running delivery engine.
pub struct Engine {
    cancel: CancellationToken,
    dispatcher: tokio::task::JoinHandle<()>,
    recorder: tokio::task::JoinHandle<()>,
    /// The `LISTEN` thread on PostgreSQL.
    listener: Option<std::thread::JoinHandle<()>>,
    /// The queue's vacuum on PostgreSQL.
    vacuum: Option<tokio::task::JoinHandle<()>>,
    db: Db,
    instance: String,
}

impl Engine {
    /// Starts the dispatcher and the history recorder.
    pub fn start(
        deps: EngineDeps,
        settings: WorkerSettings,
        disable_after: chrono::Duration,
    ) -> Engine {
        let cancel = CancellationToken::new();
        let (rec, recorder) = Recorder::spawn(deps.db.clone(), disable_after);
        let instance = settings.instance.clone();
        let db = deps.db.clone();
        let listener = wake::spawn(db.clone(), deps.notify.clone(), cancel.clone());
        let vacuum = queue_vacuum::spawn(db.clone(), cancel.clone());
        let dispatcher = tokio::spawn(worker::run(deps, rec, settings, cancel.clone()));
        Engine {
            cancel,
            dispatcher,
            recorder,
            listener,
            vacuum,
            db,
            instance,
        }
    }

    /// Graceful stop: no new claims, requests in flight get the grace
    /// period, their results are written, and whatever is still claimed by
    /// this process goes back to the queue at once.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(l) = self.listener.take() {
            // It notices the cancellation within a few milliseconds.
            let _ = tokio::task::spawn_blocking(move || l.join()).await;
        }
        let _ = self.dispatcher.await;
        if let Some(v) = self.vacuum.take() {
            let _ = v.await;
        }
        // The dispatcher and its tasks held the only recorder handles: the
        // recorder now drains its queue and ends.
        if tokio::time::timeout(Duration::from_secs(30), self.recorder)
            .await
            .is_err()
        {
            tracing::warn!("history recorder did not finish in 30 s");
        }
        let instance = self.instance.clone();
        match self
            .db
            .write(move |c| Ok(Delivery::release(c, Some(&instance), time::now())?))
            .await
        {
            Ok(n) if n > 0 => tracing::info!(
                released = n,
                "handed unfinished deliveries back to the queue"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not release claims; their leases will expire")
            }
        }
    }
}

/// Hands back, at start-up, the claims a previous run of this process left
/// when it died, so that they need not wait for their leases to run out:
/// deliveries and integration runs. Where one process serves the database
/// (SQLite), every claim is stale; where several share it (PostgreSQL),
/// only an explicitly named instance (`instance_id`) knows which claims
/// were its own, and an unnamed one leaves them to their leases.
pub fn release_stale_claims(db: &Db, instance_id: Option<&str>) -> Result<(), String> {
    let scope = match (db.shares_across_instances(), instance_id) {
        (false, _) => None,
        (true, Some(id)) => Some(id),
        (true, None) => return Ok(()),
    };
    let n = db
        .write_blocking(|c| {
            let runs = Run::release(c, scope, time::now())?;
            Ok(Delivery::release(c, scope, time::now())? + runs)
        })
        .map_err(|e| format!("cannot release stale claims: {e}"))?;
    if n > 0 {
        tracing::info!(
            released = n,
            "re-queued deliveries claimed by a previous run"
        );
    }
    Ok(())
}
