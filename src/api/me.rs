//! `GET /v1/me`: who the caller is, so a client (the console) knows what
//! to show. Any valid token may ask; it needs no scope.

use std::rc::Rc;

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;

use super::auth::Caller;
use super::organizations::BrandingView;
use crate::db::time;
use crate::error::{Error, Result};
use crate::organizations::Organizations;
use crate::state::AppState;

/// The answer of `GET /v1/me`.
#[derive(Serialize)]
pub struct MeView {
    token: TokenRef,
    organization: OrganizationRef,
    /// Set for a customer portal link.
    portal: Option<PortalRef>,
    /// Whether the token holds `platform` (acts in any organization).
    platform: bool,
}

/// A customer portal link's own facts.
#[derive(Serialize)]
struct PortalRef {
    expires_at: String,
}

/// The calling token: never the token itself.
#[derive(Serialize)]
struct TokenRef {
    id: String,
    name: String,
    scopes: Vec<&'static str>,
}

/// The organization the request acts in.
#[derive(Serialize)]
struct OrganizationRef {
    id: String,
    name: String,
    branding: BrandingView,
}

pub async fn me(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse> {
    // No `Need<…>`: every valid token may ask who it is. The middleware has
    // already refused a missing or unknown token with 401.
    let caller = req
        .extensions()
        .get::<Rc<Caller>>()
        .cloned()
        .ok_or_else(|| Error::internal("GET /v1/me outside the authenticated scope"))?;
    let org = Organizations {
        db: &state.db,
        notify: &state.notify,
    }
    .find(caller.organization.clone())
    .await?;
    Ok(HttpResponse::Ok().json(MeView {
        token: TokenRef {
            id: caller.token_id.clone(),
            name: caller.token_name.clone(),
            scopes: caller.scopes().iter().map(|s| s.as_str()).collect(),
        },
        organization: OrganizationRef {
            branding: BrandingView::of(&org),
            id: org.id,
            name: org.name,
        },
        portal: caller.portal_expires_at.map(|t| PortalRef {
            expires_at: time::rfc3339(&t),
        }),
        platform: caller.is_platform(),
    }))
}
