-- Back to one catalogue keyed by name. Where several organizations made a
-- custom type of the same name, the oldest is kept.
DELETE FROM event_types a USING event_types b
    WHERE a.name = b.name AND a.organization_id <> b.organization_id
      AND (b.builtin AND NOT a.builtin
           OR a.builtin = b.builtin AND (b.created_at, b.organization_id) < (a.created_at, a.organization_id));
ALTER TABLE event_types DROP CONSTRAINT event_types_pkey;
ALTER TABLE event_types ADD PRIMARY KEY (name);
ALTER TABLE event_types ALTER COLUMN organization_id DROP NOT NULL;
UPDATE event_types SET organization_id = NULL WHERE organization_id = '';
