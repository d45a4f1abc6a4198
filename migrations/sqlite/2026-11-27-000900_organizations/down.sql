DROP INDEX runs_org;
DROP INDEX integrations_org;
DROP INDEX users_org;
DROP INDEX api_tokens_org;
DROP INDEX history_org;
DROP INDEX deliveries_org;
DROP INDEX events_org_idempotency;
DROP INDEX events_org_type;
DROP INDEX events_org;
DROP INDEX webhooks_org;

ALTER TABLE runs DROP COLUMN organization_id;
ALTER TABLE oauth_states DROP COLUMN organization_id;
ALTER TABLE integration_config DROP COLUMN organization_id;
ALTER TABLE integrations DROP COLUMN organization_id;
ALTER TABLE users DROP COLUMN organization_id;
ALTER TABLE event_types DROP COLUMN organization_id;
ALTER TABLE api_tokens DROP COLUMN organization_id;
ALTER TABLE history DROP COLUMN organization_id;
ALTER TABLE webhooks DROP COLUMN organization_id;

-- Back to one global idempotency key space: fails if two organizations
-- used the same key (resolve by hand first).
CREATE TABLE events_prev (
    id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO events_prev (id, event_type, payload, idempotency_key, created_at)
    SELECT id, event_type, payload, idempotency_key, created_at FROM events;
CREATE TABLE deliveries_prev (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events_prev (id) ON DELETE CASCADE,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_by TEXT,
    lease_until TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO deliveries_prev (id, event_id, webhook_id, status, attempts, next_attempt_at,
        claimed_by, lease_until, last_status_code, last_error, created_at, updated_at)
    SELECT id, event_id, webhook_id, status, attempts, next_attempt_at,
        claimed_by, lease_until, last_status_code, last_error, created_at, updated_at
    FROM deliveries;
DROP TABLE deliveries;
DROP TABLE events;
ALTER TABLE events_prev RENAME TO events;
ALTER TABLE deliveries_prev RENAME TO deliveries;
CREATE INDEX events_type_id ON events (event_type, id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, event_id, webhook_id)
    WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_leased ON deliveries (lease_until)
    WHERE status = 'delivering';
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id);

DROP TABLE organizations;
