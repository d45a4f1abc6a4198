-- Waiting deliveries and claimed ones in separate partial indexes. With both
-- in `deliveries_due`, every claim moved its rows to a new place in the index
-- (next_attempt_at became the lease expiry) and every settlement removed them
-- again: two index rewrites per delivery on the hottest path. A claimed row
-- now just leaves `deliveries_due`; `deliveries_leased` finds leases that
-- ran out (their process died) without scanning the table.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, event_id, webhook_id)
    WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_leased ON deliveries (lease_until)
    WHERE status = 'delivering';
