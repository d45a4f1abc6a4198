//! Delivery history: one row per attempt (automatic, re-send or test).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::IntoSql;

use super::deliveries::{Delivery, Settlement};
use super::schema::{history, history_events};
use super::webhooks::Webhook;
use super::{id_floor, insert_many, like_pattern, lower, DbConn, LoadOne};
use crate::text_enum::text_enum;

type Backend = <DbConn as diesel::Connection>::Backend;

text_enum! {
    /// Who caused an attempt: the engine, an operator's re-send, or a test send.
    Trigger {
        Auto = "auto",
        Resend = "resend",
        Test = "test",
    }
}

/// One attempt as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// Batch-inserted: see `insert_rows!` for `treat_none_as_default_value`.
#[diesel(table_name = history, treat_none_as_default_value = false)]
pub struct HistoryRow {
    pub id: String,
    pub webhook_id: String,
    /// First (usually only) event of the request; `None` for test sends.
    pub event_id: Option<String>,
    pub event_type: String,
    /// JSON array of every event id in the request.
    pub event_ids: String,
    /// JSON array of the deliveries the request settled.
    pub delivery_ids: String,
    pub url: String,
    /// JSON object of the request headers as sent.
    pub request_headers: String,
    pub request_body: String,
    /// HTTP status, 0 when no response arrived (see `error`).
    pub response_status: i32,
    pub response_headers: String,
    pub response_body: String,
    pub response_truncated: bool,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub attempt: i32,
    /// `auto`, `resend` or `test`.
    pub triggered_by: Trigger,
    pub sent_at: NaiveDateTime,
    /// True when `request_body` holds only the first 64 KiB of the body sent.
    pub request_truncated: bool,
    /// Size in bytes of the body sent; `None` on rows stored before sizes
    /// were (those bodies were kept whole).
    pub request_size: Option<i64>,
    /// The organization it belongs to.
    pub organization_id: String,
}

diesel::define_sql_function! {
    /// SQL `substr(text, start, length)`, in characters on both backends.
    fn substr(x: diesel::sql_types::Text, start: diesel::sql_types::Integer, len: diesel::sql_types::Integer) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// SQL `length(text)`, in characters on both backends.
    fn length(x: diesel::sql_types::Text) -> diesel::sql_types::Integer;
}

/// Characters of each body a history list carries: 500 rows of 64 KiB
/// bodies each way would make a page of hundreds of MB; the detail view
/// (`GET /v1/history/{id}`) has them whole.
pub const EXCERPT_CHARS: i32 = 1024;

/// A listed attempt: its row with both bodies cut to [`EXCERPT_CHARS`]
/// (in SQL, so the database sends no more), and each body's stored length
/// in characters.
pub type ListedRow = (HistoryRow, i32, i32);

/// An attempt to store with the delivery updates it causes.
pub struct AttemptRecord {
    pub row: HistoryRow,
    /// Every event of a batched request, for the event index.
    pub batch_event_ids: Vec<String>,
    pub settlements: Vec<Settlement>,
}

/// Attempts stored together. Their rows sit side by side so they insert in
/// fixed-shape statements (see `insert_many!`); the rest of each record sits
/// at the same index in `links`.
#[derive(Default)]
pub struct AttemptBatch {
    pub rows: Vec<HistoryRow>,
    /// Per row: its batch's event ids and the deliveries it settles.
    pub links: Vec<(Vec<String>, Vec<Settlement>)>,
}

