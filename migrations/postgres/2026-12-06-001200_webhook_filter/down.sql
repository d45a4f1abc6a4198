ALTER TABLE webhooks DROP COLUMN filter;
