//! The dispatcher: claims due deliveries and runs one task per request.
//!
//! It holds up to two rounds of work: the requests in flight (one per worker
//! slot) and as many again queued behind them, so a slot that frees up starts
//! its next request at once instead of waiting for the next claim's commit.
//! Lanes cap what each webhook may hold (see `lanes`). A request that waited
//! so long that its lease might run out before it is recorded is handed back
//! unsent, so a delivery is never sent by two processes at once.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::cache::{CachedEvent, EventCache};
use super::lanes::{LanePermits, Lanes};
use super::payload::{render, signer_for, EventDoc, Format};
use super::recorder::{history_row, AttemptContext, Record, Recorder, Trigger};
use super::send::{send, Exchange};
use crate::db::deliveries::{Claimed, Delivery, Settlement};
use crate::db::events::Event;
use crate::db::history::AttemptRecord;
use crate::db::webhooks::Webhook;
use crate::db::{time, Db};
use crate::metrics::Metrics;
use crate::outbound::HttpClients;
use crate::outbound::RetryPolicy;
use crate::signing::Signer;
use crate::vault::Vault;
use tracing::Instrument;

/// Longest wait for more room before claiming for the room there is.
const CLAIM_LINGER: Duration = Duration::from_millis(2);

/// Requests held (in flight or queued), in multiples of the worker slots.
const HELD_ROUNDS: usize = 2;

/// Time a request needs after it starts: its timeout, then its recording.
fn time_to_finish(request_timeout: Duration) -> chrono::Duration {
    chrono::Duration::from_std(request_timeout + Duration::from_secs(15)).unwrap_or_default()
}

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
    signer: Option<Arc<Signer>>,
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
            let ctx = TaskContext {
                db: db.clone(),
                slots: slots.clone(),
                cancel: cancel.clone(),
                clients: clients.clone(),
                recorder: recorder.clone(),
                settings: settings.clone(),
                lanes: lanes.clone(),
                metrics: metrics.clone(),
            };
            let span = tracing::debug_span!(
                "delivery",
                webhook_id = %job.webhook.id,
                event_id = %job.deliveries[0].event_id
            );
            inflight.spawn(execute(job, lane, ctx).instrument(span));
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

/// A claimed webhook and its signer (or why its secret cannot be opened).
type LoadedHook = (Arc<Webhook>, Result<Option<Arc<Signer>>, String>);

