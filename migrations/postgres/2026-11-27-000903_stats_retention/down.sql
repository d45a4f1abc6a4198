DROP INDEX deliveries_org_done;
DROP INDEX deliveries_org_open;
DROP TABLE retention_totals;
DROP TABLE delivery_minutes;
