-- Delivery reliability: per-webhook retry and isolation settings, and the
-- bookkeeping for disabling receivers that keep failing.
ALTER TABLE webhooks ADD COLUMN retry_schedule TEXT;
ALTER TABLE webhooks ADD COLUMN max_in_flight INTEGER NOT NULL DEFAULT 4;
ALTER TABLE webhooks ADD COLUMN rate_limit_per_sec INTEGER;
ALTER TABLE webhooks ADD COLUMN failing_since TIMESTAMP;
ALTER TABLE webhooks ADD COLUMN disabled_at TIMESTAMP;

-- The claim scan skips saturated webhooks without reading table rows.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, webhook_id)
    WHERE status IN ('pending', 'failed', 'delivering');

-- Operational event: published when hookrelay disables a failing webhook.
INSERT INTO event_types (name, entity, description, volume, example, builtin, created_at) VALUES
    ('webhook.disabled', 'webhook', 'Sent when hookrelay disables a webhook whose receiver answered 410 Gone or kept failing.', 'low',
     '{"type":"webhook.disabled","origin":"hookrelay","message":"webhook disabled: receiver answered 410 Gone","webhook":{"id":"wh_0660f6de1d50548c783dff13de","name":"Payroll","url":"https://payroll.example.com/hooks","disabled_reason":"receiver answered 410 Gone","disabled_at":"2026-11-23T10:00:00.000000Z"}}',
     1, '2026-11-23 00:00:00');
