//! The people integrations run for, and the organization they belong to.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::IntoSql;

use super::schema::{organization, users};
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

    pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .select(User::as_select())
            .load_one(conn)
    }

    /// By email, whatever its case.
    pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email_key.eq(email.trim().to_lowercase()))
            .select(User::as_select())
            .load_one(conn)
    }

    /// Users by lower-cased email, for sync runs.
    pub fn find_by_email_keys(conn: &mut DbConn, keys: &[String]) -> QueryResult<Vec<User>> {
        users::table
            .filter(users::email_key.eq_any(keys))
            .select(User::as_select())
            .load(conn)
    }

    pub fn update(conn: &mut DbConn, id: &str, changes: &UserChanges) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set(changes)
            .execute(conn)
    }

    /// Deletes a user; managers and buddies pointing at them are cleared.
    pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
        diesel::update(users::table.filter(users::manager_id.eq(id)))
            .set(users::manager_id.eq(None::<String>))
            .execute(conn)?;
        diesel::update(users::table.filter(users::buddy_id.eq(id)))
            .set(users::buddy_id.eq(None::<String>))
            .execute(conn)?;
        diesel::delete(users::table.find(id)).execute(conn)
    }

    pub fn list(conn: &mut DbConn, query: &UserQuery) -> QueryResult<Vec<User>> {
        let mut q = users::table
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

/// The organization (one row).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organization)]
pub struct Organization {
    pub id: i32,
    pub name: String,
    pub updated_at: NaiveDateTime,
}

impl Organization {
    pub fn get(conn: &mut DbConn) -> QueryResult<Option<Organization>> {
        organization::table
            .find(1)
            .select(Organization::as_select())
            .load_one(conn)
    }

    /// Sets the name (creating the row on first use).
    pub fn put(conn: &mut DbConn, name: &str, now: NaiveDateTime) -> QueryResult<()> {
        let n = diesel::update(organization::table.find(1))
            .set((
                organization::name.eq(name),
                organization::updated_at.eq(now),
            ))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(organization::table)
                .values((
                    organization::id.eq(1),
                    organization::name.eq(name),
                    organization::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    }
}
