//! Integration runs as durable jobs: queued in SQL, claimed by any process,
//! executed with the runner, finished with their step log. Also the sync
//! scheduler (triggers live in `triggers`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::run::{Access, Outcome, RunInput, RunResult, Runner, Services, Step, UserContext};
use super::triggers::{TriggerCache, TriggerIndex};
use super::{sync, Kind};
use crate::db::integrations::{ConfigValue, Integration, IntegrationChanges};
use crate::db::runs::{Finish, Run, RunStep};
use crate::db::users::User;
use crate::db::{new_id, new_id_at, time, Db};
use crate::delivery::retry::RetryPolicy;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::vault::Vault;

/// Runs claimed at once by one process.
const CLAIM: i64 = 8;

/// How long a claimed run is held before another process may take it over.
const LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// How often a run in progress extends its claim.
const HEARTBEAT: Duration = Duration::from_secs(120);

/// Aborts a task when dropped: a run's heartbeat ends with the run however
/// the run ends, finished or its future dropped mid-way (a heartbeat left
/// behind would keep the run `running` forever).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a `?wait=true` run turned out.
pub enum Inline {
    /// It ran here and finished.
    Finished(Run),
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
    inline: Arc<tokio::sync::Semaphore>,
    /// Longest a `?wait=true` request waits for its run.
    inline_wait: Duration,
}

/// Associated data of a sealed config value.
pub fn config_context(integration_id: &str, key: &str) -> String {
    format!("integration-config:{integration_id}:{key}")
}

