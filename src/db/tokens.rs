//! API tokens, stored only as SHA-256 hashes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::schema::api_tokens;
use super::{DbConn, LoadOne};

/// A stored token (never the token itself).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    /// The organization it belongs to.
    pub organization_id: String,
}

impl ApiToken {
    /// Scopes as a list.
    pub fn scope_list(&self) -> Vec<&str> {
        self.scopes.split_whitespace().collect()
    }

    /// Looks a presented token up by its hash.
    pub fn find_by_secret(conn: &mut DbConn, token: &str) -> QueryResult<Option<ApiToken>> {
        Self::find_by_hash(conn, &hash_token(token))
    }

    /// Looks a token up by the hash of its secret.
    pub fn find_by_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<ApiToken>> {
        api_tokens::table
            .filter(api_tokens::token_hash.eq(hash))
            .select(ApiToken::as_select())
            .load_one(conn)
    }

    /// Stores a token row.
    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(api_tokens::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    /// One token of organization `org` by id.
    pub fn find(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<Option<ApiToken>> {
        api_tokens::table
            .find(id)
            .filter(api_tokens::organization_id.eq(org))
            .select(ApiToken::as_select())
            .load_one(conn)
    }

    /// Tokens in creation order (ids are time-ordered), after `after`.
    /// Of organization `org`, or of all (`None`, the CLI).
    pub fn list(
        conn: &mut DbConn,
        org: Option<&str>,
        after: Option<&str>,
        limit: i64,
        platform: bool,
    ) -> QueryResult<Vec<ApiToken>> {
        let mut q = api_tokens::table
            .select(ApiToken::as_select())
            .order(api_tokens::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(org) = org {
            q = q.filter(api_tokens::organization_id.eq(org.to_string()));
        }
        if let Some(after) = after {
            q = q.filter(api_tokens::id.gt(after.to_string()));
        }
        if !platform {
            // No other scope's name contains it (scopes are whole words).
            q = q.filter(api_tokens::scopes.not_like("%platform%"));
        }
        q.load(conn)
    }

    /// Renames a token; the number of rows changed.
    pub fn rename(conn: &mut DbConn, org: &str, id: &str, name: &str) -> QueryResult<usize> {
        diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::organization_id.eq(org)),
        )
        .set(api_tokens::name.eq(name))
        .execute(conn)
    }

    /// Revokes (deletes) a token; the number of rows removed.
    pub fn delete(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<usize> {
        diesel::delete(
            api_tokens::table
                .find(id)
                .filter(api_tokens::organization_id.eq(org)),
        )
        .execute(conn)
    }

    /// Revokes a token of any organization (the CLI).
    pub fn delete_any(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
        diesel::delete(api_tokens::table.find(id)).execute(conn)
    }

    /// How many tokens organization `org` has (its limit, issue #18).
    pub fn count_in(conn: &mut DbConn, org: &str) -> QueryResult<i64> {
        api_tokens::table
            .filter(api_tokens::organization_id.eq(org))
            .count()
            .get_result(conn)
    }

    /// How many tokens exist.
    pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
        api_tokens::table.count().get_result(conn)
    }

    /// Records use, at most once a minute per token so reads stay cheap.
    pub fn touch(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
        let stale = now - chrono::Duration::seconds(60);
        diesel::update(
            api_tokens::table.filter(api_tokens::id.eq(id)).filter(
                api_tokens::last_used_at
                    .is_null()
                    .or(api_tokens::last_used_at.lt(stale)),
            ),
        )
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)
        .map(|_| ())
    }
}

/// Hex SHA-256 of a token: what the database keeps.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
