//! Customer portal links: short-lived credentials for one organization,
//! stored like tokens (only the SHA-256 of the secret). A revoked link
//! keeps its row until it expires, so the portal can say which it was.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::portal_sessions;
use super::{DbConn, LoadOne};

/// How long past its expiry a link's row is kept, so that opening it says
/// "expired" rather than "not valid"; older rows are pruned.
pub const KEPT_AFTER_EXPIRY_HOURS: i64 = 24;

/// A stored portal link (never its secret).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = portal_sessions)]
pub struct PortalSession {
    pub id: String,
    pub organization_id: String,
    pub token_hash: String,
    /// Space-separated, sorted.
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

impl PortalSession {
    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(portal_sessions::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    /// The link whose secret hashes to `hash`, live or not.
    pub fn find_by_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<PortalSession>> {
        portal_sessions::table
            .filter(portal_sessions::token_hash.eq(hash))
            .select(PortalSession::as_select())
            .load_one(conn)
    }

    /// Organization `org`'s live links at `now`, newest first (ids are
    /// time-ordered), after `before`: `limit` rows.
    pub fn live(
        conn: &mut DbConn,
        org: &str,
        now: NaiveDateTime,
        before: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<PortalSession>> {
        let mut q = portal_sessions::table
            .filter(portal_sessions::organization_id.eq(org.to_string()))
            .filter(portal_sessions::expires_at.gt(now))
            .filter(portal_sessions::revoked_at.is_null())
            .order(portal_sessions::id.desc())
            .select(PortalSession::as_select())
            .limit(limit)
            .into_boxed();
        if let Some(before) = before {
            q = q.filter(portal_sessions::id.lt(before.to_string()));
        }
        q.load(conn)
    }

    /// How many live links organization `org` has at `now`.
    pub fn count_live(conn: &mut DbConn, org: &str, now: NaiveDateTime) -> QueryResult<i64> {
        portal_sessions::table
            .filter(portal_sessions::organization_id.eq(org))
            .filter(portal_sessions::expires_at.gt(now))
            .filter(portal_sessions::revoked_at.is_null())
            .count()
            .get_result(conn)
    }

    /// Revokes organization `org`'s live link `id`; the rows changed (0:
    /// no such live link).
    pub fn revoke(
        conn: &mut DbConn,
        org: &str,
        id: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            portal_sessions::table
                .find(id)
                .filter(portal_sessions::organization_id.eq(org))
                .filter(portal_sessions::expires_at.gt(now))
                .filter(portal_sessions::revoked_at.is_null()),
        )
        .set(portal_sessions::revoked_at.eq(now))
        .execute(conn)
    }

    /// Deletes organization `org`'s links that expired more than
    /// [`KEPT_AFTER_EXPIRY_HOURS`] before `now`.
    pub fn prune(conn: &mut DbConn, org: &str, now: NaiveDateTime) -> QueryResult<usize> {
        let cutoff = now - chrono::Duration::hours(KEPT_AFTER_EXPIRY_HOURS);
        diesel::delete(
            portal_sessions::table
                .filter(portal_sessions::organization_id.eq(org))
                .filter(portal_sessions::expires_at.lt(cutoff)),
        )
        .execute(conn)
    }

    /// Records use, at most once a minute per link.
    pub fn touch(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
        let stale = now - chrono::Duration::seconds(60);
        diesel::update(
            portal_sessions::table.find(id).filter(
                portal_sessions::last_used_at
                    .is_null()
                    .or(portal_sessions::last_used_at.lt(stale)),
            ),
        )
        .set(portal_sessions::last_used_at.eq(now))
        .execute(conn)
        .map(|_| ())
    }
}