/// Loads the events and webhooks of a claim and groups them into requests.
async fn prepare(
    db: &Db,
    claimed: Vec<Claimed>,
    recorder: &Recorder,
    cache: &EventCache,
    vault: &Vault,
    max_batch_bytes: usize,
) -> crate::error::ApiResult<Vec<Job>> {
    let mut docs: HashMap<String, CachedEvent> = HashMap::with_capacity(claimed.len());
    let mut event_ids: Vec<String> = Vec::new();
    for c in &claimed {
        if docs.contains_key(&c.event_id) {
            continue;
        }
        match cache.get(&c.event_id) {
            Some(hit) => {
                docs.insert(c.event_id.clone(), hit);
            }
            None => event_ids.push(c.event_id.clone()),
        }
    }
    event_ids.sort();
    event_ids.dedup();
    let mut webhook_ids: Vec<String> = claimed.iter().map(|c| c.webhook_id.clone()).collect();
    webhook_ids.sort();
    webhook_ids.dedup();
    let (events, hooks) = db
        .read(move |c| {
            let events = if event_ids.is_empty() {
                Vec::new()
            } else {
                Event::find_many(c, &event_ids)?
            };
            Ok((events, Webhook::find_many(c, &webhook_ids)?))
        })
        .await?;
    for e in events {
        match EventDoc::from_payload(&e.payload) {
            Ok(doc) => {
                docs.insert(e.id, (Arc::new(doc), e.event_type));
            }
            Err(err) => {
                tracing::error!(event_id = %e.id, error = %err, "stored event cannot be rendered")
            }
        }
    }
    let now = time::now();
    let hooks: HashMap<String, LoadedHook> = hooks
        .into_iter()
        .map(|w| {
            let signer = signer_for(&w, vault, now).map(|s| s.map(Arc::new));
            (w.id.clone(), (Arc::new(w), signer))
        })
        .collect();

    let mut per_hook: HashMap<String, Vec<Claimed>> = HashMap::new();
    let mut unusable = Vec::new();
    let mut unsigned: Vec<String> = Vec::new();
    let mut unsigned_why = String::new();
    for c in claimed {
        match hooks.get(&c.webhook_id) {
            Some((w, _)) if !w.active => unusable.push(dead(&c, "webhook is disabled")),
            Some((w, Err(e))) => {
                // Not this delivery's fault (e.g. this process lacks the
                // master key its secret is sealed with): back to the queue.
                tracing::error!(webhook_id = %w.id, error = %e, "cannot sign deliveries");
                unsigned_why.clone_from(e);
                unsigned.push(c.id);
            }
            Some(_) if docs.contains_key(&c.event_id) => {
                per_hook.entry(c.webhook_id.clone()).or_default().push(c)
            }
            Some(_) => unusable.push(dead(&c, "event cannot be rendered")),
            // Deleted meanwhile: its deliveries were deleted with it.
            None => {}
        }
    }
    if !unsigned.is_empty() {
        let retry_at = now + chrono::Duration::seconds(30);
        db.write(move |c| {
            Ok(Delivery::unclaim(
                c,
                &unsigned,
                retry_at,
                &unsigned_why,
                time::now(),
            )?)
        })
        .await?;
    }
    if !unusable.is_empty() {
        recorder.submit(Record::Settle(unusable));
    }
    let mut jobs = Vec::new();
    for (hook_id, list) in per_hook {
        let (webhook, signer) = match &hooks[&hook_id] {
            (w, Ok(signer)) => (w.clone(), signer.clone()),
            (_, Err(_)) => unreachable!("unsignable webhooks were settled above"),
        };
        let per_request = webhook.max_events_per_request.max(1) as usize;
        let size = |c: &Claimed| docs[&c.event_id].0.text_len;
        for deliveries in group(list, per_request, max_batch_bytes, size) {
            let docs_for: Vec<Arc<EventDoc>> = deliveries
                .iter()
                .map(|d| docs[&d.event_id].0.clone())
                .collect();
            let event_type = docs[&deliveries[0].event_id].1.clone();
            jobs.push(Job {
                webhook: webhook.clone(),
                signer: signer.clone(),
                deliveries,
                docs: docs_for,
                event_type,
            });
        }
    }
    Ok(jobs)
}

/// Splits one webhook's deliveries into requests, in order: at most
/// `per_request` events and `max_bytes` of event text each, but always at
/// least one event (an oversized one travels alone).
fn group<T>(
    list: Vec<T>,
    per_request: usize,
    max_bytes: usize,
    size: impl Fn(&T) -> usize,
) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut bytes = 0;
    for item in list {
        let n = size(&item);
        match out.last_mut() {
            Some(cur) if cur.len() < per_request && bytes + n <= max_bytes => {
                bytes += n;
                cur.push(item);
            }
            _ => {
                bytes = n;
                out.push(vec![item]);
            }
        }
    }
    out
}

fn dead(c: &Claimed, why: &str) -> Settlement {
    Settlement {
        delivery_id: c.id.clone(),
        status: "dead",
        next_attempt_at: time::now(),
        status_code: None,
        error: Some(why.to_string()),
        lease: Some(c.lease),
    }
}

