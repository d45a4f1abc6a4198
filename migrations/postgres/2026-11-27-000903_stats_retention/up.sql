-- Overview statistics and history retention (issue #16).
--
-- Attempt outcomes per organization and minute, added to in the same
-- transaction as the attempts' history rows: GET /v1/stats reads at most
-- 1,440 rows of it instead of scanning history. Kept two days.
CREATE TABLE delivery_minutes (
    organization_id TEXT NOT NULL,
    minute TIMESTAMP NOT NULL,
    succeeded BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    PRIMARY KEY (organization_id, minute)
);
-- Rows the retention job deleted, per organization; the row '*' holds the
-- time of the last completed run (`updated_at`).
CREATE TABLE retention_totals (
    organization_id TEXT PRIMARY KEY NOT NULL,
    history BIGINT NOT NULL,
    deliveries BIGINT NOT NULL,
    events BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- Exact queue counts per organization and state from the index alone.
CREATE INDEX deliveries_org_status ON deliveries (organization_id, status);
