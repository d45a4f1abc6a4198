//! The durable run queue: runs are rows, queued in SQL, claimed by any
//! process, performed with the runner and finished with their step log.
//! Also `?wait=true` runs (inline, bounded), runs recorded outside the
//! queue (OAuth callbacks, form option fetches), and the run reads the API
//! answers.
//!
//! `RunQueue` is what the run worker, `?wait=true` and every service that
//! starts a run use. Its methods live in four files: submitting and reading
//! runs (here), performing one and storing how it ended (`perform.rs`), what
//! performing means for each kind, access checks included (`execute.rs`),
//! and the worker with its shutdown drain (`worker.rs`). Leaves: `lease.rs` (a run's heartbeat),
//! `effects.rs` (what a finished run writes), `quota.rs` (the waiting-runs
//! quota).

mod effects;
mod execute;
mod lease;
mod perform;
pub mod quota;
mod worker;

pub use effects::step_rows;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::inputs::Inputs;
use super::run::{Services, Step};
use super::triggers::TriggerCache;
use crate::db::runs::{Run, RunQuery, RunStatus, RunStep};
use crate::db::{time, Db};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::outbound::retry::RetryPolicy;
use crate::vault::Vault;

/// How long a claimed run is held before another process may take it over.
const LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// How long a run may sleep between polling attempts in its slot, in all,
/// per claim; a longer wait gives the slot back (the run is `waiting`).
const SLEEP_IN_SLOT: Duration = Duration::from_secs(1);

/// How a `?wait=true` run turned out.
pub enum Inline {
    /// It ran here and finished: the run and its steps.
    Finished(Run, Vec<RunStep>),
    /// Every inline slot was taken: it was queued for the run worker.
    Queued(Run),
    /// Still running when the wait ended; it finishes in the background.
    Running(Run),
}

/// The run queue of this process: what queues, performs and records runs.
pub struct RunQueue {
    db: Db,
    vault: Arc<Vault>,
    services: Arc<Services>,
    /// What a run starts from (config, token, user, form).
    inputs: Inputs,
    /// Wakes the run worker when a run is queued.
    wake: Notify,
    /// This process's name in run claims.
    instance: String,
    /// Delays before retrying a failed run (default: one retry after 1 h).
    retry: RetryPolicy,
    /// Wakes the delivery engine after hookrelay publishes events itself.
    deliveries_wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    triggers: TriggerCache,
    /// Slots for `?wait=true` runs executing at once (`HOOKRELAY_INLINE_RUNS`).
    inline: Arc<tokio::sync::Semaphore>,
    /// Longest a `?wait=true` request waits for its run.
    inline_wait: Duration,
    /// Per-organization quotas: waiting runs, and the people a sync may add.
    limits: crate::config::OrgLimits,
    /// Runs the worker executes at once (`HOOKRELAY_RUN_SLOTS`).
    slots: usize,
    /// Most of them one organization holds (`HOOKRELAY_RUN_SLOTS_PER_ORG`).
    per_org: Option<usize>,
    /// Every run task of this process, the worker's and inline ones: what
    /// shutdown waits for.
    tasks: TaskTracker,
    /// Fired when the shutdown grace period is over: runs still going stop
    /// where they are and are handed back to the queue.
    abandon: CancellationToken,
}

/// How this process runs integrations.
pub struct RunSettings {
    /// This process's name in run claims.
    pub instance: String,
    pub retry: RetryPolicy,
    /// `?wait=true` runs executing at once; more are queued.
    pub inline_runs: usize,
    /// Longest a `?wait=true` request waits for its run.
    pub inline_wait: Duration,
    /// Per-organization quotas.
    pub limits: crate::config::OrgLimits,
    /// Runs the worker executes at once.
    pub slots: usize,
    /// Most of the worker's slots one organization holds (`None`: no cap).
    pub per_org: Option<usize>,
}

