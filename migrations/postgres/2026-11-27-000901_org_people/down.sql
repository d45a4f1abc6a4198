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
ALTER TABLE users DROP CONSTRAINT users_email_key_key;
ALTER TABLE users ADD CONSTRAINT users_email_key_key UNIQUE (email_key);
