//! `/v1/deliveries`: the queue, by state.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::{HistoryRead, Need};
use super::page::{self, Cursor, Page};
use crate::db::deliveries::{Delivery, DeliveryQuery, DeliveryStatus};
use crate::db::time;
use crate::delivery::history;
use crate::error::{Error, Result};
use crate::state::AppState;

/// Query of `GET /v1/deliveries`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    webhook_id: Option<String>,
    event_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// A delivery as the API shows it.
#[derive(Serialize)]
pub struct DeliveryView {
    id: String,
    event_id: String,
    webhook_id: String,
    status: DeliveryStatus,
    attempts: i32,
    next_attempt_at: Option<String>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: String,
    updated_at: String,
}

impl DeliveryView {
    pub fn new(d: Delivery) -> Self {
        let waiting = d.status.is_waiting();
        DeliveryView {
            next_attempt_at: waiting.then(|| time::rfc3339(&d.next_attempt_at)),
            created_at: time::rfc3339(&d.created_at),
            updated_at: time::rfc3339(&d.updated_at),
            id: d.id,
            event_id: d.event_id,
            webhook_id: d.webhook_id,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
        }
    }
}

pub async fn list(
    state: web::Data<AppState>,
    need: Need<HistoryRead>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<DeliveryStatus>().map_err(|_| {
                Error::field(
                    "status",
                    format!(
                        "unknown status '{s}'; use {}",
                        DeliveryStatus::WORDS.join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    let limit = page::limit(q.limit)?;
    let query = DeliveryQuery {
        organization: need.caller.organization.clone(),
        status,
        webhook_id: q.webhook_id,
        event_id: q.event_id,
        before_id: Cursor::decode(q.cursor.as_deref())?.after,
        limit,
    };
    let rows = history::deliveries(&state.db, query).await?;
    let page = Page::from_rows(rows, limit, DeliveryView::new, |d| Cursor::after(&d.id));
    Ok(HttpResponse::Ok().json(page))
}
