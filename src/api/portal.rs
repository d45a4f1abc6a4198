//! `/v1/portal/sessions`: customer portal links (the `admin` scope), minted
//! by the platform's backend for one organization. The link's URL is shown
//! once, at minting; the database keeps only its secret's hash.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::auth::{Admin, Need};
use super::page::{self, Cursor, Page};
use crate::db::portal_sessions::PortalSession;
use crate::db::time;
use crate::error::Result;
use crate::state::AppState;
use crate::tokens::portal::{NewPortalSession, PortalLinks};

/// A link as the API shows it: never its secret, but its URL once.
#[derive(Serialize)]
pub struct PortalSessionView {
    id: String,
    scopes: Vec<String>,
    created_at: String,
    expires_at: String,
    last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

impl PortalSessionView {
    fn new(s: PortalSession) -> Self {
        PortalSessionView {
            scopes: s.scopes.split_whitespace().map(String::from).collect(),
            created_at: time::rfc3339(&s.created_at),
            expires_at: time::rfc3339(&s.expires_at),
            last_used_at: time::rfc3339_opt(&s.last_used_at),
            id: s.id,
            url: None,
        }
    }
}

fn links<'a>(state: &'a AppState, need: &'a Need<Admin>) -> PortalLinks<'a> {
    PortalLinks {
        db: &state.db,
        org: &need.caller.organization,
    }
}

pub async fn create(
    state: web::Data<AppState>,
    need: Need<Admin>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse> {
    let b: NewPortalSession = super::optional_json(&req, body, state.config.max_body_bytes).await?;
    let minted = links(&state, &need)
        .mint(
            b,
            state.config.limits.portal_sessions(),
            &state.config.public_base(),
        )
        .await?;
    tracing::info!(portal_session = %minted.session.id, organization_id = %need.caller.organization,
        by = %need.caller.token_id, "portal link minted");
    let mut view = PortalSessionView::new(minted.session);
    view.url = Some(minted.url);
    Ok(HttpResponse::Created().json(view))
}

pub async fn list(
    state: web::Data<AppState>,
    need: Need<Admin>,
    q: web::Query<page::KeysetQuery>,
) -> Result<HttpResponse> {
    let (limit, before) = q.keyset()?;
    let rows = links(&state, &need).live(before, limit).await?;
    let page = Page::from_rows(rows, limit, PortalSessionView::new, |s| {
        Cursor::after(&s.id)
    });
    Ok(HttpResponse::Ok().json(page))
}

pub async fn revoke(
    state: web::Data<AppState>,
    need: Need<Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let id = id.into_inner();
    links(&state, &need).revoke(id.clone()).await?;
    tracing::info!(portal_session = %id, by = %need.caller.token_id, "portal link revoked");
    Ok(super::no_content())
}
