//! `/v1/webhooks`: subscriptions, secret rotation and the test send.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::history::HistoryView;
use super::page::{self, Cursor, Page};
use super::webhook_input::{self as input, CreateWebhook, UpdateWebhook, WebhookView};
use super::Auth;
use crate::app::AppState;
use diesel::Connection;

use crate::db::deliveries::Delivery;
use crate::db::webhooks::{Webhook, WebhookChanges, WebhookQuery, WebhookSort};
use crate::db::{new_id, time};
use crate::delivery::manual;
use crate::error::{ApiError, ApiResult};

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
    auth: Auth,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    auth.require("webhooks:read")?;
    let q = q.into_inner();
    let sort = match q.sort.as_deref().unwrap_or("created_at") {
        "name" => WebhookSort::Name,
        "url" => WebhookSort::Url,
        "last_triggered_at" => WebhookSort::LastTriggeredAt,
        "state" => WebhookSort::State,
        "created_at" => WebhookSort::CreatedAt,
        other => {
            return Err(ApiError::field(
                "sort",
                format!(
                "unknown sort key '{other}'; use name, url, last_triggered_at, state or created_at"
            ),
            ))
        }
    };
    let limit = page::limit(q.limit)?;
    let offset = Cursor::decode(q.cursor.as_deref())?
        .offset
        .unwrap_or(0)
        .max(0);
    let query = WebhookQuery {
        q: q.q,
        sort,
        descending: page::descending(q.order.as_deref(), false)?,
        offset,
        limit,
    };
    let rows = state
        .db
        .read(move |c| Ok(Webhook::list(c, &query)?))
        .await?;
    let kept = rows.len().min(limit as usize) as i64;
    let page = Page::from_rows(rows, limit, WebhookView::new, |_| {
        Cursor::offset(offset + kept)
    });
    Ok(HttpResponse::Ok().json(page))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<CreateWebhook>,
) -> ApiResult<HttpResponse> {
    auth.require("webhooks:write")?;
    let b = body.into_inner();
    let format = input::check_format(b.format.as_deref().unwrap_or("form"))?;
    let now = time::now();
    let active = b.active.unwrap_or(true);
    let webhook = Webhook {
        id: new_id("wh"),
        name: input::check_name(&b.name)?,
        url: input::check_url(&b.url, state.config.require_https, state.clients.policy())?,
        event_types: input::check_event_types(&state, &b.event_types).await?,
        max_events_per_request: input::check_batch(b.max_events_per_request.unwrap_or(1), &format)?,
        format,
        active,
        verify_ssl: b.verify_ssl.unwrap_or(true),
        signing: b.signing.unwrap_or(true),
        secret: input::new_secret(),
        state: if active { "active" } else { "disabled" }.into(),
        disabled_reason: (!active).then(|| "created disabled by an operator".to_string()),
        last_triggered_at: None,
        created_at: now,
        updated_at: now,
        retry_schedule: b
            .retry_schedule
            .as_deref()
            .map(input::check_retry_schedule)
            .transpose()?,
        max_in_flight: input::check_in_flight(
            b.max_in_flight
                .unwrap_or(state.config.max_in_flight_per_webhook),
        )?,
        rate_limit_per_sec: b.rate_limit_per_sec.map(input::check_rate).transpose()?,
        failing_since: None,
        disabled_at: (!active).then_some(now),
    };
    let stored = webhook.clone();
    state.db.write(move |c| Ok(stored.insert(c)?)).await?;
    Ok(HttpResponse::Created().json(WebhookView::with_secret(webhook)))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require("webhooks:read")?;
    let w = find(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(WebhookView::new(w)))
}

pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<UpdateWebhook>,
) -> ApiResult<HttpResponse> {
    auth.require("webhooks:write")?;
    let current = find(&state, id.into_inner()).await?;
    let b = body.into_inner();
    let format = match &b.format {
        Some(f) => input::check_format(f)?,
        None => current.format.clone(),
    };
    let max = input::check_batch(
        b.max_events_per_request
            .unwrap_or(current.max_events_per_request),
        &format,
    )?;
    let changes = WebhookChanges {
        name: b.name.as_deref().map(input::check_name).transpose()?,
        url: b
            .url
            .as_deref()
            .map(|u| input::check_url(u, state.config.require_https, state.clients.policy()))
            .transpose()?,
        event_types: match &b.event_types {
            Some(list) => Some(input::check_event_types(&state, list).await?),
            None => None,
        },
        format: b.format.is_some().then_some(format),
        max_events_per_request: Some(max),
        verify_ssl: b.verify_ssl,
        signing: b.signing,
        retry_schedule: match &b.retry_schedule {
            Some(Some(list)) => Some(Some(input::check_retry_schedule(list)?)),
            Some(None) => Some(None),
            None => None,
        },
        max_in_flight: b.max_in_flight.map(input::check_in_flight).transpose()?,
        rate_limit_per_sec: match b.rate_limit_per_sec {
            Some(Some(r)) => Some(Some(input::check_rate(r)?)),
            Some(None) => Some(None),
            None => None,
        },
        updated_at: Some(time::now()),
        ..Default::default()
    };
    let (id, was_active) = (current.id.clone(), current.active);
    let w = state
        .db
        .write(move |c| {
            c.transaction::<_, ApiError, _>(|c| {
                Webhook::update(c, &id, &changes)?;
                let now = time::now();
                // Disabling gives up on queued deliveries; enabling replays
                // nothing (POST /recover does).
                match b.active {
                    Some(false) if was_active => {
                        Webhook::disable(c, &id, "disabled by an operator", now)?;
                    }
                    Some(true) if !was_active => {
                        Webhook::enable(c, &id, now)?;
                    }
                    _ => {}
                }
                Webhook::find(c, &id)?.ok_or_else(|| ApiError::not_found("webhook", &id))
            })
        })
        .await?;
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
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<Recover>,
) -> ApiResult<HttpResponse> {
    auth.require("webhooks:write")?;
    let since = super::events::parse_time("since", Some(&body.since))?.unwrap_or_default();
    let id = id.into_inner();
    let n = state
        .db
        .write(move |c| {
            let w = Webhook::find(c, &id)?.ok_or_else(|| ApiError::not_found("webhook", &id))?;
            if !w.active {
                return Err(ApiError::Conflict {
                    code: "webhook_disabled",
                    message: format!("webhook '{id}' is disabled; enable it (PATCH active=true) before recovering"),
                });
            }
            Ok(Delivery::requeue(c, &id, since, time::now())?)
        })
        .await?;
    if n > 0 {
        state.notify.notify_one();
    }
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "requeued": n })))
}

pub async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require("webhooks:write")?;
    let id = id.into_inner();
    let n = state
        .db
        .write({
            let id = id.clone();
            move |c| Ok(Webhook::delete(c, &id)?)
        })
        .await?;
    if n == 0 {
        return Err(ApiError::not_found("webhook", &id));
    }
    Ok(super::no_content())
}

pub async fn rotate_secret(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require("webhooks:write")?;
    let id = id.into_inner();
    let changes = WebhookChanges {
        secret: Some(input::new_secret()),
        updated_at: Some(time::now()),
        ..Default::default()
    };
    let w = state
        .db
        .write(move |c| {
            if Webhook::update(c, &id, &changes)? == 0 {
                return Err(ApiError::not_found("webhook", &id));
            }
            Webhook::find(c, &id)?.ok_or_else(|| ApiError::not_found("webhook", &id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookView::with_secret(w)))
}

pub async fn test(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<TestSend>,
) -> ApiResult<HttpResponse> {
    auth.require("webhooks:write")?;
    let row = manual::test_send(&state, id.into_inner(), body.into_inner().event_type).await?;
    Ok(HttpResponse::Created().json(HistoryView::new(row)))
}

async fn find(state: &AppState, id: String) -> ApiResult<Webhook> {
    state
        .db
        .read(move |c| Webhook::find(c, &id)?.ok_or_else(|| ApiError::not_found("webhook", &id)))
        .await
}
