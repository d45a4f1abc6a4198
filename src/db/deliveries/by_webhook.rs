//! Changes to all of one webhook's deliveries at once: giving up on its
//! queued ones when it is disabled, and putting its failed ones back in the
//! queue when it recovers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{waiting, Delivery, DeliveryStatus};
use crate::db::schema::{deliveries, delivery_queue, webhooks};
use crate::db::{DbConn, LoadOne};

/// The organization of webhook `id`, if it exists.
fn org_of(conn: &mut DbConn, id: &str) -> QueryResult<Option<String>> {
    webhooks::table
        .find(id)
        .select(webhooks::organization_id)
        .load_one(conn)
}

impl Delivery {
    /// Gives up on a webhook's queued deliveries (it was disabled); those
    /// in flight finish their attempt.
    pub fn abandon_for_webhook(
        conn: &mut DbConn,
        webhook_id: &str,
        reason: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let Some(org) = org_of(conn, webhook_id)? else {
            return Ok(0);
        };
        // The queue has no index by webhook; the records do.
        let queued = deliveries::table
            .select(deliveries::id)
            .filter(deliveries::organization_id.eq(&org))
            .filter(deliveries::webhook_id.eq(webhook_id))
            .filter(deliveries::status.eq_any([DeliveryStatus::Pending, DeliveryStatus::Failed]));
        diesel::delete(
            delivery_queue::table
                .filter(delivery_queue::organization_id.eq(&org))
                .filter(delivery_queue::delivery_id.eq_any(queued))
                .filter(waiting()),
        )
        .execute(conn)?;
        // The records that lost their queue row just now (the invariant: a
        // waiting record has one).
        diesel::update(
            deliveries::table
                .filter(deliveries::organization_id.eq(&org))
                .filter(deliveries::webhook_id.eq(webhook_id))
                .filter(
                    deliveries::status.eq_any([DeliveryStatus::Pending, DeliveryStatus::Failed]),
                )
                .filter(diesel::dsl::not(diesel::dsl::exists(
                    delivery_queue::table
                        .filter(delivery_queue::organization_id.eq(deliveries::organization_id))
                        .filter(delivery_queue::delivery_id.eq(deliveries::id)),
                ))),
        )
        .set((
            deliveries::status.eq(DeliveryStatus::Dead),
            deliveries::last_error.eq(reason),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)
    }

    /// Puts a webhook's failed and dead deliveries created since `since`
    /// back in the queue, due now, with a fresh attempt budget (those in
    /// flight are left to finish); returns how many.
    pub fn requeue(
        conn: &mut DbConn,
        webhook_id: &str,
        since: NaiveDateTime,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let Some(org) = org_of(conn, webhook_id)? else {
            return Ok(0);
        };
        let of = |status: DeliveryStatus| {
            deliveries::table
                .filter(deliveries::organization_id.eq(org.clone()))
                .filter(deliveries::webhook_id.eq(webhook_id))
                .filter(deliveries::status.eq(status))
                .filter(deliveries::created_at.ge(since))
        };
        // Failed ones are queued already: due now, attempts from zero.
        let failed = of(DeliveryStatus::Failed).select(deliveries::id);
        let retried = diesel::update(
            delivery_queue::table
                .filter(delivery_queue::organization_id.eq(&org))
                .filter(delivery_queue::delivery_id.eq_any(failed))
                .filter(waiting()),
        )
        .set((
            delivery_queue::attempts.eq(0),
            delivery_queue::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
        // Dead ones get a queue row again.
        let dead = of(DeliveryStatus::Dead).select((
            deliveries::id,
            deliveries::organization_id,
            deliveries::webhook_id,
            deliveries::event_id,
            now.into_sql::<diesel::sql_types::Timestamp>(),
            0.into_sql::<diesel::sql_types::Integer>(),
        ));
        let revived = diesel::insert_into(delivery_queue::table)
            .values(dead)
            .into_columns((
                delivery_queue::delivery_id,
                delivery_queue::organization_id,
                delivery_queue::webhook_id,
                delivery_queue::event_id,
                delivery_queue::next_attempt_at,
                delivery_queue::attempts,
            ))
            .execute(conn)?;
        // Their records: pending again, no attempt yet.
        diesel::update(
            deliveries::table
                .filter(deliveries::organization_id.eq(&org))
                .filter(deliveries::webhook_id.eq(webhook_id))
                .filter(deliveries::status.eq_any([DeliveryStatus::Failed, DeliveryStatus::Dead]))
                .filter(deliveries::created_at.ge(since))
                .filter(diesel::dsl::exists(
                    delivery_queue::table
                        .filter(delivery_queue::organization_id.eq(deliveries::organization_id))
                        .filter(delivery_queue::delivery_id.eq(deliveries::id))
                        .filter(waiting()),
                )),
        )
        .set((
            deliveries::status.eq(DeliveryStatus::Pending),
            deliveries::attempts.eq(0),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
        Ok(retried + revived)
    }
}
