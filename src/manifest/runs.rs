//! Runs as the API sees them: submitted (queued, or run here and waited
//! for), listed, read with their steps, run again.

use std::sync::Arc;

use super::queue::{Inline, Integrations};
use crate::db::runs::{Run, RunQuery, RunStep};
use crate::error::{Error, Result};

impl Integrations {
    /// Queues `run`, or with `wait` runs it here (see
    /// [`Integrations::run_inline`]).
    pub async fn submit(self: &Arc<Self>, run: Run, wait: bool) -> Result<Inline> {
        if wait {
            self.run_inline(run).await
        } else {
            Ok(Inline::Queued(self.enqueue(run).await?))
        }
    }

    /// Runs matching `query`, newest first.
    pub async fn list_runs(&self, query: RunQuery) -> Result<Vec<Run>> {
        self.db.read(move |c| Ok(Run::list(c, &query)?)).await
    }

    /// A run of organization `org` and its steps (404 if none).
    pub async fn run_with_steps(&self, org: String, id: String) -> Result<(Run, Vec<RunStep>)> {
        self.db
            .read(move |c| {
                let run = Run::find(c, &org, &id)?.ok_or_else(|| Error::not_found("run", &id))?;
                let steps = Run::steps(c, &id)?;
                Ok((run, steps))
            })
            .await
    }

    /// Runs `id` (of organization `org`) again with the same integration,
    /// user and form (409 for kinds that cannot be re-run).
    pub async fn rerun(self: &Arc<Self>, org: String, id: String, wait: bool) -> Result<Inline> {
        let old = self.find_run(org, id).await?;
        if !old.run_kind().can_rerun() {
            return Err(Error::conflict(
                crate::error::ErrorCode::CannotRerun,
                format!("{} runs cannot be re-run; start a new one", old.kind),
            ));
        }
        self.submit(Run::rerun_of(old), wait).await
    }
}
