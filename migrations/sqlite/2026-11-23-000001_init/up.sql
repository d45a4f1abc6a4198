-- hookrelay initial schema.
-- Timestamps are UTC without zone (TIMESTAMP); JSON documents are TEXT so one diesel
-- codebase serves both backends (see shared design note on MultiConnection).

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);

CREATE TABLE event_types (
    name TEXT PRIMARY KEY NOT NULL,
    entity TEXT NOT NULL,
    description TEXT NOT NULL,
    volume TEXT NOT NULL,
    example TEXT NOT NULL,
    builtin BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    format TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    verify_ssl BOOLEAN NOT NULL,
    signing BOOLEAN NOT NULL,
    max_events_per_request INTEGER NOT NULL,
    secret TEXT NOT NULL,
    state TEXT NOT NULL,
    disabled_reason TEXT,
    last_triggered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_type_id ON events (event_type, id);

-- One row per (event, webhook). While a row is 'delivering', next_attempt_at
-- holds its lease expiry, so one index finds both due and abandoned work.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
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
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE status IN ('pending', 'failed', 'delivering');
CREATE INDEX deliveries_event ON deliveries (event_id);
-- Not (webhook_id, status): status changes on every attempt and would
-- rewrite this index each time.
CREATE INDEX deliveries_webhook ON deliveries (webhook_id);

-- Every attempt (automatic, re-send, test). No foreign keys: history outlives
-- deleted webhooks. response_status 0 means no HTTP response (see error).
-- Ids start with the send time in microseconds, so time ranges and time
-- order use the primary key and need no index of their own.
CREATE TABLE history (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL,
    event_id TEXT,
    event_type TEXT NOT NULL,
    event_ids TEXT NOT NULL,
    delivery_ids TEXT NOT NULL,
    url TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_headers TEXT NOT NULL,
    response_body TEXT NOT NULL,
    response_truncated BOOLEAN NOT NULL,
    duration_ms BIGINT NOT NULL,
    error TEXT,
    attempt INTEGER NOT NULL,
    triggered_by TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL
);
CREATE INDEX history_webhook ON history (webhook_id, id);
CREATE INDEX history_event ON history (event_id);

-- Only for batched requests (several events in one attempt): lets history be
-- filtered by any of the events, not just the first.
CREATE TABLE history_events (
    event_id TEXT NOT NULL,
    history_id TEXT NOT NULL,
    PRIMARY KEY (event_id, history_id)
);

-- The built-in catalogue (shared/event-types.json).
INSERT INTO event_types (name, entity, description, volume, example, builtin, created_at) VALUES
    ('profile.parsing.success', 'profile', 'Sent when a Profile is parsed successfully for the first time.', 'high', '{"type":"profile.parsing.success","origin":"api","message":"profile parsing succeed","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.parsing.update', 'profile', 'Sent when an existing Profile is parsed again successfully.', 'medium', '{"type":"profile.parsing.update","origin":"api","message":"profile parsing updated","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.parsing.error', 'profile', 'Sent when parsing a Profile has failed and should be retried.', 'low', '{"type":"profile.parsing.error","origin":"api","message":"profile parsing failed","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.storing.success', 'profile', 'Sent when a Profile is saved successfully for the first time.', 'high', '{"type":"profile.storing.success","origin":"api","message":"profile storing succeed","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.storing.update', 'profile', 'Sent when an existing Profile is saved again successfully.', 'medium', '{"type":"profile.storing.update","origin":"api","message":"profile storing updated","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.storing.error', 'profile', 'Sent when saving a Profile has failed and should be retried.', 'low', '{"type":"profile.storing.error","origin":"api","message":"profile storing failed","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.searching.success', 'profile', 'Sent when a Profile is saved in the searching index successfully for the first time.', 'high', '{"type":"profile.searching.success","origin":"api","message":"profile searching succeed","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.searching.update', 'profile', 'Sent when an existing Profile is saved in the searching index again successfully.', 'medium', '{"type":"profile.searching.update","origin":"api","message":"profile searching updated","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.searching.error', 'profile', 'Sent when indexing for search a Profile has failed and should be retried.', 'low', '{"type":"profile.searching.error","origin":"api","message":"profile searching failed","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.scoring.success', 'profile', 'Sent when a Profile is saved in the scoring index successfully for the first time.', 'high', '{"type":"profile.scoring.success","origin":"api","message":"profile scoring succeed","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.scoring.update', 'profile', 'Sent when an existing Profile is saved in the scoring index again successfully.', 'medium', '{"type":"profile.scoring.update","origin":"api","message":"profile scoring updated","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('profile.scoring.error', 'profile', 'Sent when indexing for scoring a Profile has failed and should be retried.', 'low', '{"type":"profile.scoring.error","origin":"api","message":"profile scoring failed","profile":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","source":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.parsing.success', 'job', 'Sent when a Job is parsed successfully for the first time.', 'high', '{"type":"job.parsing.success","origin":"api","message":"job parsing succeed","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.parsing.update', 'job', 'Sent when an existing Job is parsed again successfully.', 'high', '{"type":"job.parsing.update","origin":"api","message":"job parsing updated","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.parsing.error', 'job', 'Sent when parsing a Job has failed and should be retried.', 'low', '{"type":"job.parsing.error","origin":"api","message":"job parsing failed","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.storing.success', 'job', 'Sent when a Job is saved successfully for the first time.', 'high', '{"type":"job.storing.success","origin":"api","message":"job storing succeed","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.storing.update', 'job', 'Sent when an existing Job is saved again successfully.', 'high', '{"type":"job.storing.update","origin":"api","message":"job storing updated","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.storing.error', 'job', 'Sent when saving a Job has failed and should be retried.', 'low', '{"type":"job.storing.error","origin":"api","message":"job storing failed","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.searching.success', 'job', 'Sent when a Job is saved in the searching index successfully for the first time.', 'high', '{"type":"job.searching.success","origin":"api","message":"job searching succeed","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.searching.update', 'job', 'Sent when an existing Job is saved in the searching index again successfully.', 'high', '{"type":"job.searching.update","origin":"api","message":"job searching updated","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.searching.error', 'job', 'Sent when indexing for search a Job has failed and should be retried.', 'low', '{"type":"job.searching.error","origin":"api","message":"job searching failed","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.scoring.success', 'job', 'Sent when a Job is saved in the scoring index successfully for the first time.', 'high', '{"type":"job.scoring.success","origin":"api","message":"job scoring succeed","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.scoring.update', 'job', 'Sent when an existing Job is saved in the scoring index again successfully.', 'high', '{"type":"job.scoring.update","origin":"api","message":"job scoring updated","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('job.scoring.error', 'job', 'Sent when indexing for scoring a Job has failed and should be retried.', 'low', '{"type":"job.scoring.error","origin":"api","message":"job scoring failed","job":{"key":"d821393853fc32b08c93b8d38590817c72048ec4","board":{"key":"d900ec70c67d43c71027f9bc63ec3b5b3e16c1d8"}}}', 1, '2026-11-23 00:00:00'),
    ('organization.updated', 'organization', 'An organization was created or renamed.', 'low', '{"type":"organization.updated","origin":"api","message":"organization updated","organization":{"id":"org_1","name":"Acme"}}', 1, '2026-11-23 00:00:00'),
    ('user.updated', 'user', 'A user was added to an organization, or changed their name, email address or telephone number.', 'medium', '{"type":"user.updated","origin":"api","message":"user updated","user":{"id":"usr_1","email":"jane@example.com","first_name":"Jane","last_name":"Doe","phone":"+3212345678"}}', 1, '2026-11-23 00:00:00');
