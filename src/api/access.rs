//! `/v1/users/{id}/access`: what each integration's `exists` check says
//! about a user, and revoking access.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::auth::{IntegrationsRun, Need};
use super::runs::{respond, WaitQuery};
use crate::error::Result;
use crate::manifest::access::{can_revoke, overview};
use crate::state::AppState;

/// Runs every integration's `exists` for the user (each a recorded run).
pub async fn access(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let report = state
        .integrations
        .user_access(need.caller.organization.clone(), id.into_inner())
        .await?;
    let data: Vec<Value> = report
        .iter()
        .map(|(i, access, run)| {
            json!({
                "integration_id": i.id,
                "name": i.name,
                "access": access,
                "can_revoke": can_revoke(i),
                "run_id": run.id,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "data": data,
        // What the `access_overview` template variable renders.
        "overview": overview(&report),
    })))
}

/// Queues (or with `?wait=true` runs) the integration's `revoke` items for the user.
pub async fn revoke(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    path: web::Path<(String, String)>,
    q: web::Query<WaitQuery>,
) -> Result<HttpResponse> {
    let (uid, iid) = path.into_inner();
    let submitted = state
        .integrations
        .revoke_access(
            need.caller.organization.clone(),
            uid,
            iid,
            q.wait.unwrap_or(false),
        )
        .await?;
    Ok(respond(submitted))
}
