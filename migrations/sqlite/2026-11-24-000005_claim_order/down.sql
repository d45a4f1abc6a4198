DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, webhook_id)
    WHERE status IN ('pending', 'failed', 'delivering');
