-- Waiting runs start again from their first item: the older code knows
-- neither the status nor where they would resume.
UPDATE runs SET status = 'queued' WHERE status = 'waiting';
DROP INDEX runs_org_due;
CREATE INDEX runs_due ON runs (next_run_at)
    WHERE status IN ('queued', 'retry_scheduled', 'running');
ALTER TABLE runs DROP COLUMN resume;
