-- Adaptive webhooks go back to the old fixed default of 4 (or their
-- ceiling, if lower).
UPDATE webhooks SET max_in_flight = 4 WHERE concurrency = 'adaptive' AND max_in_flight > 4;
ALTER TABLE webhooks DROP COLUMN concurrency;
