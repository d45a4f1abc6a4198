//! Creating, listing, reading, changing and deleting integrations.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::auth::{IntegrationsRun, IntegrationsWrite, Need};
use crate::api::page::{self, Cursor, Page};
use crate::api::{check_name, no_content};
use crate::db::integrations::Integration;
use crate::db::time;
use crate::error::{Error, Result};
use crate::manifest::integrations::{config_ids, IntegrationUpdate, NewIntegration, Trigger};
use crate::manifest::validate::validate;
use crate::manifest::Kind;
use crate::state::AppState;

/// Body of `POST /v1/integrations`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    name: String,
    kind: String,
    manifest: Value,
    triggers: Option<Vec<Trigger>>,
}

/// Body of `PATCH /v1/integrations/{id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateIntegration {
    name: Option<String>,
    manifest: Option<Value>,
    triggers: Option<Vec<Trigger>>,
}

/// An integration as the API shows it (never its secrets).
#[derive(Serialize)]
pub struct IntegrationView {
    id: String,
    name: String,
    kind: String,
    manifest: Value,
    triggers: Value,
    /// Which `initial_data_form` ids have a value, and which still need one.
    config: Value,
    oauth: Value,
    next_sync_at: Option<String>,
    warnings: Value,
    created_at: String,
    updated_at: String,
}

impl IntegrationView {
    /// The view of `i`, whose config ids `set` have a value.
    pub fn new(i: Integration, set: &[String]) -> Self {
        let manifest = i.manifest_value();
        let wanted = config_ids(&manifest);
        let missing: Vec<&String> = wanted.iter().filter(|id| !set.contains(id)).collect();
        let report = validate(&manifest, i.kind());
        IntegrationView {
            config: json!({"set": set, "missing": missing}),
            oauth: json!({
                "configured": manifest.get("oauth").and_then(Value::as_object).is_some_and(|o| !o.is_empty()),
                "connected": i.oauth_token.is_some(),
            }),
            warnings: json!(report.warnings),
            triggers: serde_json::from_str(&i.triggers).unwrap_or(json!([])),
            next_sync_at: time::rfc3339_opt(&i.next_sync_at),
            created_at: time::rfc3339(&i.created_at),
            updated_at: time::rfc3339(&i.updated_at),
            manifest,
            id: i.id,
            name: i.name,
            kind: i.kind,
        }
    }
}

pub async fn create(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    body: web::Json<CreateIntegration>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let kind = Kind::parse(&b.kind).ok_or_else(|| {
        Error::field(
            "kind",
            format!("kind must be webhook or sync_users, not '{}'", b.kind),
        )
    })?;
    let new = NewIntegration {
        name: check_name(&b.name)?,
        kind,
        manifest: b.manifest,
        triggers: b.triggers,
    };
    let i = state
        .integrations
        .create_integration(&state.types, need.caller.organization.clone(), new)
        .await?;
    Ok(HttpResponse::Created().json(IntegrationView::new(i, &[])))
}

pub async fn list(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    q: web::Query<page::KeysetQuery>,
) -> Result<HttpResponse> {
    let (limit, after) = q.keyset()?;
    let rows = state
        .integrations
        .integrations_page(need.caller.organization.clone(), after, limit)
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |(i, set)| IntegrationView::new(i, &set),
        |(i, _)| Cursor::after(&i.id),
    )))
}

pub async fn get(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (i, set) = state
        .integrations
        .integration_with_config(need.caller.organization.clone(), id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(IntegrationView::new(i, &set)))
}

pub async fn update(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    id: web::Path<String>,
    body: web::Json<UpdateIntegration>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let update = IntegrationUpdate {
        name: b.name.as_deref().map(check_name).transpose()?,
        manifest: b.manifest,
        triggers: b.triggers,
    };
    let (i, set) = state
        .integrations
        .update_integration(
            &state.types,
            need.caller.organization.clone(),
            id.into_inner(),
            update,
        )
        .await?;
    Ok(HttpResponse::Ok().json(IntegrationView::new(i, &set)))
}

pub async fn delete(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    state
        .integrations
        .delete_integration(need.caller.organization.clone(), id.into_inner())
        .await?;
    Ok(no_content())
}
