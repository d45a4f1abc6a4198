//! JSON Schemas (draft 2020-12) of the built-in event types, as receivers
//! get them: the envelope every event shares (`type`, `origin`, `message`)
//! and the entity object its type names. The customer portal's catalogue
//! shows them; custom types carry the schema they were created with.
//!
//! Entity objects allow more fields than they list: HrFlow's objects carry
//! many, and publishers may add their own.

use serde_json::{json, Value};

/// The entity object of a built-in entity field, or `None` for a field no
/// built-in type uses.
fn entity(field: &str) -> Option<Value> {
    let key = |description: &str| json!({"type": "string", "description": description});
    Some(match field {
        "profile" => json!({
            "type": "object",
            "required": ["key"],
            "properties": {
                "key": key("The profile's key in HrFlow."),
                "source": {
                    "type": "object",
                    "required": ["key"],
                    "properties": {"key": key("The key of the source the profile is in.")}
                }
            }
        }),
        "job" => json!({
            "type": "object",
            "required": ["key"],
            "properties": {
                "key": key("The job's key in HrFlow."),
                "board": {
                    "type": "object",
                    "required": ["key"],
                    "properties": {"key": key("The key of the board the job is on.")}
                }
            }
        }),
        "organization" => json!({
            "type": "object",
            "required": ["id", "name"],
            "properties": {
                "id": key("`org_…`"),
                "name": key("The organization's name after the change."),
            }
        }),
        "user" => json!({
            "type": "object",
            "required": ["id", "email"],
            "properties": {
                "id": key("`usr_…`"),
                "email": {"type": "string", "format": "email"},
                "first_name": {"type": "string"},
                "last_name": {"type": "string"},
                "phone": {"type": "string"},
            }
        }),
        "webhook" => json!({
            "type": "object",
            "required": ["id", "name", "url", "disabled_reason", "disabled_at"],
            "properties": {
                "id": key("`wh_…`"),
                "name": {"type": "string"},
                "url": key("The web hook's URL, credentials masked."),
                "disabled_reason": {"type": "string"},
                "disabled_at": {"type": "string", "format": "date-time"},
            }
        }),
        _ => return None,
    })
}

/// The schema of built-in type `name`, whose entity field is `field`.
pub fn builtin(name: &str, field: &str, description: &str) -> Option<Value> {
    let object = entity(field)?;
    Some(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": name,
        "description": description,
        "type": "object",
        "required": ["type", "origin", "message", field],
        "properties": {
            "type": {"const": name},
            "origin": {"type": "string", "description": "Who published it: `api` for publishers, `hookrelay` for the gateway's own events."},
            "message": {"type": "string"},
            field: object,
        }
    }))
}
