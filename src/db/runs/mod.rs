//! Integration runs and their step logs. Runs are queued in SQL and claimed
//! like deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so any process
//! can run them and a crash loses none. A run belongs to its integration's
//! organization; the API's reads take it, the worker's claims span all.

mod values;

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
}

impl RunStep {
    /// Stores a run's steps in one statement.
    pub fn insert_all(conn: &mut DbConn, steps: &[RunStep]) -> QueryResult<()> {
        if !steps.is_empty() {
            insert_rows!(conn, run_steps::table, steps)?;
        }
        Ok(())
    }
}

/// How a finished run is stored.
pub struct Finish {
    pub status: RunStatus,
    pub error: Option<String>,
    pub result: Option<String>,
    /// For `retry_scheduled`: when to run again.
    pub next_run_at: Option<NaiveDateTime>,
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

    /// Claims up to `limit` due runs for `instance` until `lease_until`.
    pub fn claim(
        conn: &mut DbConn,
        instance: &str,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<Run>> {
        conn.transaction(|conn| {
            let q = runs::table
                .select(runs::id)
                .filter(runs::status.eq_any(RunStatus::OPEN.map(RunStatus::as_str)))
                .filter(runs::next_run_at.le(now))
                .order(runs::next_run_at.asc())
                .limit(limit);
            let ids: Vec<String> = match conn {
                DbConn::Pg(pg) => q.for_update().skip_locked().load(pg)?,
                DbConn::Sqlite(lite) => q.load(lite)?,
            };
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            // A scheduled retry starts its next attempt.
            diesel::update(
                runs::table
                    .filter(runs::id.eq_any(&ids))
                    .filter(runs::status.eq(RunStatus::RetryScheduled.as_str())),
            )
            .set(runs::attempt.eq(runs::attempt + 1))
            .execute(conn)?;
            diesel::update(runs::table.filter(runs::id.eq_any(&ids)))
                .set((
                    runs::status.eq(RunStatus::Running.as_str()),
                    runs::claimed_by.eq(instance),
                    runs::next_run_at.eq(lease_until),
                    runs::started_at.eq(now),
                    runs::updated_at.eq(now),
                ))
                .execute(conn)?;
            runs::table
                .filter(runs::id.eq_any(&ids))
                .select(Run::as_select())
                .load(conn)
        })
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
            runs::finished_at.eq((f.status != RunStatus::RetryScheduled).then_some(now)),
            runs::updated_at.eq(now),
        ))
        .execute(conn)?;
        if n == 1 {
            RunStep::insert_all(conn, steps)?;
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

    /// Hands back running runs (all, or one instance's) at start-up.
    pub fn release(
        conn: &mut DbConn,
        instance: Option<&str>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let mut q = diesel::update(runs::table)
            .filter(runs::status.eq(RunStatus::Running.as_str()))
            .into_boxed();
        if let Some(i) = instance {
            q = q.filter(runs::claimed_by.eq(i));
        }
        q.set((
            runs::status.eq(RunStatus::Queued.as_str()),
            runs::claimed_by.eq(None::<String>),
            runs::next_run_at.eq(now),
            runs::updated_at.eq(now),
        ))
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
