-- Issue 27, the customer portal. A portal link is a short-lived credential
-- for one organization, stored like a token: only the SHA-256 of its
-- secret. Revoked links keep their row until they expire, so the portal
-- can say "revoked" rather than "not valid".
CREATE TABLE portal_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX portal_sessions_org ON portal_sessions (organization_id, expires_at);

-- What the portal shows at its top for an organization; set by the platform.
ALTER TABLE organizations ADD COLUMN display_name TEXT;
ALTER TABLE organizations ADD COLUMN logo_url TEXT;
ALTER TABLE organizations ADD COLUMN accent_color TEXT;

-- A custom event type's JSON Schema (built-in types have theirs in code).
ALTER TABLE event_types ADD COLUMN schema TEXT;
