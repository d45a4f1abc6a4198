//! Webhook subscriptions.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::IntoSql;

use super::schema::webhooks;
use super::{like_pattern, lower, DbConn, LoadOne};
pub use crate::health::Outcome;
pub use crate::signing::Scheme;
pub use values::{Concurrency, Format, WebhookSort, WebhookState};

mod health;
mod values;

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
    pub format: Format,
    pub active: bool,
    pub verify_ssl: bool,
    pub signing: bool,
    pub max_events_per_request: i32,
    pub secret: String,
    pub state: WebhookState,
    pub disabled_reason: Option<String>,
    pub last_triggered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// JSON array of delays (`["5s","1m"]`) overriding the deployment schedule.
    pub retry_schedule: Option<String>,
    /// Requests in flight at once to this webhook (per process).
    pub max_in_flight: i32,
    /// Requests per second, when limited.
    pub rate_limit_per_sec: Option<i32>,
    /// Start of the current run of failures (cleared by a success).
    pub failing_since: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    /// `hrflow`, `standard` or `both`: which signature headers are sent.
    pub signature_scheme: Scheme,
    /// The secret before the last rotation (sealed), still signed with
    /// until `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    /// `adaptive` (the limit follows the receiver, up to `max_in_flight`)
    /// or `fixed` (always `max_in_flight`).
    pub concurrency: Concurrency,
    /// The organization it belongs to.
    pub organization_id: String,
    /// An RFC 9535 JSONPath query over `[event]`: only events it selects a
    /// node of are delivered (`None`: every subscribed event).
    pub filter: Option<String>,
}

/// Fields a PATCH may change (`None` leaves a column alone).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub name: Option<String>,
    pub url: Option<String>,
    pub event_types: Option<String>,
    pub format: Option<Format>,
    pub active: Option<bool>,
    pub verify_ssl: Option<bool>,
    pub signing: Option<bool>,
    pub max_events_per_request: Option<i32>,
    pub secret: Option<String>,
    pub state: Option<WebhookState>,
    pub disabled_reason: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
    pub retry_schedule: Option<Option<String>>,
    pub max_in_flight: Option<i32>,
    pub rate_limit_per_sec: Option<Option<i32>>,
    pub failing_since: Option<Option<NaiveDateTime>>,
    pub disabled_at: Option<Option<NaiveDateTime>>,
    pub signature_scheme: Option<Scheme>,
    pub previous_secret: Option<Option<String>>,
    pub previous_secret_expires_at: Option<Option<NaiveDateTime>>,
    pub concurrency: Option<Concurrency>,
    pub filter: Option<Option<String>>,
}

/// List parameters.
pub struct WebhookQuery {
    /// Only this organization's webhooks.
    pub organization: String,
    pub q: Option<String>,
    /// Whether `q` also searches URLs: only for callers who see them whole,
    /// or a search would tell credentials apart one guess at a time.
    pub search_urls: bool,
    pub sort: WebhookSort,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// A webhook's sealed secrets, for re-sealing at start-up.
pub struct StoredSecrets {
    pub id: String,
    pub secret: String,
    pub previous_secret: Option<String>,
}

impl Webhook {
    /// A template with every field empty or at its default, for building a
    /// new webhook field by field (`..Webhook::blank()`).
    pub fn blank() -> Webhook {
        let epoch = NaiveDateTime::default();
        Webhook {
            id: String::new(),
            name: String::new(),
            url: String::new(),
            event_types: "[]".into(),
            format: Format::Form,
            active: true,
            verify_ssl: true,
            signing: true,
            max_events_per_request: 1,
            secret: String::new(),
            state: WebhookState::Active,
            disabled_reason: None,
            last_triggered_at: None,
            created_at: epoch,
            updated_at: epoch,
            retry_schedule: None,
            max_in_flight: 1,
            rate_limit_per_sec: None,
            failing_since: None,
            disabled_at: None,
            signature_scheme: Scheme::Both,
            previous_secret: None,
            previous_secret_expires_at: None,
            concurrency: Concurrency::Adaptive,
            organization_id: String::new(),
            filter: None,
        }
    }

