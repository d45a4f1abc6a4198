//! `/v1/event-types`: the catalogue of event names and their examples.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::{Need, WebhooksRead, WebhooksWrite};
use super::page::{self, Cursor, Page};
use crate::db::event_types::{EventType, Volume};
use crate::db::time;
use crate::error::Result;
use crate::publish::catalogue::{self, NewEventType};
use crate::state::AppState;

/// An event type as the API shows it.
#[derive(Serialize)]
pub struct EventTypeView {
    name: String,
    entity: String,
    description: String,
    volume: Volume,
    example: Value,
    /// A JSON Schema of the event (built-in types always have one).
    schema: Option<Value>,
    builtin: bool,
    created_at: String,
}

impl From<EventType> for EventTypeView {
    fn from(t: EventType) -> Self {
        EventTypeView {
            schema: catalogue::schema_of(&t),
            example: serde_json::from_str(&t.example).unwrap_or(Value::Null),
            created_at: time::rfc3339(&t.created_at),
            name: t.name,
            entity: t.entity,
            description: t.description,
            volume: t.volume,
            builtin: t.builtin,
        }
    }
}

/// `?limit=&cursor=`: pages by name. The default page is the largest, so
/// that a client reading one page sees every built-in type and, with the
/// default `HOOKRELAY_MAX_EVENT_TYPES_PER_ORG`, every custom one too.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

pub async fn list(
    state: web::Data<AppState>,
    need: Need<WebhooksRead>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let limit = page::limit(Some(q.limit.unwrap_or(page::MAX_LIMIT)))?;
    let after = Cursor::decode(q.cursor.as_deref())?.after;
    let rows =
        catalogue::list_types(&state.db, need.caller.organization.clone(), after, limit).await?;
    Ok(
        HttpResponse::Ok().json(Page::from_rows(rows, limit, EventTypeView::from, |t| {
            Cursor::after(&t.name)
        })),
    )
}

pub async fn get(
    state: web::Data<AppState>,
    need: Need<WebhooksRead>,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    let org = need.caller.organization.clone();
    let t = catalogue::find_type(&state.db, org, name.into_inner()).await?;
    Ok(HttpResponse::Ok().json(EventTypeView::from(t)))
}

pub async fn create(
    state: web::Data<AppState>,
    need: Need<WebhooksWrite>,
    body: web::Json<NewEventType>,
) -> Result<HttpResponse> {
    let t = catalogue::create_type(
        &state.db,
        need.caller.organization.clone(),
        state.config.limits.event_types(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(EventTypeView::from(t)))
}
