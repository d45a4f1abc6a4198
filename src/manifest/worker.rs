//! The run worker: claims due runs and performs them a few at a time, and
//! queues the syncs whose schedule is due.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::queue::{Integrations, LEASE};
use super::sync;
use crate::db::integrations::Integration;
use crate::db::runs::{Run, RunKind, TriggeredBy};
use crate::db::time;
use crate::error::Result;

/// Runs claimed at once by one process.
const CLAIM: i64 = 8;

impl Integrations {
    /// The worker: claims due runs and performs them, a few at a time;
    /// also queues scheduled syncs.
    pub async fn work(self: Arc<Self>, cancel: CancellationToken, poll: Duration) {
        let slots = Arc::new(tokio::sync::Semaphore::new(CLAIM as usize));
        let mut tasks = tokio::task::JoinSet::new();
        let mut last_schedule = Instant::now() - Duration::from_secs(60);
        loop {
            if last_schedule.elapsed() >= Duration::from_secs(5) {
                last_schedule = Instant::now();
                if let Err(e) = self.schedule_syncs().await {
                    tracing::warn!(error = %e, "scheduling syncs failed");
                }
            }
            let free = slots.available_permits() as i64;
            let claimed = if free == 0 {
                Vec::new()
            } else {
                let instance = self.instance.clone();
                self.db
                    .write(move |c| {
                        let now = time::now();
                        Ok(Run::claim(c, &instance, now, now + LEASE, free)?)
                    })
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "claiming runs failed");
                        Vec::new()
                    })
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = cancel.cancelled() => break,
                }
                while tasks.try_join_next().is_some() {}
                continue;
            }
            for run in claimed {
                let permit = slots.clone().acquire_owned().await.expect("never closed");
                let me = self.clone();
                tasks.spawn(async move {
                    me.perform(run).await;
                    drop(permit);
                });
            }
        }
        while tasks.join_next().await.is_some() {}
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

/// When a sync manifest's schedule next fires after `now` (UTC).
pub fn next_sync(manifest: &Value, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let expr = manifest.get("schedule")?.as_str()?;
    let cron = sync::parse_schedule(expr).ok()?;
    let now = now.and_utc();
    cron.find_next_occurrence(&now, false)
        .ok()
        .map(|t| t.naive_utc())
}
