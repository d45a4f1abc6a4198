//! The integrations service: integrations of an organization created,
//! listed, read, changed and deleted (manifests validated, triggers checked
//! against the event types) here; their `initial_data_form` values
//! (`config.rs`); the runs the API asks of them, with their form, access
//! checks and revokes (`runs.rs`); connecting them over OAuth (`oauth.rs`).
//! Runs go through the run queue, which this service does not own.

mod config;
mod oauth;
mod runs;

pub use config::config_ids;
pub use oauth::{provider_refusal, Callback, Connected};
pub use runs::{check_form, ResolvedForm, StartOptions};

use crate::publish::subscriptions::require_entity;
use std::collections::HashMap;
use std::sync::Arc;

use diesel::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::inputs::Inputs;
use super::queue::RunQueue;
use super::run::Services;
use super::sync::next_sync;
use super::validate::{validate, Report};
use super::Kind;
use crate::config::OrgLimits;
use crate::db::integrations::{ConfigValue, Integration, IntegrationChanges};
use crate::db::{new_id, time, Db};
use crate::error::{Error, Result};
use crate::publish::EventTypeCache;
use crate::vault::Vault;
use config::set_ids;

/// The integrations of each organization, and what the API asks of them.
pub struct Integrations {
    db: Db,
    vault: Arc<Vault>,
    /// What OAuth exchanges and form option fetches run with.
    services: Arc<Services>,
    inputs: Inputs,
    /// Where runs go: queued, run here, or recorded.
    runs: Arc<RunQueue>,
    /// Per-organization quotas: integrations, OAuth states.
    limits: OrgLimits,
}

/// Runs the integration for the user an event names.
#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    event_type: String,
    #[serde(default)]
    form: Map<String, Value>,
}

/// A new integration, its name and kind already checked.
pub struct NewIntegration {
    pub name: String,
    pub kind: Kind,
    pub manifest: Value,
    pub triggers: Option<Vec<Trigger>>,
}

/// Changes to an integration; `None` keeps a field.
pub struct IntegrationUpdate {
    pub name: Option<String>,
    pub manifest: Option<Value>,
    pub triggers: Option<Vec<Trigger>>,
}

fn check_manifest(manifest: &Value, kind: Kind) -> Result<Report> {
    let report = validate(manifest, kind);
    if report.is_ok() {
        return Ok(report);
    }
    let listed: Vec<String> = report.errors.iter().map(|p| p.to_string()).collect();
    Err(Error::InvalidManifest {
        message: format!(
            "the manifest has {} problem(s): {}",
            listed.len(),
            listed.join("; ")
        ),
        problems: report.errors,
    })
}

async fn check_triggers(
    integrations: &Integrations,
    org: &str,
    types: &EventTypeCache,
    kind: Kind,
    manifest: &Value,
    triggers: &[Trigger],
) -> Result<String> {
    if kind == Kind::SyncUsers && !triggers.is_empty() {
        return Err(Error::field(
            "triggers",
            "triggers run an integration for one user; sync_users integrations run on their schedule or through POST /v1/integrations/{id}/runs",
        ));
    }
    for (i, t) in triggers.iter().enumerate() {
        check_form(manifest, &t.form, &format!("triggers[{i}].form"))?;
        let field = format!("triggers[{i}].event_type");
        require_entity(types, &integrations.db, org, &t.event_type, &field).await?;
    }
    Ok(serde_json::to_string(triggers).expect("triggers serialize"))
}

impl Integrations {
    pub fn new(
        db: Db,
        vault: Arc<Vault>,
        services: Arc<Services>,
        inputs: Inputs,
        runs: Arc<RunQueue>,
        limits: OrgLimits,
    ) -> Integrations {
        Integrations {
            db,
            vault,
            services,
            inputs,
            runs,
            limits,
        }
    }

    /// Validates and stores a new integration.
    pub async fn create_integration(
        &self,
        types: &EventTypeCache,
        org: String,
        new: NewIntegration,
    ) -> Result<Integration> {
        let kind = new.kind;
        check_manifest(&new.manifest, kind)?;
        let triggers = check_triggers(
            self,
            &org,
            types,
            kind,
            &new.manifest,
            &new.triggers.unwrap_or_default(),
        )
        .await?;
        let now = time::now();
        let integration = Integration {
            id: new_id("int"),
            name: new.name,
            kind: kind.as_str().into(),
            next_sync_at: next_sync(&new.manifest, now),
            manifest: new.manifest.to_string(),
            triggers,
            oauth_token: None,
            created_at: now,
            updated_at: now,
            organization_id: org,
        };
        let stored = integration.clone();
        let limit = self.limits.integrations();
        self.db
            .write(move |c| {
                c.transaction(|c| {
                    if let Some(l) = limit {
                        l.check(crate::db::quotas::integrations(c, &stored.organization_id)?)?;
                    }
                    Ok(stored.insert(c)?)
                })
            })
            .await?;
        self.runs.invalidate_triggers();
        Ok(integration)
    }

