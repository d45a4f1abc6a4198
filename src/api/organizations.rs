//! `/v1/organizations`: the tenants (the `platform` scope). Every other
//! path acts in the request's organization (see `auth`), `/v1/organization`
//! (its profile) included.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::{IntegrationsRun, IntegrationsWrite, Need, Platform};
use super::check_text;
use super::page::{self, Cursor, Page};
use crate::db::organizations::Organization;
use crate::db::time;
use crate::error::Result;
use crate::organizations::{Branding, Organizations};
use crate::state::AppState;

/// Body of `POST /v1/organizations` and `PATCH /v1/organizations/{id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationBody {
    name: String,
}

/// An organization as the API shows it.
#[derive(Serialize)]
pub struct OrganizationView {
    id: String,
    name: String,
    branding: BrandingView,
    created_at: String,
    updated_at: String,
}

/// An organization's portal branding (each part null by default).
#[derive(Serialize)]
pub struct BrandingView {
    display_name: Option<String>,
    logo_url: Option<String>,
    accent_color: Option<String>,
}

impl BrandingView {
    pub fn of(o: &Organization) -> Self {
        BrandingView {
            display_name: o.display_name.clone(),
            logo_url: o.logo_url.clone(),
            accent_color: o.accent_color.clone(),
        }
    }
}

impl OrganizationView {
    fn new(o: Organization) -> Self {
        OrganizationView {
            branding: BrandingView::of(&o),
            created_at: time::rfc3339(&o.created_at),
            updated_at: time::rfc3339(&o.updated_at),
            id: o.id,
            name: o.name,
        }
    }
}

fn service(state: &AppState) -> Organizations<'_> {
    Organizations {
        db: &state.db,
        notify: &state.notify,
    }
}

pub async fn create(
    state: web::Data<AppState>,
    need: Need<Platform>,
    body: web::Json<OrganizationBody>,
) -> Result<HttpResponse> {
    let o = service(&state).create(&body.name).await?;
    tracing::info!(organization_id = %o.id, by = %need.caller.token_id, "organization created");
    Ok(HttpResponse::Created().json(OrganizationView::new(o)))
}

pub async fn list(
    state: web::Data<AppState>,
    _: Need<Platform>,
    q: web::Query<page::KeysetQuery>,
) -> Result<HttpResponse> {
    let (limit, after) = q.keyset()?;
    let rows = service(&state).list(after, limit).await?;
    let page = Page::from_rows(rows, limit, OrganizationView::new, |o| Cursor::after(&o.id));
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get(
    state: web::Data<AppState>,
    _: Need<Platform>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let o = service(&state).find(id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(OrganizationView::new(o)))
}

pub async fn rename(
    state: web::Data<AppState>,
    _: Need<Platform>,
    id: web::Path<String>,
    body: web::Json<OrganizationBody>,
) -> Result<HttpResponse> {
    let o = service(&state).rename(id.into_inner(), &body.name).await?;
    Ok(HttpResponse::Ok().json(OrganizationView::new(o)))
}

/// `PUT /v1/organizations/{id}/branding`: what the customer portal shows.
pub async fn put_branding(
    state: web::Data<AppState>,
    _: Need<Platform>,
    id: web::Path<String>,
    body: web::Json<Branding>,
) -> Result<HttpResponse> {
    let o = service(&state)
        .set_branding(id.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(OrganizationView::new(o)))
}

pub async fn delete(
    state: web::Data<AppState>,
    need: Need<Platform>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let id = id.into_inner();
    service(&state).delete(id.clone()).await?;
    tracing::info!(organization_id = %id, by = %need.caller.token_id, "organization deleted");
    Ok(super::no_content())
}

/// Body of `PUT /v1/organization`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutOrganization {
    name: String,
}

/// The request's organization: its id, name and last change.
pub async fn profile(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
) -> Result<HttpResponse> {
    let o = service(&state)
        .find(need.caller.organization.clone())
        .await?;
    Ok(HttpResponse::Ok().json(organization_view(&o)))
}

/// Renames the request's organization, publishing `organization.updated`
/// to it.
pub async fn put_profile(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    body: web::Json<PutOrganization>,
) -> Result<HttpResponse> {
    let name = check_text("name", &body.name, true)?;
    let o = service(&state)
        .put_profile(&state.runs, need.caller.organization.clone(), name)
        .await?;
    Ok(HttpResponse::Ok().json(organization_view(&o)))
}

fn organization_view(o: &crate::db::organizations::Organization) -> Value {
    json!({"id": o.id, "name": o.name, "updated_at": time::rfc3339(&o.updated_at)})
}
