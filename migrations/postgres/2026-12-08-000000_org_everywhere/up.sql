-- Every tenant row names its organization (issue #30): the two tables that
-- had no organization_id get it, filled from their parents. Citus
-- distributes the tenant tables by it (src/db/citus.rs; docs/operations.md,
-- "Past one database"), and a row without it could not be placed.
ALTER TABLE history_events ADD COLUMN organization_id TEXT;
UPDATE history_events AS l SET organization_id = e.organization_id
    FROM events AS e WHERE e.id = l.event_id;
-- A link whose event is gone points at nothing the API can show.
DELETE FROM history_events WHERE organization_id IS NULL;
ALTER TABLE history_events ALTER COLUMN organization_id SET NOT NULL;

ALTER TABLE run_steps ADD COLUMN organization_id TEXT;
UPDATE run_steps AS s SET organization_id = r.organization_id
    FROM runs AS r WHERE r.id = s.run_id;
ALTER TABLE run_steps ALTER COLUMN organization_id SET NOT NULL;