impl RunQueue {
    pub fn new(
        db: Db,
        vault: Arc<Vault>,
        services: Arc<Services>,
        inputs: Inputs,
        settings: RunSettings,
        deliveries_wake: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> RunQueue {
        RunQueue {
            db,
            vault,
            services,
            inputs,
            wake: Notify::new(),
            instance: settings.instance,
            retry: settings.retry,
            deliveries_wake,
            metrics,
            triggers: TriggerCache::default(),
            inline: Arc::new(tokio::sync::Semaphore::new(settings.inline_runs)),
            inline_wait: settings.inline_wait,
            limits: settings.limits,
            slots: settings.slots.max(1),
            per_org: settings.per_org,
            tasks: TaskTracker::new(),
            abandon: CancellationToken::new(),
        }
    }

    /// Queues a run for the worker; 429 while its organization has
    /// `HOOKRELAY_MAX_QUEUED_RUNS_PER_ORG` runs waiting.
    pub async fn enqueue(&self, run: Run) -> Result<Run> {
        let stored = run.clone();
        let limit = self.limits.queued_runs();
        self.db
            .write(move |c| {
                use diesel::Connection;
                c.transaction(|c| {
                    quota::room_for_run(c, limit, &stored.organization_id)?;
                    Ok(stored.insert(c)?)
                })
            })
            .await?;
        self.wake.notify_one();
        Ok(run)
    }

    /// Queues `run`, or with `wait` runs it here (see
    /// [`RunQueue::run_inline`]).
    pub async fn submit(self: &Arc<Self>, run: Run, wait: bool) -> Result<Inline> {
        if wait {
            self.run_inline(run).await
        } else {
            Ok(Inline::Queued(self.enqueue(run).await?))
        }
    }

    /// Runs `run` here and now (access checks) and returns it finished.
    /// Should the caller go away mid-run, the run keeps its claim only until
    /// the lease ends (the heartbeat stops with it); the run worker then
    /// runs it again.
    pub async fn run_now(&self, run: Run) -> Result<Run> {
        let run = self.start(run).await?;
        let (org, id) = (run.organization_id.clone(), run.id.clone());
        self.perform(run, Instant::now() + SLEEP_IN_SLOT).await;
        self.find_run(org, id).await
    }

    /// The API's `?wait=true`: runs `run` in this process if an inline slot
    /// is free (else queues it) and waits for it up to the wait bound. The
    /// run executes in its own task, so a client that disconnects or times
    /// out stops only the waiting: the run is never cut half-way through its
    /// calls, and it still ends `succeeded`, `failed`, …, not `running`.
    pub async fn run_inline(self: &Arc<Self>, run: Run) -> Result<Inline> {
        let Ok(slot) = self.inline.clone().try_acquire_owned() else {
            return Ok(Inline::Queued(self.enqueue(run).await?));
        };
        let run = self.start(run).await?;
        let (org, id) = (run.organization_id.clone(), run.id.clone());
        let me = self.clone();
        // Polling sleeps in place while the caller waits; a wait past its
        // patience goes back to the queue instead (the run is `waiting`).
        let patience = Instant::now() + self.inline_wait;
        let task = self.tasks.spawn(async move {
            me.perform(run, patience).await;
            drop(slot);
        });
        let finished = tokio::time::timeout(self.inline_wait, task).await.is_ok();
        if finished {
            let (run, steps) = self.run_with_steps(org, id).await?;
            if run.run_status() != RunStatus::Waiting {
                return Ok(Inline::Finished(run, steps));
            }
            return Ok(Inline::Running(run));
        }
        Ok(Inline::Running(self.find_run(org, id).await?))
    }

    /// Stores `run` as running, claimed by this process.
    async fn start(&self, mut run: Run) -> Result<Run> {
        let now = time::now();
        run.status = RunStatus::Running.into();
        run.claimed_by = Some(self.instance.clone());
        run.started_at = Some(now);
        run.next_run_at = now + LEASE;
        let stored = run.clone();
        self.db.write(move |c| Ok(stored.insert(c)?)).await?;
        Ok(run)
    }

    /// Run `id` of organization `org` (404 if none).
    async fn find_run(&self, org: String, id: String) -> Result<Run> {
        self.db
            .read(move |c| Run::find(c, &org, &id)?.ok_or_else(|| Error::not_found("run", &id)))
            .await
    }

    /// Runs matching `query`, newest first.
    pub async fn list_runs(&self, query: RunQuery) -> Result<Vec<Run>> {
        self.db.read(move |c| Ok(Run::list(c, &query)?)).await
    }

    /// A run of organization `org` and its steps (404 if none).
    pub async fn run_with_steps(&self, org: String, id: String) -> Result<(Run, Vec<RunStep>)> {
        self.db
            .read(move |c| {
                let run = Run::find(c, &org, &id)?.ok_or_else(|| Error::not_found("run", &id))?;
                let steps = Run::steps(c, &id)?;
                Ok((run, steps))
            })
            .await
    }

    /// Runs `id` (of organization `org`) again with the same integration,
    /// user and form (409 for kinds that cannot be re-run).
    pub async fn rerun(self: &Arc<Self>, org: String, id: String, wait: bool) -> Result<Inline> {
        let old = self.find_run(org, id).await?;
        if !old.run_kind().can_rerun() {
            return Err(Error::conflict(
                crate::error::ErrorCode::CannotRerun,
                format!("{} runs cannot be re-run; start a new one", old.kind),
            ));
        }
        self.submit(Run::rerun_of(old), wait).await
    }

    /// Records a run that happened outside the queue (OAuth callbacks, form
    /// option fetches), with its steps.
    pub async fn record(
        &self,
        mut run: Run,
        status: RunStatus,
        error: Option<String>,
        steps: &[Step],
    ) -> Result<Run> {
        let now = time::now();
        run.status = status.into();
        run.error = error;
        run.started_at = Some(run.created_at);
        run.finished_at = Some(now);
        let rows = step_rows(&run.id, &run.organization_id, steps);
        let stored = run.clone();
        self.db
            .write(move |c| {
                use diesel::Connection;
                c.transaction::<_, Error, _>(|c| {
                    stored.insert(c)?;
                    Ok(RunStep::insert_all(c, &rows)?)
                })
            })
            .await?;
        Ok(run)
    }
}
