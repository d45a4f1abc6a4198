//! The HTTP API: one file per resource, handlers only. Route table here.

mod access;
pub mod access_log;
mod auth;
mod console;
mod deliveries;
pub mod error;
mod event_types;
mod events;
mod health;
mod history;
mod integrations;
mod me;
mod metrics;
mod organizations;
mod page;
mod portal;
mod runs;
mod stats;
mod tokens;
mod users;
mod webhook_view;
mod webhooks;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::{Error, ErrorCode};
use crate::state::AppState;

/// The OpenAPI document served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../openapi.yaml");

/// Registers every route. `main` and the tests share this one table.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    let max_body = state.config.max_body_bytes;
    cfg.app_data(state)
        .app_data(
            web::JsonConfig::default()
                .limit(max_body)
                .error_handler(json_error),
        )
        .app_data(web::PayloadConfig::default().limit(max_body))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        // The operator console (HTML, not part of the API contract).
        .configure(console::routes)
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/openapi.yaml", web::get().to(health::openapi))
        .route("/metrics", web::get().to(metrics::metrics))
        .route(
            "/oauth/callback",
            web::get().to(integrations::oauth_callback),
        )
        .service(
            web::scope("/v1")
                .wrap(actix_web::middleware::from_fn(auth::authenticate))
                // Every API answer is one organization's data, and some carry
                // secrets (a new token, a web hook's signing secret, URLs with
                // credentials): no cache, shared or private, may keep them.
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add((actix_web::http::header::CACHE_CONTROL, "no-store")),
                )
                .route("/me", web::get().to(me::me))
                .route("/portal/sessions", web::post().to(portal::create))
                .route("/portal/sessions", web::get().to(portal::list))
                .route("/portal/sessions/{id}", web::delete().to(portal::revoke))
                .route("/tokens", web::get().to(tokens::list))
                .route("/tokens", web::post().to(tokens::create))
                .route("/tokens/{id}", web::get().to(tokens::get))
                .route("/tokens/{id}", web::patch().to(tokens::rename))
                .route("/tokens/{id}", web::delete().to(tokens::revoke))
                .route("/event-types", web::get().to(event_types::list))
                .route("/event-types", web::post().to(event_types::create))
                .route("/event-types/{name}", web::get().to(event_types::get))
                .route("/webhooks", web::get().to(webhooks::list))
                .route("/webhooks", web::post().to(webhooks::create))
                .route(
                    "/webhooks/filter-test",
                    web::post().to(webhooks::filter_test),
                )
                .route("/webhooks/{id}", web::get().to(webhooks::get))
                .route("/webhooks/{id}", web::patch().to(webhooks::update))
                .route("/webhooks/{id}", web::delete().to(webhooks::delete))
                .route(
                    "/webhooks/{id}/rotate-secret",
                    web::post().to(webhooks::rotate_secret),
                )
                .route("/webhooks/{id}/secret", web::get().to(webhooks::secret))
                .route("/webhooks/{id}/test", web::post().to(webhooks::test))
                .route("/webhooks/{id}/recover", web::post().to(webhooks::recover))
                .route("/events", web::get().to(events::list))
                .route("/events", web::post().to(events::publish))
                .route("/events/batch", web::post().to(events::publish_batch))
                .route("/events/{id}", web::get().to(events::get))
                .route("/deliveries", web::get().to(deliveries::list))
                .route("/history", web::get().to(history::list))
                .route("/history/{id}", web::get().to(history::get))
                .route("/history/{id}/resend", web::post().to(history::resend))
                .route("/stats", web::get().to(stats::get))
                .route("/organizations", web::get().to(organizations::list))
                .route("/organizations", web::post().to(organizations::create))
                .route("/organizations/{id}", web::get().to(organizations::get))
                .route(
                    "/organizations/{id}",
                    web::patch().to(organizations::rename),
                )
                .route(
                    "/organizations/{id}",
                    web::delete().to(organizations::delete),
                )
                .route(
                    "/organizations/{id}/branding",
                    web::put().to(organizations::put_branding),
                )
                .route("/organization", web::get().to(organizations::profile))
                .route("/organization", web::put().to(organizations::put_profile))
                .route("/users", web::get().to(users::list))
                .route("/users", web::post().to(users::create))
                .route("/users/{id}", web::get().to(users::get))
                .route("/users/{id}", web::patch().to(users::update))
                .route("/users/{id}", web::delete().to(users::delete))
                .route("/users/{id}/access", web::get().to(access::access))
                .route(
                    "/users/{id}/access/{integration_id}/revoke",
                    web::post().to(access::revoke),
                )
                .route("/integrations", web::get().to(integrations::list))
                .route("/integrations", web::post().to(integrations::create))
                .route("/integrations/{id}", web::get().to(integrations::get))
                .route("/integrations/{id}", web::patch().to(integrations::update))
                .route("/integrations/{id}", web::delete().to(integrations::delete))
                .route(
                    "/integrations/{id}/config",
                    web::get().to(integrations::get_config),
                )
                .route(
                    "/integrations/{id}/config",
                    web::put().to(integrations::put_config),
                )
                .route("/integrations/{id}/form", web::get().to(integrations::form))
                .route(
                    "/integrations/{id}/runs",
                    web::post().to(integrations::start_run),
                )
                .route(
                    "/integrations/{id}/oauth/authorize",
                    web::get().to(integrations::authorize),
                )
                .route(
                    "/integrations/{id}/oauth/start",
                    web::post().to(integrations::oauth_start),
                )
                .route("/runs", web::get().to(runs::list))
                .route("/runs/{id}", web::get().to(runs::get))
                .route("/runs/{id}/rerun", web::post().to(runs::rerun)),
        )
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::ContentType => Error::invalid(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => too_large(*limit),
        JsonPayloadError::Deserialize(de) if de.is_data() => Error::invalid(
            ErrorCode::InvalidBody,
            format!("the body does not match the expected shape: {de}"),
        ),
        other => Error::invalid(
            ErrorCode::MalformedJson,
            format!("the request body is not valid JSON: {other}"),
        ),
    };
    e.into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    Error::invalid(
        ErrorCode::InvalidQuery,
        format!("invalid query string: {err}"),
    )
    .into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    Error::invalid(ErrorCode::InvalidPath, format!("invalid path: {err}")).into()
}

/// 413 naming the limit and the setting that raises it.
pub(crate) fn too_large(limit: usize) -> Error {
    Error::invalid(
        ErrorCode::PayloadTooLarge,
        format!("the request body is larger than {limit} bytes (HOOKRELAY_MAX_BODY_BYTES)"),
    )
}

/// Reads an optional JSON body: empty means the type's defaults. Errors
/// are the same JSON errors as `web::Json`'s (413, 415, 400, 422).
pub(crate) async fn optional_json<T: serde::de::DeserializeOwned + Default>(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<T, Error> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            Error::invalid(
                ErrorCode::MalformedBody,
                format!("cannot read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let content_type = req
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.to_ascii_lowercase().contains("json") {
        return Err(Error::invalid(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json` (or send no body)",
        ));
    }
    serde_json::from_slice(&body).map_err(|e| {
        let code = if e.is_data() {
            ErrorCode::InvalidBody
        } else {
            ErrorCode::MalformedJson
        };
        Error::invalid(code, format!("the request body is not valid: {e}"))
    })
}

pub(crate) use crate::text::{check_name, check_text};

/// 204 helper.
pub(crate) fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
