-- History keeps at most 64 KiB of a request body (cut on a UTF-8 boundary):
-- whether it was cut, and the full size in bytes. NULL size on older rows:
-- they were stored whole, so their size is their body's (no table rewrite).
ALTER TABLE history ADD COLUMN request_truncated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE history ADD COLUMN request_size BIGINT;
