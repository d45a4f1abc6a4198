//! Publishing: validates events, finds the webhooks that subscribe to them
//! and records event + deliveries in one transaction.

mod batcher;
pub mod catalogue;
mod fanout;
pub mod filter;
mod filter_functions;
mod intake;
pub mod rate;
mod schemas;
pub mod subscriptions;

pub use batcher::Publisher;
pub use fanout::{subscribers, subscribes, Subscriber, Subscribers, Wanted};
pub use intake::{Handoff, Intake};

use std::collections::HashMap;
use std::sync::RwLock;

use diesel::Connection;
use serde_json::Value;

use crate::db::deliveries::{Delivery, NewDelivery};
use crate::db::event_types::{EventType, SHARED};
use crate::db::events::Event;
use crate::db::{new_id, new_id_at, time, Db, DbConn};
use crate::error::{Error, Result};

/// Operational types only hookrelay publishes (subscribers must be able to
/// trust them).
pub const RESERVED_TYPES: &[&str] = &["webhook.disabled"];

/// The `origin` of the events hookrelay publishes itself; refused from the
/// API so receivers (and integration triggers) can trust it.
pub const RESERVED_ORIGIN: &str = "hookrelay";

/// Event-type name → entity field, cached. Built-in types are cached under
/// [`SHARED`], custom ones under their organization. Types are never
/// deleted, except with their organization, whose id is never reused.
#[derive(Default)]
pub struct EventTypeCache {
    /// (organization or [`SHARED`], name) → entity.
    entities: RwLock<HashMap<(String, String), String>>,
}

impl EventTypeCache {
    fn cached(&self, org: &str, name: &str) -> Option<String> {
        let map = self.entities.read().expect("lock");
        map.get(&(SHARED.to_string(), name.to_string()))
            .or_else(|| map.get(&(org.to_string(), name.to_string())))
            .cloned()
    }

    /// The entity field of `name` as organization `org` sees it (a
    /// built-in type or one of its own), or `None` if it has no such type.
    pub async fn entity_of(&self, db: &Db, org: &str, name: &str) -> Result<Option<String>> {
        if let Some(e) = self.cached(org, name) {
            return Ok(Some(e));
        }
        let (o, n) = (org.to_string(), name.to_string());
        let found = db.read(move |c| Ok(EventType::find(c, &o, &n)?)).await?;
        Ok(found.map(|t| {
            self.entities
                .write()
                .expect("lock")
                .insert((t.organization_id, t.name), t.entity.clone());
            t.entity
        }))
    }

    /// The `event_type` label of `name` in metrics: built-in types by name,
    /// every custom one as `custom`, so organizations' own types cannot grow
    /// the number of series (issue #18). Known once [`Self::entity_of`] saw it.
    pub fn metric_label<'a>(&self, name: &'a str) -> &'a str {
        let key = (SHARED.to_string(), name.to_string());
        if self.entities.read().expect("lock").contains_key(&key) {
            name
        } else {
            "custom"
        }
    }
}

/// An event that passed validation.
#[derive(Clone)]
pub struct ValidEvent {
    pub event_type: String,
    /// Compact JSON, the publisher's key order kept.
    pub payload: String,
    /// The trace context it was published in (`telemetry::current`).
    pub traceparent: Option<String>,
}

/// Outcome of one publish.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: String,
    pub deliveries: usize,
    /// Subscribed web hooks whose content filter passed over it.
    pub filtered: usize,
    /// True when an idempotency key matched an earlier publish.
    pub replayed: bool,
}

/// Checks one event of organization `org`; `at` prefixes field names
/// (`events[3].`) in errors.
pub async fn validate(
    value: Value,
    at: &str,
    org: &str,
    types: &EventTypeCache,
    db: &Db,
) -> Result<ValidEvent> {
    let Value::Object(obj) = value else {
        let field = if at.is_empty() {
            "body"
        } else {
            at.trim_end_matches('.')
        };
        return Err(Error::field_code(
            crate::error::ErrorCode::InvalidEvent,
            field,
            "an event must be a JSON object",
        ));
    };
    let event_type = match obj.get("type") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(_) => {
            return Err(Error::field(
                format!("{at}type"),
                "`type` must be a non-empty string",
            ))
        }
        None => {
            return Err(Error::field(
                format!("{at}type"),
                "`type` is required (e.g. \"profile.parsing.success\")",
            ))
        }
    };
    if RESERVED_TYPES.contains(&event_type.as_str()) {
        return Err(Error::field_code(crate::error::ErrorCode::ReservedEventType,
            format!("{at}type"),
            format!("'{event_type}' events are published by hookrelay itself and cannot be published through the API"),
        ));
    }
    let entity =
        subscriptions::require_entity(types, db, org, &event_type, &format!("{at}type")).await?;
    for key in ["origin", "message"] {
        match obj.get(key) {
            None | Some(Value::String(_)) => {}
            Some(_) => {
                return Err(Error::field(
                    format!("{at}{key}"),
                    format!("`{key}` must be a string"),
                ))
            }
        }
    }
    // Any spelling: a receiver comparing loosely must not be fooled either.
    if obj
        .get("origin")
        .and_then(Value::as_str)
        .is_some_and(|o| o.trim().eq_ignore_ascii_case(RESERVED_ORIGIN))
    {
        return Err(Error::field_code(crate::error::ErrorCode::ReservedOrigin,
            format!("{at}origin"),
            format!("`\"origin\": \"{RESERVED_ORIGIN}\"` marks events hookrelay publishes itself; use another origin (e.g. \"api\")"),
        ));
    }
    match obj.get(&entity) {
        Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(Error::field_code(
                crate::error::ErrorCode::InvalidEntity,
                format!("{at}{entity}"),
                format!("`{entity}` must be a JSON object"),
            ))
        }
        None => {
            return Err(Error::field_code(
                crate::error::ErrorCode::MissingEntity,
                format!("{at}{entity}"),
                format!("events of type '{event_type}' carry the `{entity}` object; it is missing"),
            ))
        }
    }
    let payload = serde_json::to_string(&obj).map_err(Error::internal)?;
    Ok(ValidEvent {
        event_type,
        payload,
        traceparent: None,
    })
}

