ALTER TABLE event_types DROP COLUMN schema;
ALTER TABLE organizations DROP COLUMN accent_color;
ALTER TABLE organizations DROP COLUMN logo_url;
ALTER TABLE organizations DROP COLUMN display_name;
DROP TABLE portal_sessions;