impl AttemptBatch {
    pub fn push(&mut self, r: AttemptRecord) {
        self.rows.push(r.row);
        self.links.push((r.batch_event_ids, r.settlements));
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The records again, one by one.
    pub fn into_records(self) -> impl Iterator<Item = AttemptRecord> {
        self.rows
            .into_iter()
            .zip(self.links)
            .map(|(row, (batch_event_ids, settlements))| AttemptRecord {
                row,
                batch_event_ids,
                settlements,
            })
    }
}

impl From<AttemptRecord> for AttemptBatch {
    fn from(r: AttemptRecord) -> Self {
        let mut batch = AttemptBatch::default();
        batch.push(r);
        batch
    }
}

text_enum! {
    /// Sort keys for the history list.
    HistorySort {
        SentAt = "sent_at",
        Status = "status",
        Url = "url",
        Duration = "duration",
    }
}

text_enum! {
    /// Status classes for filtering (`Error`: no answer at all).
    StatusClass {
        C2xx = "2xx",
        C3xx = "3xx",
        C4xx = "4xx",
        C5xx = "5xx",
        Error = "error",
    }
}

/// History list parameters.
pub struct HistoryQuery {
    /// Only this organization's attempts.
    pub organization: String,
    pub webhook_id: Option<String>,
    pub event_id: Option<String>,
    pub status: Option<StatusClass>,
    pub q: Option<String>,
    /// Whether `q` also searches URLs (see `WebhookQuery::search_urls`).
    pub search_urls: bool,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub sort: HistorySort,
    pub descending: bool,
    /// Keyset cursor for `sent_at` order (ids sort by time).
    pub after_id: Option<String>,
    /// Offset for the other orders.
    pub offset: i64,
    pub limit: i64,
}

impl HistoryRow {
    /// Stores attempts, settles their deliveries and updates their webhooks.
    /// Returns the webhooks these attempts disabled. Call inside a
    /// transaction: all of it lands or none (no savepoint of its own).
    pub fn record(
        conn: &mut DbConn,
        batch: &AttemptBatch,
        settles: &[Settlement],
        now: NaiveDateTime,
        disable_after: chrono::Duration,
    ) -> QueryResult<Vec<Webhook>> {
        insert_many!(conn, history::table, &batch.rows[..])?;
        for (row, (events, _)) in batch.rows.iter().zip(&batch.links) {
            if events.len() < 2 {
                continue;
            }
            for ev in events {
                diesel::insert_into(history_events::table)
                    .values((
                        history_events::event_id.eq(ev),
                        history_events::history_id.eq(&row.id),
                        history_events::organization_id.eq(&row.organization_id),
                    ))
                    .execute(conn)?;
            }
        }
        Delivery::settle_all(
            conn,
            batch.links.iter().flat_map(|(_, s)| s).chain(settles),
            now,
        )?;
        // One webhook update per webhook (`health::latest_per_webhook`).
        let mut latest = crate::health::latest_per_webhook(batch.rows.iter().map(|row| {
            let status = u16::try_from(row.response_status).ok().filter(|s| *s > 0);
            (row.webhook_id.as_str(), row.sent_at, status)
        }));
        // Always in id order: two processes updating the same webhooks
        // in different orders would deadlock on PostgreSQL.
        latest.sort_by(|a, b| a.0.cmp(b.0));
        let mut disabled = Vec::new();
        for (id, at, outcome) in latest {
            // Every row of a web hook carries its organization.
            let org = batch
                .rows
                .iter()
                .find(|row| row.webhook_id == id)
                .map_or("", |row| row.organization_id.as_str());
            disabled.extend(Webhook::record_attempt(
                conn,
                org,
                id,
                at,
                outcome,
                disable_after,
            )?);
        }
        Ok(disabled)
    }

    /// One attempt by id.
    /// One attempt of organization `org` by id.
    pub fn find(conn: &mut DbConn, org: &str, id: &str) -> QueryResult<Option<HistoryRow>> {
        history::table
            .find(id)
            .filter(history::organization_id.eq(org))
            .select(HistoryRow::as_select())
            .load_one(conn)
    }

