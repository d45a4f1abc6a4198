//! The runs the API asks of an integration. The form a run takes: its
//! options resolved (static or fetched, the fetches recorded as a `form`
//! run), and starting a run with it: values checked against the options
//! (fetched ones for the run's person too), and a sync's dry run and `only`
//! list. Access: every integration's `exists` for a person, and revoking
//! one integration's access.

use serde_json::{json, Map, Value};

use super::Integrations;
use crate::db::integrations::Integration;
use crate::db::runs::{Run, RunKind, RunStatus, TriggeredBy};
use crate::db::users::User;
use crate::error::{Error, Result};
use crate::manifest::access::{can_revoke, AccessReport};
use crate::manifest::queue::Inline;
use crate::manifest::render::plain_text;
use crate::manifest::run::Runner;
use crate::manifest::Kind;

/// The manifest's `form`, options resolved, and the run that recorded the
/// option fetches (if any were made).
pub struct ResolvedForm {
    pub items: Vec<Value>,
    pub run_id: Option<String>,
}

/// How a run is started besides its form.
#[derive(Default)]
pub struct StartOptions {
    /// Run it here and wait for it (bounded).
    pub wait: bool,
    /// A sync that answers its candidates and writes no user (run here).
    pub dry_run: bool,
    /// The only emails a sync imports.
    pub only: Option<Vec<String>>,
}

/// A run's form, checked against the manifest's `form` (422 naming the key).
pub fn check_form(manifest: &Value, form: &Map<String, Value>, path: &str) -> Result<()> {
    crate::manifest::form::check(manifest, form)
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
        let input = self.inputs.load(&i, user.as_ref(), Map::new()).await?;
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
            run_id = Some(self.runs.record(run, status, error, &steps).await?.id);
        }
        Ok(ResolvedForm { items, run_id })
    }

    /// A run of the integration (`execute`, or `sync` for sync_users),
    /// queued or with `wait` run here.
    pub async fn start_run(
        &self,
        org: String,
        id: String,
        user_id: Option<String>,
        form: Map<String, Value>,
        options: StartOptions,
    ) -> Result<Inline> {
        let i = self.find_integration(org.clone(), id).await?;
        check_form(&i.manifest_value(), &form, "form")?;
        let user = self.optional_user(&org, user_id).await?;
        let kind = match i.kind() {
            Kind::Webhook => RunKind::Execute,
            Kind::SyncUsers => RunKind::Sync,
        };
        let only = check_sync_options(kind, &options)?;
        self.check_fetched_options(&i, user.as_ref(), &form).await?;
        let mut run = Run::queued(
            &org,
            &i.id,
            user.map(|u| u.id),
            kind,
            &form,
            TriggeredBy::Api,
        );
        run.dry_run = options.dry_run;
        run.only_emails = only.map(|l| Value::from(l).to_string());
        // A dry run is a question: it is answered, not queued.
        self.runs.submit(run, options.wait || options.dry_run).await
    }

    /// Checks each form value whose options come from a `url` against the
    /// options fetched now, for the run's person (422 `form.<id>`).
    async fn check_fetched_options(
        &self,
        i: &Integration,
        user: Option<&User>,
        form: &Map<String, Value>,
    ) -> Result<()> {
        let manifest = i.manifest_value();
        let fetched: Vec<&Value> = manifest
            .get("form")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|item| item.get("url").is_some() && item.get("items").is_none())
            .filter(|item| {
                let kind = item.get("type").and_then(Value::as_str);
                matches!(kind, Some("choice") | Some("multiple_choice"))
            })
            .filter(|item| {
                item.get("id")
                    .map(plain_text)
                    .is_some_and(|id| form.contains_key(&id))
            })
            .collect();
        if fetched.is_empty() {
            return Ok(());
        }
        let input = self.inputs.load(i, user, Map::new()).await?;
        let mut runner = Runner::new(&self.services, input);
        for item in fetched {
            let id = item.get("id").map(plain_text).unwrap_or_default();
            let field = format!("form.{id}");
            let options = runner.form_options(item).await.map_err(|e| {
                Error::field(
                    &field,
                    format!("could not fetch the options of '{id}' to check the value: {e}"),
                )
            })?;
            let allowed: Vec<String> = options.iter().map(|o| plain_text(&o["value"])).collect();
            let given: Vec<&Value> = match &form[&id] {
                Value::Array(list) => list.iter().collect(),
                v => vec![v],
            };
            if let Some(bad) = given.iter().find(|v| !allowed.contains(&plain_text(v))) {
                return Err(Error::field(
                    &field,
                    format!(
                        "{bad} is not an option of '{id}' for this person; the options are: {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Every `exists` check for user `user_id` of organization `org` (404
    /// if none), each run and recorded now.
    pub async fn user_access(&self, org: String, user_id: String) -> Result<AccessReport> {
        let user = self
            .db
            .read(move |c| {
                User::find(c, &org, &user_id)?.ok_or_else(|| Error::not_found("user", &user_id))
            })
            .await?;
        self.runs.access_report(&user).await
    }

    /// Queues (or with `wait` runs) the integration's `revoke` items for
    /// the user; 409 if it has none. Both are `org`'s (404 otherwise).
    pub async fn revoke_access(
        &self,
        org: String,
        user_id: String,
        integration_id: String,
        wait: bool,
    ) -> Result<Inline> {
        let (user, integration) = self
            .db
            .read(move |c| {
                let u = User::find(c, &org, &user_id)?
                    .ok_or_else(|| Error::not_found("user", &user_id))?;
                let i = Integration::find(c, &org, &integration_id)?
                    .ok_or_else(|| Error::not_found("integration", &integration_id))?;
                Ok((u, i))
            })
            .await?;
        if !can_revoke(&integration) {
            return Err(Error::conflict(
                crate::error::ErrorCode::CannotRevoke,
                format!("integration '{}' has no revoke items", integration.id),
            ));
        }
        let run = Run::queued(
            &integration.organization_id,
            &integration.id,
            Some(user.id),
            RunKind::Revoke,
            &Map::new(),
            TriggeredBy::Api,
        );
        self.runs.submit(run, wait).await
    }
}

/// `dry_run` and `only` are for syncs; `only` lists emails. The list.
fn check_sync_options(kind: RunKind, o: &StartOptions) -> Result<Option<Vec<String>>> {
    if kind != RunKind::Sync {
        for (set, field) in [(o.dry_run, "dry_run"), (o.only.is_some(), "only")] {
            if set {
                return Err(Error::field(
                    field,
                    format!("{field} is for sync_users integrations (an import preview or a partial import)"),
                ));
            }
        }
        return Ok(None);
    }
    let Some(only) = &o.only else { return Ok(None) };
    if only.is_empty() {
        return Err(Error::field("only", "only lists at least one email"));
    }
    for (n, e) in only.iter().enumerate() {
        if !crate::db::users::is_email(e.trim()) {
            return Err(Error::field(
                format!("only[{n}]"),
                format!("'{e}' is not an email address"),
            ));
        }
    }
    Ok(Some(only.iter().map(|e| e.trim().to_string()).collect()))
}
