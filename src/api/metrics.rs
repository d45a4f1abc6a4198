//! `GET /metrics`: Prometheus text format. Open by default (like most
//! exporters, for a scraper on a private network); with
//! `HOOKRELAY_METRICS_TOKEN` set it wants `Authorization: Bearer <that>`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::db::deliveries::QueueStats;
use crate::db::time;
use crate::error::{Error, Result};
use crate::state::AppState;

pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse> {
    if let Some(expected) = state.config.metrics_token.as_deref() {
        let presented = req
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let ok = presented.is_some_and(|p| {
            use sha2::{Digest, Sha256};
            use subtle::ConstantTimeEq;
            // Digests first: equal lengths, so nothing leaks the token's length.
            let (p, e) = (Sha256::digest(p.trim()), Sha256::digest(expected));
            bool::from(p.as_slice().ct_eq(e.as_slice()))
        });
        if !ok {
            return Err(Error::Unauthorized(
                "metrics need `Authorization: Bearer <HOOKRELAY_METRICS_TOKEN>`".into(),
            ));
        }
    }
    let queue = state
        .db
        .read(|c| Ok(QueueStats::read(c, time::now())?))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(&queue, &state.lanes.samples())))
}