    /// One page; `limit + 1` rows so the caller knows if more follow.
    pub fn list(conn: &mut DbConn, query: &HistoryQuery) -> QueryResult<Vec<ListedRow>> {
        use history as h;
        // `HistoryRow`'s columns in order, the bodies cut.
        let row = (
            h::id,
            h::webhook_id,
            h::event_id,
            h::event_type,
            h::event_ids,
            h::delivery_ids,
            h::url,
            h::request_headers,
            substr(h::request_body, 1, EXCERPT_CHARS),
            h::response_status,
            h::response_headers,
            substr(h::response_body, 1, EXCERPT_CHARS),
            h::response_truncated,
            h::duration_ms,
            h::error,
            h::attempt,
            h::triggered_by,
            h::sent_at,
            h::request_truncated,
            h::request_size,
            h::organization_id,
        );
        let mut q = history::table
            .select((row, length(h::request_body), length(h::response_body)))
            .filter(history::organization_id.eq(query.organization.clone()))
            .into_boxed::<Backend>();
        if let Some(w) = &query.webhook_id {
            q = q.filter(history::webhook_id.eq(w.clone()));
        }
        if let Some(e) = &query.event_id {
            let batched = history_events::table
                .filter(history_events::event_id.eq(e.clone()))
                .select(history_events::history_id);
            q = q.filter(
                history::event_id
                    .eq(e.clone())
                    .or(history::id.eq_any(batched)),
            );
        }
        q = match query.status {
            Some(StatusClass::C2xx) => q.filter(history::response_status.between(200, 299)),
            Some(StatusClass::C3xx) => q.filter(history::response_status.between(300, 399)),
            Some(StatusClass::C4xx) => q.filter(history::response_status.between(400, 499)),
            Some(StatusClass::C5xx) => q.filter(history::response_status.between(500, 599)),
            Some(StatusClass::Error) => q.filter(history::response_status.eq(0)),
            None => q,
        };
        if let Some(text) = query.q.as_deref().filter(|s| !s.is_empty()) {
            // The pattern goes through the same lower() as the column: SQLite folds
            // ASCII only, PostgreSQL all of Unicode; each agrees with itself.
            let p = lower(like_pattern(text).into_sql::<diesel::sql_types::Text>());
            // For callers who may not search URLs, the URL is compared with
            // "" instead, which no stored URL equals: one query shape.
            let url_pattern = if query.search_urls {
                like_pattern(text)
            } else {
                String::new()
            };
            let url = lower(history::url)
                .like(lower(url_pattern.into_sql::<diesel::sql_types::Text>()))
                .escape('\\');
            q = q.filter(
                url.or(lower(history::event_type).like(p.clone()).escape('\\'))
                    .or(lower(history::error.assume_not_null())
                        .like(p.clone())
                        .escape('\\'))
                    .or(lower(history::event_id.assume_not_null())
                        .like(p)
                        .escape('\\')),
            );
        }
        // Ids begin with sent_at: a time range is an id range.
        if let Some(s) = query.since {
            q = q.filter(history::id.ge(id_floor("att", s)));
        }
        if let Some(u) = query.until {
            q = q.filter(history::id.lt(id_floor("att", u)));
        }
        if let Some(after) = &query.after_id {
            q = if query.descending {
                q.filter(history::id.lt(after.clone()))
            } else {
                q.filter(history::id.gt(after.clone()))
            };
        }
        q = match (query.sort, query.descending) {
            (HistorySort::SentAt, false) => q.order(history::id.asc()),
            (HistorySort::SentAt, true) => q.order(history::id.desc()),
            (HistorySort::Status, false) => {
                q.order((history::response_status.asc(), history::id.asc()))
            }
            (HistorySort::Status, true) => {
                q.order((history::response_status.desc(), history::id.desc()))
            }
            (HistorySort::Url, false) => q.order((history::url.asc(), history::id.asc())),
            (HistorySort::Url, true) => q.order((history::url.desc(), history::id.desc())),
            (HistorySort::Duration, false) => {
                q.order((history::duration_ms.asc(), history::id.asc()))
            }
            (HistorySort::Duration, true) => {
                q.order((history::duration_ms.desc(), history::id.desc()))
            }
        };
        q.offset(query.offset).limit(query.limit + 1).load(conn)
    }
}
