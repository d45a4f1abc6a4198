-- The one-row profile again, named as the default organization.
CREATE TABLE organization (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO organization (id, name, updated_at)
    SELECT 1, name, updated_at FROM organizations WHERE id = 'org_1';

-- Back to one email space: fails if two organizations hold the same email
-- (resolve by hand first).
CREATE TABLE users_prev (
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
    updated_at TIMESTAMP NOT NULL,
    organization_id TEXT NOT NULL DEFAULT 'org_1'
);
INSERT INTO users_prev (id, email, email_key, first_name, last_name, position, department,
        start_date, phone, manager_id, buddy_id, extra_fields, created_at, updated_at,
        organization_id)
    SELECT id, email, email_key, first_name, last_name, position, department,
        start_date, phone, manager_id, buddy_id, extra_fields, created_at, updated_at,
        organization_id
    FROM users;
DROP TABLE users;
ALTER TABLE users_prev RENAME TO users;
CREATE INDEX users_org ON users (organization_id, id);
