-- Custom event types belong to their organization (issue #18): the same
-- custom name in two organizations names two types, and one organization
-- never sees another's. Built-in types keep the organization '' (shared by
-- every organization); the service refuses a custom type with a built-in
-- name. SQLite cannot change a primary key in place: rebuild the table.
CREATE TABLE event_types_new (
    organization_id TEXT NOT NULL,
    name TEXT NOT NULL,
    entity TEXT NOT NULL,
    description TEXT NOT NULL,
    volume TEXT NOT NULL,
    example TEXT NOT NULL,
    builtin BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, name)
);
INSERT INTO event_types_new
    (organization_id, name, entity, description, volume, example, builtin, created_at)
    SELECT COALESCE(organization_id, ''), name, entity, description, volume,
           example, builtin, created_at
    FROM event_types;
DROP TABLE event_types;
ALTER TABLE event_types_new RENAME TO event_types;
