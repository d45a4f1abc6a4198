//! `/v1/integrations/{id}/form` (the run form, options resolved) and
//! `/v1/integrations/{id}/runs` (starting a run).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::auth::{IntegrationsRun, Need};
use crate::api::optional_json;
use crate::api::runs::respond;
use crate::error::Result;
use crate::manifest::integrations::StartOptions;
use crate::state::AppState;

/// Body of `POST /v1/integrations/{id}/runs`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    user_id: Option<String>,
    #[serde(default)]
    form: Map<String, Value>,
    /// sync_users: answer the candidates, write no user.
    #[serde(default)]
    dry_run: bool,
    /// sync_users: import only these emails.
    only: Option<Vec<String>>,
}

/// Query of `POST /v1/integrations/{id}/runs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartQuery {
    wait: Option<bool>,
    dry_run: Option<bool>,
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

/// Queues a run (202), or with `?wait=true` runs it and answers with it;
/// a sync's dry run is run here too, and answers its candidates.
pub async fn start_run(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    id: web::Path<String>,
    q: web::Query<StartQuery>,
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
            StartOptions {
                wait: q.wait.unwrap_or(false),
                dry_run: b.dry_run || q.dry_run.unwrap_or(false),
                only: b.only,
            },
        )
        .await?;
    Ok(respond(submitted))
}
