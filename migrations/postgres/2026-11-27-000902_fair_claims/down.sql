DROP INDEX deliveries_org_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, event_id, webhook_id)
    WHERE status IN ('pending', 'failed');
