//! The durable run queue: runs are rows, queued in SQL, claimed by any
//! process, performed with the runner and finished with their step log.
//! Also `?wait=true` runs (inline, bounded) and runs recorded outside the
//! queue (OAuth callbacks, form option fetches).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::effects::{step_rows, Effects};
use super::run::{Services, Step};
use super::triggers::{self, TriggerCache, TriggerIndex};
use crate::db::runs::{Finish, Run, RunStatus, RunStep};
use crate::db::{time, Db};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::outbound::retry::RetryPolicy;
use crate::vault::Vault;

/// How long a claimed run is held before another process may take it over.
pub(super) const LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// How long a run may sleep between polling attempts in its slot, in all,
/// per claim; a longer wait gives the slot back (the run is `waiting`).
pub(super) const SLEEP_IN_SLOT: Duration = Duration::from_secs(1);

/// How a `?wait=true` run turned out.
pub enum Inline {
    /// It ran here and finished: the run and its steps.
    Finished(Run, Vec<RunStep>),
    /// Every inline slot was taken: it was queued for the run worker.
    Queued(Run),
    /// Still running when the wait ended; it finishes in the background.
    Running(Run),
}

/// What running integrations needs.
pub struct Integrations {
    pub db: Db,
    pub vault: Arc<Vault>,
    pub services: Services,
    /// Wakes the run worker when a run is queued.
    pub wake: Arc<Notify>,
    pub instance: String,
    /// Delays before retrying a failed run (default: one retry after 1 h).
    pub retry: RetryPolicy,
    /// Public base URL (for `redirect_url`).
    pub public_url: String,
    /// Wakes the delivery engine after hookrelay publishes events itself.
    pub deliveries_wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    pub(super) triggers: TriggerCache,
    /// Slots for `?wait=true` runs executing at once (`HOOKRELAY_INLINE_RUNS`).
    pub(super) inline: Arc<tokio::sync::Semaphore>,
    /// Longest a `?wait=true` request waits for its run.
    pub(super) inline_wait: Duration,
    /// Per-organization quotas: people, integrations, waiting runs, OAuth
    /// states.
    pub limits: crate::config::OrgLimits,
    /// Runs the worker executes at once (`HOOKRELAY_RUN_SLOTS`).
    pub(super) slots: usize,
    /// Most of them one organization holds (`HOOKRELAY_RUN_SLOTS_PER_ORG`).
    pub(super) per_org: Option<usize>,
    /// Every run task of this process, the worker's and inline ones: what
    /// shutdown waits for.
    pub(super) tasks: TaskTracker,
    /// Fired when the shutdown grace period is over: runs still going stop
    /// where they are and are handed back to the queue.
    pub(super) abandon: CancellationToken,
}

/// How this process runs integrations.
pub struct RunSettings {
    /// This process's name in run claims.
    pub instance: String,
    pub retry: RetryPolicy,
    /// Public base URL (for `redirect_url`).
    pub public_url: String,
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

impl Integrations {
    pub fn new(
        db: Db,
        vault: Arc<Vault>,
        services: Services,
        settings: RunSettings,
        deliveries_wake: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> Integrations {
        Integrations {
            db,
            vault,
            services,
            wake: Arc::new(Notify::new()),
            instance: settings.instance,
            retry: settings.retry,
            public_url: settings.public_url,
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
                    super::quota::room_for_run(c, limit, &stored.organization_id)?;
                    Ok(stored.insert(c)?)
                })
            })
            .await?;
        self.wake.notify_one();
        Ok(run)
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
    pub(super) async fn find_run(&self, org: String, id: String) -> Result<Run> {
        self.db
            .read(move |c| Run::find(c, &org, &id)?.ok_or_else(|| Error::not_found("run", &id)))
            .await
    }