    /// A page of `org`'s integrations (keyset on id), each with its set
    /// config ids.
    pub async fn integrations_page(
        &self,
        org: String,
        after: Option<String>,
        limit: i64,
    ) -> Result<Vec<(Integration, Vec<String>)>> {
        self.db
            .read(move |c| {
                let rows = Integration::page(c, &org, after.as_deref(), limit + 1)?;
                let ids: Vec<String> = rows.iter().map(|i| i.id.clone()).collect();
                let mut set: HashMap<String, Vec<String>> = HashMap::new();
                for (id, key) in ConfigValue::keys_for(c, &ids)? {
                    set.entry(id).or_default().push(key);
                }
                Ok(rows
                    .into_iter()
                    .map(|i| {
                        let keys = set.remove(&i.id).unwrap_or_default();
                        (i, keys)
                    })
                    .collect())
            })
            .await
    }

    /// Integration `id` of organization `org` (404 if none, or another's).
    pub async fn find_integration(&self, org: String, id: String) -> Result<Integration> {
        self.db
            .read(move |c| {
                Integration::find(c, &org, &id)?.ok_or_else(|| Error::not_found("integration", &id))
            })
            .await
    }

    /// An integration of `org` with the ids of its set config values.
    pub async fn integration_with_config(
        &self,
        org: String,
        id: String,
    ) -> Result<(Integration, Vec<String>)> {
        self.db
            .read(move |c| {
                let i = Integration::find(c, &org, &id)?
                    .ok_or_else(|| Error::not_found("integration", &id))?;
                let set = set_ids(c, &id)?;
                Ok((i, set))
            })
            .await
    }

    /// Applies `update`; values of config ids a new manifest no longer asks
    /// for are dropped in the same transaction.
    pub async fn update_integration(
        &self,
        types: &EventTypeCache,
        org: String,
        id: String,
        update: IntegrationUpdate,
    ) -> Result<(Integration, Vec<String>)> {
        let current = self.find_integration(org.clone(), id).await?;
        if let Some(m) = &update.manifest {
            check_manifest(m, current.kind())?;
        }
        let manifest = update
            .manifest
            .clone()
            .unwrap_or_else(|| current.manifest_value());
        let triggers = match &update.triggers {
            Some(t) => Some(check_triggers(self, &org, types, current.kind(), &manifest, t).await?),
            None => None,
        };
        let now = time::now();
        let changes = IntegrationChanges {
            name: update.name,
            next_sync_at: update.manifest.as_ref().map(|m| next_sync(m, now)),
            manifest: update.manifest.as_ref().map(Value::to_string),
            triggers,
            updated_at: Some(now),
            ..Default::default()
        };
        let keep = update.manifest.as_ref().map(config_ids);
        let id = current.id.clone();
        let updated = self
            .db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    Integration::update(c, &org, &id, &changes)?;
                    if let Some(keep) = keep {
                        let values: Vec<ConfigValue> = ConfigValue::for_integration(c, &id)?
                            .into_iter()
                            .filter(|v| keep.contains(&v.key))
                            .collect();
                        ConfigValue::replace_all(c, &id, &values)?;
                    }
                    let i = Integration::find(c, &org, &id)?
                        .ok_or_else(|| Error::not_found("integration", &id))?;
                    Ok((i, set_ids(c, &id)?))
                })
            })
            .await?;
        self.runs.invalidate_triggers();
        Ok(updated)
    }

    /// Deletes integration `id` of `org` (404 if none).
    pub async fn delete_integration(&self, org: String, id: String) -> Result<()> {
        let key = id.clone();
        let n = self
            .db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| Ok(Integration::delete(c, &org, &key)?))
            })
            .await?;
        self.runs.invalidate_triggers();
        if n == 0 {
            return Err(Error::not_found("integration", &id));
        }
        Ok(())
    }
}
