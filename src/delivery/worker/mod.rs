//! The dispatcher: claims due deliveries and runs one task per request.
//!
//! It holds up to two rounds of work: the requests in flight (one per worker
//! slot) and as many again queued behind them, so a slot that frees up starts
//! its next request at once instead of waiting for the next claim's commit.
//! Lanes cap what each webhook may hold (see `lanes`). A request that waited
//! so long that its lease might run out before it is recorded is handed back
//! unsent, so a delivery is never sent by two processes at once.

mod execute;
mod prepare;
pub mod settle;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::cache::EventCache;
use super::lanes::Lanes;
use super::payload::EventDoc;
use super::recorder::Recorder;
use super::send::Target;
use crate::db::deliveries::Claimed;
use crate::db::webhooks::Webhook;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::outbound::{HttpClients, RetryPolicy};
use crate::signing::Signer;
use crate::vault::Vault;
use execute::{execute, TaskContext};
use prepare::prepare;

/// Longest wait for more room before claiming for the room there is.
const CLAIM_LINGER: Duration = Duration::from_millis(2);

/// Requests held (in flight or queued), in multiples of the worker slots.
const HELD_ROUNDS: usize = 2;

/// Settings of the dispatcher.
#[derive(Clone)]
pub struct WorkerSettings {
    pub instance: String,
    pub workers: usize,
    pub claim_batch: usize,
    pub poll_interval: Duration,
    pub lease: Duration,
    /// Longest request (the HTTP client's timeout).
    pub request_timeout: Duration,
    pub grace: Duration,
    pub retry: RetryPolicy,
    /// Most event bytes (their JSON text) in one batched request, however
    /// many events the webhook allows per request (`HOOKRELAY_MAX_BODY_BYTES`):
    /// a batch of large events must not make one job hold hundreds of MiB.
    /// An event larger than this still goes, alone.
    pub max_batch_bytes: usize,
}

/// The handles the engine shares with the API.
#[derive(Clone)]
pub struct EngineDeps {
    pub db: Db,
    pub clients: HttpClients,
    /// Wakes the dispatcher when new deliveries are written.
    pub notify: Arc<Notify>,
    /// Events just published, parsed.
    pub events: EventCache,
    /// Opens webhooks' sealed signing secrets.
    pub vault: Arc<Vault>,
    pub metrics: Arc<Metrics>,
    /// Per-webhook lanes and their adaptive limits (the API shows them).
    pub lanes: Lanes,
}

/// One request to make: one event, or several for a batching webhook.
struct Job {
    webhook: Arc<Webhook>,
    /// Its URL, parsed and checked once for the whole claim.
    target: Arc<Target>,
    signer: Option<Arc<Signer>>,
    /// Claimed in one claim: they share one lease.
    deliveries: Vec<Claimed>,
    docs: Vec<Arc<EventDoc>>,
    event_type: String,
}

/// Claims and sends until `cancel` fires, then waits up to the grace period
/// for requests in flight and hands back what is left.
pub async fn run(
    deps: EngineDeps,
    recorder: Recorder,
    settings: WorkerSettings,
    cancel: CancellationToken,
) {
    let EngineDeps {
        db,
        clients,
        notify,
        events: cache,
        vault,
        metrics,
        lanes,
    } = deps;
    metrics.set_workers(settings.workers);
    let slots = Arc::new(Semaphore::new(settings.workers));
    let mut inflight = JoinSet::new();
    let settings = Arc::new(settings);
    let most_held = settings.workers * HELD_ROUNDS;
    let ctx = Arc::new(TaskContext {
        db: db.clone(),
        slots,
        cancel: cancel.clone(),
        recorder: recorder.clone(),
        settings: settings.clone(),
        lanes: lanes.clone(),
        metrics,
    });
    while !cancel.is_cancelled() {
        while inflight.try_join_next().is_some() {}
        let room = most_held.saturating_sub(inflight.len());
        // A claim costs a transaction: while requests are held, wait until
        // there is room for a worthwhile share of a round, or briefly.
        let worthwhile = (settings.workers / 2).clamp(1, settings.claim_batch);
        if room == 0 || (room < worthwhile && !inflight.is_empty()) {
            tokio::select! {
                _ = inflight.join_next() => {}
                _ = tokio::time::sleep(CLAIM_LINGER), if room > 0 => {}
                _ = cancel.cancelled() => break,
            }
            continue;
        }
        let limit = room.min(settings.claim_batch) as i64;
        let (exclude, admit) = (lanes.saturated(), lanes.admit());
        let claimed = recorder
            .claim(
                settings.instance.clone(),
                limit,
                settings.lease,
                exclude,
                Box::new(admit),
            )
            .await;
        let claimed = match claimed {
            Ok(c) if !c.is_empty() => c,
            Ok(_) => {
                tokio::select! {
                    _ = notify.notified() => {}
                    _ = inflight.join_next(), if !inflight.is_empty() => {}
                    _ = tokio::time::sleep(settings.poll_interval) => {}
                    _ = cancel.cancelled() => break,
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming deliveries failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(settings.poll_interval) => {}
                    _ = cancel.cancelled() => break,
                }
                continue;
            }
        };
        let jobs = match prepare(
            &db,
            claimed,
            &recorder,
            &cache,
            &vault,
            &clients,
            settings.max_batch_bytes,
        )
        .await
        {
            Ok(jobs) => jobs,
            Err(e) => {
                // The claims stay leased and come back when the lease ends.
                tracing::warn!(error = %e, "loading claimed deliveries failed");
                continue;
            }
        };
        for job in jobs {
            // Counted in its lane before the next claim looks at the lanes.
            let lane = lanes.hold(&job.webhook);
            let span = execute::job_span(&job);
            inflight.spawn(execute(job, lane, ctx.clone()).instrument(span));
        }
    }
    drain(inflight, settings.grace).await;
}

async fn drain(mut inflight: JoinSet<()>, grace: Duration) {
    let deadline = tokio::time::sleep(grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = inflight.join_next() => if next.is_none() { return },
            _ = &mut deadline => {
                tracing::warn!(left = inflight.len(), "grace period over; abandoning requests in flight");
                inflight.abort_all();
                while inflight.join_next().await.is_some() {}
                return;
            }
        }
    }
}
