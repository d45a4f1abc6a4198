-- Runs claimed fairly among organizations, and waiting between polling
-- attempts without a slot (issue 25, item 1). A waiting run keeps where it
-- resumes in `resume` (sealed JSON). The index of open runs is led by the
-- organization, as deliveries' is: finding the next organization with due
-- runs is one seek, and an organization's due runs are one range of it.
-- It replaces `runs_due`, whose status list lacks `waiting`.
ALTER TABLE runs ADD COLUMN resume TEXT;
DROP INDEX runs_due;
CREATE INDEX runs_org_due ON runs (organization_id, next_run_at)
    WHERE status IN ('queued', 'retry_scheduled', 'running', 'waiting');
