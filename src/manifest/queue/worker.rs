//! The run worker: claims due runs, shared fairly among organizations with
//! none holding more than its share of the slots, and performs them; queues
//! the syncs whose schedule is due; and at shutdown gives the runs in flight
//! the grace period, then hands back those still going (issue 25, item 1).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Map;
use tokio_util::sync::CancellationToken;

use super::{RunQueue, LEASE, SLEEP_IN_SLOT};
use crate::db::integrations::Integration;
use crate::db::runs::{Claim, Run, RunKind, TriggeredBy};
use crate::db::time;
use crate::error::Result;
use crate::manifest::sync::next_sync;

/// The worker's slots each organization holds now.
type Held = Arc<Mutex<HashMap<String, usize>>>;

impl RunQueue {
    /// The worker: claims due runs and performs them, up to the slots of
    /// this process; also queues scheduled syncs. Returns once `cancel`
    /// fires, leaving its runs to [`RunQueue::drain`].
    pub async fn work(self: Arc<Self>, cancel: CancellationToken, poll: Duration) {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.slots));
        let held: Held = Arc::default();
        let mut cursor = String::new();
        let mut last_schedule = Instant::now() - Duration::from_secs(60);
        while !cancel.is_cancelled() {
            if last_schedule.elapsed() >= Duration::from_secs(5) {
                last_schedule = Instant::now();
                if let Err(e) = self.schedule_syncs().await {
                    tracing::warn!(error = %e, "scheduling syncs failed");
                }
            }
            let claimed = self
                .claim(slots.available_permits(), &held, &mut cursor)
                .await;
            if claimed.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = cancel.cancelled() => break,
                }
                continue;
            }
            for run in claimed {
                let permit = slots.clone().acquire_owned().await.expect("never closed");
                let org = run.organization_id.clone();
                *held
                    .lock()
                    .expect("not poisoned")
                    .entry(org.clone())
                    .or_default() += 1;
                let (me, held) = (self.clone(), held.clone());
                self.tasks.spawn(async move {
                    me.perform(run, Instant::now() + SLEEP_IN_SLOT).await;
                    let mut h = held.lock().expect("not poisoned");
                    if let Some(n) = h.get_mut(&org) {
                        *n -= 1;
                        if *n == 0 {
                            h.remove(&org);
                        }
                    }
                    drop(h);
                    drop(permit);
                    // A slot is free: another organization's run may be due.
                    me.wake.notify_one();
                });
            }
        }
    }

    /// Claims up to `free` due runs, fairly among organizations, none
    /// beyond its cap of slots (counting those it `held`).
    async fn claim(&self, free: usize, held: &Held, cursor: &mut String) -> Vec<Run> {
        if free == 0 {
            return Vec::new();
        }
        let snapshot = held.lock().expect("not poisoned").clone();
        let (instance, cap, mut turn) = (self.instance.clone(), self.per_org, cursor.clone());
        let claimed = self
            .db
            .write(move |c| {
                let now = time::now();
                let claim = Claim {
                    instance: &instance,
                    now,
                    lease_until: now + LEASE,
                    room: free,
                    held: &snapshot,
                    cap,
                };
                let runs = Run::claim(c, &claim, &mut turn)?;
                Ok((runs, turn))
            })
            .await;
        match claimed {
            Ok((runs, turn)) => {
                *cursor = turn;
                runs
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming runs failed");
                Vec::new()
            }
        }
    }

    /// Shutdown: the runs in flight here (the worker's and inline ones)
    /// get `grace` to finish; those still going then stop and, with any
    /// other run this process claimed, go back to the queue, due at once
    /// (a run that had waited resumes where it stopped).
    pub async fn drain(&self, grace: Duration) {
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                left = self.tasks.len(),
                "grace period over; handing unfinished integration runs back to the queue"
            );
            self.abandon.cancel();
            self.tasks.wait().await;
        }
        let instance = self.instance.clone();
        match self
            .db
            .write(move |c| Ok(Run::release(c, Some(&instance), time::now())?))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "handed unfinished runs back to the queue"),
            Err(e) => {
                tracing::warn!(error = %e, "could not hand runs back; their leases will expire")
            }
        }
    }

    /// Queues a sync run for every integration whose schedule is due.
    async fn schedule_syncs(&self) -> Result<()> {
        let due = self
            .db
            .read(|c| Ok(Integration::due_syncs(c, time::now())?))
            .await?;
        for i in due {
            let was = i.next_sync_at.expect("due syncs have a time");
            let next = next_sync(&i.manifest_value(), time::now());
            let (id, org) = (i.id.clone(), i.organization_id.clone());
            let won = self
                .db
                .write(move |c| {
                    let won = Integration::advance_sync(c, &id, was, next)?;
                    if won {
                        // The sync imports into the integration's organization.
                        Run::queued(
                            &org,
                            &id,
                            None,
                            RunKind::Sync,
                            &Map::new(),
                            TriggeredBy::Schedule,
                        )
                        .insert(c)?;
                    }
                    Ok(won)
                })
                .await?;
            if won {
                self.wake.notify_one();
            }
        }
        Ok(())
    }
}
