-- Organizations (issue #18). Every row of every tenant table belongs to
-- one; existing rows move into the default organization, `org_1` (the id
-- `organization.updated` has always carried). Its name is the one set with
-- PUT /v1/organization, else "Default". The one-row `organization` table
-- stays: it is the default organization's integration profile
-- (GET/PUT /v1/organization) until people and integrations are scoped.
-- Claims (deliveries_due, runs_due) stay global for now.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO organizations (id, name, created_at, updated_at)
    SELECT 'org_1',
           COALESCE((SELECT name FROM organization WHERE id = 1), 'Default'),
           CURRENT_TIMESTAMP, CURRENT_TIMESTAMP;

-- events has an inline UNIQUE (idempotency_key), which only a rebuild
-- removes; deliveries references events, so it is rebuilt too (foreign
-- keys are on: the old events table is dropped once nothing references it,
-- so no cascade fires, and the rename points deliveries at the new one).
CREATE TABLE events_next (
    id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT,
    created_at TIMESTAMP NOT NULL,
    organization_id TEXT NOT NULL DEFAULT 'org_1'
);
INSERT INTO events_next (id, event_type, payload, idempotency_key, created_at)
    SELECT id, event_type, payload, idempotency_key, created_at FROM events;
CREATE TABLE deliveries_next (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events_next (id) ON DELETE CASCADE,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_by TEXT,
    lease_until TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    organization_id TEXT NOT NULL DEFAULT 'org_1'
);
INSERT INTO deliveries_next (id, event_id, webhook_id, status, attempts, next_attempt_at,
        claimed_by, lease_until, last_status_code, last_error, created_at, updated_at)
    SELECT id, event_id, webhook_id, status, attempts, next_attempt_at,
        claimed_by, lease_until, last_status_code, last_error, created_at, updated_at
    FROM deliveries;
DROP TABLE deliveries;
DROP TABLE events;
ALTER TABLE events_next RENAME TO events;
ALTER TABLE deliveries_next RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, event_id, webhook_id)
    WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_leased ON deliveries (lease_until)
    WHERE status = 'delivering';
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id);

-- Simple ADD COLUMN for the rest: the DEFAULT carries existing rows (and
-- writers not yet organization-aware: people, integrations, runs) into
-- the default organization.
ALTER TABLE webhooks ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';
ALTER TABLE history ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';
ALTER TABLE api_tokens ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';
-- NULL: a built-in type, shared by every organization.
ALTER TABLE event_types ADD COLUMN organization_id TEXT;
UPDATE event_types SET organization_id = 'org_1' WHERE NOT builtin;
ALTER TABLE users ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';
ALTER TABLE integrations ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';
ALTER TABLE integration_config ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';
ALTER TABLE oauth_states ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';
ALTER TABLE runs ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';

-- The organization id leads the indexes of per-organization listings.
CREATE INDEX webhooks_org ON webhooks (organization_id, id);
CREATE INDEX events_org ON events (organization_id, id);
CREATE INDEX events_org_type ON events (organization_id, event_type, id);
CREATE UNIQUE INDEX events_org_idempotency ON events (organization_id, idempotency_key);
CREATE INDEX deliveries_org ON deliveries (organization_id, id);
CREATE INDEX history_org ON history (organization_id, id);
CREATE INDEX api_tokens_org ON api_tokens (organization_id, id);
CREATE INDEX users_org ON users (organization_id, id);
CREATE INDEX integrations_org ON integrations (organization_id, id);
CREATE INDEX runs_org ON runs (organization_id, id);
