//! `/v1/runs`: integration runs and their step logs.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::{IntegrationsRun, Need};
use super::page::{self, Cursor, Page};
use crate::db::runs::{Run, RunKind, RunQuery, RunStatus, RunStep};
use crate::db::time;
use crate::error::{Error, Result};
use crate::manifest::queue::Inline;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    integration_id: Option<String>,
    user_id: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    pub wait: Option<bool>,
}

/// A run as the API shows it.
#[derive(Serialize)]
pub struct RunView {
    id: String,
    integration_id: String,
    user_id: Option<String>,
    kind: String,
    status: String,
    form: Value,
    triggered_by: String,
    attempt: i32,
    /// For `queued` and `retry_scheduled`: when it runs.
    next_run_at: Option<String>,
    error: Option<String>,
    result: Value,
    rerun_of: Option<String>,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    /// A sync that answered its candidates (in `result`) and wrote no user.
    dry_run: bool,
    /// The only emails a sync imports.
    only: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<Vec<StepView>>,
}

/// One logged exchange.
#[derive(Serialize)]
pub struct StepView {
    position: i32,
    label: String,
    url: String,
    method: String,
    request_headers: Value,
    request_body: String,
    status: Option<i32>,
    response_body: String,
    response_truncated: bool,
    duration_ms: i64,
    error: Option<String>,
}

impl RunView {
    pub fn new(r: Run, steps: Option<Vec<RunStep>>) -> Self {
        let waiting = r.run_status().is_waiting();
        RunView {
            form: serde_json::from_str(&r.form).unwrap_or(Value::Null),
            result: r
                .result
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(Value::Null),
            next_run_at: waiting.then(|| time::rfc3339(&r.next_run_at)),
            created_at: time::rfc3339(&r.created_at),
            started_at: time::rfc3339_opt(&r.started_at),
            finished_at: time::rfc3339_opt(&r.finished_at),
            steps: steps.map(|s| s.into_iter().map(StepView::new).collect()),
            dry_run: r.dry_run,
            only: r
                .only_emails
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            id: r.id,
            integration_id: r.integration_id,
            user_id: r.user_id,
            kind: r.kind,
            status: r.status,
            triggered_by: r.triggered_by,
            attempt: r.attempt,
            error: r.error,
            rerun_of: r.rerun_of,
        }
    }
}

impl StepView {
    fn new(s: RunStep) -> Self {
        StepView {
            request_headers: serde_json::from_str(&s.request_headers).unwrap_or(Value::Null),
            position: s.position,
            label: s.label,
            url: s.url,
            method: s.method,
            request_body: s.request_body,
            status: s.status,
            response_body: s.response_body,
            response_truncated: s.response_truncated,
            duration_ms: s.duration_ms,
            error: s.error,
        }
    }
}

pub async fn list(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<RunStatus>().map_err(|_| {
                Error::field(
                    "status",
                    format!("unknown status '{s}'; use one of {}", RunStatus::choices()),
                )
            })
        })
        .transpose()?;
    let kind = q
        .kind
        .as_deref()
        .map(|k| {
            k.parse::<RunKind>().map_err(|_| {
                Error::field(
                    "kind",
                    format!("unknown kind '{k}'; use one of {}", RunKind::choices()),
                )
            })
        })
        .transpose()?;
    let limit = page::limit(q.limit)?;
    let query = RunQuery {
        organization: need.caller.organization.clone(),
        integration_id: q.integration_id,
        user_id: q.user_id,
        status,
        kind,
        before: Cursor::decode(q.cursor.as_deref())?.after,
        limit,
    };
    let rows = state.runs.list_runs(query).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| RunView::new(r, None),
        |r| Cursor::after(&r.id),
    )))
}

pub async fn get(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (run, steps) = state
        .runs
        .run_with_steps(need.caller.organization.clone(), id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(RunView::new(run, Some(steps))))
}

/// Runs again with the same integration, user and form.
pub async fn rerun(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    id: web::Path<String>,
    q: web::Query<WaitQuery>,
) -> Result<HttpResponse> {
    let submitted = state
        .runs
        .rerun(
            need.caller.organization.clone(),
            id.into_inner(),
            q.wait.unwrap_or(false),
        )
        .await?;
    Ok(respond(submitted))
}

/// Queued → 202; waited for → 200 with the finished run and its steps.
/// A `?wait=true` run that found no free inline slot (it is queued), or
/// did not finish within the wait bound (it goes on in the background),
/// answers 202 like a queued one, with its current status.
pub fn respond(submitted: Inline) -> HttpResponse {
    match submitted {
        Inline::Finished(run, steps) => HttpResponse::Ok().json(RunView::new(run, Some(steps))),
        Inline::Queued(run) | Inline::Running(run) => {
            HttpResponse::Accepted().json(RunView::new(run, None))
        }
    }
}
