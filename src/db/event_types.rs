//! The event-type catalogue: built-in types (seeded by the first migration)
//! shared by every organization, and each organization's custom types.

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

/// The `organization_id` of the built-in types: every organization sees them.
pub const SHARED: &str = "";

/// One event type.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = event_types)]
pub struct EventType {
    /// [`SHARED`] for a built-in type, else the organization that made it.
    pub organization_id: String,
    pub name: String,
    pub entity: String,
    pub description: String,
    pub volume: Volume,
    pub example: String,
    pub builtin: bool,
    pub created_at: NaiveDateTime,
    /// A custom type's JSON Schema, compact JSON (built-in types' are in
    /// `publish::schemas`).
    pub schema: Option<String>,
}

impl EventType {
    /// One page of the types organization `org` can use (the built-in ones
    /// and its own), by name, after `after`: `limit + 1` rows, the extra one
    /// telling that a next page exists. Names are unique across both (a
    /// custom type never takes a built-in name), so the name is the keyset.
    pub fn list(
        conn: &mut DbConn,
        org: &str,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<EventType>> {
        let mut q = event_types::table
            .filter(event_types::organization_id.eq_any([SHARED, org]))
            .order(event_types::name.asc())
            .select(EventType::as_select())
            .limit(limit + 1)
            .into_boxed::<<DbConn as diesel::Connection>::Backend>();
        if let Some(after) = after {
            q = q.filter(event_types::name.gt(after.to_string()));
        }
        q.load(conn)
    }

    /// The names of every type organization `org` sees (built-in and its
    /// own), without their examples.
    pub fn names(conn: &mut DbConn, org: &str) -> QueryResult<Vec<String>> {
        event_types::table
            .filter(event_types::organization_id.eq_any([SHARED, org]))
            .order(event_types::name.asc())
            .select(event_types::name)
            .load(conn)
    }

    /// One type by name, as organization `org` sees it: a built-in one or
    /// its own (a custom type never takes a built-in name).
    pub fn find(conn: &mut DbConn, org: &str, name: &str) -> QueryResult<Option<EventType>> {
        event_types::table
            .filter(event_types::organization_id.eq_any([SHARED, org]))
            .filter(event_types::name.eq(name))
            .select(EventType::as_select())
            .load_one(conn)
    }

    /// Adds a custom type (its `organization_id` says whose).
    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(event_types::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    /// Deletes organization `org`'s custom types (with the organization).
    pub fn delete_custom(conn: &mut DbConn, org: &str) -> QueryResult<usize> {
        diesel::delete(event_types::table.filter(event_types::organization_id.eq(org)))
            .execute(conn)
    }
}
