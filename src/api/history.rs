//! `/v1/history`: every delivery attempt, and re-sending one.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::{Caller, HistoryRead, HistoryResend, Need};
use super::events::parse_time;
use super::page::{self, Cursor, Page};
use crate::db::history::{
    HistoryQuery, HistoryRow, HistorySort, ListedRow, StatusClass, Trigger, EXCERPT_CHARS,
};
use crate::db::time;
use crate::delivery::{history, manual};
use crate::error::{Error, Result};
use crate::redact::redact_url;
use crate::state::AppState;

/// Query of `GET /v1/history`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    webhook_id: Option<String>,
    event_id: Option<String>,
    status: Option<String>,
    q: Option<String>,
    since: Option<String>,
    until: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// One attempt as the API shows it.
#[derive(Serialize)]
pub struct HistoryView {
    id: String,
    webhook_id: String,
    event_id: Option<String>,
    event_type: String,
    event_ids: Value,
    delivery_ids: Value,
    url: String,
    request: Exchange,
    response: Response,
    duration_ms: i64,
    error: Option<String>,
    attempt: i32,
    trigger: Trigger,
    sent_at: String,
}

#[derive(Serialize)]
struct Exchange {
    headers: Value,
    /// At most 64 KiB of the body sent (see `attempt_row::REQUEST_BODY_CAP`);
    /// in a list, at most its first [`EXCERPT_CHARS`] characters.
    body: String,
    body_truncated: bool,
    /// `body` is a list's excerpt: the detail view has more.
    body_excerpt: bool,
    /// Size in bytes of the whole body sent.
    body_size: i64,
}

#[derive(Serialize)]
struct Response {
    status: Option<i32>,
    headers: Value,
    body: String,
    body_truncated: bool,
    /// `body` is a list's excerpt: the detail view has more.
    body_excerpt: bool,
}

impl HistoryView {
    pub fn new(r: HistoryRow) -> Self {
        let json = |s: &str| serde_json::from_str(s).unwrap_or(Value::Null);
        HistoryView {
            event_ids: json(&r.event_ids),
            delivery_ids: json(&r.delivery_ids),
            request: Exchange {
                headers: json(&r.request_headers),
                body_truncated: r.request_truncated,
                body_excerpt: false,
                // Rows from before sizes were stored kept their body whole.
                body_size: r.request_size.unwrap_or(r.request_body.len() as i64),
                body: r.request_body,
            },
            response: Response {
                status: (r.response_status != 0).then_some(r.response_status),
                headers: json(&r.response_headers),
                body: r.response_body,
                body_truncated: r.response_truncated,
                body_excerpt: false,
            },
            sent_at: time::rfc3339(&r.sent_at),
            id: r.id,
            webhook_id: r.webhook_id,
            event_id: r.event_id,
            event_type: r.event_type,
            url: r.url,
            duration_ms: r.duration_ms,
            error: r.error,
            attempt: r.attempt,
            trigger: r.triggered_by,
        }
    }

    /// A list's view of an attempt: its bodies cut to [`EXCERPT_CHARS`]
    /// characters (by the query), marked when they were longer.
    fn listed((r, request_chars, response_chars): ListedRow, caller: &Caller) -> Self {
        let request_size = r.request_size;
        let mut view = HistoryView::for_caller(r, caller);
        view.request.body_excerpt = request_chars > EXCERPT_CHARS;
        // The size of the body sent, not of the excerpt: rows from before
        // sizes were stored are measured by their stored length.
        view.request.body_size = request_size.unwrap_or(i64::from(request_chars));
        view.response.body_excerpt = response_chars > EXCERPT_CHARS;
        view
    }

    /// The view for `caller`: the URL's credentials only for `webhooks:write`.
    pub fn for_caller(r: HistoryRow, caller: &Caller) -> Self {
        let mut view = HistoryView::new(r);
        if !caller.sees_url_credentials() {
            view.url = redact_url(&view.url);
        }
        view
    }
}

pub async fn list(
    state: web::Data<AppState>,
    need: Need<HistoryRead>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let sort = match q.sort.as_deref() {
        None => HistorySort::SentAt,
        Some(s) => s.parse().map_err(|_| {
            Error::field(
                "sort",
                format!("unknown sort key '{s}'; use {}", HistorySort::choices()),
            )
        })?,
    };
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<StatusClass>().map_err(|_| {
                Error::field(
                    "status",
                    format!("unknown status class '{s}'; use {}", StatusClass::choices()),
                )
            })
        })
        .transpose()?;
    let limit = page::limit(q.limit)?;
    let cursor = Cursor::decode(q.cursor.as_deref())?;
    let offset = cursor.offset.unwrap_or(0).max(0);
    let query = HistoryQuery {
        organization: need.caller.organization.clone(),
        webhook_id: q.webhook_id,
        event_id: q.event_id,
        status,
        q: q.q,
        search_urls: need.caller.sees_url_credentials(),
        since: parse_time("since", q.since.as_deref())?,
        until: parse_time("until", q.until.as_deref())?,
        sort,
        descending: page::descending(q.order.as_deref(), true)?,
        after_id: if sort == HistorySort::SentAt {
            cursor.after
        } else {
            None
        },
        offset: if sort == HistorySort::SentAt {
            0
        } else {
            offset
        },
        limit,
    };
    let rows = history::list(&state.db, query).await?;
    let kept = rows.len().min(limit as usize) as i64;
    let view = |r| HistoryView::listed(r, &need.caller);
    let page = Page::from_rows(rows, limit, view, |(r, _, _)| match sort {
        HistorySort::SentAt => Cursor::after(&r.id),
        _ => Cursor::offset(offset + kept),
    });
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get(
    state: web::Data<AppState>,
    need: Need<HistoryRead>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let row = history::find(&state.db, need.caller.organization.clone(), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(HistoryView::for_caller(row, &need.caller)))
}

pub async fn resend(
    state: web::Data<AppState>,
    need: Need<HistoryResend>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let row = manual::resend(
        &manual_deps(&state),
        need.caller.organization.clone(),
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(HistoryView::for_caller(row, &need.caller)))
}

/// What manual attempts need, from the shared state. (Until `AppState`
/// holds a `Manual` itself.)
pub(super) fn manual_deps(state: &AppState) -> manual::Manual {
    manual::Manual {
        db: state.db.clone(),
        clients: state.clients.clone(),
        vault: state.vault.clone(),
        metrics: state.metrics.clone(),
        lanes: state.lanes.clone(),
        disable_after: state.disable_after,
    }
}
