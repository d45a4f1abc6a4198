//! Access checks: every integration's `exists` for a user, run and
//! recorded now; the overview templates see as `access_overview`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::queue::{Inline, Integrations};
use super::run::Access;
use crate::db::integrations::Integration;
use crate::db::runs::{Run, RunKind, TriggeredBy};
use crate::db::users::User;
use crate::error::{Error, Result};

impl Integrations {
    /// Every `exists` check for user `user_id` of organization `org` (404
    /// if none).
    pub async fn user_access(
        &self,
        org: String,
        user_id: String,
    ) -> Result<Vec<(Integration, Access, Run)>> {
        let user = self
            .db
            .read(move |c| {
                User::find(c, &org, &user_id)?.ok_or_else(|| Error::not_found("user", &user_id))
            })
            .await?;
        self.access_report(&user).await
    }

    /// Queues (or with `wait` runs) the integration's `revoke` items for
    /// the user; 409 if it has none. Both are `org`'s (404 otherwise).
    pub async fn revoke_access(
        self: &Arc<Self>,
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
        self.submit(run, wait).await
    }

    /// `exists` for one integration and user, run and recorded now.
    pub async fn check_access(
        &self,
        integration: &Integration,
        user: &User,
    ) -> Result<(Access, Run)> {
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
    pub async fn access_report(&self, user: &User) -> Result<Vec<(Integration, Access, Run)>> {
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

/// Whether the manifest has `revoke` items.
pub fn can_revoke(i: &Integration) -> bool {
    i.manifest_value()
        .get("revoke")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty())
}
