//! A webhook's health: the latest attempt recorded on its row (state,
//! failure run, last triggered), and disabling and re-enabling it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Outcome, Webhook, WebhookChanges, WebhookState};
use crate::db::schema::webhooks;
use crate::db::{DbConn, LoadOne};

impl Webhook {
    /// Records the latest attempt on the webhook row: `last_triggered_at`,
    /// `state` and the failure run. Disables the webhook on 410 Gone or when
    /// it has failed without a success for `disable_after`; returns the
    /// webhook when this attempt disabled it.
    pub fn record_attempt(
        conn: &mut DbConn,
        id: &str,
        at: NaiveDateTime,
        outcome: Outcome,
        disable_after: chrono::Duration,
    ) -> QueryResult<Option<Webhook>> {
        if outcome == Outcome::Succeeded {
            // The hot path, once per webhook per history commit: a read whose
            // statement is prepared once (diesel prepares every UPDATE anew),
            // and a write only when something shows: state, failure run, or
            // `last_triggered_at`, kept to the second.
            let current: Option<(
                bool,
                WebhookState,
                Option<NaiveDateTime>,
                Option<NaiveDateTime>,
            )> = webhooks::table
                .find(id)
                .select((
                    webhooks::active,
                    webhooks::state,
                    webhooks::failing_since,
                    webhooks::last_triggered_at,
                ))
                .load_one(conn)?;
            let Some((active, state, failing_since, last)) = current else {
                return Ok(None);
            };
            let stale = last.is_none_or(|t| t < at - chrono::Duration::seconds(1));
            let state_stale = active && state != WebhookState::Active;
            if stale || failing_since.is_some() || state_stale {
                let state = if active { WebhookState::Active } else { state };
                // Only if no one (another process, on PostgreSQL) disabled or
                // re-enabled it since the read: their change stands.
                diesel::update(webhooks::table.find(id).filter(webhooks::active.eq(active)))
                    .set((
                        webhooks::state.eq(state),
                        webhooks::failing_since.eq(None::<NaiveDateTime>),
                        webhooks::last_triggered_at.eq(at),
                    ))
                    .execute(conn)?;
            }
            return Ok(None);
        }
        let Some(w) = Webhook::find(conn, id)? else {
            return Ok(None);
        };
        let mut changes = WebhookChanges {
            ..Default::default()
        };
        let since = w.failing_since.unwrap_or(at);
        let reason = match outcome {
            Outcome::Succeeded => None,
            Outcome::Gone => Some("receiver answered 410 Gone".to_string()),
            Outcome::Failed if at - since >= disable_after => Some(format!(
                "every attempt failed since {} ({} without a success)",
                crate::db::time::rfc3339(&since),
                humantime::format_duration((at - since).to_std().unwrap_or_default())
            )),
            Outcome::Failed => None,
        };
        if outcome == Outcome::Succeeded {
            changes.failing_since = Some(None);
            if w.active {
                changes.state = Some(WebhookState::Active);
            }
        } else {
            changes.failing_since = Some(Some(since));
            if w.active {
                changes.state = Some(WebhookState::Failing);
            }
        }
        diesel::update(webhooks::table.find(id))
            .set((&changes, webhooks::last_triggered_at.eq(at)))
            .execute(conn)?;
        match reason {
            Some(r) if w.active => {
                Webhook::disable(conn, id, &r, at)?;
                Webhook::find(conn, id)
            }
            _ => Ok(None),
        }
    }

    /// Disables a webhook and gives up on its queued deliveries, so that
    /// re-enabling it does not replay them by itself (`recover` does).
    pub fn disable(
        conn: &mut DbConn,
        id: &str,
        reason: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        let n = diesel::update(webhooks::table.find(id))
            .set((
                webhooks::active.eq(false),
                webhooks::state.eq(WebhookState::Disabled),
                webhooks::disabled_reason.eq(reason),
                webhooks::disabled_at.eq(at),
                webhooks::updated_at.eq(at),
            ))
            .execute(conn)?;
        crate::db::deliveries::Delivery::abandon_for_webhook(
            conn,
            id,
            &format!("webhook disabled: {reason}"),
            at,
        )?;
        Ok(n)
    }

    /// Re-enables a webhook (nothing is replayed).
    pub fn enable(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(webhooks::table.find(id))
            .set((
                webhooks::active.eq(true),
                webhooks::state.eq(WebhookState::Active),
                webhooks::disabled_reason.eq(None::<String>),
                webhooks::disabled_at.eq(None::<NaiveDateTime>),
                webhooks::failing_since.eq(None::<NaiveDateTime>),
                webhooks::updated_at.eq(at),
            ))
            .execute(conn)
    }
}
