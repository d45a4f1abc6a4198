//! Integration runs and their step logs. Runs are queued in SQL and claimed
//! like deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL), fairly among
//! organizations (`claim`), so any process can run them and a crash loses
//! none. A run belongs to its integration's organization; the API's reads
//! take it, the worker's claims span all.

mod claim;
mod values;

pub use claim::Claim;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};

pub use values::{RunKind, RunStatus, TriggeredBy};

use super::schema::{run_steps, runs};
use super::{insert_rows, new_id, time, DbConn, LoadOne};

type Backend = <DbConn as diesel::Connection>::Backend;

/// A stored run.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = runs)]
pub struct Run {
    pub id: String,
    pub integration_id: String,
    pub user_id: Option<String>,
    /// A [`RunKind`]; read it with [`Run::run_kind`].
    pub kind: String,
    /// A [`RunStatus`]; read it with [`Run::run_status`].
    pub status: String,
    /// Form values (JSON object).
    pub form: String,
    /// A [`TriggeredBy`].
    pub triggered_by: String,
    pub attempt: i32,
    /// When it is due; while running, when its claim expires.
    pub next_run_at: NaiveDateTime,
    pub claimed_by: Option<String>,
    pub error: Option<String>,
    /// JSON: what the run produced (access state, stored data, users synced).
    pub result: Option<String>,
    pub rerun_of: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    /// The integration's organization: what the run reads and writes.
    pub organization_id: String,
    /// A sync that answers its candidates and writes no user.
    pub dry_run: bool,
    /// JSON array: the only emails a sync imports (`None`: every record).
    pub only_emails: Option<String>,
    /// Sealed JSON: where a `waiting` run resumes (`None`: from the start).
    pub resume: Option<String>,
}

/// One logged exchange of a run.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = run_steps)]
pub struct RunStep {
    pub id: String,
    pub run_id: String,
    pub position: i32,
    pub label: String,
    pub url: String,
    pub method: String,
    /// JSON object, secrets masked.
    pub request_headers: String,
    pub request_body: String,
    pub status: Option<i32>,
    pub response_body: String,
    pub response_truncated: bool,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub created_at: NaiveDateTime,
    /// Its run's organization.
    pub organization_id: String,
}

impl RunStep {
    /// Stores a run's steps in one statement.
    pub fn insert_all(conn: &mut DbConn, steps: &[RunStep]) -> QueryResult<()> {
        if !steps.is_empty() {
            insert_rows!(conn, run_steps::table, steps)?;
        }
        Ok(())
    }

    /// Stores steps after those the run already has (a run that resumed
    /// after a wait, or a retry): their positions continue the log.
    pub fn append(conn: &mut DbConn, run_id: &str, steps: &[RunStep]) -> QueryResult<()> {
        if steps.is_empty() {
            return Ok(());
        }
        let last: Option<i32> = run_steps::table
            .filter(run_steps::run_id.eq(run_id))
            .select(diesel::dsl::max(run_steps::position))
            .first(conn)?;
        let base = last.map_or(0, |p| p + 1);
        let shifted: Vec<RunStep> = steps
            .iter()
            .map(|s| RunStep {
                position: s.position + base,
                ..s.clone()
            })
            .collect();
        RunStep::insert_all(conn, &shifted)
    }
}

/// How a finished run is stored.
pub struct Finish {
    pub status: RunStatus,
    pub error: Option<String>,
    pub result: Option<String>,
    /// For `retry_scheduled` and `waiting`: when to run again.
    pub next_run_at: Option<NaiveDateTime>,
    /// For `waiting`: where it resumes (sealed); cleared otherwise.
    pub resume: Option<String>,
}

/// List filters.
#[derive(Default)]
pub struct RunQuery {
    /// The organization whose runs are listed.
    pub organization: String,
    pub integration_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<RunStatus>,
    pub kind: Option<RunKind>,
    pub before: Option<String>,
    pub limit: i64,
}

impl Run {
    /// A run of `kind` in organization `org`, queued now (`attempt` 1, due
    /// at once).
    pub fn queued(
        org: &str,
        integration_id: &str,
        user_id: Option<String>,
        kind: RunKind,
        form: &Map<String, Value>,
        triggered_by: TriggeredBy,
    ) -> Run {
        let now = time::now();
        Run {
            id: new_id("run"),
            integration_id: integration_id.to_string(),
            user_id,
            kind: kind.into(),
            status: RunStatus::Queued.into(),
            form: Value::Object(form.clone()).to_string(),
            triggered_by: triggered_by.into(),
            attempt: 1,
            next_run_at: now,
            claimed_by: None,
            error: None,
            result: None,
            rerun_of: None,
            created_at: now,
            started_at: None,
            finished_at: None,
            updated_at: now,
            organization_id: org.to_string(),
            dry_run: false,
            only_emails: None,
            resume: None,
        }
    }

    /// The same integration, user, kind and form, queued again now.
    pub fn rerun_of(old: Run) -> Run {
        let mut run = Run::queued(
            &old.organization_id,
            &old.integration_id,
            old.user_id.clone(),
            old.run_kind(),
            &Map::new(),
            TriggeredBy::Rerun,
        );
        // The form and sync options as stored, not re-serialized.
        run.form = old.form;
        run.dry_run = old.dry_run;
        run.only_emails = old.only_emails;
        run.rerun_of = Some(old.id);
        run
    }

