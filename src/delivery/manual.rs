//! Attempts an operator asks for: re-sending a history row and the test
//! ("Check") send of an event type's example. Both run synchronously and
//! return the stored history row. They go through the web hook's lane like
//! any delivery (its concurrency, `rate_limit_per_sec` and `Retry-After`
//! pauses): a button pressed in a loop must not hammer a receiver that
//! asked to be spared.

use std::sync::Arc;
use std::time::Duration;

use diesel::Connection;
use serde_json::Value;

use super::attempt_span::{log_span, AttemptTrace};
use super::lanes::{GatePermit, Lanes};
use super::payload::{message_id, render, signer_for, EventDoc, Format};
use super::recorder::{self, history_row, AttemptContext};
use super::send::{send, Exchange, Target};
use crate::db::deliveries::{Delivery, DeliveryStatus};
use crate::db::events::Event;
use crate::db::history::{AttemptRecord, HistoryRow, Trigger};
use crate::db::webhooks::Webhook;
use crate::db::{time, Db};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::outbound::HttpClients;
use crate::publish::subscriptions::require_type;
use crate::vault::Vault;
use tracing::Instrument;

/// What an operator-asked attempt needs: the database, the shared
/// clients, the vault for the webhook's secret, metrics, this process's
/// lanes, and the deployment's `disable_after` (a failed attempt counts
/// toward it).
#[derive(Clone)]
pub struct Manual {
    pub db: Db,
    pub clients: HttpClients,
    pub vault: Arc<Vault>,
    pub metrics: Arc<Metrics>,
    pub lanes: Lanes,
    pub disable_after: chrono::Duration,
}

/// Longest an operator's attempt waits for its place in the lane before
/// it is answered 429: the request is synchronous, and a lane paused by a
/// receiver's `Retry-After` may stay shut for minutes.
const LANE_WAIT: Duration = Duration::from_secs(30);

/// A manual attempt's place in its web hook's lane; the lane's hold is
/// released however the attempt ends.
struct LaneTurn<'a> {
    lanes: &'a Lanes,
    webhook_id: &'a str,
    permit: Option<GatePermit>,
}

impl<'a> LaneTurn<'a> {
    /// Waits, up to [`LANE_WAIT`], for the lane's limit, its rate and any
    /// pause, as a delivery does; else 429 with `Retry-After`.
    async fn take(lanes: &'a Lanes, w: &'a Webhook) -> Result<LaneTurn<'a>> {
        let (gate, limiter) = lanes.hold(w);
        let mut turn = LaneTurn {
            lanes,
            webhook_id: &w.id,
            permit: None,
        };
        let wait = async {
            let permit = gate.acquire().await;
            if let Some(l) = limiter {
                l.until_ready().await;
            }
            permit
        };
        match tokio::time::timeout(LANE_WAIT, wait).await {
            Ok(permit) => {
                turn.permit = Some(permit);
                Ok(turn)
            }
            Err(_) => Err(Error::RateLimited {
                message: format!(
                    "web hook '{}' is at its concurrency or rate limit, or paused by its receiver's Retry-After; retry in {} s",
                    w.id,
                    LANE_WAIT.as_secs()
                ),
                retry_after_secs: LANE_WAIT.as_secs(),
            }),
        }
    }

    /// The lane learns from the answer, as it does from deliveries.
    fn answered(&self, metrics: &Metrics, ex: &Exchange) {
        if let Some(change) = self
            .permit
            .as_ref()
            .and_then(|p| p.answered(ex.signal(), ex.retry_after))
        {
            metrics.lane_changed(change.to > change.from, change.reason.as_str());
        }
    }
}

impl Drop for LaneTurn<'_> {
    fn drop(&mut self) {
        // The place first, then the hold: as a delivery's task does.
        self.permit.take();
        self.lanes.release(self.webhook_id);
    }
}

/// Sends the event(s) of history row `id` again, to the webhook's current
/// URL, format and secret.
/// Only an attempt of organization `org` (404 otherwise).
pub async fn resend(deps: &Manual, org: String, id: String) -> Result<HistoryRow> {
    let db = &deps.db;
    let (row, webhook, events) = db
        .read(move |c| {
            let row = HistoryRow::find(c, &org, &id)?
                .ok_or_else(|| Error::not_found("history entry", &id))?;
            let webhook =
                Webhook::find_in(c, &row.organization_id, &row.webhook_id)?.ok_or_else(|| {
                    Error::conflict(
                        crate::error::ErrorCode::WebhookDeleted,
                        format!(
                            "webhook '{}' of this attempt has been deleted; nothing to re-send to",
                            row.webhook_id
                        ),
                    )
                })?;
            let ids: Vec<String> = serde_json::from_str(&row.event_ids).map_err(Error::internal)?;
            let found = Event::find_many(c, &ids)?;
            // Keep the original order of the request.
            let events = ids
                .iter()
                .filter_map(|i| found.iter().find(|e| &e.id == i).cloned())
                .collect::<Vec<_>>();
            Ok((row, webhook, events))
        })
        .await?;
    let docs: Vec<EventDoc> = if row.triggered_by == Trigger::Test || events.is_empty() {
        let t = row.event_type.clone();
        vec![example_doc(db, &webhook.organization_id, t).await?]
    } else {
        events
            .iter()
            .map(|e| {
                let mut doc = EventDoc::from_payload(&e.payload).map_err(Error::internal)?;
                // A re-send joins the trace its event was published in.
                doc.traceparent = e.traceparent.clone();
                Ok(doc)
            })
            .collect::<Result<_>>()?
    };
    let event_ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    let delivery_ids: Vec<String> =
        serde_json::from_str(&row.delivery_ids).map_err(Error::internal)?;
    let trigger = if row.triggered_by == Trigger::Test {
        Trigger::Test
    } else {
        Trigger::Resend
    };
    attempt(
        deps,
        webhook,
        docs,
        row.event_type,
        event_ids,
        delivery_ids,
        trigger,
    )
    .await
}

