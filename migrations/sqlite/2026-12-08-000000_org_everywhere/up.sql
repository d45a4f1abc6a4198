-- Every tenant row names its organization (issue #30): the two tables that
-- had no organization_id get it, filled from their parents (mirrors the
-- PostgreSQL migration, where Citus distributes tables by it).
ALTER TABLE history_events ADD COLUMN organization_id TEXT NOT NULL DEFAULT '';
UPDATE history_events SET organization_id = COALESCE(
    (SELECT e.organization_id FROM events AS e WHERE e.id = history_events.event_id), '');
DELETE FROM history_events WHERE organization_id = '';

ALTER TABLE run_steps ADD COLUMN organization_id TEXT NOT NULL DEFAULT '';
UPDATE run_steps SET organization_id = COALESCE(
    (SELECT r.organization_id FROM runs AS r WHERE r.id = run_steps.run_id), '');
