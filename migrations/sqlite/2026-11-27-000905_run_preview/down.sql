ALTER TABLE runs DROP COLUMN only_emails;
ALTER TABLE runs DROP COLUMN dry_run;
