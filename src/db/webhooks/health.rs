//! A webhook's health applied: the latest attempt recorded on its row
//! (state, failure run, last triggered) as `crate::health::decide` says,
//! and disabling and re-enabling it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Outcome, Webhook, WebhookState};
use crate::db::schema::webhooks;
use crate::db::{DbConn, LoadOne};
use crate::health::{self, Health};

impl Webhook {
    /// Records the latest attempt on the webhook row: `last_triggered_at`,
    /// `state` and the failure run, as [`health::decide`] says; disables the
    /// webhook when it says so (410 Gone, or failing for `disable_after`).
    /// Returns the webhook when this attempt disabled it.
    pub fn record_attempt(
        conn: &mut DbConn,
        org: &str,
        id: &str,
        at: NaiveDateTime,
        outcome: Outcome,
        disable_after: chrono::Duration,
    ) -> QueryResult<Option<Webhook>> {
        // Once per webhook per history commit: a read whose statement is
        // prepared once (diesel prepares every UPDATE anew), and a write only
        // when something shows: state, failure run, or `last_triggered_at`,
        // kept to the second.
        let current: Option<(
            bool,
            WebhookState,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        )> = webhooks::table
            .find(id)
            // The organization routes both statements to one shard on Citus.
            .filter(webhooks::organization_id.eq(org))
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
        let before = Health {
            active,
            state,
            failing_since,
        };
        let verdict = health::decide(before, outcome, at, disable_after);
        let stale = last.is_none_or(|t| t < at - chrono::Duration::seconds(1));
        let changed = verdict.state != state || verdict.failing_since != failing_since;
        if stale || changed {
            // Only if no one (another process, on PostgreSQL) disabled or
            // re-enabled it since the read: their change stands.
            diesel::update(
                webhooks::table
                    .find(id)
                    .filter(webhooks::organization_id.eq(org))
                    .filter(webhooks::active.eq(active)),
            )
            .set((
                webhooks::state.eq(verdict.state),
                webhooks::failing_since.eq(verdict.failing_since),
                webhooks::last_triggered_at.eq(at),
            ))
            .execute(conn)?;
        }
        match verdict.disable {
            Some(reason) => {
                Webhook::disable(conn, id, &reason, at)?;
                Webhook::find(conn, id)
            }
            None => Ok(None),
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
