-- Claims take due deliveries in (next_attempt_at, event_id) order, which is
-- the order they are stored in (an event's deliveries are written together,
-- event ids grow with time). Taking them by webhook instead scattered every
-- claim and every settlement over a page per event: on SQLite that was most
-- of the write-ahead log. webhook_id stays in the index so skipping a
-- saturated webhook's deliveries reads no table rows.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, event_id, webhook_id)
    WHERE status IN ('pending', 'failed', 'delivering');
