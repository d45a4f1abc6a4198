DROP INDEX deliveries_org_status;
DROP TABLE retention_totals;
DROP TABLE delivery_minutes;
