ALTER TABLE history DROP COLUMN request_size;
ALTER TABLE history DROP COLUMN request_truncated;
