//! One request's task: waits for its lane and a worker slot, sends, and
//! hands the outcome to the recorder.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::settle::{settle, Outcome};
use super::{Job, WorkerSettings};
use crate::db::deliveries::{Delivery, DeliveryStatus, Settlement};
use crate::db::history::{AttemptRecord, Trigger};
use crate::db::{time, Db};
use crate::delivery::attempt_span::{log_span, AttemptTrace};
use crate::delivery::lanes::{LanePermits, Lanes};
use crate::delivery::payload::{message_id, render, EventDoc};
use crate::delivery::recorder::{history_row, AttemptContext, Record, Recorder};
use crate::delivery::send::{send, Exchange};
use crate::metrics::Metrics;

/// Time a request needs after it starts: its timeout, then its recording.
fn time_to_finish(request_timeout: Duration) -> chrono::Duration {
    chrono::Duration::from_std(request_timeout + Duration::from_secs(15)).unwrap_or_default()
}

/// What a delivery task needs besides its job: one per dispatcher, shared
/// by its tasks (an `Arc` each, not a clone of every handle).
pub(super) struct TaskContext {
    pub(super) db: Db,
    /// The worker slots: requests in flight at once.
    pub(super) slots: Arc<Semaphore>,
    pub(super) cancel: CancellationToken,
    pub(super) recorder: Recorder,
    pub(super) settings: Arc<WorkerSettings>,
    pub(super) lanes: Lanes,
    pub(super) metrics: Arc<Metrics>,
}

/// The log's span of one job (see [`log_span`]).
pub(super) fn job_span(job: &Job) -> tracing::Span {
    log_span(
        &job.webhook,
        Some(&job.deliveries[0].event_id),
        job.deliveries.len(),
    )
}

/// Releases a job's place in its lane however the task ends (even aborted).
struct LaneGuard<'a>(&'a Lanes, &'a str);

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        self.0.release(self.1);
    }
}

/// Waits for its lane and a worker slot, sends one request and hands the
/// result to the recorder.
pub(super) async fn execute(job: Job, lane: LanePermits, ctx: Arc<TaskContext>) {
    let w = &job.webhook;
    let (gate, limiter) = lane;
    let _lane_guard = LaneGuard(&ctx.lanes, &w.id);
    let turn = async {
        let in_flight = gate.acquire().await;
        if let Some(l) = limiter {
            l.until_ready().await;
        }
        // The global slot last: a request waiting for its lane holds none.
        let slot: OwnedSemaphorePermit = ctx
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore is never closed");
        (in_flight, slot)
    };
    // Shutting down, a request not yet started stays unsent: the engine
    // hands this process's claims back.
    let (lane_permit, _slot) = tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => return,
        permits = turn => permits,
    };
    // One claim's deliveries share one lease.
    let lease = job.deliveries[0].lease;
    if lease - time::now() < time_to_finish(ctx.settings.request_timeout) {
        Box::pin(hand_back(&ctx.db, &job, lease)).await;
        return;
    }
    let format = w.format;
    let docs: Vec<&EventDoc> = job.docs.iter().map(Arc::as_ref).collect();
    let rendered = render(format, w.max_events_per_request > 1, &docs);
    let event_ids: Vec<String> = job.deliveries.iter().map(|d| d.event_id.clone()).collect();
    let delivery_ids: Vec<String> = job.deliveries.iter().map(|d| d.id.clone()).collect();
    let msg_id = message_id(&event_ids);
    let busy = ctx.metrics.busy();
    let trace = AttemptTrace::start(
        w,
        Some(&job.deliveries[0].event_id),
        job.deliveries.len(),
        Some(&job.docs[0]),
    );
    // Boxed: inline, its state would make every task's future (moved
    // whole at each spawn) over a kilobyte larger.
    let ex = Box::pin(send(
        &job.target,
        &msg_id,
        &rendered,
        job.signer.as_deref(),
        trace.propagation(),
    ))
    .await;
    drop(busy);
    // The lane learns from the answer before its place is given back.
    if let Some(change) = lane_permit.answered(ex.signal(), ex.retry_after) {
        ctx.metrics
            .lane_changed(change.to > change.from, change.reason.as_str());
    }
    drop(lane_permit);
    let attempt = job
        .deliveries
        .iter()
        .map(|d| d.attempts)
        .max()
        .unwrap_or(1)
        .max(1);
    trace.finish(attempt, &ex);
    let schedule = w.retry_schedule.as_deref();
    let outcome = settle(
        schedule,
        &ex,
        attempt as u32,
        &ctx.settings.retry,
        time::now(),
    );
    let Outcome {
        status,
        next_attempt_at,
        error,
    } = outcome;
    ctx.metrics.attempt(status, Trigger::Auto, ex.duration);
    trace.in_scope(|| log_attempt(&w.id, &event_ids[0], status, &ex, error.as_deref(), attempt));
    let settlements = delivery_ids
        .iter()
        .map(|id| Settlement {
            delivery_id: id.clone(),
            status,
            next_attempt_at,
            status_code: ex.status.map(i32::from),
            error: error.clone(),
            lease: Some(lease),
            organization_id: w.organization_id.clone(),
        })
        .collect();
    let actx = AttemptContext {
        organization_id: &w.organization_id,
        webhook_id: &w.id,
        url: &w.url,
        event_type: &job.event_type,
        event_ids: &event_ids,
        delivery_ids: &delivery_ids,
        attempt,
        trigger: Trigger::Auto,
    };
    let row = history_row(&actx, &rendered, &ex);
    ctx.recorder.submit(Record::Attempt(Box::new(AttemptRecord {
        row,
        batch_event_ids: event_ids,
        settlements,
    })));
}

/// Returns a job's claims to the queue unsent: it waited here so long that
/// its lease could run out mid-request, and another process might then send
/// the same deliveries.
async fn hand_back(db: &Db, job: &Job, lease: NaiveDateTime) {
    let ids: Vec<String> = job.deliveries.iter().map(|d| d.id.clone()).collect();
    tracing::warn!(
        webhook_id = %job.webhook.id,
        deliveries = ids.len(),
        "claims waited too long in this process; handed back unsent"
    );
    let done = db
        .write(move |c| Ok(Delivery::hand_back(c, &ids, lease, time::now())?))
        .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, "could not hand claims back; their leases will expire");
    }
}

/// One line per failed attempt (at info, with its ids, whatever the span
/// level), one per success at debug.
pub fn log_attempt(
    webhook_id: &str,
    event_id: &str,
    outcome: DeliveryStatus,
    ex: &Exchange,
    error: Option<&str>,
    attempt: i32,
) {
    let ms = ex.duration.as_millis() as u64;
    let code = ex.status.unwrap_or(0);
    if outcome == DeliveryStatus::Succeeded {
        tracing::debug!(
            webhook_id,
            event_id,
            status_code = code,
            duration_ms = ms,
            attempt,
            "delivered"
        );
    } else {
        tracing::info!(
            webhook_id,
            event_id,
            status_code = code,
            duration_ms = ms,
            attempt,
            outcome = outcome.as_str(),
            error = error.unwrap_or(""),
            "delivery attempt failed"
        );
    }
}
