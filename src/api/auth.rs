//! Bearer-token authentication and scope checks.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};

use crate::app::AppState;
use crate::db::time;
use crate::db::tokens::ApiToken;
use crate::error::ApiError;

/// Every scope a token can hold. `admin` implies all others.
pub const SCOPES: &[&str] = &[
    "events:write",
    "webhooks:read",
    "webhooks:write",
    "history:read",
    "history:resend",
    "integrations:run",
    "integrations:write",
    "admin",
];

/// The authenticated caller of a `/v1` request.
pub struct Auth {
    pub token_id: String,
    scopes: Vec<String>,
}

impl Auth {
    /// 403 naming the scope unless the token holds it (or `admin`).
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s == scope || s == "admin") {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this token lacks the `{scope}` scope"
            )))
        }
    }
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Auth, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get("Authorization")
            .map(|v| v.to_str().unwrap_or("").to_string());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("app state missing"))?;
            let header = header.ok_or_else(|| {
                ApiError::Unauthorized("missing `Authorization: Bearer <token>` header".into())
            })?;
            let token = header
                .strip_prefix("Bearer ")
                .or_else(|| header.strip_prefix("bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ApiError::Unauthorized(
                        "the Authorization header must be `Bearer <token>`".into(),
                    )
                })?
                .to_string();
            let found = state
                .db
                .read(move |c| Ok(ApiToken::find_by_secret(c, &token)?))
                .await?
                .ok_or_else(|| ApiError::Unauthorized("unknown or revoked token".into()))?;
            touch(&state, &found);
            Ok(Auth {
                token_id: found.id.clone(),
                scopes: found.scope_list().into_iter().map(String::from).collect(),
            })
        })
    }
}

/// Records `last_used_at` in the background, at most once a minute.
fn touch(state: &web::Data<AppState>, token: &ApiToken) {
    let now = time::now();
    if token
        .last_used_at
        .is_some_and(|t| now - t < chrono::Duration::seconds(60))
    {
        return;
    }
    let (db, id) = (state.db.clone(), token.id.clone());
    tokio::spawn(async move {
        if let Err(e) = db.write(move |c| Ok(ApiToken::touch(c, &id, now)?)).await {
            tracing::debug!(error = %e, "could not record token use");
        }
    });
}
