//! `/v1/integrations/{id}/form` (the run form, options resolved) and
//! `/v1/integrations/{id}/runs` (starting a run).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::auth::{IntegrationsRun, Need};
use crate::api::optional_json;
use crate::api::runs::{respond, WaitQuery};
use crate::error::Result;
use crate::state::AppState;

/// Body of `POST /v1/integrations/{id}/runs`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    user_id: Option<String>,
    #[serde(default)]
    form: Map<String, Value>,
}

/// Query of `GET /v1/integrations/{id}/form`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormQuery {
    user_id: Option<String>,
}

/// The manifest's `form`, with options resolved (static or fetched).
pub async fn form(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    id: web::Path<String>,
    q: web::Query<FormQuery>,
) -> Result<HttpResponse> {
    let resolved = state
        .integrations
        .resolve_form(
            need.caller.organization.clone(),
            id.into_inner(),
            q.into_inner().user_id,
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({"items": resolved.items, "run_id": resolved.run_id})))
}

/// Queues a run (202), or with `?wait=true` runs it and answers with it.
pub async fn start_run(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    id: web::Path<String>,
    q: web::Query<WaitQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse> {
    let b: StartRun = optional_json(&req, body, state.config.max_body_bytes).await?;
    let submitted = state
        .integrations
        .start_run(
            need.caller.organization.clone(),
            id.into_inner(),
            b.user_id,
            b.form,
            q.wait.unwrap_or(false),
        )
        .await?;
    Ok(respond(submitted))
}
