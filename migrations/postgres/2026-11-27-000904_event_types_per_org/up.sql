-- Custom event types belong to their organization (issue #18): the same
-- custom name in two organizations names two types, and one organization
-- never sees another's. Built-in types keep the organization '' (shared by
-- every organization); the service refuses a custom type with a built-in
-- name.
UPDATE event_types SET organization_id = '' WHERE organization_id IS NULL;
ALTER TABLE event_types ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE event_types DROP CONSTRAINT event_types_pkey;
ALTER TABLE event_types ADD PRIMARY KEY (organization_id, name);
