//! The event-type catalogue and published events, read and extended.

use diesel::Connection;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::Limit;
use crate::db::deliveries::Delivery;
use crate::db::event_types::{EventType, Volume};
use crate::db::events::{Event, EventQuery};
use crate::db::{time, Db};
use crate::error::{Error, Result};

/// Body of `POST /v1/event-types`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEventType {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub volume: Option<String>,
    pub example: Option<Map<String, Value>>,
    /// A JSON Schema of the event, for subscribers (not enforced).
    pub schema: Option<Map<String, Value>>,
}

/// Longest event-type description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// Largest event-type example, in bytes of compact JSON: an example shows a
/// subscriber the shape of an event, and every list of types carries it.
pub const MAX_EXAMPLE_BYTES: usize = 16 * 1024;

/// One page of the event types organization `org` sees (the built-in ones
/// and its own), by name after `after` (`limit + 1` rows).
pub async fn list_types(
    db: &Db,
    org: String,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<EventType>> {
    db.read(move |c| Ok(EventType::list(c, &org, after.as_deref(), limit)?))
        .await
}

/// One event type as organization `org` sees it, or 404.
pub async fn find_type(db: &Db, org: String, name: String) -> Result<EventType> {
    db.read(move |c| {
        EventType::find(c, &org, &name)?.ok_or_else(|| Error::not_found("event type", &name))
    })
    .await
}

/// Adds a custom event type to organization `org`; 409 when the name is
/// built in or already one of the organization's, or when the organization
/// has `limit` custom types already. Other organizations may use the same
/// name for types of their own.
pub async fn create_type(
    db: &Db,
    org: String,
    limit: Option<Limit>,
    body: NewEventType,
) -> Result<EventType> {
    let mut t = validate(body)?;
    t.organization_id = org;
    let stored = t.clone();
    db.write(move |c| {
        c.transaction(|c| {
            if EventType::find(c, &stored.organization_id, &stored.name)?.is_some() {
                return Err(Error::conflict(
                    crate::error::ErrorCode::EventTypeExists,
                    format!("event type '{}' already exists", stored.name),
                ));
            }
            if let Some(l) = limit {
                l.check(crate::db::quotas::event_types(c, &stored.organization_id)?)?;
            }
            Ok(stored.insert(c)?)
        })
    })
    .await?;
    Ok(t)
}

/// One page of events (`limit + 1` rows).
pub async fn list_events(db: &Db, query: EventQuery) -> Result<Vec<Event>> {
    db.read(move |c| Ok(Event::list(c, &query)?)).await
}

/// One event with its deliveries, or 404.
pub async fn find_event(db: &Db, org: String, id: String) -> Result<(Event, Vec<Delivery>)> {
    db.read(move |c| {
        let e = Event::find_in(c, &org, &id)?.ok_or_else(|| Error::not_found("event", &id))?;
        let d = Delivery::for_event(c, &id)?;
        Ok((e, d))
    })
    .await
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

/// Checks a new type and builds its row (its entity is the name's first segment).
fn validate(body: NewEventType) -> Result<EventType> {
    if !valid_name(&body.name) || body.name.len() > 128 {
        return Err(Error::field(
            "name",
            "name must be lowercase dot notation `entity.words` (e.g. `candidate.hired`), letters, digits and _ only",
        ));
    }
    let entity = body.name.split('.').next().unwrap_or_default().to_string();
    if matches!(entity.as_str(), "type" | "origin" | "message") {
        return Err(Error::field(
            "name",
            format!("the first segment names the entity field, and `{entity}` is already a field of every event; choose another"),
        ));
    }
    if body.description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Error::field(
            "description",
            format!("description must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    let volume = match body.volume.as_deref() {
        None => Volume::Low,
        Some(v) => v
            .parse()
            .map_err(|_| Error::field("volume", "volume must be low, medium or high"))?,
    };
    let example = match body.example {
        Some(ex) => {
            if ex.get("type").and_then(Value::as_str) != Some(body.name.as_str()) {
                return Err(Error::field(
                    "example.type",
                    format!("the example's `type` must be '{}'", body.name),
                ));
            }
            if !ex.get(&entity).is_some_and(Value::is_object) {
                return Err(Error::field(
                    format!("example.{entity}"),
                    format!("the example must carry the `{entity}` object"),
                ));
            }
            let ex = Value::Object(ex);
            let size = ex.to_string().len();
            if size > MAX_EXAMPLE_BYTES {
                return Err(Error::field(
                    "example",
                    format!("the example is {size} bytes as JSON; at most {MAX_EXAMPLE_BYTES}"),
                ));
            }
            ex
        }
        None => json!({"type": body.name, "origin": "api", "message": "", entity.clone(): {}}),
    };
    let schema = match body.schema {
        Some(s) => Some(check_schema(s)?),
        None => None,
    };
    Ok(EventType {
        organization_id: String::new(),
        name: body.name,
        entity,
        description: body.description,
        volume,
        example: example.to_string(),
        builtin: false,
        created_at: time::now(),
        schema,
    })
}

/// A custom type's schema: an object, within the example's size bound.
/// Only its shape is checked: it documents the type for subscribers, and
/// publishes are not validated against it.
fn check_schema(schema: Map<String, Value>) -> Result<String> {
    for key in ["$schema", "title", "description"] {
        if schema.get(key).is_some_and(|v| !v.is_string()) {
            return Err(Error::field(
                format!("schema.{key}"),
                format!("`{key}` must be a string"),
            ));
        }
    }
    if let Some(t) = schema.get("type") {
        if !(t.is_string() || t.as_array().is_some_and(|a| a.iter().all(Value::is_string))) {
            return Err(Error::field(
                "schema.type",
                "`type` must be a type name or a list of them (JSON Schema)",
            ));
        }
    }
    let text = Value::Object(schema).to_string();
    if text.len() > MAX_EXAMPLE_BYTES {
        return Err(Error::field(
            "schema",
            format!(
                "the schema is {} bytes as JSON; at most {MAX_EXAMPLE_BYTES}",
                text.len()
            ),
        ));
    }
    Ok(text)
}

/// The JSON Schema of type `t`: a built-in type's from
/// [`super::schemas`], a custom type's as it was created (or none).
pub fn schema_of(t: &EventType) -> Option<Value> {
    if t.builtin {
        super::schemas::builtin(&t.name, &t.entity, &t.description)
    } else {
        t.schema
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }
}
