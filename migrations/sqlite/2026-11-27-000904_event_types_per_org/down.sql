-- Back to one catalogue keyed by name. Where several organizations made a
-- custom type of the same name, the oldest is kept.
CREATE TABLE event_types_old (
    name TEXT PRIMARY KEY NOT NULL,
    entity TEXT NOT NULL,
    description TEXT NOT NULL,
    volume TEXT NOT NULL,
    example TEXT NOT NULL,
    builtin BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    organization_id TEXT
);
INSERT OR IGNORE INTO event_types_old
    (name, entity, description, volume, example, builtin, created_at, organization_id)
    SELECT name, entity, description, volume, example, builtin, created_at,
           NULLIF(organization_id, '')
    FROM event_types ORDER BY builtin DESC, created_at;
DROP TABLE event_types;
ALTER TABLE event_types_old RENAME TO event_types;
