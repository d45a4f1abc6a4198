//! `/v1/webhooks`: subscriptions, secret rotation and the test send. The
//! rules are in the `delivery::webhooks` service; here: extract, authorize,
//! call it, shape the view.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::auth::{Caller, Need, WebhooksRead, WebhooksWrite};
use super::history::HistoryView;
use super::page::{self, Cursor, Page};
use super::webhook_view::{lane_view, WebhookView};
use crate::db::webhooks::{WebhookQuery, WebhookSort};
use crate::delivery::manual;
use crate::delivery::webhooks::input::{CreateWebhook, FilterTest, RotateSecret, UpdateWebhook};
use crate::delivery::webhooks::Webhooks;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The webhook service over the shared state.
fn service(state: &AppState, caller: &Caller) -> Webhooks {
    Webhooks {
        db: state.db.clone(),
        vault: state.vault.clone(),
        notify: state.notify.clone(),
        org: caller.organization.clone(),
        max_webhooks: state.config.limits.webhooks(),
        clients: state.clients.clone(),
        require_https: state.config.require_https,
        default_in_flight: state.config.max_in_flight_per_webhook,
    }
}

/// Query of `GET /v1/webhooks`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Body of `POST /v1/webhooks/{id}/test`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSend {
    event_type: String,
}

pub async fn list(
    state: web::Data<AppState>,
    need: Need<WebhooksRead>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let sort = q
        .sort
        .as_deref()
        .unwrap_or(WebhookSort::CreatedAt.as_str())
        .parse::<WebhookSort>()
        .map_err(|_| {
            let other = q.sort.as_deref().unwrap_or_default();
            Error::field(
                "sort",
                format!("unknown sort key '{other}'; use {}", WebhookSort::choices()),
            )
        })?;
    let limit = page::limit(q.limit)?;
    let offset = Cursor::decode(q.cursor.as_deref())?
        .offset
        .unwrap_or(0)
        .max(0);
    let query = WebhookQuery {
        organization: need.caller.organization.clone(),
        q: q.q,
        search_urls: need.caller.sees_url_credentials(),
        sort,
        descending: page::descending(q.order.as_deref(), false)?,
        offset,
        limit,
    };
    let rows = service(&state, &need.caller).list(query).await?;
    let kept = rows.len().min(limit as usize) as i64;
    let view = |w| WebhookView::for_caller(w, &need.caller);
    let page = Page::from_rows(rows, limit, view, |_| Cursor::offset(offset + kept));
    Ok(HttpResponse::Ok().json(page))
}

pub async fn create(
    state: web::Data<AppState>,
    need: Need<WebhooksWrite>,
    body: web::Json<CreateWebhook>,
) -> Result<HttpResponse> {
    let service = service(&state, &need.caller);
    let (webhook, secret) = service.create(body.into_inner()).await?;
    Ok(HttpResponse::Created().json(WebhookView::with_secret(webhook, secret)))
}

pub async fn get(
    state: web::Data<AppState>,
    need: Need<WebhooksRead>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let w = service(&state, &need.caller).find(id.into_inner()).await?;
    let lane = state.lanes.status(&w.id);
    let mut view = WebhookView::for_caller(w, &need.caller);
    view.lane = Some(
        lane.as_ref()
            .map(lane_view)
            .unwrap_or(serde_json::Value::Null),
    );
    Ok(HttpResponse::Ok().json(view))
}

pub async fn update(
    state: web::Data<AppState>,
    need: Need<WebhooksWrite>,
    id: web::Path<String>,
    body: web::Json<UpdateWebhook>,
) -> Result<HttpResponse> {
    let service = service(&state, &need.caller);
    let w = service.update(id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(WebhookView::new(w)))
}

/// Body of `POST /v1/webhooks/{id}/recover`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recover {
    since: String,
}

pub async fn recover(
    state: web::Data<AppState>,
    need: Need<WebhooksWrite>,
    id: web::Path<String>,
    body: web::Json<Recover>,
) -> Result<HttpResponse> {
    let since = super::events::parse_time("since", Some(&body.since))?.unwrap_or_default();
    let n = service(&state, &need.caller)
        .recover(id.into_inner(), since)
        .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "requeued": n })))
}

pub async fn delete(
    state: web::Data<AppState>,
    need: Need<WebhooksWrite>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    service(&state, &need.caller)
        .delete(id.into_inner())
        .await?;
    Ok(super::no_content())
}

/// New secret; the old one keeps signing (alongside) for the grace period.
pub async fn rotate_secret(
    state: web::Data<AppState>,
    need: Need<WebhooksWrite>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse> {
    let b: RotateSecret = super::optional_json(&req, body, state.config.max_body_bytes).await?;
    let (w, secret) = service(&state, &need.caller)
        .rotate_secret(id.into_inner(), b)
        .await?;
    Ok(HttpResponse::Ok().json(WebhookView::with_secret(w, secret)))
}

/// The signing secret in clear (needs `webhooks:write`: reading a webhook
/// is not enough to forge its signatures).
pub async fn secret(
    state: web::Data<AppState>,
    need: Need<WebhooksWrite>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (w, secret) = service(&state, &need.caller)
        .reveal_secret(id.into_inner())
        .await?;
    let view = WebhookView::new(w);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "secret": secret,
        "signature_scheme": view.signature_scheme,
        "previous_secret_expires_at": view.previous_secret_expires_at,
    })))
}

pub async fn test(
    state: web::Data<AppState>,
    need: Need<WebhooksWrite>,
    id: web::Path<String>,
    body: web::Json<TestSend>,
) -> Result<HttpResponse> {
    let deps = super::history::manual_deps(&state);
    let row = manual::test_send(
        &deps,
        need.caller.organization.clone(),
        id.into_inner(),
        body.into_inner().event_type,
    )
    .await?;
    Ok(HttpResponse::Created().json(HistoryView::new(row)))
}

/// Tries a content filter on an event or an event type's example (nothing
/// is stored or sent, so reading web hooks is enough).
pub async fn filter_test(
    state: web::Data<AppState>,
    need: Need<WebhooksRead>,
    body: web::Json<FilterTest>,
) -> Result<HttpResponse> {
    let (matches, nodes) = service(&state, &need.caller)
        .try_filter(body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "matches": matches, "nodes": nodes })))
}