/// Records `events` and one delivery per matching active webhook, in one
/// transaction. With an idempotency key, a repeat returns the first event.
/// Only `org`'s webhooks are candidates; idempotency keys are per organization.
pub fn record(
    conn: &mut DbConn,
    org: &str,
    events: Vec<ValidEvent>,
    idempotency_key: Option<String>,
) -> Result<Vec<Published>> {
    let hooks = subscribers(conn, &[org])?;
    record_with(conn, org, events, idempotency_key, &hooks)
}

/// [`record`] with the subscribers already loaded (several publishes in
/// one transaction share them). Runs as a transaction, or a savepoint when
/// one is open, so a refused publish leaves the others intact.
pub fn record_with(
    conn: &mut DbConn,
    org: &str,
    events: Vec<ValidEvent>,
    idempotency_key: Option<String>,
    hooks: &Subscribers,
) -> Result<Vec<Published>> {
    conn.transaction::<_, Error, _>(|conn| {
        if let Some(key) = &idempotency_key {
            if let Some(prev) = Event::find_by_idempotency_key(conn, org, key)? {
                if events.len() != 1 || prev.payload != events[0].payload {
                    return Err(Error::conflict(crate::error::ErrorCode::IdempotencyKeyReused, format!(
                            "Idempotency-Key '{key}' was already used for a different event ({}); use a new key",
                            prev.id
                        )));
                }
                let n = Delivery::for_event(conn, &prev.id)?.len();
                return Ok(vec![Published { id: prev.id, deliveries: n, filtered: 0, replayed: true }]);
            }
        }
        let mut rows = Rows::default();
        let published = rows.add(org, events, idempotency_key, hooks);
        rows.insert(conn)?;
        Ok(published)
    })
}

/// The rows of one or more publishes, inserted together.
#[derive(Default)]
pub struct Rows {
    events: Vec<Event>,
    deliveries: Vec<NewDelivery>,
}

impl Rows {
    /// Adds one publish: its events and one delivery per subscribed webhook
    /// and event. Returns what the publish will have recorded once
    /// [`Rows::insert`] has run (ids are chosen here).
    /// Only `org`'s webhooks receive them.
    pub fn add(
        &mut self,
        org: &str,
        events: Vec<ValidEvent>,
        idempotency_key: Option<String>,
        hooks: &Subscribers,
    ) -> Vec<Published> {
        let now = time::now();
        let mut out = Vec::with_capacity(events.len());
        for (i, ev) in events.into_iter().enumerate() {
            // The id carries created_at, which time-range queries rely on.
            // One microsecond apart, so the ids (and the claims, which take
            // equally due events by id) keep the publish's order: a batch
            // publish reaches a batched webhook in the order it was sent.
            let id = new_id_at("evt", now + chrono::Duration::microseconds(i as i64));
            let (mut n, mut filtered) = (0, 0);
            // Parsed once, for the first candidate with a filter, if any.
            let mut document = None;
            for s in hooks {
                let w = &s.webhook;
                let wanted = s.wants(org, &ev, &mut document);
                if wanted == Wanted::FilteredOut {
                    filtered += 1;
                }
                if wanted == Wanted::Yes {
                    n += 1;
                    self.deliveries.push(NewDelivery {
                        id: new_id("dlv"),
                        event_id: id.clone(),
                        webhook_id: w.id.clone(),
                        organization_id: w.organization_id.clone(),
                        due: now,
                        created_at: now,
                    });
                }
            }
            self.events.push(Event {
                id: id.clone(),
                event_type: ev.event_type,
                payload: ev.payload,
                idempotency_key: idempotency_key.clone(),
                created_at: now,
                organization_id: org.to_string(),
                traceparent: ev.traceparent,
            });
            out.push(Published {
                id,
                deliveries: n,
                filtered,
                replayed: false,
            });
        }
        out
    }

    /// Writes every row added, in one go.
    pub fn insert(&self, conn: &mut DbConn) -> diesel::QueryResult<()> {
        Event::insert_with_deliveries(conn, &self.events, &self.deliveries)
    }
}

/// Records built-in events produced by hookrelay itself in organization
/// `org` (in the caller's transaction, so a change and its events commit
/// together); returns them for triggers.
pub fn record_builtin_in(
    conn: &mut DbConn,
    org: &str,
    events: Vec<(String, Value)>,
) -> Result<Vec<(String, Value)>> {
    if events.is_empty() {
        return Ok(events);
    }
    let valid = events
        .iter()
        .map(|(event_type, payload)| ValidEvent {
            event_type: event_type.clone(),
            payload: payload.to_string(),
            traceparent: crate::telemetry::current(),
        })
        .collect();
    record(conn, org, valid, None)?;
    Ok(events)
}

/// The `user.updated` event of a user.
pub fn user_updated(u: &crate::db::users::User) -> (String, Value) {
    let payload = serde_json::json!({
        "type": "user.updated",
        "origin": "hookrelay",
        "message": "user updated",
        "user": {
            "id": u.id,
            "email": u.email,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "phone": u.phone,
            "position": u.position,
            "department": u.department,
            "start_date": u.start_date.map(|d| d.to_string()),
        }
    });
    ("user.updated".to_string(), payload)
}