    /// Every webhook's secrets.
    pub fn all_secrets(conn: &mut DbConn) -> QueryResult<Vec<StoredSecrets>> {
        let rows: Vec<(String, String, Option<String>)> = webhooks::table
            .select((webhooks::id, webhooks::secret, webhooks::previous_secret))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, secret, previous_secret)| StoredSecrets {
                id,
                secret,
                previous_secret,
            })
            .collect())
    }

    /// Replaces a webhook's stored secrets (same values, sealed anew).
    pub fn reseal(conn: &mut DbConn, s: &StoredSecrets) -> QueryResult<usize> {
        diesel::update(webhooks::table.find(&s.id))
            .set((
                webhooks::secret.eq(&s.secret),
                webhooks::previous_secret.eq(&s.previous_secret),
            ))
            .execute(conn)
    }

    /// Stores a new webhook.
    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<()> {
        diesel::insert_into(webhooks::table)
            .values(self)
            .execute(conn)
            .map(|_| ())
    }

    /// How many webhooks organization `org` has (its limit, issue #18).
    pub fn count_in(conn: &mut DbConn, org: &str) -> QueryResult<i64> {
        webhooks::table
            .filter(webhooks::organization_id.eq(org))
            .count()
            .get_result(conn)
    }

    /// One webhook by id.
    pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Webhook>> {
        webhooks::table
            .find(id)
            .select(Webhook::as_select())
            .load_one(conn)
    }

    /// One webhook of organization `org` by id.
    pub fn find_in(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<Option<Webhook>> {
        webhooks::table
            .find(id)
            .filter(webhooks::organization_id.eq(org))
            .select(Webhook::as_select())
            .load_one(conn)
    }

    /// One webhook of organization `org`, locked until the transaction
    /// ends (PostgreSQL `FOR UPDATE`; SQLite's one writer holds the file):
    /// a change validated against this row lands before another reads it.
    pub fn lock_in(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<Option<Webhook>> {
        macro_rules! row {
            () => {
                webhooks::table
                    .find(id)
                    .filter(webhooks::organization_id.eq(org))
                    .select(Webhook::as_select())
            };
        }
        match conn {
            DbConn::Pg(c) => row!().for_update().first(c).optional(),
            DbConn::Sqlite(c) => row!().first(c).optional(),
        }
    }

    /// Webhooks by id (any order).
    pub fn find_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<Webhook>> {
        webhooks::table
            .filter(webhooks::id.eq_any(ids))
            .select(Webhook::as_select())
            .load(conn)
    }

    /// The active webhooks of `orgs`: the candidates for fan-out. One
    /// organization is an equality, which on Citus reads its shard alone.
    pub fn active_in(conn: &mut DbConn, orgs: &[&str]) -> QueryResult<Vec<Webhook>> {
        let q = webhooks::table
            .filter(webhooks::active.eq(true))
            .select(Webhook::as_select())
            .into_boxed::<Backend>();
        match orgs {
            [org] => q.filter(webhooks::organization_id.eq(*org)).load(conn),
            _ => q.filter(webhooks::organization_id.eq_any(orgs)).load(conn),
        }
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

    /// One page of webhooks; fetches `limit + 1` rows so the caller knows if more follow.
    pub fn list(conn: &mut DbConn, query: &WebhookQuery) -> QueryResult<Vec<Webhook>> {
        let mut q = webhooks::table
            .select(Webhook::as_select())
            .filter(webhooks::organization_id.eq(query.organization.clone()))
            .into_boxed::<Backend>();
        if let Some(text) = query.q.as_deref().filter(|s| !s.is_empty()) {
            // The pattern goes through the same lower() as the column: SQLite folds
            // ASCII only, PostgreSQL all of Unicode; each agrees with itself.
            let pattern = lower(like_pattern(text).into_sql::<diesel::sql_types::Text>());
            q = if query.search_urls {
                q.filter(
                    lower(webhooks::name)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(lower(webhooks::url).like(pattern).escape('\\')),
                )
            } else {
                q.filter(lower(webhooks::name).like(pattern).escape('\\'))
            };
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
