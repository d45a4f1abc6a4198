//! `GET /v1/stats`: the overview of the caller's organization (issue #16).

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::auth::{HistoryRead, Need};
use crate::db::time;
use crate::db::webhooks::WebhookState;
use crate::error::Result;
use crate::redact::redact_url;
use crate::state::AppState;
use crate::stats::{overview, Overview};

pub async fn get(state: web::Data<AppState>, need: Need<HistoryRead>) -> Result<HttpResponse> {
    let caller = need.caller;
    let o = overview(
        &state.db,
        caller.organization.clone(),
        state.config.retention_days,
        caller.is_platform(),
    )
    .await?;
    let sees_credentials = caller.sees_url_credentials();
    Ok(HttpResponse::Ok().json(view(o, sees_credentials)))
}

/// The JSON of the `Stats` schema (openapi.yaml).
fn view(o: Overview, sees_credentials: bool) -> Value {
    let (mut ok, mut failed) = (0i64, 0i64);
    let per_minute: Vec<Value> = o
        .per_minute
        .iter()
        .map(|(m, s, f)| {
            ok += s;
            failed += f;
            json!({"minute": time::rfc3339(m), "succeeded": s, "failed": f})
        })
        .collect();
    let attempts = ok + failed;
    // Four decimals: a ratio for a chart, not an accounting figure.
    let success_rate =
        (attempts > 0).then(|| (ok as f64 / attempts as f64 * 10_000.0).round() / 10_000.0);
    let brief = |w: &crate::db::stats::WebhookBrief| {
        // Credentials in the URL only for those who could change the
        // webhook, as in the webhook view.
        let url = if sees_credentials {
            w.url.clone()
        } else {
            redact_url(&w.url)
        };
        json!({"id": w.id, "name": w.name, "url": url, "state": w.state})
    };
    let in_state = |s: WebhookState| -> Vec<Value> {
        o.webhooks
            .iter()
            .filter(|w| w.state == s)
            .map(brief)
            .collect()
    };
    let tables: Vec<Value> = o
        .tables
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "rows": t.rows,
                "rows_capped": t.rows_capped,
                "database_rows": t.database_rows,
                "oldest_at": time::rfc3339_opt(&t.oldest_at),
            })
        })
        .collect();
    let q = &o.queue;
    json!({
        "organization_id": o.organization_id,
        "generated_at": time::rfc3339(&o.generated_at),
        "window": {"from": time::rfc3339(&o.from), "to": time::rfc3339(&o.generated_at)},
        "per_minute": per_minute,
        "last_24h": {"succeeded": ok, "failed": failed, "success_rate": success_rate},
        "queue": {
            "pending": q.pending,
            "delivering": q.delivering,
            "failed": q.failed,
            "dead": q.dead,
            "succeeded": q.succeeded,
        },
        "oldest_pending_at": time::rfc3339_opt(&o.oldest_pending_at),
        "webhooks": {
            "total": o.webhooks.len(),
            "active": o.webhooks.iter().filter(|w| w.state == WebhookState::Active).count(),
            "failing": in_state(WebhookState::Failing),
            "disabled": in_state(WebhookState::Disabled),
        },
        "tables": tables,
        "retention": {
            "days": o.retention_days,
            "last_run_at": time::rfc3339_opt(&o.retention_last_run_at),
            "deleted": {
                "history": o.retention_deleted.0,
                "deliveries": o.retention_deleted.1,
                "events": o.retention_deleted.2,
            },
        },
    })
}
