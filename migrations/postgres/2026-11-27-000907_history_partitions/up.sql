-- History partitioned by send time, one partition per UTC day (issue #19),
-- on PostgreSQL only: retention drops a whole day (DROP TABLE, no dead
-- rows left for vacuum) instead of deleting its rows in batches. SQLite
-- keeps its plain table.
--
-- Partitions are named history_pYYYYMMDD and cover [day, day + 1);
-- `db::partitions` creates today's and the next days' ahead of time, and
-- history_default takes any attempt no partition covers, so an insert
-- never fails. The primary key must include the partition key: it becomes
-- (id, sent_at). Ids still begin with sent_at and stay unique in practice
-- (48 random bits); a lookup by id alone probes each partition's index.
--
-- The rows are copied in this migration's transaction: it takes as long
-- as a copy of the table and needs its size again on disk meanwhile.

CREATE TABLE history_partitioned (LIKE history INCLUDING DEFAULTS)
    PARTITION BY RANGE (sent_at);
CREATE TABLE history_default PARTITION OF history_partitioned DEFAULT;

-- One partition per day that has rows, and today and the next three days.
DO $$
DECLARE
    d DATE;
BEGIN
    FOR d IN
        SELECT DISTINCT sent_at::date FROM history
        UNION
        SELECT (now() AT TIME ZONE 'UTC')::date + n FROM generate_series(0, 3) AS n
    LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF history_partitioned FOR VALUES FROM (%L) TO (%L)',
            'history_p' || to_char(d, 'YYYYMMDD'), d::timestamp, (d + 1)::timestamp);
    END LOOP;
END $$;

INSERT INTO history_partitioned SELECT * FROM history;
DROP TABLE history;
ALTER TABLE history_partitioned RENAME TO history;

-- Indexes after the copy (one build instead of one update per row). Each
-- is created on every partition, and on the ones created later.
ALTER TABLE history ADD CONSTRAINT history_pkey PRIMARY KEY (id, sent_at);
CREATE INDEX history_webhook ON history (webhook_id, id);
CREATE INDEX history_event ON history (event_id);
CREATE INDEX history_org ON history (organization_id, id);