    /// The status column as a [`RunStatus`]. The column only ever holds
    /// values written from the enum; anything else reads as `failed`.
    pub fn run_status(&self) -> RunStatus {
        self.status.parse().unwrap_or(RunStatus::Failed)
    }

    /// The kind column as a [`RunKind`]. The column only ever holds values
    /// written from the enum; anything else reads as `execute`.
    pub fn run_kind(&self) -> RunKind {
        self.kind.parse().unwrap_or(RunKind::Execute)
    }

    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(runs::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    /// Run `id` of organization `org`.
    pub fn find(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<Option<Run>> {
        runs::table
            .find(id)
            .filter(runs::organization_id.eq(org))
            .select(Run::as_select())
            .load_one(conn)
    }

    /// The organization's runs, newest first, keyset on id.
    pub fn list(conn: &mut DbConn, q: &RunQuery) -> QueryResult<Vec<Run>> {
        let mut query = runs::table
            .filter(runs::organization_id.eq(q.organization.clone()))
            .select(Run::as_select())
            .order(runs::id.desc())
            .limit(q.limit + 1)
            .into_boxed::<Backend>();
        if let Some(v) = &q.integration_id {
            query = query.filter(runs::integration_id.eq(v.clone()));
        }
        if let Some(v) = &q.user_id {
            query = query.filter(runs::user_id.eq(v.clone()));
        }
        if let Some(v) = q.status {
            query = query.filter(runs::status.eq(v.as_str()));
        }
        if let Some(v) = q.kind {
            query = query.filter(runs::kind.eq(v.as_str()));
        }
        if let Some(v) = &q.before {
            query = query.filter(runs::id.lt(v.clone()));
        }
        query.load(conn)
    }

    /// Stores the outcome and the step log of a run this instance holds.
    pub fn finish(
        conn: &mut DbConn,
        id: &str,
        instance: &str,
        f: &Finish,
        steps: &[RunStep],
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            runs::table
                .find(id)
                .filter(runs::status.eq(RunStatus::Running.as_str()))
                .filter(runs::claimed_by.eq(instance)),
        )
        .set((
            runs::status.eq(f.status.as_str()),
            runs::error.eq(&f.error),
            runs::result.eq(&f.result),
            runs::claimed_by.eq(None::<String>),
            runs::next_run_at.eq(f.next_run_at.unwrap_or(now)),
            runs::finished_at.eq((!f.status.is_waiting()).then_some(now)),
            runs::updated_at.eq(now),
            runs::resume.eq(&f.resume),
        ))
        .execute(conn)?;
        if n == 1 {
            RunStep::append(conn, id, steps)?;
        }
        Ok(n == 1)
    }

    /// Extends the claim of a run this instance is still working on.
    pub fn extend_lease(
        conn: &mut DbConn,
        id: &str,
        instance: &str,
        until: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            runs::table
                .find(id)
                .filter(runs::status.eq(RunStatus::Running.as_str()))
                .filter(runs::claimed_by.eq(instance)),
        )
        .set(runs::next_run_at.eq(until))
        .execute(conn)
    }

    /// Hands back running runs (all, or one instance's), due at once: at
    /// start-up, and at shutdown those the grace period did not see
    /// finish. One that had waited goes back `waiting`, to resume where it
    /// stopped; any other `queued`, to start again.
    pub fn release(
        conn: &mut DbConn,
        instance: Option<&str>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let mut n = 0;
        for (resumes, status) in [(false, RunStatus::Queued), (true, RunStatus::Waiting)] {
            let mut q = diesel::update(runs::table)
                .filter(runs::status.eq(RunStatus::Running.as_str()))
                .into_boxed();
            if let Some(i) = instance {
                q = q.filter(runs::claimed_by.eq(i));
            }
            q = if resumes {
                q.filter(runs::resume.is_not_null())
            } else {
                q.filter(runs::resume.is_null())
            };
            n += q
                .set((
                    runs::status.eq(status.as_str()),
                    runs::claimed_by.eq(None::<String>),
                    runs::next_run_at.eq(now),
                    runs::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(n)
    }

    /// Every stored checkpoint (sealed), by run: start-up re-seals them
    /// with the other secrets when the master key changes.
    pub fn checkpoints(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
        let rows: Vec<(String, Option<String>)> = runs::table
            .filter(runs::resume.is_not_null())
            .select((runs::id, runs::resume))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, r)| Some((id, r?)))
            .collect())
    }

    /// Replaces run `id`'s checkpoint (re-sealed).
    pub fn set_resume(conn: &mut DbConn, id: &str, sealed: &str) -> QueryResult<usize> {
        diesel::update(runs::table.find(id))
            .set(runs::resume.eq(sealed))
            .execute(conn)
    }

    /// The steps of a run, in order (find the run in its organization first).
    pub fn steps(conn: &mut DbConn, id: &str) -> QueryResult<Vec<RunStep>> {
        run_steps::table
            .filter(run_steps::run_id.eq(id))
            .order(run_steps::position.asc())
            .select(RunStep::as_select())
            .load(conn)
    }
}