/// Sends `event_type`'s example payload to webhook `id` now.
/// Only a webhook of organization `org` (404 otherwise).
pub async fn test_send(
    deps: &Manual,
    org: String,
    id: String,
    event_type: String,
) -> Result<HistoryRow> {
    let db = &deps.db;
    let webhook = db
        .read({
            let id = id.clone();
            move |c| Webhook::find_in(c, &org, &id)?.ok_or_else(|| Error::not_found("webhook", &id))
        })
        .await?;
    let doc = example_doc(db, &webhook.organization_id, event_type.clone()).await?;
    attempt(
        deps,
        webhook,
        vec![doc],
        event_type,
        Vec::new(),
        Vec::new(),
        Trigger::Test,
    )
    .await
}

/// The example payload of `event_type` as organization `org` sees it.
async fn example_doc(db: &Db, org: &str, event_type: String) -> Result<EventDoc> {
    let org = org.to_string();
    let t = db
        .read(move |c| require_type(c, &org, &event_type, "event_type"))
        .await?;
    let example: Value = serde_json::from_str(&t.example).map_err(Error::internal)?;
    EventDoc::from_payload(&example.to_string()).map_err(Error::internal)
}

async fn attempt(
    deps: &Manual,
    webhook: Webhook,
    docs: Vec<EventDoc>,
    event_type: String,
    event_ids: Vec<String>,
    delivery_ids: Vec<String>,
    trigger: Trigger,
) -> Result<HistoryRow> {
    let (db, clients, disable_after) = (&deps.db, &deps.clients, deps.disable_after);
    let format = webhook.format;
    // A batched attempt is re-sent as a batch even if the webhook has since
    // gone back to one event per request: dropping events is never right.
    let batched = webhook.max_events_per_request > 1 || docs.len() > 1;
    if batched && format == Format::Form {
        return Err(Error::conflict(crate::error::ErrorCode::CannotResendBatchAsForm, format!(
                "this attempt carried {} events and webhook '{}' now uses the form format, which holds one; switch it to json to re-send",
                docs.len(),
                webhook.id
            )));
    }
    let refs: Vec<&EventDoc> = docs.iter().collect();
    let rendered = render(format, batched, &refs);
    // Re-sends are signed anew: current secret, current time.
    let signer = signer_for(&webhook, &deps.vault, time::now()).map_err(Error::internal)?;
    let msg_id = if event_ids.is_empty() {
        crate::db::new_id("test")
    } else {
        message_id(&event_ids)
    };
    let turn = LaneTurn::take(&deps.lanes, &webhook).await?;
    let first = event_ids.first().map(String::as_str);
    // A test send (no stored trace) is a child of its API request's span.
    let trace = AttemptTrace::start(&webhook, first, docs.len(), docs.first());
    let ex = async {
        let target = Target::new(clients, &webhook.url, webhook.verify_ssl);
        let ex = send(
            &target,
            &msg_id,
            &rendered,
            signer.as_ref(),
            trace.propagation(),
        )
        .await;
        trace.finish(1, &ex);
        ex
    }
    .instrument(log_span(&webhook, first, docs.len()))
    .await;
    turn.answered(&deps.metrics, &ex);
    drop(turn);
    let ctx = AttemptContext {
        organization_id: &webhook.organization_id,
        webhook_id: &webhook.id,
        url: &webhook.url,
        event_type: &event_type,
        event_ids: &event_ids,
        delivery_ids: &delivery_ids,
        attempt: 1,
        trigger,
    };
    let row = history_row(&ctx, &rendered, &ex);
    let ok = ex.succeeded();
    let outcome = if ok {
        DeliveryStatus::Succeeded
    } else {
        DeliveryStatus::Failed
    };
    deps.metrics.attempt(outcome, trigger, ex.duration);
    let code = ex.status.map(i32::from).unwrap_or(0);
    let stored = row.clone();
    db.write(move |c| {
        let now = time::now();
        let record = AttemptRecord {
            row: stored,
            batch_event_ids: event_ids,
            settlements: Vec::new(),
        };
        c.transaction::<_, Error, _>(|c| {
            recorder::store(c, &record.into(), &[], disable_after)?;
            if ok && !delivery_ids.is_empty() {
                Delivery::mark_resent_ok(c, &delivery_ids, code, now)?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(row)
}