/// What a delivery task needs besides its job.
struct TaskContext {
    db: Db,
    /// The worker slots: requests in flight at once.
    slots: Arc<Semaphore>,
    cancel: CancellationToken,
    clients: HttpClients,
    recorder: Recorder,
    settings: Arc<WorkerSettings>,
    lanes: Lanes,
    metrics: Arc<Metrics>,
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
async fn execute(job: Job, lane: LanePermits, ctx: TaskContext) {
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
        hand_back(&ctx.db, &job, lease).await;
        return;
    }
    let format = Format::parse(&w.format).unwrap_or(Format::Json);
    let docs: Vec<&EventDoc> = job.docs.iter().map(Arc::as_ref).collect();
    let rendered = render(format, w.max_events_per_request > 1, &docs);
    let event_ids: Vec<String> = job.deliveries.iter().map(|d| d.event_id.clone()).collect();
    let delivery_ids: Vec<String> = job.deliveries.iter().map(|d| d.id.clone()).collect();
    let msg_id = message_id(&event_ids);
    let busy = ctx.metrics.busy();
    let ex = send(
        &ctx.clients,
        &w.url,
        w.verify_ssl,
        &msg_id,
        &rendered,
        job.signer.as_deref(),
    )
    .await;
    drop(busy);
    // The lane learns from the answer before its place is given back.
    if let Some(change) = lane_permit.answered(ex.signal(), ex.retry_after) {
        ctx.metrics.lane_changed(&change);
    }
    drop(lane_permit);
    let attempt = job
        .deliveries
        .iter()
        .map(|d| d.attempts)
        .max()
        .unwrap_or(1)
        .max(1);
    let (status, next, error) = settle(w, &ex, attempt as u32, &ctx.settings.retry);
    ctx.metrics.attempt(status, "auto", ex.duration);
    log_attempt(&w.id, &event_ids[0], status, &ex, error.as_deref(), attempt);
    let settlements = delivery_ids
        .iter()
        .map(|id| Settlement {
            delivery_id: id.clone(),
            status,
            next_attempt_at: next,
            status_code: ex.status.map(i32::from),
            error: error.clone(),
            lease: Some(lease),
        })
        .collect();
    let actx = AttemptContext {
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
    outcome: &str,
    ex: &Exchange,
    error: Option<&str>,
    attempt: i32,
) {
    let ms = ex.duration.as_millis() as u64;
    let code = ex.status.unwrap_or(0);
    if outcome == "succeeded" {
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
            outcome,
            error = error.unwrap_or(""),
            "delivery attempt failed"
        );
    }
}

/// The delivery state after attempt `attempt`: succeeded, failed (with the
/// time of the next try) or dead.
fn settle(
    w: &Webhook,
    ex: &Exchange,
    attempt: u32,
    default: &RetryPolicy,
) -> (&'static str, chrono::NaiveDateTime, Option<String>) {
    if ex.succeeded() {
        return ("succeeded", ex.sent_at, None);
    }
    let error = ex
        .error
        .clone()
        .unwrap_or_else(|| format!("receiver answered HTTP {}", ex.status.unwrap_or(0)));
    if ex.status == Some(410) {
        return (
            "dead",
            ex.sent_at,
            Some(format!("{error}; the webhook is disabled")),
        );
    }
    let policy = webhook_policy(w).unwrap_or_else(|| default.clone());
    let Some(mut delay) = policy.next_delay(attempt) else {
        return (
            "dead",
            ex.sent_at,
            Some(format!("{error}; no attempts left")),
        );
    };
    if let Some(asked) = ex.retry_after {
        // Honour the receiver, but never beyond twice the planned step.
        let cap = policy.base_delay(attempt).unwrap_or(delay) * 2;
        delay = asked.min(cap);
    }
    (
        "failed",
        time::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
        Some(error),
    )
}

/// The webhook's own schedule, when it overrides the deployment's.
pub fn webhook_policy(w: &Webhook) -> Option<RetryPolicy> {
    let list: Vec<String> = serde_json::from_str(w.retry_schedule.as_deref()?).ok()?;
    let delays = list
        .iter()
        .map(|s| humantime::parse_duration(s))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    Some(RetryPolicy::new(delays))
}

/// The `Webhook-Id` of a request: the event id, or for a batch a digest of
/// its event ids, so a retried or re-sent request keeps its id.
pub fn message_id(event_ids: &[String]) -> String {
    match event_ids {
        [one] => one.clone(),
        many => {
            let digest = Sha256::digest(many.join(",").as_bytes());
            format!("batch_{}", &hex::encode(digest)[..26])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn groups_by_count() {
        let g = group(vec![1, 1, 1, 1, 1], 2, 1000, |n| *n);
        assert_eq!(g, vec![vec![1, 1], vec![1, 1], vec![1]]);
    }

    #[test]
    fn groups_by_bytes() {
        // 256 events of 400 KiB under a 1 MiB bound: two per request.
        let kib = 1024;
        let g = group(vec![400 * kib; 256], 256, 1024 * kib, |n| *n);
        assert_eq!(g.len(), 128);
        assert!(g.iter().all(|r| r.len() == 2));
    }

    #[test]
    fn oversized_event_travels_alone() {
        let g = group(vec![10, 5000, 10, 10], 10, 100, |n| *n);
        assert_eq!(g, vec![vec![10], vec![5000], vec![10, 10]]);
    }
}
