ALTER TABLE deliveries RESET (fillfactor);
ALTER TABLE deliveries ADD COLUMN next_attempt_at TIMESTAMP;
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until TIMESTAMP;
UPDATE deliveries SET next_attempt_at = updated_at;
UPDATE deliveries AS d
SET next_attempt_at = COALESCE(q.lease_until, q.next_attempt_at),
    attempts = q.attempts,
    status = CASE WHEN q.claimed_by IS NOT NULL THEN 'delivering' ELSE d.status END,
    claimed_by = q.claimed_by,
    lease_until = q.lease_until
FROM delivery_queue AS q
WHERE q.delivery_id = d.id;
ALTER TABLE deliveries ALTER COLUMN next_attempt_at SET NOT NULL;
DROP TABLE delivery_queue;
CREATE INDEX deliveries_org_due ON deliveries (organization_id, next_attempt_at, event_id, webhook_id)
    WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_leased ON deliveries (lease_until)
    WHERE status = 'delivering';
CREATE INDEX deliveries_org_open ON deliveries (organization_id, status)
    WHERE status IN ('pending', 'failed', 'delivering');
CREATE INDEX deliveries_org_done ON deliveries (organization_id, status)
    WHERE status IN ('succeeded', 'dead');
