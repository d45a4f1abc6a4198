//! Performing a claimed run and storing how it ended, with what it writes
//! and the runs its events trigger, in one transaction; and the trigger
//! index the queue keeps for every service that publishes.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use super::effects::{step_rows, Effects};
use super::lease::heartbeat;
use super::RunQueue;
use crate::db::runs::{Finish, Run, RunStatus};
use crate::db::time;
use crate::error::{Error, Result};
use crate::manifest::triggers::{self, TriggerIndex, Triggers};

impl RunQueue {
    /// Executes a claimed run and stores how it ended (or that it waits:
    /// a polling wait that would end after `park_by` gives the slot back).
    /// When the shutdown grace period ends first, it stops where it is,
    /// stores nothing, and shutdown hands it back to the queue.
    pub async fn perform(&self, run: Run, park_by: Instant) {
        // A trace of its own when traces are exported (at `debug` in the
        // log); its attributes are ids and the outcome, never the run's
        // configuration or tokens.
        let span = tracing::debug_span!(
            "integration run",
            otel.name = %format!("run {}", run.kind),
            otel.status_code = tracing::field::Empty,
            run_id = %run.id,
            integration_id = %run.integration_id,
            kind = %run.kind,
            status = tracing::field::Empty,
        );
        self.perform_traced(run, park_by).instrument(span).await;
    }

    /// [`RunQueue::perform`], inside its span.
    async fn perform_traced(&self, run: Run, park_by: Instant) {
        let started = Instant::now();
        // Long runs keep their claim while they run, and only then.
        let heartbeat = heartbeat(&self.db, &self.instance, &run.id);
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
        let span = tracing::Span::current();
        span.record("status", status.as_str());
        if status == RunStatus::Failed {
            span.record("otel.status_code", "ERROR");
        }
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
        let rows = step_rows(&run.id, &run.organization_id, &steps);
        let (id, instance) = (run.id.clone(), self.instance.clone());
        let vault = self.vault.clone();
        let integration_id = run.integration_id.clone();
        let user_id = run.user_id.clone();
        // Everything a run writes stays in its organization.
        let org = run.organization_id.clone();
        let triggers = match self.triggers().await {
            Ok(t) => t,
            Err(_) => Triggers::new(Arc::new(TriggerIndex::new()), self.limits.queued_runs()),
        };
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
                    triggers.queue_in(c, &org, &events)?;
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
    /// hookrelay makes itself use [`RunQueue::triggers`], inside their
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

    /// What a change hookrelay makes itself (a person, the organization's
    /// profile) needs to queue, inside its transaction, the runs of the
    /// events it records: the trigger index now and the waiting-runs quota.
    /// Call [`RunQueue::committed`] once the transaction committed.
    pub async fn triggers(&self) -> Result<Triggers> {
        Ok(Triggers::new(
            self.trigger_snapshot().await?,
            self.limits.queued_runs(),
        ))
    }

    /// The current trigger index (cached; other processes' changes show
    /// within 5 seconds).
    async fn trigger_snapshot(&self) -> Result<Arc<TriggerIndex>> {
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
}