    /// Executes a claimed run and stores how it ended (or that it waits:
    /// a polling wait that would end after `park_by` gives the slot back).
    /// When the shutdown grace period ends first, it stops where it is,
    /// stores nothing, and shutdown hands it back to the queue.
    pub async fn perform(&self, run: Run, park_by: Instant) {
        let started = Instant::now();
        // Long runs keep their claim while they run, and only then.
        let heartbeat = self.heartbeat(&run.id);
        let executed = tokio::select! {
            done = self.execute(&run, park_by) => done,
            () = self.abandon.cancelled() => {
                tracing::info!(run_id = %run.id, "shutdown: the run stops unfinished and goes back to the queue");
                return;
            }
        };
        drop(heartbeat);
        let (finish, steps, effects) = match executed {
            Ok(done) => done,
            Err(e) => (
                Finish {
                    status: RunStatus::Failed,
                    error: Some(e.to_string()),
                    result: None,
                    next_run_at: None,
                    resume: None,
                },
                Vec::new(),
                Effects::default(),
            ),
        };
        let status = finish.status;
        if status == RunStatus::Waiting {
            tracing::debug!(run_id = %run.id, steps = steps.len(), "integration run waits between polling attempts");
        } else {
            self.metrics.run_finished(&run.kind, status.as_str());
            tracing::info!(
                run_id = %run.id,
                integration_id = %run.integration_id,
                kind = %run.kind,
                status = status.as_str(),
                steps = steps.len(),
                ms = started.elapsed().as_millis() as u64,
                "integration run finished"
            );
        }
        let rows = step_rows(&run.id, &steps);
        let (id, instance) = (run.id.clone(), self.instance.clone());
        let vault = self.vault.clone();
        let integration_id = run.integration_id.clone();
        let user_id = run.user_id.clone();
        // Everything a run writes stays in its organization.
        let org = run.organization_id.clone();
        let index = match self.trigger_snapshot().await {
            Ok(i) => i,
            Err(_) => Arc::new(TriggerIndex::new()),
        };
        let limit = self.limits.queued_runs();
        let mut effects = effects;
        effects.max_users = self.limits.users();
        let result = self
            .db
            .write(move |c| {
                use diesel::Connection;
                c.transaction::<_, Error, _>(|c| {
                    let now = time::now();
                    if !Run::finish(c, &id, &instance, &finish, &rows, now)? {
                        return Ok(false);
                    }
                    let events =
                        effects.apply(c, &vault, &org, &integration_id, user_id.as_deref(), now)?;
                    triggers::queue_in(c, &index, limit, &org, &events)?;
                    Ok(!events.is_empty())
                })
            })
            .await;
        match result {
            Ok(true) => self.committed(),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(run_id = %run.id, error = %e, "could not store a run's outcome; it runs again when its claim expires")
            }
        }
        if status == RunStatus::RetryScheduled {
            self.wake.notify_one();
        }
    }

    /// Queues the runs that events published through the API in
    /// organization `org` trigger: an integration of `org` listing an event
    /// type in `triggers` runs for the user of `org` whose email the event's
    /// entity carries. Runs after the events are committed (changes
    /// hookrelay makes itself use [`triggers::queue_in`], inside their
    /// transaction).
    pub async fn trigger_texts(&self, org: &str, events: &[(&str, &str)]) -> Result<usize> {
        let index = self.trigger_snapshot().await?;
        let n =
            triggers::queue_texts(&self.db, &index, self.limits.queued_runs(), org, events).await?;
        if n > 0 {
            self.wake.notify_one();
        }
        Ok(n)
    }

    /// The current trigger index (cached; other processes' changes show
    /// within 5 seconds).
    pub async fn trigger_snapshot(&self) -> Result<Arc<TriggerIndex>> {
        self.triggers.snapshot(&self.db).await
    }

    /// Forgets the cached trigger index (an integration changed).
    pub fn invalidate_triggers(&self) {
        self.triggers.invalidate();
    }

    /// After a transaction that published events (and maybe queued runs)
    /// committed: wake the delivery engine and the run worker.
    pub fn committed(&self) {
        self.deliveries_wake.notify_one();
        self.wake.notify_one();
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
        let rows = step_rows(&run.id, steps);
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
