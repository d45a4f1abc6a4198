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

ALTER TABLE events ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';
ALTER TABLE events DROP CONSTRAINT events_idempotency_key_key;
DROP INDEX events_type_id;
ALTER TABLE deliveries ADD COLUMN organization_id TEXT NOT NULL DEFAULT 'org_1';

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
