//! `/v1/webhooks`: subscriptions, secret rotation and the test send. The
//! rules are in the `delivery::webhooks` service; here: extract, authorize,
//! validate the body's fields, call it, shape the view.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::auth::{Caller, Need, WebhooksRead, WebhooksWrite};
use super::history::HistoryView;
use super::page::{self, Cursor, Page};
use super::webhook_input::{self as input, CreateWebhook, RotateSecret, UpdateWebhook};
use super::webhook_view::{lane_view, WebhookView};
use crate::db::webhooks::{Scheme, Webhook, WebhookChanges, WebhookQuery, WebhookSort};
use crate::delivery::manual;
use crate::delivery::webhooks::{NewWebhook, Webhooks};
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
    let b = body.into_inner();
    let scheme = match &b.signature_scheme {
        Some(s) => input::check_scheme(s)?,
        None => Scheme::Both,
    };
    let format = match &b.format {
        Some(f) => input::check_format(f)?,
        None => input::default_format(scheme),
    };
    let fields = Webhook {
        name: super::check_name(&b.name)?,
        url: input::check_url(&b.url, state.config.require_https, state.clients.policy()).await?,
        event_types: input::check_event_types(&state, &need.caller.organization, &b.event_types)
            .await?,
        max_events_per_request: input::check_batch(b.max_events_per_request.unwrap_or(1), format)?,
        format,
        active: b.active.unwrap_or(true),
        verify_ssl: b.verify_ssl.unwrap_or(true),
        signing: b.signing.unwrap_or(true),
        signature_scheme: scheme,
        retry_schedule: b
            .retry_schedule
            .as_deref()
            .map(input::check_retry_schedule)
            .transpose()?,
        max_in_flight: input::check_in_flight(
            b.max_in_flight
                .unwrap_or(state.config.max_in_flight_per_webhook),
        )?,
        concurrency: input::check_concurrency(b.concurrency.as_deref().unwrap_or("adaptive"))?,
        rate_limit_per_sec: b.rate_limit_per_sec.map(input::check_rate).transpose()?,
        // Set by the service.
        ..Webhook::blank()
    };
    let new = NewWebhook {
        fields,
        secret: b.secret,
    };
    let (webhook, secret) = service(&state, &need.caller).create(new).await?;
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
    let webhooks = service(&state, &need.caller);
    let current = webhooks.find(id.into_inner()).await?;
    let b = body.into_inner();
    let format = match &b.format {
        Some(f) => input::check_format(f)?,
        None => current.format,
    };
    let max = input::check_batch(
        b.max_events_per_request
            .unwrap_or(current.max_events_per_request),
        format,
    )?;
    let changes = WebhookChanges {
        name: b.name.as_deref().map(super::check_name).transpose()?,
        url: match &b.url {
            Some(u) => {
                Some(input::check_url(u, state.config.require_https, state.clients.policy()).await?)
            }
            None => None,
        },
        event_types: match &b.event_types {
            Some(list) => {
                Some(input::check_event_types(&state, &need.caller.organization, list).await?)
            }
            None => None,
        },
        format: b.format.is_some().then_some(format),
        max_events_per_request: Some(max),
        verify_ssl: b.verify_ssl,
        signing: b.signing,
        signature_scheme: b
            .signature_scheme
            .as_deref()
            .map(input::check_scheme)
            .transpose()?,
        retry_schedule: match &b.retry_schedule {
            Some(Some(list)) => Some(Some(input::check_retry_schedule(list)?)),
            Some(None) => Some(None),
            None => None,
        },
        max_in_flight: b.max_in_flight.map(input::check_in_flight).transpose()?,
        concurrency: b
            .concurrency
            .as_deref()
            .map(input::check_concurrency)
            .transpose()?,
        rate_limit_per_sec: match b.rate_limit_per_sec {
            Some(Some(r)) => Some(Some(input::check_rate(r)?)),
            Some(None) => Some(None),
            None => None,
        },
        ..Default::default()
    };
    let w = webhooks.update(current, changes, b.active).await?;
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
    let grace = input::check_grace(b.grace_period.as_deref())?;
    let (w, secret) = service(&state, &need.caller)
        .rotate_secret(id.into_inner(), b.secret, grace)
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
