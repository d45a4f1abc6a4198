//! Organizations: the tenants every web hook, event, delivery, attempt and
//! token belongs to.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_tokens, events, integrations, organizations, users, webhooks};
use super::{DbConn, LoadOne};

/// The default organization: where every row stored before organizations
/// existed lives, and where a platform token acts without the
/// `Hookrelay-Organization` header. `organization.updated` always named it.
pub const DEFAULT_ORG: &str = "org_1";

/// A stored organization.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The customer portal's branding, set by the platform: shown instead
    /// of `name`, a logo URL and a `#rrggbb` accent colour.
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
}

impl Organization {
    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(organizations::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Organization>> {
        organizations::table
            .find(id)
            .select(Organization::as_select())
            .load_one(conn)
    }

    /// Organizations by id (ids are time-ordered; `org_1` sorts first), after `after`.
    pub fn list(
        conn: &mut DbConn,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<Organization>> {
        let mut q = organizations::table
            .select(Organization::as_select())
            .order(organizations::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            q = q.filter(organizations::id.gt(after.to_string()));
        }
        q.load(conn)
    }

    pub fn rename(
        conn: &mut DbConn,
        id: &str,
        name: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(organizations::table.find(id))
            .set((
                organizations::name.eq(name),
                organizations::updated_at.eq(now),
            ))
            .execute(conn)
    }

    /// Replaces the portal branding of organization `id`; the rows changed.
    pub fn set_branding(
        conn: &mut DbConn,
        id: &str,
        branding: (Option<String>, Option<String>, Option<String>),
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let (display_name, logo_url, accent_color) = branding;
        diesel::update(organizations::table.find(id))
            .set((
                organizations::display_name.eq(display_name),
                organizations::logo_url.eq(logo_url),
                organizations::accent_color.eq(accent_color),
                organizations::updated_at.eq(now),
            ))
            .execute(conn)
    }

    /// Whether anything still belongs to the organization (web hooks,
    /// events, tokens, people, integrations; history and deliveries follow
    /// events and web hooks, runs and config follow integrations).
    pub fn has_contents(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
        let hooks: i64 = webhooks::table
            .filter(webhooks::organization_id.eq(id))
            .count()
            .get_result(conn)?;
        let evs: i64 = events::table
            .filter(events::organization_id.eq(id))
            .count()
            .get_result(conn)?;
        let toks: i64 = api_tokens::table
            .filter(api_tokens::organization_id.eq(id))
            .count()
            .get_result(conn)?;
        let people: i64 = users::table
            .filter(users::organization_id.eq(id))
            .count()
            .get_result(conn)?;
        let ints: i64 = integrations::table
            .filter(integrations::organization_id.eq(id))
            .count()
            .get_result(conn)?;
        Ok(hooks + evs + toks + people + ints > 0)
    }

    pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
        diesel::delete(organizations::table.find(id)).execute(conn)
    }
}