/// Associated data of a sealed OAuth token.
pub fn oauth_context(integration_id: &str) -> String {
    format!("integration-oauth:{integration_id}")
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
        }
    }

    /// Where OAuth providers send the admin back.
    pub fn redirect_url(&self) -> String {
        format!("{}/oauth/callback", self.public_url.trim_end_matches('/'))
    }

    /// A run row, queued now.
    pub fn new_run(
        integration_id: &str,
        user_id: Option<String>,
        kind: &str,
        form: &Map<String, Value>,
        triggered_by: &str,
    ) -> Run {
        let now = time::now();
        Run {
            id: new_id("run"),
            integration_id: integration_id.to_string(),
            user_id,
            kind: kind.to_string(),
            status: "queued".into(),
            form: Value::Object(form.clone()).to_string(),
            triggered_by: triggered_by.to_string(),
            attempt: 1,
            next_run_at: now,
            claimed_by: None,
            error: None,
            result: None,
            rerun_of: None,
            created_at: now,
            started_at: None,
            finished_at: None,
            updated_at: now,
        }
    }

    /// Queues a run for the worker.
    pub async fn enqueue(&self, run: Run) -> ApiResult<Run> {
        let stored = run.clone();
        self.db.write(move |c| Ok(stored.insert(c)?)).await?;
        self.wake.notify_one();
        Ok(run)
    }

    /// Runs `run` here and now (access checks) and returns it finished.
    /// Should the caller go away mid-run, the run keeps its claim only until
    /// the lease ends (the heartbeat stops with it); the run worker then
    /// runs it again.
    pub async fn run_now(&self, run: Run) -> ApiResult<Run> {
        let run = self.start(run).await?;
        let id = run.id.clone();
        self.perform(run).await;
        self.find_run(id).await
    }

    /// The API's `?wait=true`: runs `run` in this process if an inline slot
    /// is free (else queues it) and waits for it up to the wait bound. The
    /// run executes in its own task, so a client that disconnects or times
    /// out stops only the waiting: the run is never cut half-way through its
    /// calls, and it still ends `succeeded`, `failed`, …, not `running`.
    pub async fn run_inline(self: &Arc<Self>, run: Run) -> ApiResult<Inline> {
        let Ok(slot) = self.inline.clone().try_acquire_owned() else {
            return Ok(Inline::Queued(self.enqueue(run).await?));
        };
        let run = self.start(run).await?;
        let id = run.id.clone();
        let me = self.clone();
        let task = tokio::spawn(async move {
            me.perform(run).await;
            drop(slot);
        });
        let finished = tokio::time::timeout(self.inline_wait, task).await.is_ok();
        let run = self.find_run(id).await?;
        Ok(if finished {
            Inline::Finished(run)
        } else {
            Inline::Running(run)
        })
    }

    /// Stores `run` as running, claimed by this process.
    async fn start(&self, mut run: Run) -> ApiResult<Run> {
        let now = time::now();
        run.status = "running".into();
        run.claimed_by = Some(self.instance.clone());
        run.started_at = Some(now);
        run.next_run_at = now + LEASE;
        let stored = run.clone();
        self.db.write(move |c| Ok(stored.insert(c)?)).await?;
        Ok(run)
    }

    async fn find_run(&self, id: String) -> ApiResult<Run> {
        self.db
            .read(move |c| Run::find(c, &id)?.ok_or_else(|| ApiError::not_found("run", &id)))
            .await
    }

    /// Executes a claimed run and stores how it ended.
    pub async fn perform(&self, run: Run) {
        let started = Instant::now();
        // Long runs (polling) keep their claim while they run, and only then.
        let heartbeat = self.heartbeat(&run.id);
        let executed = self.execute(&run).await;
        drop(heartbeat);
        let (finish, steps, effects) = match executed {
            Ok(done) => done,
            Err(e) => (
                Finish {
                    status: "failed",
                    error: Some(e.to_string()),
                    result: None,
                    next_run_at: None,
                },
                Vec::new(),
                Effects::default(),
            ),
        };
        let status = finish.status;
        self.metrics.run_finished(&run.kind, status);
        tracing::info!(
            run_id = %run.id,
            integration_id = %run.integration_id,
            kind = %run.kind,
            status,
            steps = steps.len(),
            ms = started.elapsed().as_millis() as u64,
            "integration run finished"
        );
        let rows = step_rows(&run.id, &steps);
        let (id, instance) = (run.id.clone(), self.instance.clone());
        let vault = self.vault.clone();
        let integration_id = run.integration_id.clone();
        let user_id = run.user_id.clone();
        let index = match self.trigger_snapshot().await {
            Ok(i) => i,
            Err(_) => Arc::new(TriggerIndex::new()),
        };
        let result = self
            .db
            .write(move |c| {
                use diesel::Connection;
                c.transaction::<_, ApiError, _>(|c| {
                    let now = time::now();
                    if !Run::finish(c, &id, &instance, &finish, &rows, now)? {
                        return Ok(false);
                    }
                    let events =
                        effects.apply(c, &vault, &integration_id, user_id.as_deref(), now)?;
                    Self::queue_in(c, &index, &events)?;
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
        if status == "retry_scheduled" {
            self.wake.notify_one();
        }
    }

    /// Extends run `id`'s claim every [`HEARTBEAT`] until the guard is dropped.
    fn heartbeat(&self, id: &str) -> AbortOnDrop {
        let (db, id, instance) = (self.db.clone(), id.to_string(), self.instance.clone());
        AbortOnDrop(tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                let (id, instance) = (id.clone(), instance.clone());
                let until = time::now() + LEASE;
                let _ = db
                    .write(move |c| Ok(Run::extend_lease(c, &id, &instance, until)?))
                    .await;
            }
        }))
    }

    /// Loads what the run needs and runs it.
    async fn execute(&self, run: &Run) -> ApiResult<(Finish<'static>, Vec<Step>, Effects)> {
        let (integration_id, user_id) = (run.integration_id.clone(), run.user_id.clone());
        let (integration, user) = self
            .db
            .read(move |c| {
                let i = Integration::find(c, &integration_id)?
                    .ok_or_else(|| ApiError::not_found("integration", &integration_id))?;
                let u = match &user_id {
                    Some(id) => {
                        Some(User::find(c, id)?.ok_or_else(|| ApiError::not_found("user", id))?)
                    }
                    None => None,
                };
                Ok((i, u))
            })
            .await?;
        let form: Map<String, Value> = serde_json::from_str(&run.form).unwrap_or_default();
        let mut input = self.input(&integration, user.as_ref(), form).await?;
        if let (Some(u), Some(ctx)) = (&user, input.user.as_mut()) {
            // Only computed when used: it runs every integration's `exists`.
            if run.kind == "execute" && integration.manifest.contains("access_overview") {
                let report = self.access_report(u).await?;
                ctx.builtins
                    .insert("access_overview".into(), Value::String(overview(&report)));
            }
        }
        let mut effects = Effects::default();
        let runner = Runner::new(&self.services, input);
        if run.kind == "exists" {
            let (access, result) = runner.exists().await;
            effects.oauth = result.oauth.clone();
            let f = Finish {
                status: "succeeded",
                error: None,
                result: Some(json!({"access": access}).to_string()),
                next_run_at: None,
            };
            return Ok((f, result.steps, effects));
        }
        let result: RunResult = match run.kind.as_str() {
            "revoke" => runner.revoke().await,
            "sync" => {
                let (result, records) = sync::fetch(runner, &integration.manifest_value()).await;
                effects.sync = records.map(|r| (sync::action(&integration.manifest_value()), r));
                result
            }
            _ => runner.execute().await,
        };
        effects.oauth = result.oauth.clone();
        if user.is_some() && !result.stored.is_empty() {
            effects.stored = Some(result.stored.clone());
        }
        let mut summary = Map::new();
        if !result.stored.is_empty() {
            summary.insert("stored".into(), Value::Object(result.stored.clone()));
        }
        let finish = match &result.outcome {
            Outcome::Succeeded => Finish {
                status: "succeeded",
                error: None,
                result: None,
                next_run_at: None,
            },
            Outcome::Blocked { reason } => Finish {
                status: "blocked",
                error: Some(reason.clone()),
                result: None,
                next_run_at: None,
            },
            Outcome::Failed { error, retryable } => {
                let next = (*retryable && run.kind == "execute")
                    .then(|| self.retry.next_delay(run.attempt as u32))
                    .flatten();
                match next {
                    Some(delay) => Finish {
                        status: "retry_scheduled",
                        error: Some(error.clone()),
                        result: None,
                        next_run_at: Some(
                            time::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
                        ),
                    },
                    None => Finish {
                        status: "failed",
                        error: Some(error.clone()),
                        result: None,
                        next_run_at: None,
                    },
                }
            }
        };
        let finish = Finish {
            result: (!summary.is_empty()).then(|| Value::Object(summary).to_string()),
            ..finish
        };
        Ok((finish, result.steps, effects))
    }

    /// The run's inputs: opened config and token, the user as templates
    /// see them, the form.
    pub async fn input(
        &self,
        integration: &Integration,
        user: Option<&User>,
        form: Map<String, Value>,
    ) -> ApiResult<RunInput> {
        let id = integration.id.clone();
        let manager_ids: Vec<String> = user
            .map(|u| {
                [u.manager_id.clone(), u.buddy_id.clone()]
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .unwrap_or_default();
        let (values, people) = self
            .db
            .read(move |c| {
                let values = ConfigValue::for_integration(c, &id)?;
                let mut people = HashMap::new();
                for pid in manager_ids {
                    if let Some(p) = User::find(c, &pid)? {
                        people.insert(pid, p);
                    }
                }
                Ok((values, people))
            })
            .await?;
        let mut config = Map::new();
        for v in values {
            let clear = self
                .vault
                .open(&v.value, &config_context(&integration.id, &v.key))
                .map_err(ApiError::internal)?;
            config.insert(v.key, Value::String(clear));
        }
        let oauth = match &integration.oauth_token {
            Some(sealed) => Some(
                serde_json::from_str(
                    &self
                        .vault
                        .open(sealed, &oauth_context(&integration.id))
                        .map_err(ApiError::internal)?,
                )
                .map_err(ApiError::internal)?,
            ),
            None => None,
        };
        Ok(RunInput {
            manifest: integration.manifest_value(),
            user: user.map(|u| user_context(u, &people)),
            config,
            oauth,
            form,
            redirect_url: self.redirect_url(),
        })
    }

    /// `exists` for one integration and user, run and recorded now.
    pub async fn check_access(
        &self,
        integration: &Integration,
        user: &User,
    ) -> ApiResult<(Access, Run)> {
        let run = Self::new_run(
            &integration.id,
            Some(user.id.clone()),
            "exists",
            &Map::new(),
            "api",
        );
        // Boxed: an execute run may check access, which runs (exists) runs.
        let done = Box::pin(self.run_now(run)).await?;
        let access = done
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str::<Value>(r).ok())
            .and_then(|v| v.get("access").cloned())
            .and_then(|a| serde_json::from_value(a).ok())
            .unwrap_or(Access::Unknown);
        Ok((access, done))
    }

    /// Every `exists` check for a user: integration, answer, recorded run.
    pub async fn access_report(&self, user: &User) -> ApiResult<Vec<(Integration, Access, Run)>> {
        let all = self.db.read(|c| Ok(Integration::all(c)?)).await?;
        // All at once: the slowest service sets the wait, not their sum.
        let checks = all
            .into_iter()
            .filter(Integration::has_exists)
            .map(|i| async move {
                let (access, run) = self.check_access(&i, user).await?;
                Ok::<_, ApiError>((i, access, run))
            });
        futures_util::future::try_join_all(checks).await
    }

    /// After a transaction that published events (and maybe queued runs)
    /// committed: wake the delivery engine and the run worker.
    pub fn committed(&self) {
        self.deliveries_wake.notify_one();
        self.wake.notify_one();
    }

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
    async fn schedule_syncs(&self) -> ApiResult<()> {
        let due = self
            .db
            .read(|c| Ok(Integration::due_syncs(c, time::now())?))
            .await?;
        for i in due {
            let was = i.next_sync_at.expect("due syncs have a time");
            let next = next_sync(&i.manifest_value(), time::now());
            let id = i.id.clone();
            let won = self
                .db
                .write(move |c| {
                    let won = Integration::advance_sync(c, &id, was, next)?;
                    if won {
                        Self::new_run(&id, None, "sync", &Map::new(), "schedule").insert(c)?;
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

    /// Stores an OAuth token (sealed).
    pub async fn store_token(&self, integration_id: &str, token: &Value) -> ApiResult<()> {
        let sealed = self
            .vault
            .seal(&token.to_string(), &oauth_context(integration_id));
        let id = integration_id.to_string();
        self.db
            .write(move |c| {
                let changes = IntegrationChanges {
                    oauth_token: Some(Some(sealed)),
                    updated_at: Some(time::now()),
                    ..Default::default()
                };
                Ok(Integration::update(c, &id, &changes)?)
            })
            .await?;
        Ok(())
    }

    /// Records a run that happened outside the queue (OAuth callbacks, form
    /// option fetches), with its steps.
    pub async fn record(
        &self,
        mut run: Run,
        status: &'static str,
        error: Option<String>,
        steps: &[Step],
    ) -> ApiResult<Run> {
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
                c.transaction::<_, ApiError, _>(|c| {
                    stored.insert(c)?;
                    Ok(RunStep::insert_all(c, &rows)?)
                })
            })
            .await?;
        Ok(run)
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

/// `Asana (no access), Google (has access), Teams (unknown)`.
pub fn overview(report: &[(Integration, Access, Run)]) -> String {
    report
        .iter()
        .map(|(i, a, _)| {
            let label = match a {
                Access::HasAccess => "has access",
                Access::NoAccess => "no access",
                Access::Unknown => "unknown",
            };
            format!("{} ({label})", i.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Integration {
    /// A webhook manifest with a non-empty `exists`.
    pub fn has_exists(&self) -> bool {
        self.kind() == Kind::Webhook
            && self
                .manifest_value()
                .get("exists")
                .and_then(Value::as_object)
                .is_some_and(|o| !o.is_empty())
    }

    /// The manifest as JSON.
    pub fn manifest_value(&self) -> Value {
        serde_json::from_str(&self.manifest).unwrap_or(Value::Null)
    }

    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Webhook)
    }
}

/// Database writes a run causes besides its own row.
#[derive(Default)]
struct Effects {
    oauth: Option<Value>,
    stored: Option<Map<String, Value>>,
    sync: Option<(String, Vec<Map<String, Value>>)>,
}

impl Effects {
    fn apply(
        self,
        c: &mut crate::db::DbConn,
        vault: &Vault,
        integration_id: &str,
        user_id: Option<&str>,
        now: NaiveDateTime,
    ) -> ApiResult<Vec<(String, Value)>> {
        let mut events = Vec::new();
        if let Some(token) = self.oauth {
            let changes = IntegrationChanges {
                oauth_token: Some(Some(
                    vault.seal(&token.to_string(), &oauth_context(integration_id)),
                )),
                updated_at: Some(now),
                ..Default::default()
            };
            Integration::update(c, integration_id, &changes)?;
        }
        if let (Some(stored), Some(uid)) = (self.stored, user_id) {
            if let Some(u) = User::find(c, uid)? {
                let mut extra: Map<String, Value> =
                    serde_json::from_str(&u.extra_fields).unwrap_or_default();
                extra.extend(stored);
                let changes = crate::db::users::UserChanges {
                    extra_fields: Some(Value::Object(extra).to_string()),
                    updated_at: Some(now),
                    ..Default::default()
                };
                User::update(c, uid, &changes)?;
            }
        }
        if let Some((action, records)) = self.sync {
            events.extend(sync::apply(c, &action, records, now)?);
        }
        Ok(events)
    }
}

/// The user as templates see them (§1.1 built-ins).
pub fn user_context(u: &User, people: &HashMap<String, User>) -> UserContext {
    let person = |id: &Option<String>| id.as_ref().and_then(|i| people.get(i));
    let full = |p: Option<&User>| {
        p.map(|p| format!("{} {}", p.first_name, p.last_name))
            .unwrap_or_default()
    };
    let email = |p: Option<&User>| p.map(|p| p.email.clone()).unwrap_or_default();
    let manager = person(&u.manager_id);
    let buddy = person(&u.buddy_id);
    let builtins = json!({
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "position": u.position,
        "department": u.department,
        "start": u.start_date.map(|d| d.to_string()).unwrap_or_default(),
        "manager": full(manager),
        "manager_email": email(manager),
        "buddy": full(buddy),
        "buddy_email": email(buddy),
        "phone": u.phone,
    });
    UserContext {
        builtins: builtins.as_object().cloned().unwrap_or_default(),
        extra_fields: serde_json::from_str(&u.extra_fields).unwrap_or_default(),
        phone: u.phone.clone(),
    }
}

/// Step rows, with time-ordered ids.
pub fn step_rows(run_id: &str, steps: &[Step]) -> Vec<RunStep> {
    let now = time::now();
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| RunStep {
            id: new_id_at("stp", now + chrono::Duration::microseconds(i as i64)),
            run_id: run_id.to_string(),
            position: i as i32,
            label: s.label.clone(),
            url: s.url.clone(),
            method: s.method.clone(),
            request_headers: Value::Object(s.request_headers.clone()).to_string(),
            request_body: s.request_body.clone(),
            status: s.status.map(i32::from),
            response_body: s.response_body.clone(),
            response_truncated: s.response_truncated,
            duration_ms: s.duration_ms,
            error: s.error.clone(),
            created_at: now,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::AbortOnDrop;

    /// A run's heartbeat ends when its guard goes, as it does when the run's
    /// future is dropped mid-way.
    #[tokio::test]
    async fn dropping_the_guard_stops_the_heartbeat() {
        let beats = Arc::new(AtomicUsize::new(0));
        let b = beats.clone();
        let run = async move {
            let _heartbeat = AbortOnDrop(tokio::spawn(async move {
                loop {
                    b.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
            std::future::pending::<()>().await
        };
        // The caller gives up on the run: its future is dropped.
        let _ = tokio::time::timeout(Duration::from_millis(30), run).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        let seen = beats.load(Ordering::SeqCst);
        assert!(seen > 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            beats.load(Ordering::SeqCst),
            seen,
            "the heartbeat kept going"
        );
    }
}
