//! `/v1/tokens`: API tokens (the `admin` scope). A token is shown once, at
//! creation; the database keeps only its hash.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::{Admin, Caller, Need};
use super::page::{self, Cursor, Page};
use crate::db::time;
use crate::db::tokens::ApiToken;
use crate::error::Result;
use crate::state::AppState;
use crate::tokens::Tokens;

/// Body of `POST /v1/tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
    scopes: Vec<String>,
}

/// Body of `PATCH /v1/tokens/{id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameToken {
    name: String,
}

/// A token as the API shows it: never the token or its hash.
#[derive(Serialize)]
pub struct TokenView {
    id: String,
    name: String,
    scopes: Vec<String>,
    created_at: String,
    last_used_at: Option<String>,
    /// The token only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl TokenView {
    fn new(t: ApiToken) -> Self {
        TokenView {
            scopes: t.scope_list().into_iter().map(String::from).collect(),
            created_at: time::rfc3339(&t.created_at),
            last_used_at: time::rfc3339_opt(&t.last_used_at),
            id: t.id,
            name: t.name,
            token: None,
        }
    }
}

/// The token service over the shared state.
fn service<'a>(state: &'a AppState, caller: &'a Caller) -> Tokens<'a> {
    Tokens {
        db: &state.db,
        cache: &state.tokens,
        org: &caller.organization,
        platform: caller.is_platform(),
        max_tokens: state.config.limits.tokens(),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    admin: Need<Admin>,
    body: web::Json<CreateToken>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let (row, token) = service(&state, &admin.caller)
        .create(b.name, b.scopes)
        .await?;
    tracing::info!(token_id = %row.id, scopes = %row.scopes, by = %admin.caller.token_id, "API token created");
    Ok(HttpResponse::Created().json(TokenView {
        token: Some(token),
        ..TokenView::new(row)
    }))
}

pub async fn list(
    state: web::Data<AppState>,
    admin: Need<Admin>,
    q: web::Query<page::KeysetQuery>,
) -> Result<HttpResponse> {
    let (limit, after) = q.keyset()?;
    let rows = service(&state, &admin.caller).list(after, limit).await?;
    let page = Page::from_rows(rows, limit, TokenView::new, |t| Cursor::after(&t.id));
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get(
    state: web::Data<AppState>,
    admin: Need<Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let t = service(&state, &admin.caller).find(id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(TokenView::new(t)))
}

pub async fn rename(
    state: web::Data<AppState>,
    admin: Need<Admin>,
    id: web::Path<String>,
    body: web::Json<RenameToken>,
) -> Result<HttpResponse> {
    let t = service(&state, &admin.caller)
        .rename(id.into_inner(), &body.name)
        .await?;
    Ok(HttpResponse::Ok().json(TokenView::new(t)))
}

/// Revokes at once in this process, within `tokens::TRUSTED_FOR` in others.
pub async fn revoke(
    state: web::Data<AppState>,
    admin: Need<Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let id = id.into_inner();
    service(&state, &admin.caller).revoke(id.clone()).await?;
    tracing::info!(token_id = %id, by = %admin.caller.token_id, "API token revoked");
    Ok(HttpResponse::NoContent().finish())
}
