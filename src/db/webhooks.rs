//! Webhook subscriptions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::webhooks;
use super::{like_pattern, DbConn};

diesel::define_sql_function! {
    /// SQL `lower(text)`, for case-insensitive search on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

type Backend = <DbConn as diesel::Connection>::Backend;

/// A stored webhook.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: String,
    pub name: String,
    pub url: String,
    /// JSON array of names and patterns (`profile.*`, `*`).
    pub event_types: String,
    pub format: String,
    pub active: bool,
    pub verify_ssl: bool,
    pub signing: bool,
    pub max_events_per_request: i32,
    pub secret: String,
    pub state: String,
    pub disabled_reason: Option<String>,
    pub last_triggered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Fields a PATCH may change (`None` leaves a column alone).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub name: Option<String>,
    pub url: Option<String>,
    pub event_types: Option<String>,
    pub format: Option<String>,
    pub active: Option<bool>,
    pub verify_ssl: Option<bool>,
    pub signing: Option<bool>,
    pub max_events_per_request: Option<i32>,
    pub secret: Option<String>,
    pub state: Option<String>,
    pub disabled_reason: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Sort keys the list accepts.
#[derive(Debug, Clone, Copy)]
pub enum WebhookSort {
    Name,
    Url,
    LastTriggeredAt,
    State,
    CreatedAt,
}

/// List parameters.
pub struct WebhookQuery {
    pub q: Option<String>,
    pub sort: WebhookSort,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

impl Webhook {
    /// Stores a new webhook.
    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(webhooks::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    /// One webhook by id.
    pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Webhook>> {
        webhooks::table
            .find(id)
            .select(Webhook::as_select())
            .first(conn)
            .optional()
    }

    /// Webhooks by id (any order).
    pub fn find_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<Webhook>> {
        webhooks::table
            .filter(webhooks::id.eq_any(ids))
            .select(Webhook::as_select())
            .load(conn)
    }

    /// Every active webhook: the candidates for fan-out.
    pub fn active(conn: &mut DbConn) -> QueryResult<Vec<Webhook>> {
        webhooks::table
            .filter(webhooks::active.eq(true))
            .select(Webhook::as_select())
            .load(conn)
    }

    /// Applies `changes`; returns rows updated.
    pub fn update(conn: &mut DbConn, id: &str, changes: &WebhookChanges) -> QueryResult<usize> {
        diesel::update(webhooks::table.find(id))
            .set(changes)
            .execute(conn)
    }

    /// Deletes a webhook (its pending deliveries go with it; history stays).
    pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
        diesel::delete(webhooks::table.find(id)).execute(conn)
    }

    /// Records the outcome of the latest attempt on the webhook row.
    pub fn record_attempt(
        conn: &mut DbConn,
        id: &str,
        at: NaiveDateTime,
        ok: bool,
    ) -> QueryResult<()> {
        // Only active webhooks switch between active/failing; disabled stays disabled.
        let state = if ok { "active" } else { "failing" };
        diesel::update(webhooks::table.find(id).filter(webhooks::active.eq(true)))
            .set((
                webhooks::state.eq(state),
                webhooks::last_triggered_at.eq(at),
            ))
            .execute(conn)?;
        diesel::update(webhooks::table.find(id).filter(webhooks::active.eq(false)))
            .set(webhooks::last_triggered_at.eq(at))
            .execute(conn)
            .map(|_| ())
    }

    /// One page of webhooks; fetches `limit + 1` rows so the caller knows if more follow.
    pub fn list(conn: &mut DbConn, query: &WebhookQuery) -> QueryResult<Vec<Webhook>> {
        let mut q = webhooks::table
            .select(Webhook::as_select())
            .into_boxed::<Backend>();
        if let Some(text) = query.q.as_deref().filter(|s| !s.is_empty()) {
            let pattern = like_pattern(&text.to_lowercase());
            q = q.filter(
                lower(webhooks::name)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(webhooks::url).like(pattern).escape('\\')),
            );
        }
        q = match (query.sort, query.descending) {
            (WebhookSort::Name, false) => q.order((webhooks::name.asc(), webhooks::id.asc())),
            (WebhookSort::Name, true) => q.order((webhooks::name.desc(), webhooks::id.desc())),
            (WebhookSort::Url, false) => q.order((webhooks::url.asc(), webhooks::id.asc())),
            (WebhookSort::Url, true) => q.order((webhooks::url.desc(), webhooks::id.desc())),
            (WebhookSort::LastTriggeredAt, false) => q.order((
                webhooks::last_triggered_at.is_null().desc(),
                webhooks::last_triggered_at.asc(),
                webhooks::id.asc(),
            )),
            (WebhookSort::LastTriggeredAt, true) => q.order((
                webhooks::last_triggered_at.is_null().asc(),
                webhooks::last_triggered_at.desc(),
                webhooks::id.desc(),
            )),
            (WebhookSort::State, false) => q.order((webhooks::state.asc(), webhooks::id.asc())),
            (WebhookSort::State, true) => q.order((webhooks::state.desc(), webhooks::id.desc())),
            (WebhookSort::CreatedAt, false) => q.order(webhooks::id.asc()),
            (WebhookSort::CreatedAt, true) => q.order(webhooks::id.desc()),
        };
        q.offset(query.offset).limit(query.limit + 1).load(conn)
    }
}
