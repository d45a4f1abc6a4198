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

ALTER TABLE deliveries DROP COLUMN organization_id;
CREATE INDEX events_type_id ON events (event_type, id);
-- Fails if two organizations used the same key (resolve by hand first).
ALTER TABLE events ADD CONSTRAINT events_idempotency_key_key UNIQUE (idempotency_key);
ALTER TABLE events DROP COLUMN organization_id;

DROP TABLE organizations;
