//! `/v1/webhooks`: subscriptions, secret rotation and the test send.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::auth::{Need, WebhooksRead, WebhooksWrite};
use super::history::HistoryView;
use super::page::{self, Cursor, Page};
use super::webhook_input::{
    self as input, CreateWebhook, RotateSecret, UpdateWebhook, WebhookView,
};
use crate::state::AppState;
use diesel::Connection;

use crate::db::deliveries::Delivery;
use crate::db::webhooks::{Webhook, WebhookChanges, WebhookQuery, WebhookSort};
use crate::db::{new_id, time};
use crate::delivery::manual;
use crate::delivery::payload::secret_context;
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
    need: Need<WebhooksRead>,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
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
        search_urls: need.caller.sees_url_credentials(),
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
    let view = |w| WebhookView::for_caller(w, &need.caller);
    let page = Page::from_rows(rows, limit, view, |_| Cursor::offset(offset + kept));
    Ok(HttpResponse::Ok().json(page))
}

pub async fn create(
    state: web::Data<AppState>,
    _: Need<WebhooksWrite>,
    body: web::Json<CreateWebhook>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let format = input::check_format(b.format.as_deref().unwrap_or("form"))?;
    let now = time::now();
    let active = b.active.unwrap_or(true);
    let id = new_id("wh");
    let scheme = input::check_scheme(b.signature_scheme.as_deref().unwrap_or("both"))?;
    let secret = match &b.secret {
        Some(s) => input::check_secret(s, &scheme)?,
        None => input::new_secret(),
    };
    let webhook = Webhook {
        secret: state.vault.seal(&secret, &secret_context(&id)),
        id,
        name: super::check_name(&b.name)?,
        url: input::check_url(&b.url, state.config.require_https, state.clients.policy())?,
        event_types: input::check_event_types(&state, &b.event_types).await?,
        max_events_per_request: input::check_batch(b.max_events_per_request.unwrap_or(1), &format)?,
        format,
        active,
        verify_ssl: b.verify_ssl.unwrap_or(true),
        signing: b.signing.unwrap_or(true),
        signature_scheme: scheme,
        previous_secret: None,
        previous_secret_expires_at: None,
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
        concurrency: input::check_concurrency(b.concurrency.as_deref().unwrap_or("adaptive"))?,
        rate_limit_per_sec: b.rate_limit_per_sec.map(input::check_rate).transpose()?,
        failing_since: None,
        disabled_at: (!active).then_some(now),
    };
    let stored = webhook.clone();
    state.db.write(move |c| Ok(stored.insert(c)?)).await?;
    Ok(HttpResponse::Created().json(WebhookView::with_secret(webhook, secret)))
}

pub async fn get(
    state: web::Data<AppState>,
    need: Need<WebhooksRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let w = find(&state, id.into_inner()).await?;
    let lane = state.lanes.status(&w.id);
    let mut view = WebhookView::for_caller(w, &need.caller);
    view.lane = Some(
        lane.as_ref()
            .map(input::lane_view)
            .unwrap_or(serde_json::Value::Null),
    );
    Ok(HttpResponse::Ok().json(view))
}

pub async fn update(
    state: web::Data<AppState>,
    _: Need<WebhooksWrite>,
    id: web::Path<String>,
    body: web::Json<UpdateWebhook>,
) -> ApiResult<HttpResponse> {
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
        name: b.name.as_deref().map(super::check_name).transpose()?,
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
        updated_at: Some(time::now()),
        ..Default::default()
    };
    if let Some(scheme) = &changes.signature_scheme {
        check_scheme_fits(&state, &current, scheme)?;
    }
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

/// Refuses a scheme the webhook's secrets (current, and previous while it
/// still signs) cannot serve: an HrFlow-issued secret is `hrflow` only.
fn check_scheme_fits(state: &AppState, w: &Webhook, scheme: &str) -> ApiResult<()> {
    let context = secret_context(&w.id);
    let open = |sealed: &str| {
        state
            .vault
            .open(sealed, &context)
            .map_err(ApiError::internal)
    };
    let mut secrets = vec![open(&w.secret)?];
    let signing_previous = w
        .previous_secret_expires_at
        .is_some_and(|t| t > time::now());
    if let (Some(previous), true) = (&w.previous_secret, signing_previous) {
        secrets.push(open(previous)?);
    }
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    input::check_scheme_fits_secret(scheme, &refs)
}

/// Body of `POST /v1/webhooks/{id}/recover`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recover {
    since: String,
}

pub async fn recover(
    state: web::Data<AppState>,
    _: Need<WebhooksWrite>,
    id: web::Path<String>,
    body: web::Json<Recover>,
) -> ApiResult<HttpResponse> {
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
    _: Need<WebhooksWrite>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    super::delete_one(&state, "webhook", id.into_inner(), Webhook::delete).await
}

/// New secret; the old one keeps signing (alongside) for the grace period.
pub async fn rotate_secret(
    state: web::Data<AppState>,
    _: Need<WebhooksWrite>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let b: RotateSecret = super::optional_json(&req, body, state.config.max_body_bytes).await?;
    let grace = input::check_grace(b.grace_period.as_deref())?;
    let id = id.into_inner();
    let vault = state.vault.clone();
    let (w, secret) = state
        .db
        .write(move |c| {
            c.transaction::<_, ApiError, _>(|c| {
                let current =
                    Webhook::find(c, &id)?.ok_or_else(|| ApiError::not_found("webhook", &id))?;
                // Which secrets are accepted depends on the webhook's scheme.
                let secret = match &b.secret {
                    Some(s) => input::check_secret(s, &current.signature_scheme)?,
                    None => input::new_secret(),
                };
                let sealed = vault.seal(&secret, &secret_context(&id));
                let now = time::now();
                let keep_old = grace > chrono::Duration::zero();
                let changes = WebhookChanges {
                    secret: Some(sealed),
                    previous_secret: Some(keep_old.then_some(current.secret)),
                    previous_secret_expires_at: Some(keep_old.then_some(now + grace)),
                    updated_at: Some(now),
                    ..Default::default()
                };
                Webhook::update(c, &id, &changes)?;
                let w =
                    Webhook::find(c, &id)?.ok_or_else(|| ApiError::not_found("webhook", &id))?;
                Ok((w, secret))
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookView::with_secret(w, secret)))
}

/// The signing secret in clear (needs `webhooks:write`: reading a webhook
/// is not enough to forge its signatures).
pub async fn secret(
    state: web::Data<AppState>,
    _: Need<WebhooksWrite>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let w = find(&state, id.into_inner()).await?;
    let secret = state
        .vault
        .open(&w.secret, &secret_context(&w.id))
        .map_err(ApiError::internal)?;
    let view = WebhookView::new(w);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "secret": secret,
        "signature_scheme": view.signature_scheme,
        "previous_secret_expires_at": view.previous_secret_expires_at,
    })))
}

pub async fn test(
    state: web::Data<AppState>,
    _: Need<WebhooksWrite>,
    id: web::Path<String>,
    body: web::Json<TestSend>,
) -> ApiResult<HttpResponse> {
    let deps = super::history::manual_deps(&state);
    let row = manual::test_send(&deps, id.into_inner(), body.into_inner().event_type).await?;
    Ok(HttpResponse::Created().json(HistoryView::new(row)))
}

async fn find(state: &AppState, id: String) -> ApiResult<Webhook> {
    state
        .db
        .read(move |c| Webhook::find(c, &id)?.ok_or_else(|| ApiError::not_found("webhook", &id)))
        .await
}
