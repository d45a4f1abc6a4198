//! `/v1/integrations/{id}/config`: which `initial_data_form` values are
//! set, and setting them (sealed; never shown again).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::auth::{IntegrationsRun, IntegrationsWrite, Need};
use crate::error::Result;
use crate::manifest::render::plain_text;
use crate::state::AppState;

/// Body of `PUT /v1/integrations/{id}/config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutConfig {
    values: Map<String, Value>,
}

/// Sets `initial_data_form` values. Values not in the body are kept;
/// `null` removes one.
pub async fn put_config(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    id: web::Path<String>,
    body: web::Json<PutConfig>,
) -> Result<HttpResponse> {
    let (allowed, set) = state
        .integrations
        .put_config(
            need.caller.organization.clone(),
            id.into_inner(),
            body.into_inner().values,
        )
        .await?;
    let missing: Vec<&String> = allowed.iter().filter(|a| !set.contains(a)).collect();
    Ok(HttpResponse::Ok().json(json!({"set": set, "missing": missing})))
}

pub async fn get_config(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (i, set) = state
        .integrations
        .integration_with_config(need.caller.organization.clone(), id.into_inner())
        .await?;
    let items: Vec<Value> = i
        .manifest_value()
        .get("initial_data_form")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|item| {
            let id = item.get("id").map(plain_text).unwrap_or_default();
            let generated = item.get("name").and_then(Value::as_str) == Some("generate");
            json!({
                "id": id,
                "name": item.get("name"),
                "description": item.get("description"),
                "generated": generated,
                "set": generated || set.contains(&id),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}
