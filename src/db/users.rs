//! The people integrations run for. Each belongs to one organization;
//! every read and write here takes it, so an id or email from another
//! organization is not found.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::IntoSql;

use super::schema::users;
use super::{like_pattern, lower, DbConn, LoadOne};

type Backend = <DbConn as diesel::Connection>::Backend;

/// A stored user.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    /// `email` lower-cased: unique, and what events match on.
    pub email_key: String,
    pub first_name: String,
    pub last_name: String,
    pub position: String,
    pub department: String,
    pub start_date: Option<NaiveDate>,
    pub phone: String,
    pub manager_id: Option<String>,
    pub buddy_id: Option<String>,
    /// JSON object.
    pub extra_fields: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub organization_id: String,
}

/// Fields a PATCH may change.
#[derive(Debug, Default, Clone, PartialEq, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub position: Option<String>,
    pub department: Option<String>,
    pub start_date: Option<Option<NaiveDate>>,
    pub phone: Option<String>,
    pub manager_id: Option<Option<String>>,
    pub buddy_id: Option<Option<String>>,
    pub extra_fields: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Sort keys of the user list.
#[derive(Debug, Clone, Copy)]
pub enum UserSort {
    Email,
    FirstName,
    LastName,
    StartDate,
    CreatedAt,
}

/// List parameters.
pub struct UserQuery {
    pub q: Option<String>,
    pub sort: UserSort,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

impl User {
    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(users::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    /// User `id` of organization `org`.
    pub fn find(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .filter(users::organization_id.eq(org))
            .select(User::as_select())
            .load_one(conn)
    }

    /// By email within `org`, whatever its case.
    pub fn find_by_email(conn: &mut DbConn, org: &str, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email_key.eq(email.trim().to_lowercase()))
            .filter(users::organization_id.eq(org))
            .select(User::as_select())
            .load_one(conn)
    }

    /// Users of `org` by lower-cased email, for sync runs.
    pub fn find_by_email_keys(
        conn: &mut DbConn,
        org: &str,
        keys: &[String],
    ) -> QueryResult<Vec<User>> {
        users::table
            .filter(users::email_key.eq_any(keys))
            .filter(users::organization_id.eq(org))
            .select(User::as_select())
            .load(conn)
    }

    pub fn update(
        conn: &mut DbConn,
        org: &str,
        id: &str,
        changes: &UserChanges,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id).filter(users::organization_id.eq(org)))
            .set(changes)
            .execute(conn)
    }

    /// Deletes a user of `org`; managers and buddies pointing at them are
    /// cleared.
    pub fn delete(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<usize> {
        let n = diesel::delete(users::table.find(id).filter(users::organization_id.eq(org)))
            .execute(conn)?;
        if n == 0 {
            return Ok(0);
        }
        diesel::update(users::table.filter(users::manager_id.eq(id)))
            .set(users::manager_id.eq(None::<String>))
            .execute(conn)?;
        diesel::update(users::table.filter(users::buddy_id.eq(id)))
            .set(users::buddy_id.eq(None::<String>))
            .execute(conn)?;
        Ok(n)
    }

    /// A page of `org`'s users.
    pub fn list(conn: &mut DbConn, org: &str, query: &UserQuery) -> QueryResult<Vec<User>> {
        let mut q = users::table
            .filter(users::organization_id.eq(org.to_string()))
            .select(User::as_select())
            .into_boxed::<Backend>();
        if let Some(text) = query.q.as_deref().filter(|s| !s.is_empty()) {
            let pattern = lower(like_pattern(text).into_sql::<diesel::sql_types::Text>());
            q = q.filter(
                users::email_key
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(users::first_name).like(pattern.clone()).escape('\\'))
                    .or(lower(users::last_name).like(pattern.clone()).escape('\\'))
                    .or(lower(users::department).like(pattern).escape('\\')),
            );
        }
        q = match (query.sort, query.descending) {
            (UserSort::Email, false) => q.order((users::email_key.asc(), users::id.asc())),
            (UserSort::Email, true) => q.order((users::email_key.desc(), users::id.desc())),
            (UserSort::FirstName, false) => q.order((users::first_name.asc(), users::id.asc())),
            (UserSort::FirstName, true) => q.order((users::first_name.desc(), users::id.desc())),
            (UserSort::LastName, false) => q.order((users::last_name.asc(), users::id.asc())),
            (UserSort::LastName, true) => q.order((users::last_name.desc(), users::id.desc())),
            (UserSort::StartDate, false) => q.order((
                users::start_date.is_null().asc(),
                users::start_date.asc(),
                users::id.asc(),
            )),
            (UserSort::StartDate, true) => q.order((
                users::start_date.is_null().asc(),
                users::start_date.desc(),
                users::id.desc(),
            )),
            (UserSort::CreatedAt, false) => q.order(users::id.asc()),
            (UserSort::CreatedAt, true) => q.order(users::id.desc()),
        };
        q.offset(query.offset).limit(query.limit + 1).load(conn)
    }
}

/// A plausible email address: `local@domain.tld`, no spaces, ≤ 254 bytes.
pub fn is_email(e: &str) -> bool {
    e.len() <= 254
        && !e.contains(char::is_whitespace)
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
}
