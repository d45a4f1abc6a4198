//! `/v1/events`: publishing and reading events.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::{Caller, EventsWrite, HistoryRead, IntegrationsRun, Need, Scope};
use super::page::{self, Cursor, Page};
use crate::db::events::{Event, EventQuery};
use crate::db::time;
use crate::error::{Error, Result};
use crate::publish::{catalogue, Intake};
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

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .map_err(|_| Error::field("Idempotency-Key", "Idempotency-Key must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 255 {
        return Err(Error::field(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 characters",
        ));
    }
    Ok(Some(key.to_string()))
}

/// The publish service over the shared state.
fn intake<'a>(state: &'a AppState, caller: &'a Caller) -> Intake<'a> {
    Intake {
        organization: &caller.organization,
        db: &state.db,
        types: &state.types,
        publisher: &state.publisher,
        metrics: &state.metrics,
        events: &state.events,
        notify: &state.notify,
    }
}

/// Events published through the API queue integration runs only for a
/// token that could start those runs itself: a publish-only token must not
/// reach into integrations (e.g. provision any user with `user.updated`).
/// An event triggers only its own organization's integrations, for its own
/// organization's people.
fn may_trigger(caller: &Caller) -> bool {
    caller.holds(IntegrationsRun::SCOPE)
}

pub async fn publish(
    state: web::Data<AppState>,
    need: Need<EventsWrite>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse> {
    let key = idempotency_key(&req)?;
    let org = need.caller.organization.as_str();
    let trigger = may_trigger(&need.caller)
        .then_some(async |texts: &[(&str, &str)]| state.runs.trigger_texts(org, texts).await);
    let published = intake(&state, &need.caller)
        .publish_one(body.into_inner(), key, trigger)
        .await?;
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
) -> Result<HttpResponse> {
    let org = need.caller.organization.as_str();
    let trigger = may_trigger(&need.caller)
        .then_some(async |texts: &[(&str, &str)]| state.runs.trigger_texts(org, texts).await);
    let published = intake(&state, &need.caller)
        .publish_batch(body.into_inner(), trigger)
        .await?;
    let total: usize = published.iter().map(|p| p.deliveries).sum();
    let data: Vec<Value> = published
        .iter()
        .map(|p| json!({"id": p.id, "deliveries": p.deliveries}))
        .collect();
    Ok(HttpResponse::Accepted().json(json!({"data": data, "deliveries": total})))
}

pub async fn list(
    state: web::Data<AppState>,
    need: Need<HistoryRead>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let limit = page::limit(q.limit)?;
    let query = EventQuery {
        organization: need.caller.organization.clone(),
        event_type: q.event_type,
        since: parse_time("since", q.since.as_deref())?,
        until: parse_time("until", q.until.as_deref())?,
        before_id: Cursor::decode(q.cursor.as_deref())?.after,
        limit,
    };
    let rows = catalogue::list_events(&state.db, query).await?;
    let page = Page::from_rows(rows, limit, EventView::new, |e| Cursor::after(&e.id));
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get(
    state: web::Data<AppState>,
    need: Need<HistoryRead>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (event, deliveries) =
        catalogue::find_event(&state.db, need.caller.organization.clone(), id.into_inner()).await?;
    let mut view = serde_json::to_value(EventView::new(event)).map_err(Error::internal)?;
    view["deliveries"] = serde_json::to_value(
        deliveries
            .into_iter()
            .map(super::deliveries::DeliveryView::new)
            .collect::<Vec<_>>(),
    )
    .map_err(Error::internal)?;
    Ok(HttpResponse::Ok().json(view))
}

/// Parses an RFC 3339 query parameter.
pub fn parse_time(field: &str, raw: Option<&str>) -> Result<Option<chrono::NaiveDateTime>> {
    raw.map(|s| {
        time::parse_rfc3339(s).ok_or_else(|| {
            Error::field(
                field,
                format!("{field} must be an RFC 3339 time such as 2026-11-23T10:00:00Z"),
            )
        })
    })
    .transpose()
}
