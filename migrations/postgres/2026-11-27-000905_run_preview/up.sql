-- Import preview (issue #17): a sync run may be a dry run (it fetches and
-- answers the candidates, writing no user) or import only some emails.
ALTER TABLE runs ADD COLUMN dry_run BOOLEAN NOT NULL DEFAULT FALSE;
-- JSON array of the emails a sync imports; NULL: every record.
ALTER TABLE runs ADD COLUMN only_emails TEXT;
