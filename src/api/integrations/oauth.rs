//! `/v1/integrations/{id}/oauth/authorize` and the public `/oauth/callback`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::{IntegrationsWrite, Need};
use crate::error::Result;
use crate::manifest::oauth::Callback;
use crate::state::AppState;

/// Redirects the admin to the provider, with a `state` checked on return.
pub async fn authorize(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let url = state
        .integrations
        .authorize_url(need.caller.organization.clone(), id.into_inner())
        .await?;
    Ok(HttpResponse::Found()
        .insert_header(("Location", url.to_string()))
        .json(json!({"location": url.to_string()})))
}

/// Query of the OAuth callback.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Public: the provider sends the admin back here with `code` and `state`.
pub async fn oauth_callback(
    state: web::Data<AppState>,
    q: web::Query<CallbackQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let callback = Callback {
        code: q.code,
        state: q.state,
        error: q.error,
    };
    let done = state.integrations.complete_oauth(callback).await?;
    Ok(HttpResponse::Ok().json(
        json!({"connected": true, "integration_id": done.integration_id, "run_id": done.run_id}),
    ))
}
