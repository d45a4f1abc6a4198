//! `/v1/users/{id}/access`: what each integration's `exists` check says
//! about a user, and revoking access.

use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

use super::auth::{IntegrationsRun, Need};
use super::runs::{respond, WaitQuery};
use crate::db::integrations::Integration;
use crate::db::users::User;
use crate::error::{ApiError, ApiResult};
use crate::manifest::jobs::{overview, Integrations};
use crate::state::AppState;

/// Runs every integration's `exists` for the user (each a recorded run).
pub async fn access(
    state: web::Data<AppState>,
    _: Need<IntegrationsRun>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let uid = id.into_inner();
    let user = state
        .db
        .read(move |c| User::find(c, &uid)?.ok_or_else(|| ApiError::not_found("user", &uid)))
        .await?;
    let report = state.integrations.access_report(&user).await?;
    let data: Vec<Value> = report
        .iter()
        .map(|(i, access, run)| {
            json!({
                "integration_id": i.id,
                "name": i.name,
                "access": access,
                "can_revoke": i.manifest_value().get("revoke").and_then(Value::as_array).is_some_and(|r| !r.is_empty()),
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
    _: Need<IntegrationsRun>,
    path: web::Path<(String, String)>,
    q: web::Query<WaitQuery>,
) -> ApiResult<HttpResponse> {
    let (uid, iid) = path.into_inner();
    let (user, integration) = state
        .db
        .read(move |c| {
            let u = User::find(c, &uid)?.ok_or_else(|| ApiError::not_found("user", &uid))?;
            let i = Integration::find(c, &iid)?
                .ok_or_else(|| ApiError::not_found("integration", &iid))?;
            Ok((u, i))
        })
        .await?;
    let can = integration
        .manifest_value()
        .get("revoke")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty());
    if !can {
        return Err(ApiError::conflict(
            crate::error::ErrorCode::CannotRevoke,
            format!("integration '{}' has no revoke items", integration.id),
        ));
    }
    let run = Integrations::new_run(&integration.id, Some(user.id), "revoke", &Map::new(), "api");
    respond(&state, run, q.wait.unwrap_or(false)).await
}
