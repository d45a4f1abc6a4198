DELETE FROM event_types WHERE name = 'webhook.disabled';
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE status IN ('pending', 'failed', 'delivering');
ALTER TABLE webhooks DROP COLUMN disabled_at;
ALTER TABLE webhooks DROP COLUMN failing_since;
ALTER TABLE webhooks DROP COLUMN rate_limit_per_sec;
ALTER TABLE webhooks DROP COLUMN max_in_flight;
ALTER TABLE webhooks DROP COLUMN retry_schedule;
