//! What access checks answer: the report of every integration's `exists`
//! for a user (made by the run queue, `RunQueue::access_report`), the
//! overview templates see as `access_overview`, and which integrations can
//! revoke.

use serde_json::Value;

use super::run::Access;
use crate::db::integrations::Integration;
use crate::db::runs::Run;

/// Every `exists` check for a user: integration, answer, recorded run.
pub type AccessReport = Vec<(Integration, Access, Run)>;

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
