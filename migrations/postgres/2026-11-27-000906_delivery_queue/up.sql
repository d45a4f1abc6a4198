-- The narrow queue (issue #19). What is claimed and rescheduled (due time,
-- lease, attempt count) moves out of `deliveries` into `delivery_queue`,
-- one row per delivery that is waiting or in flight; `deliveries` keeps
-- the record (state, last result). A claim rewrites only the narrow row;
-- a settlement deletes it (or, for a retry, reschedules it) and updates
-- the record, whose changed columns no index covers any more, so
-- PostgreSQL can update it in place (a HOT update) when its page has room:
-- hence the fill factor.
CREATE TABLE delivery_queue (
    delivery_id TEXT PRIMARY KEY NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    -- Due time while waiting; unchanged while claimed.
    next_attempt_at TIMESTAMP NOT NULL,
    -- Attempts started, the one in flight included.
    attempts INTEGER NOT NULL,
    -- The claiming instance and its lease; both NULL while waiting.
    claimed_by TEXT,
    lease_until TIMESTAMP
);

INSERT INTO delivery_queue (delivery_id, organization_id, webhook_id, event_id,
    next_attempt_at, attempts, claimed_by, lease_until)
SELECT id, organization_id, webhook_id, event_id, next_attempt_at, attempts,
    CASE WHEN status = 'delivering' THEN COALESCE(claimed_by, 'unknown') END,
    CASE WHEN status = 'delivering' THEN COALESCE(lease_until, next_attempt_at) END
FROM deliveries
WHERE status IN ('pending', 'failed', 'delivering');

-- A record's `attempts` counts finished attempts; one in flight is counted
-- in the queue only, and its record stays `pending` or `failed`.
UPDATE deliveries
SET status = CASE WHEN attempts > 1 THEN 'failed' ELSE 'pending' END,
    attempts = GREATEST(attempts - 1, 0)
WHERE status = 'delivering';

-- Waiting rows by organization in claim order (fair claims), and leases.
CREATE INDEX delivery_queue_due
    ON delivery_queue (organization_id, next_attempt_at, event_id, webhook_id)
    WHERE claimed_by IS NULL;
CREATE INDEX delivery_queue_leased ON delivery_queue (lease_until)
    WHERE claimed_by IS NOT NULL;

DROP INDEX deliveries_org_due;
DROP INDEX deliveries_leased;
DROP INDEX deliveries_org_open;
DROP INDEX deliveries_org_done;
ALTER TABLE deliveries DROP COLUMN next_attempt_at;
ALTER TABLE deliveries DROP COLUMN claimed_by;
ALTER TABLE deliveries DROP COLUMN lease_until;
ALTER TABLE deliveries SET (fillfactor = 70);
