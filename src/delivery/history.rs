//! Reading the attempt history (re-sending is `manual`) and the queue.

use crate::db::deliveries::{Delivery, DeliveryQuery};
use crate::db::history::{HistoryQuery, HistoryRow, ListedRow};
use crate::db::Db;
use crate::error::{Error, Result};

/// One attempt, or 404.
/// One attempt of organization `org`, or 404.
pub async fn find(db: &Db, org: String, id: String) -> Result<HistoryRow> {
    db.read(move |c| {
        HistoryRow::find(c, &org, &id)?.ok_or_else(|| Error::not_found("history entry", &id))
    })
    .await
}

/// One page of attempts (`limit + 1` rows), their bodies cut to excerpts.
pub async fn list(db: &Db, query: HistoryQuery) -> Result<Vec<ListedRow>> {
    db.read(move |c| Ok(HistoryRow::list(c, &query)?)).await
}

/// One page of deliveries, newest first (`limit + 1` rows).
pub async fn deliveries(db: &Db, query: DeliveryQuery) -> Result<Vec<Delivery>> {
    db.read(move |c| Ok(Delivery::list(c, &query)?)).await
}
