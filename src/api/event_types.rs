//! `/v1/event-types`: the catalogue of event names and their examples.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::auth::{Need, WebhooksRead, WebhooksWrite};
use crate::db::event_types::EventType;
use crate::db::time;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// An event type as the API shows it.
#[derive(Serialize)]
pub struct EventTypeView {
    name: String,
    entity: String,
    description: String,
    volume: String,
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

/// Body of `POST /v1/event-types`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEventType {
    name: String,
    #[serde(default)]
    description: String,
    volume: Option<String>,
    example: Option<Map<String, Value>>,
}

pub async fn list(state: web::Data<AppState>, _: Need<WebhooksRead>) -> ApiResult<HttpResponse> {
    let all = state.db.read(|c| Ok(EventType::list(c)?)).await?;
    let data: Vec<EventTypeView> = all.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(json!({"data": data, "next_cursor": null})))
}

pub async fn get(
    state: web::Data<AppState>,
    _: Need<WebhooksRead>,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let name = name.into_inner();
    let t = state
        .db
        .read(move |c| {
            EventType::find(c, &name)?.ok_or_else(|| ApiError::not_found("event type", &name))
        })
        .await?;
    Ok(HttpResponse::Ok().json(EventTypeView::from(t)))
}

pub async fn create(
    state: web::Data<AppState>,
    _: Need<WebhooksWrite>,
    body: web::Json<NewEventType>,
) -> ApiResult<HttpResponse> {
    let t = validate(body.into_inner())?;
    let stored = t.clone();
    state
        .db
        .write(move |c| {
            if EventType::find(c, &stored.name)?.is_some() {
                return Err(ApiError::conflict(
                    crate::error::ErrorCode::EventTypeExists,
                    format!("event type '{}' already exists", stored.name),
                ));
            }
            Ok(stored.insert(c)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(EventTypeView::from(t)))
}

/// `entity.words` in lowercase dot notation: at least two segments.
fn valid_name(name: &str) -> bool {
    let segs: Vec<&str> = name.split('.').collect();
    segs.len() >= 2
        && segs.iter().all(|s| {
            let mut chars = s.chars();
            chars.next().is_some_and(|c| c.is_ascii_lowercase())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

fn validate(body: NewEventType) -> ApiResult<EventType> {
    if !valid_name(&body.name) || body.name.len() > 128 {
        return Err(ApiError::field(
            "name",
            "name must be lowercase dot notation `entity.words` (e.g. `candidate.hired`), letters, digits and _ only",
        ));
    }
    let entity = body.name.split('.').next().unwrap_or_default().to_string();
    if matches!(entity.as_str(), "type" | "origin" | "message") {
        return Err(ApiError::field(
            "name",
            format!("the first segment names the entity field, and `{entity}` is already a field of every event; choose another"),
        ));
    }
    let volume = body.volume.unwrap_or_else(|| "low".into());
    if !matches!(volume.as_str(), "low" | "medium" | "high") {
        return Err(ApiError::field(
            "volume",
            "volume must be low, medium or high",
        ));
    }
    let example = match body.example {
        Some(ex) => {
            if ex.get("type").and_then(Value::as_str) != Some(body.name.as_str()) {
                return Err(ApiError::field(
                    "example.type",
                    format!("the example's `type` must be '{}'", body.name),
                ));
            }
            if !ex.get(&entity).is_some_and(Value::is_object) {
                return Err(ApiError::field(
                    format!("example.{entity}"),
                    format!("the example must carry the `{entity}` object"),
                ));
            }
            Value::Object(ex)
        }
        None => json!({"type": body.name, "origin": "api", "message": "", entity.clone(): {}}),
    };
    Ok(EventType {
        name: body.name,
        entity,
        description: body.description,
        volume,
        example: example.to_string(),
        builtin: false,
        created_at: time::now(),
    })
}
