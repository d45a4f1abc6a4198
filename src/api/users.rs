//! `/v1/users`: the people integrations run for, in the request's
//! organization. Handlers check the fields; `manifest::people` checks
//! references and publishes `user.updated` with each change.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::auth::{IntegrationsRun, IntegrationsWrite, Need};
use super::check_text;
use super::page::{self, Cursor, Page};
use crate::db::users::{User, UserChanges, UserQuery, UserSort};
use crate::db::{new_id, time};
use crate::error::{Error, Result};
use crate::state::AppState;

/// Body of `POST /v1/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    email: String,
    first_name: String,
    last_name: String,
    position: Option<String>,
    department: Option<String>,
    start_date: Option<String>,
    phone: Option<String>,
    manager_id: Option<String>,
    buddy_id: Option<String>,
    extra_fields: Option<Map<String, Value>>,
}

/// Body of `PATCH /v1/users/{id}`; `null` clears the nullable fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    position: Option<String>,
    department: Option<String>,
    #[serde(default, deserialize_with = "present")]
    start_date: Option<Option<String>>,
    phone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    manager_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    buddy_id: Option<Option<String>>,
    /// Replaces the whole object.
    extra_fields: Option<Map<String, Value>>,
}

fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// A user as the API shows them.
#[derive(Serialize)]
pub struct UserView {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    position: String,
    department: String,
    start_date: Option<String>,
    phone: String,
    manager_id: Option<String>,
    buddy_id: Option<String>,
    extra_fields: Value,
    created_at: String,
    updated_at: String,
}

impl UserView {
    pub fn new(u: User) -> Self {
        UserView {
            start_date: u.start_date.map(|d| d.to_string()),
            extra_fields: serde_json::from_str(&u.extra_fields).unwrap_or(json!({})),
            created_at: time::rfc3339(&u.created_at),
            updated_at: time::rfc3339(&u.updated_at),
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            position: u.position,
            department: u.department,
            phone: u.phone,
            manager_id: u.manager_id,
            buddy_id: u.buddy_id,
        }
    }
}

/// Largest `extra_fields`, in bytes of compact JSON: they go into every
/// run's template context and every `user.updated` reader's hands.
const MAX_EXTRA_FIELDS_BYTES: usize = 16 * 1024;

fn check_extra_fields(m: Option<Map<String, Value>>) -> Result<Option<String>> {
    let Some(m) = m else {
        return Ok(None);
    };
    let text = Value::Object(m).to_string();
    if text.len() > MAX_EXTRA_FIELDS_BYTES {
        return Err(Error::field(
            "extra_fields",
            format!(
                "extra_fields is {} bytes as JSON; at most {MAX_EXTRA_FIELDS_BYTES}",
                text.len()
            ),
        ));
    }
    Ok(Some(text))
}

fn check_email(email: &str) -> Result<String> {
    let e = email.trim();
    if crate::db::users::is_email(e) {
        Ok(e.to_string())
    } else {
        Err(Error::field(
            "email",
            format!("'{email}' is not an email address"),
        ))
    }
}

fn check_date(v: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| {
        Error::field(
            "start_date",
            format!("start_date must be a date such as 2026-01-31, not '{v}'"),
        )
    })
}

pub async fn create(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let now = time::now();
    let email = check_email(&b.email)?;
    let user = User {
        id: new_id("usr"),
        email_key: email.to_lowercase(),
        email,
        first_name: check_text("first_name", &b.first_name, true)?,
        last_name: check_text("last_name", &b.last_name, true)?,
        position: check_text("position", b.position.as_deref().unwrap_or(""), false)?,
        department: check_text("department", b.department.as_deref().unwrap_or(""), false)?,
        start_date: b.start_date.as_deref().map(check_date).transpose()?,
        phone: check_text("phone", b.phone.as_deref().unwrap_or(""), false)?,
        manager_id: b.manager_id,
        buddy_id: b.buddy_id,
        extra_fields: check_extra_fields(Some(b.extra_fields.unwrap_or_default()))?
            .unwrap_or_default(),
        created_at: now,
        updated_at: now,
        organization_id: need.caller.organization.clone(),
    };
    let user = state.people.create(user).await?;
    Ok(HttpResponse::Created().json(UserView::new(user)))
}

pub async fn list(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let sort = match q.sort.as_deref().unwrap_or("created_at") {
        "email" => UserSort::Email,
        "first_name" => UserSort::FirstName,
        "last_name" => UserSort::LastName,
        "start_date" => UserSort::StartDate,
        "created_at" => UserSort::CreatedAt,
        other => {
            return Err(Error::field(
                "sort",
                format!("unknown sort key '{other}'; use email, first_name, last_name, start_date or created_at"),
            ))
        }
    };
    let limit = page::limit(q.limit)?;
    let offset = Cursor::decode(q.cursor.as_deref())?
        .offset
        .unwrap_or(0)
        .max(0);
    let query = UserQuery {
        q: q.q,
        sort,
        descending: page::descending(q.order.as_deref(), false)?,
        offset,
        limit,
    };
    let rows = state
        .people
        .list(need.caller.organization.clone(), query)
        .await?;
    let kept = rows.len().min(limit as usize) as i64;
    Ok(
        HttpResponse::Ok().json(Page::from_rows(rows, limit, UserView::new, |_| {
            Cursor::offset(offset + kept)
        })),
    )
}

pub async fn get(
    state: web::Data<AppState>,
    need: Need<IntegrationsRun>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let u = state
        .people
        .find(need.caller.organization.clone(), id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(UserView::new(u)))
}

pub async fn update(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    id: web::Path<String>,
    body: web::Json<UpdateUser>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let email = b.email.as_deref().map(check_email).transpose()?;
    let changes = UserChanges {
        email_key: email.as_ref().map(|e| e.to_lowercase()),
        email,
        first_name: b
            .first_name
            .as_deref()
            .map(|v| check_text("first_name", v, true))
            .transpose()?,
        last_name: b
            .last_name
            .as_deref()
            .map(|v| check_text("last_name", v, true))
            .transpose()?,
        position: b
            .position
            .as_deref()
            .map(|v| check_text("position", v, false))
            .transpose()?,
        department: b
            .department
            .as_deref()
            .map(|v| check_text("department", v, false))
            .transpose()?,
        start_date: match &b.start_date {
            Some(Some(d)) => Some(Some(check_date(d)?)),
            Some(None) => Some(None),
            None => None,
        },
        phone: b
            .phone
            .as_deref()
            .map(|v| check_text("phone", v, false))
            .transpose()?,
        manager_id: b.manager_id.clone(),
        buddy_id: b.buddy_id.clone(),
        extra_fields: check_extra_fields(b.extra_fields)?,
        updated_at: Some(time::now()),
    };
    let user = state
        .people
        .update(need.caller.organization.clone(), id.into_inner(), changes)
        .await?;
    Ok(HttpResponse::Ok().json(UserView::new(user)))
}

pub async fn delete(
    state: web::Data<AppState>,
    need: Need<IntegrationsWrite>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    state
        .people
        .delete(need.caller.organization.clone(), id.into_inner())
        .await?;
    Ok(super::no_content())
}
