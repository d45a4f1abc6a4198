//! The event-type catalogue (built-in types are seeded by the first migration).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::event_types;
use super::{DbConn, LoadOne};

crate::text_enum::text_enum! {
    /// How many events of a type to expect (a hint for subscribers).
    Volume {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
}

/// One event type.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = event_types)]
pub struct EventType {
    pub name: String,
    pub entity: String,
    pub description: String,
    pub volume: Volume,
    pub example: String,
    pub builtin: bool,
    pub created_at: NaiveDateTime,
}

impl EventType {
    /// All types, by name.
    pub fn list(conn: &mut DbConn) -> QueryResult<Vec<EventType>> {
        event_types::table
            .order(event_types::name.asc())
            .select(EventType::as_select())
            .load(conn)
    }

    /// One type by name.
    pub fn find(conn: &mut DbConn, name: &str) -> QueryResult<Option<EventType>> {
        event_types::table
            .find(name)
            .select(EventType::as_select())
            .load_one(conn)
    }

    /// Adds a custom type of organization `org`.
    pub fn insert(&self, conn: &mut DbConn, org: &str) -> QueryResult<()> {
        diesel::insert_into(event_types::table)
            .values((self, event_types::organization_id.eq(org)))
            .execute(conn)
            .map(|_| ())
    }
}
