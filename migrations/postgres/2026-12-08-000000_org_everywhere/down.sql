ALTER TABLE run_steps DROP COLUMN organization_id;
ALTER TABLE history_events DROP COLUMN organization_id;
