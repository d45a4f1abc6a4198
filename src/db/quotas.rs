//! What the per-organization quotas count (issue #25): one organization's
//! custom event types, people, integrations, waiting runs and pending
//! OAuth states. Each count reads an index led by `organization_id`, and
//! is bounded by the quota it serves.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::runs::RunStatus;
use super::schema::{event_types, integrations, oauth_states, runs, users};
use super::DbConn;

/// `org`'s custom event types (the built-in ones belong to no organization).
pub fn event_types(conn: &mut DbConn, org: &str) -> QueryResult<i64> {
    event_types::table
        .filter(event_types::organization_id.eq(org))
        .count()
        .get_result(conn)
}

/// `org`'s people.
pub fn users(conn: &mut DbConn, org: &str) -> QueryResult<i64> {
    users::table
        .filter(users::organization_id.eq(org))
        .count()
        .get_result(conn)
}

/// `org`'s integrations.
pub fn integrations(conn: &mut DbConn, org: &str) -> QueryResult<i64> {
    integrations::table
        .filter(integrations::organization_id.eq(org))
        .count()
        .get_result(conn)
}

/// `org`'s runs waiting for the run worker: queued, scheduled for a retry,
/// or parked between polling attempts (the partial index
/// `runs_org_waiting`). Running ones hold a slot already and are not counted.
pub fn waiting_runs(conn: &mut DbConn, org: &str) -> QueryResult<i64> {
    runs::table
        .filter(runs::organization_id.eq(org))
        .filter(runs::status.eq_any([
            RunStatus::Queued.as_str(),
            RunStatus::RetryScheduled.as_str(),
            RunStatus::Waiting.as_str(),
        ]))
        .count()
        .get_result(conn)
}

/// `org`'s OAuth `state`s still redeemable at `now`.
pub fn oauth_states(conn: &mut DbConn, org: &str, now: NaiveDateTime) -> QueryResult<i64> {
    oauth_states::table
        .filter(oauth_states::organization_id.eq(org))
        .filter(oauth_states::expires_at.gt(now))
        .count()
        .get_result(conn)
}
