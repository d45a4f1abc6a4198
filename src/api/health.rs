//! Liveness, readiness and the OpenAPI document (no token needed).

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::db;
use crate::error::ErrorCode;
use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers and takes writes (after a write was refused for
/// lack of space, until a probe write succeeds).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if !state.db.writable().await {
        return HttpResponse::ServiceUnavailable().json(json!({"error": {
            "code": ErrorCode::StorageFull,
            "message": "the database has no space left for writes: free disk space; hookrelay recovers by itself"
        }}));
    }
    match state.db.read(|c| Ok(db::ping(c)?)).await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"error": {"code": ErrorCode::Unavailable, "message": "the database is not reachable"}}))
        }
    }
}

/// The API contract.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(super::OPENAPI)
}
