-- People per organization (issue #18): an email is unique within its
-- organization only, so the same person can be in two organizations.
-- SQLite changes a UNIQUE constraint only by rebuilding the table; nothing
-- references users by foreign key (manager_id, buddy_id and runs.user_id
-- are plain columns), so the rebuild touches users alone.
-- The constraint keeps email_key first: lookups by email use it, and a
-- violation still reads "UNIQUE constraint failed: users.email_key, …",
-- which the error mapping names `email`.
CREATE TABLE users_next (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    -- Lower-cased email: unique per organization, what events match on.
    email_key TEXT NOT NULL,
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
    updated_at TIMESTAMP NOT NULL,
    organization_id TEXT NOT NULL DEFAULT 'org_1',
    UNIQUE (email_key, organization_id)
);
INSERT INTO users_next (id, email, email_key, first_name, last_name, position, department,
        start_date, phone, manager_id, buddy_id, extra_fields, created_at, updated_at,
        organization_id)
    SELECT id, email, email_key, first_name, last_name, position, department,
        start_date, phone, manager_id, buddy_id, extra_fields, created_at, updated_at,
        organization_id
    FROM users;
DROP TABLE users;
ALTER TABLE users_next RENAME TO users;
CREATE INDEX users_org ON users (organization_id, id);

-- The organization profile (GET/PUT /v1/organization) is now the request's
-- row of `organizations`; the one-row `organization` table goes, its name
-- carried into org_1 once more (it may have been set since 000900).
UPDATE organizations SET name = (SELECT name FROM organization WHERE id = 1)
    WHERE id = 'org_1' AND EXISTS (SELECT 1 FROM organization WHERE id = 1);
DROP TABLE organization;
