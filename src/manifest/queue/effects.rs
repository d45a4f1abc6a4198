//! What a finished run writes besides its own row: a refreshed OAuth token,
//! `store_data` values on the user, synced users; and its step rows.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use crate::db::integrations::{Integration, IntegrationChanges};
use crate::db::runs::RunStep;
use crate::db::users::User;
use crate::db::{new_id_at, time};
use crate::error::Result;
use crate::manifest::run::Step;
use crate::manifest::sync;
use crate::vault::{integration_oauth_label, Vault};

/// What a (not dry) sync run writes: its action, the records it fetched,
/// and the only emails to import (`None`: every record).
pub(super) type SyncWrite = (String, Vec<Map<String, Value>>, Option<HashSet<String>>);

/// Database writes a run causes besides its own row, all in the run's
/// organization.
#[derive(Default)]
pub(super) struct Effects {
    pub(super) oauth: Option<Value>,
    pub(super) stored: Option<Map<String, Value>>,
    /// A sync's action, its records and the only emails it imports.
    pub(super) sync: Option<SyncWrite>,
    /// The organization's people quota, which a sync's new people respect.
    pub(super) max_users: Option<crate::config::Limit>,
}

impl Effects {
    pub(super) fn apply(
        self,
        c: &mut crate::db::DbConn,
        vault: &Vault,
        org: &str,
        integration_id: &str,
        user_id: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<Vec<(String, Value)>> {
        let mut events = Vec::new();
        if let Some(token) = self.oauth {
            let changes = IntegrationChanges {
                oauth_token: Some(Some(
                    vault.seal(&token.to_string(), &integration_oauth_label(integration_id)),
                )),
                updated_at: Some(now),
                ..Default::default()
            };
            Integration::update(c, org, integration_id, &changes)?;
        }
        if let (Some(stored), Some(uid)) = (self.stored, user_id) {
            if let Some(u) = User::find(c, org, uid)? {
                let mut extra: Map<String, Value> =
                    serde_json::from_str(&u.extra_fields).unwrap_or_default();
                extra.extend(stored);
                let changes = crate::db::users::UserChanges {
                    extra_fields: Some(Value::Object(extra).to_string()),
                    updated_at: Some(now),
                    ..Default::default()
                };
                User::update(c, org, uid, &changes)?;
            }
        }
        if let Some((action, records, only)) = self.sync {
            events.extend(sync::apply(
                c,
                org,
                &action,
                records,
                only.as_ref(),
                self.max_users,
                now,
            )?);
        }
        Ok(events)
    }
}

/// Step rows, with time-ordered ids.
pub fn step_rows(run_id: &str, org: &str, steps: &[Step]) -> Vec<RunStep> {
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
            organization_id: org.to_string(),
        })
        .collect()
}
