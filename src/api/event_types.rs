//! `/v1/event-types`: the catalogue of event names and their examples.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::{json, Value};

use super::auth::{Need, WebhooksRead, WebhooksWrite};
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
    builtin: bool,
    created_at: String,
}

impl From<EventType> for EventTypeView {
    fn from(t: EventType) -> Self {
        EventTypeView {
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

pub async fn list(state: web::Data<AppState>, need: Need<WebhooksRead>) -> Result<HttpResponse> {
    let all = catalogue::list_types(&state.db, need.caller.organization.clone()).await?;
    let data: Vec<EventTypeView> = all.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(json!({"data": data, "next_cursor": null})))
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
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(EventTypeView::from(t)))
}
