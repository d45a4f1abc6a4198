//! Events and the transaction that records them with their deliveries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::deliveries::NewDelivery;
use super::schema::events;
use super::{id_floor, insert_many, DbConn, LoadOne};

type Backend = <DbConn as diesel::Connection>::Backend;

/// A recorded event. `payload` is the event exactly as receivers get it
/// (compact JSON, publisher's key order).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// Batch-inserted: see `insert_rows!` for `treat_none_as_default_value`.
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    pub payload: String,
    pub idempotency_key: Option<String>,
    pub created_at: NaiveDateTime,
    /// The organization it belongs to.
    pub organization_id: String,
    /// The trace context it was published in, when traces are exported:
    /// `traceparent`, then `tracestate` after a line break (`telemetry`).
    pub traceparent: Option<String>,
}

/// Filters for listing events (newest first).
pub struct EventQuery {
    /// Only this organization's events.
    pub organization: String,
    pub event_type: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// Keyset cursor: only ids strictly older than this.
    pub before_id: Option<String>,
    pub limit: i64,
}

impl Event {
    /// Writes events and their deliveries. Call inside a transaction, so
    /// that either all of it is stored or none of it.
    pub fn insert_with_deliveries(
        conn: &mut DbConn,
        evs: &[Event],
        dels: &[NewDelivery],
    ) -> QueryResult<()> {
        insert_many!(conn, events::table, evs)?;
        NewDelivery::insert_all(conn, dels)?;
        if !dels.is_empty() {
            // Other processes on the database wake at commit.
            crate::db::deliveries::notify_due(conn)?;
        }
        Ok(())
    }

    /// One event by id.
    pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Event>> {
        events::table
            .find(id)
            .select(Event::as_select())
            .load_one(conn)
    }

    /// One event of organization `org` by id.
    pub fn find_in(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<Option<Event>> {
        events::table
            .find(id)
            .filter(events::organization_id.eq(org))
            .select(Event::as_select())
            .load_one(conn)
    }

    /// Events by id (any order).
    pub fn find_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<Event>> {
        events::table
            .filter(events::id.eq_any(ids))
            .select(Event::as_select())
            .load(conn)
    }

    /// The event first published with this idempotency key, if any.
    pub fn find_by_idempotency_key(
        conn: &mut DbConn,
        org: &str,
        key: &str,
    ) -> QueryResult<Option<Event>> {
        events::table
            .filter(events::organization_id.eq(org))
            .filter(events::idempotency_key.eq(key))
            .select(Event::as_select())
            .load_one(conn)
    }

    /// One page, newest first; `limit + 1` rows so the caller knows if more follow.
    pub fn list(conn: &mut DbConn, query: &EventQuery) -> QueryResult<Vec<Event>> {
        let mut q = events::table
            .select(Event::as_select())
            .filter(events::organization_id.eq(query.organization.clone()))
            .into_boxed::<Backend>();
        if let Some(t) = &query.event_type {
            q = q.filter(events::event_type.eq(t.clone()));
        }
        // Ids begin with created_at: a time range is an id range.
        if let Some(s) = query.since {
            q = q.filter(events::id.ge(id_floor("evt", s)));
        }
        if let Some(u) = query.until {
            q = q.filter(events::id.lt(id_floor("evt", u)));
        }
        if let Some(b) = &query.before_id {
            q = q.filter(events::id.lt(b.clone()));
        }
        q.order(events::id.desc()).limit(query.limit + 1).load(conn)
    }
}
