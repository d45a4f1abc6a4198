-- Integrations: the people they run for, manifests, their sealed settings,
-- and runs with their step logs.

CREATE TABLE organization (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    -- Lower-cased email: unique, and what events are matched on.
    email_key TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    position TEXT NOT NULL,
    department TEXT NOT NULL,
    start_date DATE,
    phone TEXT NOT NULL,
    manager_id TEXT,
    buddy_id TEXT,
    extra_fields TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE integrations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    manifest TEXT NOT NULL,
    -- JSON array of {event_type, form}.
    triggers TEXT NOT NULL,
    -- Sealed JSON token object, once connected.
    oauth_token TEXT,
    next_sync_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- initial_data_form values, sealed one by one.
CREATE TABLE integration_config (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, key)
);

CREATE TABLE oauth_states (
    state TEXT PRIMARY KEY NOT NULL,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL
);

-- kind: execute | exists | revoke | sync. While running, next_run_at holds
-- the lease expiry (as deliveries do).
CREATE TABLE runs (
    id TEXT PRIMARY KEY NOT NULL,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    user_id TEXT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    form TEXT NOT NULL,
    triggered_by TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    next_run_at TIMESTAMP NOT NULL,
    claimed_by TEXT,
    error TEXT,
    result TEXT,
    rerun_of TEXT,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX runs_due ON runs (next_run_at)
    WHERE status IN ('queued', 'retry_scheduled', 'running');
CREATE INDEX runs_integration ON runs (integration_id, id);
CREATE INDEX runs_user ON runs (user_id, id);

CREATE TABLE run_steps (
    id TEXT PRIMARY KEY NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    label TEXT NOT NULL,
    url TEXT NOT NULL,
    method TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT NOT NULL,
    status INTEGER,
    response_body TEXT NOT NULL,
    response_truncated BOOLEAN NOT NULL,
    duration_ms BIGINT NOT NULL,
    error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX run_steps_run ON run_steps (run_id, position);
