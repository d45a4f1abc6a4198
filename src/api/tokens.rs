//! `/v1/tokens`: API tokens (the `admin` scope). A token is shown once, at
//! creation; the database keeps only its hash.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::{Admin, Need};
use super::page::{self, Cursor, Page};
use crate::db::time;
use crate::db::tokens::ApiToken;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tokens;

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

/// Query of `GET /v1/tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
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

pub async fn create(
    state: web::Data<AppState>,
    admin: Need<Admin>,
    body: web::Json<CreateToken>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let (row, token) = state
        .db
        .write(move |c| tokens::create(c, &b.name, &b.scopes))
        .await?;
    // A bad-token flood may have cached this hash as unknown.
    state.tokens.created(&row.token_hash);
    tracing::info!(token_id = %row.id, scopes = %row.scopes, by = %admin.caller.token_id, "API token created");
    Ok(HttpResponse::Created().json(TokenView {
        token: Some(token),
        ..TokenView::new(row)
    }))
}

pub async fn list(
    state: web::Data<AppState>,
    _: Need<Admin>,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let limit = page::limit(q.limit)?;
    let after = Cursor::decode(q.cursor.as_deref())?.after;
    let rows = state
        .db
        .read(move |c| Ok(ApiToken::list(c, after.as_deref(), limit + 1)?))
        .await?;
    let page = Page::from_rows(rows, limit, TokenView::new, |t| Cursor::after(&t.id));
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get(
    state: web::Data<AppState>,
    _: Need<Admin>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let t = state
        .db
        .read(move |c| ApiToken::find(c, &id)?.ok_or_else(|| ApiError::not_found("token", &id)))
        .await?;
    Ok(HttpResponse::Ok().json(TokenView::new(t)))
}

pub async fn rename(
    state: web::Data<AppState>,
    _: Need<Admin>,
    id: web::Path<String>,
    body: web::Json<RenameToken>,
) -> ApiResult<HttpResponse> {
    let name = super::check_name(&body.name)?;
    let id = id.into_inner();
    let t = state
        .db
        .write(move |c| {
            if ApiToken::rename(c, &id, &name)? == 0 {
                return Err(ApiError::not_found("token", &id));
            }
            ApiToken::find(c, &id)?.ok_or_else(|| ApiError::not_found("token", &id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(TokenView::new(t)))
}

/// Revokes at once in this process (its token cache is cleared, so the next
/// request with this token gets 401), within `tokens::TRUSTED_FOR` in others.
pub async fn revoke(
    state: web::Data<AppState>,
    admin: Need<Admin>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let done = super::delete_one(&state, "token", id.clone(), ApiToken::delete).await?;
    state.tokens.clear();
    tracing::info!(token_id = %id, by = %admin.caller.token_id, "API token revoked");
    Ok(done)
}
