-- People per organization (issue #18): an email is unique within its
-- organization only, so the same person can be in two organizations.
-- The constraint keeps its name and email_key first: lookups by email use
-- it, and the error mapping names `email` for it.
ALTER TABLE users DROP CONSTRAINT users_email_key_key;
ALTER TABLE users ADD CONSTRAINT users_email_key_key UNIQUE (email_key, organization_id);

-- The organization profile (GET/PUT /v1/organization) is now the request's
-- row of `organizations`; the one-row `organization` table goes, its name
-- carried into org_1 once more (it may have been set since 000900).
UPDATE organizations SET name = (SELECT name FROM organization WHERE id = 1)
    WHERE id = 'org_1' AND EXISTS (SELECT 1 FROM organization WHERE id = 1);
DROP TABLE organization;
