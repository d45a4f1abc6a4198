//! The run queue's per-organization quota (`HOOKRELAY_MAX_QUEUED_RUNS_PER_ORG`):
//! one organization cannot fill the queue every process claims from. A
//! run asked for through the API is refused with 429 and `Retry-After`
//! (the queue drains by itself); a run an event triggers is recorded as
//! `failed`, with the reason, instead of queued, so the event is still
//! published and the operator sees what was skipped and can re-run it.

use crate::config::Limit;
use crate::db::runs::{Run, RunStatus};
use crate::db::{quotas, time, DbConn};
use crate::error::{Error, Result};

/// When to try again after a refusal: runs take seconds to minutes.
const RETRY_AFTER_SECS: u64 = 30;

/// Whether `org` may have one more waiting run.
fn has_room(c: &mut DbConn, limit: Option<Limit>, org: &str) -> Result<Option<Limit>> {
    let Some(limit) = limit else {
        return Ok(None);
    };
    let waiting = quotas::waiting_runs(c, org)?;
    Ok((waiting >= limit.max).then_some(limit))
}

fn message(l: Limit) -> String {
    format!(
        "this organization already has {} {}, the most allowed ({})",
        l.max, l.what, l.variable
    )
}

/// `Ok` if `org` may queue one more run, else 429 `rate_limited` with
/// `Retry-After`. Call it in the insert's transaction.
pub fn room_for_run(c: &mut DbConn, limit: Option<Limit>, org: &str) -> Result<()> {
    match has_room(c, limit, org)? {
        None => Ok(()),
        Some(l) => Err(Error::RateLimited {
            message: format!("{}; retry in {RETRY_AFTER_SECS} s", message(l)),
            retry_after_secs: RETRY_AFTER_SECS,
        }),
    }
}

/// Inserts `run` (queued) if `org` has room, else inserts it `failed` with
/// the reason; whether it was queued.
pub fn queue_or_skip(c: &mut DbConn, limit: Option<Limit>, mut run: Run) -> Result<bool> {
    let full = has_room(c, limit, &run.organization_id)?;
    if let Some(l) = full {
        let now = time::now();
        run.status = RunStatus::Failed.into();
        run.error = Some(format!("not queued: {}", message(l)));
        run.started_at = Some(now);
        run.finished_at = Some(now);
    }
    run.insert(c)?;
    Ok(full.is_none())
}
