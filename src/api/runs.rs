//! `/v1/runs`: integration runs and their step logs.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::{IntegrationsRun, Need};
use super::page::{self, Cursor, Page};
use crate::db::runs::{Run, RunQuery, RunStep};
use crate::db::{new_id, time, Db};
use crate::error::{ApiError, ApiResult};
use crate::manifest::jobs::Inline;
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
        let waiting = matches!(r.status.as_str(), "queued" | "retry_scheduled");
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

    /// The run with its steps, read back.
    pub async fn with_steps(db: &Db, r: Run) -> ApiResult<RunView> {
        let id = r.id.clone();
        let steps = db.read(move |c| Ok(Run::steps(c, &id)?)).await?;
        Ok(RunView::new(r, Some(steps)))
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

const STATUSES: &[&str] = &[
    "queued",
    "running",
    "succeeded",
    "failed",
    "blocked",
    "retry_scheduled",
];

pub async fn list(
    state: web::Data<AppState>,
    _: Need<IntegrationsRun>,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    if let Some(s) = q.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::field(
            "status",
            format!("unknown status '{s}'; use one of {}", STATUSES.join(", ")),
        ));
    }
    const KINDS: &[&str] = &["execute", "exists", "revoke", "sync", "oauth", "form"];
    if let Some(k) = q.kind.as_deref().filter(|k| !KINDS.contains(k)) {
        return Err(ApiError::field(
            "kind",
            format!("unknown kind '{k}'; use one of {}", KINDS.join(", ")),
        ));
    }
    let limit = page::limit(q.limit)?;
    let query = RunQuery {
        integration_id: q.integration_id,
        user_id: q.user_id,
        status: q.status,
        kind: q.kind,
        before: Cursor::decode(q.cursor.as_deref())?.after,
        limit,
    };
    let rows = state.db.read(move |c| Ok(Run::list(c, &query)?)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| RunView::new(r, None),
        |r| Cursor::after(&r.id),
    )))
}

pub async fn get(
    state: web::Data<AppState>,
    _: Need<IntegrationsRun>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let r = find(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(RunView::with_steps(&state.db, r).await?))
}

/// Runs again with the same integration, user and form.
pub async fn rerun(
    state: web::Data<AppState>,
    _: Need<IntegrationsRun>,
    id: web::Path<String>,
    q: web::Query<WaitQuery>,
) -> ApiResult<HttpResponse> {
    let old = find(&state, id.into_inner()).await?;
    if !matches!(old.kind.as_str(), "execute" | "revoke" | "sync" | "exists") {
        return Err(ApiError::conflict(
            crate::error::ErrorCode::CannotRerun,
            format!("{} runs cannot be re-run; start a new one", old.kind),
        ));
    }
    let now = time::now();
    let run = Run {
        id: new_id("run"),
        status: "queued".into(),
        triggered_by: "rerun".into(),
        attempt: 1,
        next_run_at: now,
        claimed_by: None,
        error: None,
        result: None,
        rerun_of: Some(old.id.clone()),
        created_at: now,
        started_at: None,
        finished_at: None,
        updated_at: now,
        ..old
    };
    respond(&state, run, q.wait.unwrap_or(false)).await
}

/// Queued → 202; waited for → 200 with the finished run and its steps.
/// A `?wait=true` run that found no free inline slot (it is queued), or
/// did not finish within the wait bound (it goes on in the background),
/// answers 202 like a queued one, with its current status.
pub async fn respond(state: &AppState, run: Run, wait: bool) -> ApiResult<HttpResponse> {
    if !wait {
        let queued = state.integrations.enqueue(run).await?;
        return Ok(HttpResponse::Accepted().json(RunView::new(queued, None)));
    }
    match state.integrations.run_inline(run).await? {
        Inline::Finished(done) => {
            let view = RunView::with_steps(&state.db, done).await?;
            Ok(HttpResponse::Ok().json(view))
        }
        Inline::Queued(run) | Inline::Running(run) => {
            Ok(HttpResponse::Accepted().json(RunView::new(run, None)))
        }
    }
}

async fn find(state: &AppState, id: String) -> ApiResult<Run> {
    state
        .db
        .read(move |c| Run::find(c, &id)?.ok_or_else(|| ApiError::not_found("run", &id)))
        .await
}
