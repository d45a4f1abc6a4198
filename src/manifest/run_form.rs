//! The form a run takes: its options resolved (static or fetched, the
//! fetches recorded as a `form` run), and starting a run with it.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::queue::{Inline, Integrations};
use super::run::Runner;
use super::Kind;
use crate::db::runs::{Run, RunKind, RunStatus, TriggeredBy};
use crate::db::users::User;
use crate::error::{Error, Result};

/// The manifest's `form`, options resolved, and the run that recorded the
/// option fetches (if any were made).
pub struct ResolvedForm {
    pub items: Vec<Value>,
    pub run_id: Option<String>,
}

/// A run's form, checked against the manifest's `form` (422 naming the key).
pub fn check_form(manifest: &Value, form: &Map<String, Value>, path: &str) -> Result<()> {
    super::form::check(manifest, form)
        .map_err(|p| Error::field(format!("{path}.{}", p.key), p.message))
}

impl Integrations {
    /// The user a request names, if it names one (422 if they do not exist
    /// in organization `org`).
    async fn optional_user(&self, org: &str, id: Option<String>) -> Result<Option<User>> {
        let Some(id) = id else { return Ok(None) };
        let found = self
            .db
            .read({
                let (org, id) = (org.to_string(), id.clone());
                move |c| Ok(User::find(c, &org, &id)?)
            })
            .await?;
        found.map(Some).ok_or_else(|| {
            Error::field_code(
                crate::error::ErrorCode::UnknownUser,
                "user_id",
                format!("user '{id}' does not exist"),
            )
        })
    }

    /// The manifest's `form`, with options resolved (static or fetched);
    /// fetches are recorded as a `form` run.
    pub async fn resolve_form(
        &self,
        org: String,
        id: String,
        user_id: Option<String>,
    ) -> Result<ResolvedForm> {
        let i = self.find_integration(org.clone(), id).await?;
        let user = self.optional_user(&org, user_id).await?;
        let manifest = i.manifest_value();
        let input = self.input(&i, user.as_ref(), Map::new()).await?;
        let mut runner = Runner::new(&self.services, input);
        let mut items = Vec::new();
        let mut errors = Vec::new();
        for (n, item) in manifest
            .get("form")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let kind = item.get("type").and_then(Value::as_str).unwrap_or("input");
            let mut view = json!({
                "id": item.get("id"),
                "name": item.get("name"),
                "type": kind,
            });
            if kind == "choice" || kind == "multiple_choice" {
                match runner.form_options(item).await {
                    Ok(options) => view["options"] = Value::Array(options),
                    Err(e) => {
                        view["error"] = Value::String(e.clone());
                        errors.push(format!("form[{n}]: {e}"));
                    }
                }
            }
            items.push(view);
        }
        let steps = runner.into_steps();
        let mut run_id = None;
        if !steps.is_empty() {
            let run = Run::queued(
                &org,
                &i.id,
                user.map(|u| u.id),
                RunKind::Form,
                &Map::new(),
                TriggeredBy::Api,
            );
            let status = if errors.is_empty() {
                RunStatus::Succeeded
            } else {
                RunStatus::Failed
            };
            let error = (!errors.is_empty()).then(|| errors.join("; "));
            run_id = Some(self.record(run, status, error, &steps).await?.id);
        }
        Ok(ResolvedForm { items, run_id })
    }

    /// A run of the integration (`execute`, or `sync` for sync_users),
    /// queued or with `wait` run here.
    pub async fn start_run(
        self: &Arc<Self>,
        org: String,
        id: String,
        user_id: Option<String>,
        form: Map<String, Value>,
        wait: bool,
    ) -> Result<Inline> {
        let i = self.find_integration(org.clone(), id).await?;
        check_form(&i.manifest_value(), &form, "form")?;
        let user = self.optional_user(&org, user_id).await?;
        let kind = match i.kind() {
            Kind::Webhook => RunKind::Execute,
            Kind::SyncUsers => RunKind::Sync,
        };
        let run = Run::queued(
            &org,
            &i.id,
            user.map(|u| u.id),
            kind,
            &form,
            TriggeredBy::Api,
        );
        self.submit(run, wait).await
    }
}
