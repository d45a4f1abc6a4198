//! `/v1/events`: publishing and reading events.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::{Caller, EventsWrite, HistoryRead, IntegrationsRun, Need, Scope};
use super::page::{self, Cursor, Page};
use crate::db::deliveries::Delivery;
use crate::db::events::{Event, EventQuery};
use crate::db::time;
use crate::error::{ApiError, ApiResult};
use crate::publish::{self, Published, ValidEvent, MAX_BATCH};
use crate::state::AppState;

/// Query of `GET /v1/events`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(rename = "type")]
    event_type: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize)]
struct EventView {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    payload: Value,
    created_at: String,
}

impl EventView {
    fn new(e: Event) -> Self {
        EventView {
            payload: serde_json::from_str(&e.payload).unwrap_or(Value::Null),
            created_at: time::rfc3339(&e.created_at),
            id: e.id,
            event_type: e.event_type,
        }
    }
}

fn idempotency_key(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .map_err(|_| ApiError::field("Idempotency-Key", "Idempotency-Key must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::field(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 characters",
        ));
    }
    Ok(Some(key.to_string()))
}

/// Writes the events, retrying once when a concurrent publish with the same
/// idempotency key won the race (the retry then finds and returns it).
/// `triggers`: whether they may queue integration runs (see [`may_trigger`]).
async fn record(
    state: &AppState,
    events: Vec<ValidEvent>,
    key: Option<String>,
    triggers: bool,
) -> ApiResult<Vec<Published>> {
    let mut res = state.publisher.publish(events.clone(), key.clone()).await;
    if key.is_some()
        && matches!(
            res,
            Err(ApiError::Conflict {
                code: crate::error::ErrorCode::Conflict,
                ..
            })
        )
    {
        res = state.publisher.publish(events.clone(), key).await;
    }
    let published = res?;
    // Hand the parsed events to the engine before waking it.
    let mut fresh = false;
    for (p, e) in published.iter().zip(&events) {
        if !p.replayed {
            state.metrics.event_accepted(&e.event_type, 1);
        }
        if p.deliveries > 0 && !p.replayed {
            state
                .events
                .put(p.id.clone(), e.event_type.clone(), &e.payload);
            fresh = true;
        }
    }
    if fresh {
        state.notify.notify_one();
    }
    if !triggers {
        return Ok(published);
    }
    // Integrations these events trigger (after the commit: the events are safe).
    let texts: Vec<(&str, &str)> = published
        .iter()
        .zip(&events)
        .filter(|(p, _)| !p.replayed)
        .map(|(_, e)| (e.event_type.as_str(), e.payload.as_str()))
        .collect();
    if let Err(e) = state.integrations.trigger_texts(&texts).await {
        tracing::warn!(error = %e, "queueing triggered integration runs failed");
    }
    Ok(published)
}

/// Events published through the API queue integration runs only for a
/// token that could start those runs itself: a publish-only token must not
/// reach into integrations (e.g. provision any user with `user.updated`).
fn may_trigger(caller: &Caller) -> bool {
    caller.holds(IntegrationsRun::NAME)
}

pub async fn publish(
    state: web::Data<AppState>,
    need: Need<EventsWrite>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let key = idempotency_key(&req)?;
    let ev = publish::validate(body.into_inner(), "", &state.types, &state.db).await?;
    let triggers = may_trigger(&need.caller);
    let published = record(&state, vec![ev], key, triggers).await?.remove(0);
    let body = json!({"id": published.id, "deliveries": published.deliveries});
    Ok(if published.replayed {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Accepted().json(body)
    })
}

pub async fn publish_batch(
    state: web::Data<AppState>,
    need: Need<EventsWrite>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let shape = || {
        ApiError::field(
            "events",
            "the body must be {\"events\": [ ... ]} and nothing else",
        )
    };
    let list = match body.into_inner() {
        Value::Object(mut o) => match (o.remove("events"), o.is_empty()) {
            (Some(Value::Array(a)), true) => a,
            _ => return Err(shape()),
        },
        _ => return Err(shape()),
    };
    if list.is_empty() || list.len() > MAX_BATCH {
        return Err(ApiError::field(
            "events",
            format!("a batch holds 1 to {MAX_BATCH} events, not {}", list.len()),
        ));
    }
    let mut valid = Vec::with_capacity(list.len());
    for (i, v) in list.into_iter().enumerate() {
        valid.push(publish::validate(v, &format!("events[{i}]."), &state.types, &state.db).await?);
    }
    let published = record(&state, valid, None, may_trigger(&need.caller)).await?;
    let total: usize = published.iter().map(|p| p.deliveries).sum();
    let data: Vec<Value> = published
        .iter()
        .map(|p| json!({"id": p.id, "deliveries": p.deliveries}))
        .collect();
    Ok(HttpResponse::Accepted().json(json!({"data": data, "deliveries": total})))
}

pub async fn list(
    state: web::Data<AppState>,
    _: Need<HistoryRead>,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let limit = page::limit(q.limit)?;
    let query = EventQuery {
        event_type: q.event_type,
        since: parse_time("since", q.since.as_deref())?,
        until: parse_time("until", q.until.as_deref())?,
        before_id: Cursor::decode(q.cursor.as_deref())?.after,
        limit,
    };
    let rows = state.db.read(move |c| Ok(Event::list(c, &query)?)).await?;
    let page = Page::from_rows(rows, limit, EventView::new, |e| Cursor::after(&e.id));
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get(
    state: web::Data<AppState>,
    _: Need<HistoryRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (event, deliveries) = state
        .db
        .read(move |c| {
            let e = Event::find(c, &id)?.ok_or_else(|| ApiError::not_found("event", &id))?;
            let d = Delivery::for_event(c, &id)?;
            Ok((e, d))
        })
        .await?;
    let mut view = serde_json::to_value(EventView::new(event)).map_err(ApiError::internal)?;
    view["deliveries"] = serde_json::to_value(
        deliveries
            .into_iter()
            .map(super::deliveries::DeliveryView::new)
            .collect::<Vec<_>>(),
    )
    .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(view))
}

/// Parses an RFC 3339 query parameter.
pub fn parse_time(field: &str, raw: Option<&str>) -> ApiResult<Option<chrono::NaiveDateTime>> {
    raw.map(|s| {
        time::parse_rfc3339(s).ok_or_else(|| {
            ApiError::field(
                field,
                format!("{field} must be an RFC 3339 time such as 2026-11-23T10:00:00Z"),
            )
        })
    })
    .transpose()
}
