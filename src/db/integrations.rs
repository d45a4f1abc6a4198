//! Integrations, their sealed configuration and OAuth state. Each belongs
//! to one organization; lookups by id take it, so another organization's
//! id is not found. The run worker's and the re-sealer's reads span all.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{integration_config, integrations, oauth_states};
use super::{insert_rows, DbConn, LoadOne};

/// A stored integration.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = integrations)]
pub struct Integration {
    pub id: String,
    pub name: String,
    /// `webhook` or `sync_users`.
    pub kind: String,
    /// The manifest JSON as given.
    pub manifest: String,
    /// JSON array of `{event_type, form}`.
    pub triggers: String,
    /// Sealed OAuth token JSON.
    pub oauth_token: Option<String>,
    /// When the next scheduled sync is due (sync manifests with `schedule`).
    pub next_sync_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub organization_id: String,
}

/// Fields a PATCH may change.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = integrations)]
pub struct IntegrationChanges {
    pub name: Option<String>,
    pub manifest: Option<String>,
    pub triggers: Option<String>,
    pub oauth_token: Option<Option<String>>,
    pub next_sync_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

impl Integration {
    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(integrations::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    /// Integration `id` of organization `org`.
    pub fn find(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<Option<Integration>> {
        integrations::table
            .find(id)
            .filter(integrations::organization_id.eq(org))
            .select(Integration::as_select())
            .load_one(conn)
    }

    /// Every integration of every organization, oldest first (the trigger
    /// index, which keeps each one's organization).
    pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Integration>> {
        integrations::table
            .order(integrations::id.asc())
            .select(Integration::as_select())
            .load(conn)
    }

    /// Every integration of `org`, oldest first (there are few).
    pub fn all_in(conn: &mut DbConn, org: &str) -> QueryResult<Vec<Integration>> {
        integrations::table
            .filter(integrations::organization_id.eq(org))
            .order(integrations::id.asc())
            .select(Integration::as_select())
            .load(conn)
    }

    /// `org`'s integrations after `after` in id order.
    pub fn page(
        conn: &mut DbConn,
        org: &str,
        after: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<Integration>> {
        let mut q = integrations::table
            .filter(integrations::organization_id.eq(org.to_string()))
            .order(integrations::id.asc())
            .select(Integration::as_select())
            .limit(limit)
            .into_boxed();
        if let Some(a) = after {
            q = q.filter(integrations::id.gt(a.to_string()));
        }
        q.load(conn)
    }

    pub fn update(
        conn: &mut DbConn,
        org: &str,
        id: &str,
        changes: &IntegrationChanges,
    ) -> QueryResult<usize> {
        diesel::update(
            integrations::table
                .find(id)
                .filter(integrations::organization_id.eq(org)),
        )
        .set(changes)
        .execute(conn)
    }

    /// Deletes integration `id` of `org` with its config and OAuth states.
    pub fn delete(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<usize> {
        if Integration::find(conn, org, id)?.is_none() {
            return Ok(0);
        }
        diesel::delete(integration_config::table.filter(integration_config::integration_id.eq(id)))
            .execute(conn)?;
        diesel::delete(oauth_states::table.filter(oauth_states::integration_id.eq(id)))
            .execute(conn)?;
        diesel::delete(integrations::table.find(id)).execute(conn)
    }

    /// Every stored OAuth token (sealed), by integration.
    pub fn tokens(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
        let rows: Vec<(String, Option<String>)> = integrations::table
            .select((integrations::id, integrations::oauth_token))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, t)| Some((id, t?)))
            .collect())
    }

    /// Replaces a stored token (the same token, sealed anew).
    pub fn set_token(conn: &mut DbConn, id: &str, sealed: &str) -> QueryResult<usize> {
        diesel::update(integrations::table.find(id))
            .set(integrations::oauth_token.eq(sealed))
            .execute(conn)
    }

    /// Sync integrations whose schedule is due.
    pub fn due_syncs(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<Integration>> {
        integrations::table
            .filter(integrations::next_sync_at.le(now))
            .select(Integration::as_select())
            .load(conn)
    }

    /// Moves a due schedule on, only if nobody else did (processes race
    /// for it on PostgreSQL): true when this caller won.
    pub fn advance_sync(
        conn: &mut DbConn,
        id: &str,
        was: NaiveDateTime,
        next: Option<NaiveDateTime>,
    ) -> QueryResult<bool> {
        diesel::update(
            integrations::table
                .find(id)
                .filter(integrations::next_sync_at.eq(was)),
        )
        .set(integrations::next_sync_at.eq(next))
        .execute(conn)
        .map(|n| n == 1)
    }
}

/// One sealed `initial_data_form` value.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = integration_config)]
pub struct ConfigValue {
    pub integration_id: String,
    pub key: String,
    /// Sealed.
    pub value: String,
    pub updated_at: NaiveDateTime,
    /// The integration's organization.
    pub organization_id: String,
}

impl ConfigValue {
    pub fn for_integration(conn: &mut DbConn, id: &str) -> QueryResult<Vec<ConfigValue>> {
        integration_config::table
            .filter(integration_config::integration_id.eq(id))
            .order(integration_config::key.asc())
            .select(ConfigValue::as_select())
            .load(conn)
    }

    /// The ids with a value, for several integrations: (integration, key).
    pub fn keys_for(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
        integration_config::table
            .filter(integration_config::integration_id.eq_any(ids))
            .order((
                integration_config::integration_id.asc(),
                integration_config::key.asc(),
            ))
            .select((integration_config::integration_id, integration_config::key))
            .load(conn)
    }

    /// Every stored value, of every integration.
    pub fn all(conn: &mut DbConn) -> QueryResult<Vec<ConfigValue>> {
        integration_config::table
            .select(ConfigValue::as_select())
            .load(conn)
    }

    /// Replaces one stored value (the same value, sealed anew).
    pub fn set_value(conn: &mut DbConn, v: &ConfigValue) -> QueryResult<usize> {
        diesel::update(
            integration_config::table
                .filter(integration_config::integration_id.eq(&v.integration_id))
                .filter(integration_config::key.eq(&v.key)),
        )
        .set(integration_config::value.eq(&v.value))
        .execute(conn)
    }

    /// Replaces every value of an integration.
    pub fn replace_all(conn: &mut DbConn, id: &str, values: &[ConfigValue]) -> QueryResult<()> {
        diesel::delete(integration_config::table.filter(integration_config::integration_id.eq(id)))
            .execute(conn)?;
        if !values.is_empty() {
            insert_rows!(conn, integration_config::table, values)?;
        }
        Ok(())
    }
}

/// Remembers an OAuth `state` handed to the provider, with the
/// organization of its integration (the callback carries no token).
pub fn store_oauth_state(
    conn: &mut DbConn,
    state: &str,
    org: &str,
    integration_id: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(oauth_states::table)
        .values((
            oauth_states::state.eq(state),
            oauth_states::integration_id.eq(integration_id),
            oauth_states::expires_at.eq(expires_at),
            oauth_states::organization_id.eq(org),
        ))
        .execute(conn)
        .map(|_| ())
}

/// What a `state` was issued for: (organization, integration).
pub type OauthTarget = (String, String);

/// The organization and integration a fresh `state` belongs to, without
/// using it up.
pub fn peek_oauth_state(
    conn: &mut DbConn,
    state: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<OauthTarget>> {
    oauth_states::table
        .find(state)
        .filter(oauth_states::expires_at.gt(now))
        .select((oauth_states::organization_id, oauth_states::integration_id))
        .load_one(conn)
}

/// Takes a `state` back (once): its organization and integration, if it is
/// known and fresh.
pub fn take_oauth_state(
    conn: &mut DbConn,
    state: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<OauthTarget>> {
    let found: Option<(String, String, NaiveDateTime)> = oauth_states::table
        .find(state)
        .select((
            oauth_states::organization_id,
            oauth_states::integration_id,
            oauth_states::expires_at,
        ))
        .load_one(conn)?;
    // Only the callback whose delete removed the row redeems it: two
    // concurrent callbacks (PostgreSQL, read committed) both read it above.
    let taken = diesel::delete(oauth_states::table.find(state)).execute(conn)? == 1;
    diesel::delete(oauth_states::table.filter(oauth_states::expires_at.lt(now))).execute(conn)?;
    Ok(found
        .filter(|(_, _, exp)| taken && *exp > now)
        .map(|(org, id, _)| (org, id)))
}
