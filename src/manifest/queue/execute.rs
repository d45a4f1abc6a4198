//! What performing a run means: load its integration and user, run the
//! runner for the run's kind, and turn the result into the row's finish
//! (status, error, result, retry time) and the writes it causes. Also
//! access checks: every integration's `exists` for a user, run and recorded
//! now (an `execute` run's `access_overview` is made of them).

use std::time::Instant;

use serde_json::{json, Map, Value};

use super::effects::Effects;
use super::RunQueue;
use crate::db::integrations::Integration;
use crate::db::runs::{Finish, Run, RunKind, RunStatus, TriggeredBy};
use crate::db::time;
use crate::db::users::User;
use crate::error::{Error, Result};
use crate::manifest::access::{overview, AccessReport};
use crate::manifest::import::counts;
use crate::manifest::run::{Access, Outcome, RunResult, Runner, Step};
use crate::manifest::sync;
use crate::vault::run_resume_label;

impl RunQueue {
    /// Loads what the run needs (with, for a run that waited, where it
    /// resumes) and runs it; a polling wait past `park_by` stops it
    /// `waiting`.
    pub(super) async fn execute(
        &self,
        run: &Run,
        park_by: Instant,
    ) -> Result<(Finish, Vec<Step>, Effects)> {
        let (integration_id, user_id) = (run.integration_id.clone(), run.user_id.clone());
        // The run's own organization: its integration, user and people.
        let org = run.organization_id.clone();
        let (integration, user) = self
            .db
            .read(move |c| {
                let i = Integration::find(c, &org, &integration_id)?
                    .ok_or_else(|| Error::not_found("integration", &integration_id))?;
                let u = match &user_id {
                    Some(id) => {
                        Some(User::find(c, &org, id)?.ok_or_else(|| Error::not_found("user", id))?)
                    }
                    None => None,
                };
                Ok((i, u))
            })
            .await?;
        let kind = run.run_kind();
        let form: Map<String, Value> = serde_json::from_str(&run.form).unwrap_or_default();
        let mut input = self.inputs.load(&integration, user.as_ref(), form).await?;
        if let Some(sealed) = &run.resume {
            let opened = self
                .vault
                .open(sealed, &run_resume_label(&run.id))
                .map_err(Error::internal)?;
            input.resume = Some(serde_json::from_str(&opened).map_err(Error::internal)?);
        }
        if let (Some(u), Some(ctx)) = (&user, input.user.as_mut()) {
            // Only computed when used: it runs every integration's `exists`.
            if kind == RunKind::Execute && integration.manifest.contains("access_overview") {
                let report = self.access_report(u).await?;
                ctx.builtins
                    .insert("access_overview".into(), Value::String(overview(&report)));
            }
        }
        let mut effects = Effects::default();
        let mut preview = None;
        let mut runner = Runner::new(&self.services, input);
        runner.park_by(park_by);
        if kind == RunKind::Exists {
            let (access, result) = runner.exists().await;
            effects.oauth = result.oauth.clone();
            let f = Finish {
                status: RunStatus::Succeeded,
                error: None,
                result: Some(json!({"access": access}).to_string()),
                next_run_at: None,
                resume: None,
            };
            return Ok((f, result.steps, effects));
        }
        let mut result: RunResult = match kind {
            RunKind::Revoke => runner.revoke().await,
            RunKind::Sync => {
                let manifest = integration.manifest_value();
                let action = sync::action(&manifest);
                let (result, records) = sync::fetch(runner, &manifest).await;
                let only = only_emails(run);
                match records {
                    // A dry run answers what the import would do, and writes
                    // no user.
                    Some(records) if run.dry_run => {
                        let org = run.organization_id.clone();
                        let max_users = self.limits.users();
                        let plan = self
                            .db
                            .read(move |c| {
                                sync::plan_in(c, &org, &action, records, only.as_ref(), max_users)
                            })
                            .await?;
                        preview = Some((counts(&plan), plan));
                    }
                    Some(records) => effects.sync = Some((action, records, only)),
                    None => {}
                }
                result
            }
            _ => runner.execute().await,
        };
        effects.oauth = result.oauth.clone();
        // Waiting: only a refreshed token is stored now (other runs need
        // it); the rest waits in the checkpoint until the run ends.
        if let Some((after, checkpoint)) = result.waiting.take() {
            let text = serde_json::to_string(&checkpoint).map_err(Error::internal)?;
            let f = Finish {
                status: RunStatus::Waiting,
                error: None,
                result: None,
                next_run_at: Some(
                    time::now() + chrono::Duration::from_std(after).unwrap_or_default(),
                ),
                resume: Some(self.vault.seal(&text, &run_resume_label(&run.id))),
            };
            return Ok((f, result.steps, effects));
        }
        if user.is_some() && !result.stored.is_empty() {
            effects.stored = Some(result.stored.clone());
        }
        let mut summary = Map::new();
        if !result.stored.is_empty() {
            summary.insert("stored".into(), Value::Object(result.stored.clone()));
        }
        if let Some((counts, plan)) = preview {
            summary.insert("counts".into(), counts);
            summary.insert("candidates".into(), json!(plan));
        }
        let finish = match &result.outcome {
            Outcome::Succeeded => Finish {
                status: RunStatus::Succeeded,
                error: None,
                result: None,
                next_run_at: None,
                resume: None,
            },
            // Never without its checkpoint (taken above); it could not resume.
            Outcome::Waiting => Finish {
                status: RunStatus::Failed,
                error: Some("the run stopped to wait without a checkpoint".into()),
                result: None,
                next_run_at: None,
                resume: None,
            },
            Outcome::Blocked { reason } => Finish {
                status: RunStatus::Blocked,
                error: Some(reason.clone()),
                result: None,
                next_run_at: None,
                resume: None,
            },
            Outcome::Failed { error, retryable } => {
                let next = (*retryable && kind == RunKind::Execute)
                    .then(|| self.retry.next_delay(run.attempt as u32))
                    .flatten();
                match next {
                    Some(delay) => Finish {
                        status: RunStatus::RetryScheduled,
                        error: Some(error.clone()),
                        result: None,
                        next_run_at: Some(
                            time::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
                        ),
                        resume: None,
                    },
                    None => Finish {
                        status: RunStatus::Failed,
                        error: Some(error.clone()),
                        result: None,
                        next_run_at: None,
                        resume: None,
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

    /// `exists` for one integration and user, run and recorded now.
    async fn check_access(&self, integration: &Integration, user: &User) -> Result<(Access, Run)> {
        let run = Run::queued(
            &integration.organization_id,
            &integration.id,
            Some(user.id.clone()),
            RunKind::Exists,
            &Map::new(),
            TriggeredBy::Api,
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

    /// Every `exists` check for a user, by the integrations of the user's
    /// organization: integration, answer, recorded run.
    pub async fn access_report(&self, user: &User) -> Result<AccessReport> {
        let org = user.organization_id.clone();
        let all = self
            .db
            .read(move |c| Ok(Integration::all_in(c, &org)?))
            .await?;
        // All at once: the slowest service sets the wait, not their sum.
        let checks = all
            .into_iter()
            .filter(Integration::has_exists)
            .map(|i| async move {
                let (access, run) = self.check_access(&i, user).await?;
                Ok::<_, Error>((i, access, run))
            });
        futures_util::future::try_join_all(checks).await
    }
}

/// The emails a sync run imports (lower-cased), if it lists them.
fn only_emails(run: &Run) -> Option<std::collections::HashSet<String>> {
    let list: Vec<String> = serde_json::from_str(run.only_emails.as_deref()?).ok()?;
    Some(list.iter().map(|e| e.trim().to_lowercase()).collect())
}
