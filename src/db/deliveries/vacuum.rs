//! Keeping the queue table small on PostgreSQL. Every delivery leaves dead
//! row versions in `delivery_queue` (its claim rewrites the row, its
//! settlement deletes it), and their index entries stay until a vacuum:
//! a claim reads its index from the oldest due entry on, so it steps over
//! every dead entry before it. Autovacuum looks at a database once a
//! minute (`autovacuum_naptime`), long enough for a busy queue to pile up
//! hundreds of thousands of them; hookrelay vacuums the table itself.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::DbConn;

/// The queue's live and dead row versions, from PostgreSQL's statistics
/// (which lag by about a second); `None` on SQLite.
pub fn queue_rows(conn: &mut DbConn) -> QueryResult<Option<(i64, i64)>> {
    #[derive(QueryableByName)]
    struct Rows {
        #[diesel(sql_type = BigInt)]
        live: i64,
        #[diesel(sql_type = BigInt)]
        dead: i64,
    }
    let DbConn::Pg(pg) = conn else {
        return Ok(None);
    };
    // On Citus the rows are in the shards, on the workers: their counts
    // added up (the coordinator's own table is empty). The `VACUUM` below
    // reaches every shard from the coordinator.
    let sql = if crate::db::citus::on() {
        "SELECT COALESCE(SUM(split_part(result, ',', 1)::bigint), 0) AS live, \
         COALESCE(SUM(split_part(result, ',', 2)::bigint), 0) AS dead \
         FROM run_command_on_shards('delivery_queue', $$SELECT n_live_tup || ',' || n_dead_tup \
         FROM pg_stat_user_tables WHERE relid = '%s'::regclass$$) WHERE success"
    } else {
        "SELECT n_live_tup AS live, n_dead_tup AS dead FROM pg_stat_user_tables \
         WHERE relid = 'delivery_queue'::regclass"
    };
    let r: Option<Rows> = diesel::sql_query(sql).get_result(pg).optional()?;
    Ok(r.map(|r| (r.live, r.dead)))
}

/// Vacuums the queue table and its indexes. `SKIP_LOCKED`: when another
/// process (or autovacuum) is at it already, this one does nothing. No
/// parallel workers (starting them costs more than the small indexes take)
/// and no truncation (it waits for a lock the claims keep taking; the
/// freed pages are reused, and autovacuum truncates when the queue is
/// quiet). Never inside a transaction (PostgreSQL refuses). Nothing on
/// SQLite.
pub fn vacuum_queue(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query(
            "VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON, PARALLEL 0, TRUNCATE false) delivery_queue",
        )
        .execute(pg)?;
    }
    Ok(())
}
