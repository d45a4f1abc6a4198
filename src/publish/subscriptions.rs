//! The one check of event-type names: a web hook's subscriptions (names and
//! `prefix.*` patterns), a published event's type, a trigger's, a test
//! send's. An unknown name or a pattern that matches nothing answers 422
//! `unknown_event_type` at its field, in one wording, with the closest name
//! or pattern when there is one.

use crate::db::event_types::EventType;
use crate::db::{Db, DbConn};
use crate::error::{Error, ErrorCode, Result};
use crate::publish::{subscribes, EventTypeCache};
use crate::text::closest;

/// Checks a web hook's subscription list against organization `org`'s
/// catalogue (built-in types and its own): names must exist, patterns must
/// be `entity.*`-shaped and match at least one type, `*` matches all.
/// Returns the list as stored (a JSON array). Runs on the caller's
/// connection, so it can share the transaction that stores the web hook.
pub fn check_subscriptions(conn: &mut DbConn, org: &str, list: &[String]) -> Result<String> {
    if list.is_empty() {
        return Err(Error::field(
            "event_types",
            "event_types must list at least one name or pattern (e.g. \"profile.*\" or \"*\")",
        ));
    }
    // The catalogue, read once and only when a name or pattern needs it.
    let mut catalogue: Option<Vec<String>> = None;
    for (i, name) in list.iter().enumerate() {
        let field = format!("event_types[{i}]");
        if name == "*" {
            continue;
        }
        let pattern = name.strip_suffix(".*");
        if let Some(prefix) = pattern {
            let ok = !prefix.is_empty()
                && prefix.split('.').all(|s| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                });
            if !ok {
                return Err(Error::field(
                    field,
                    format!("'{name}' is not a valid pattern; use `entity.*` such as `profile.*`"),
                ));
            }
        }
        let names = match &mut catalogue {
            Some(names) => names,
            None => catalogue.insert(EventType::names(conn, org)?),
        };
        let known = match pattern {
            Some(_) => names
                .iter()
                .any(|n| subscribes(std::slice::from_ref(name), n)),
            None => names.contains(name),
        };
        if !known {
            return Err(unknown(field, name, pattern.is_some(), names));
        }
    }
    Ok(serde_json::to_string(list).expect("strings serialize"))
}

/// Event type `name` as organization `org` sees it, or `unknown_event_type`
/// at `field`.
pub fn require_type(conn: &mut DbConn, org: &str, name: &str, field: &str) -> Result<EventType> {
    match EventType::find(conn, org, name)? {
        Some(t) => Ok(t),
        None => {
            let names = EventType::names(conn, org)?;
            Err(unknown(field.to_string(), name, false, &names))
        }
    }
}

/// The entity field of event type `name` as organization `org` sees it
/// (from the cache when it saw the type), or `unknown_event_type` at `field`.
pub async fn require_entity(
    types: &EventTypeCache,
    db: &Db,
    org: &str,
    name: &str,
    field: &str,
) -> Result<String> {
    if let Some(entity) = types.entity_of(db, org, name).await? {
        return Ok(entity);
    }
    let (org, name, field) = (org.to_string(), name.to_string(), field.to_string());
    db.read(move |c| require_type(c, &org, &name, &field).map(|t| t.entity))
        .await
}

/// `unknown_event_type` for a name or pattern that nothing in the
/// catalogue answers to, with the closest one that exists.
fn unknown(field: String, name: &str, is_pattern: bool, names: &[String]) -> Error {
    let (what, candidates) = if is_pattern {
        (
            format!("pattern '{name}' matches no event type"),
            patterns_of(names),
        )
    } else {
        (
            format!("event type '{name}' does not exist"),
            names.to_vec(),
        )
    };
    let hint = match closest(name, candidates.iter().map(String::as_str)) {
        Some(close) => format!("did you mean `{close}`? "),
        None => String::new(),
    };
    Error::field_code(
        ErrorCode::UnknownEventType,
        field,
        format!("{what}; {hint}GET /v1/event-types lists the event types (built-in and this organization's), POST /v1/event-types adds one"),
    )
}

/// The `prefix.*` patterns that match something among `names`: each name's
/// leading segments (`profile.*`, `profile.parsing.*` for
/// `profile.parsing.success`), for "did you mean" hints.
fn patterns_of(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let mut end = 0;
        while let Some(dot) = name[end..].find('.') {
            end += dot;
            let pattern = format!("{}.*", &name[..end]);
            if !out.contains(&pattern) {
                out.push(pattern);
            }
            end += 1;
        }
    }
    out
}
