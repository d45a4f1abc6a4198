//! PostgreSQL only: the daily partitions of `history` (issue #19; migration
//! 000907). One partition per UTC day of `sent_at`, named
//! `history_pYYYYMMDD`, plus `history_default` for attempts no partition
//! covers. [`create_ahead`] keeps today's and the next [`AHEAD_DAYS`] days'
//! partitions in place; [`drop_oldest`] lets retention drop a whole day.
//! On SQLite every function here does nothing.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::PgConnection;

use super::retention::Tally;
use super::DbConn;

/// Days after today that get their partition ahead of time: maintenance
/// may lag that long before attempts fall into the default partition.
pub const AHEAD_DAYS: u64 = 3;

/// The catch-all partition.
pub const DEFAULT_PARTITION: &str = "history_default";

/// Advisory lock key of partition creation ("hr-part").
const LOCK_KEY: i64 = 0x0068_722d_7061_7274;

/// How long a partition change waits for the locks it needs. Creating or
/// dropping a partition locks `history` exclusively: while it waits, the
/// inserts queued behind it wait too, so it gives up early and the next
/// run tries again.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '5s'";

/// The partition holding `day`'s attempts.
pub fn partition_name(day: NaiveDate) -> String {
    format!("history_p{}", day.format("%Y%m%d"))
}

/// The day a partition named by [`partition_name`] holds; `None` for any
/// other name (the default partition, or one an operator added).
fn partition_day(name: &str) -> Option<NaiveDate> {
    let digits = name.strip_prefix("history_p")?;
    if digits.len() != 8 {
        return None;
    }
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

/// Names of `history`'s partitions, the default one included.
fn partitions(c: &mut PgConnection) -> QueryResult<BTreeSet<String>> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT child.relname::text AS name FROM pg_inherits \
         JOIN pg_class child ON child.oid = pg_inherits.inhrelid \
         WHERE pg_inherits.inhparent = 'history'::regclass",
    )
    .load(c)?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// Creates the missing partitions for `today` and the [`AHEAD_DAYS`]
/// days after it; returns how many it created. Several processes may run
/// it at once: they take turns on an advisory lock, and each creates only
/// what is still missing.
pub fn create_ahead(conn: &mut DbConn, today: NaiveDate) -> QueryResult<usize> {
    let DbConn::Pg(c) = conn else {
        return Ok(0);
    };
    c.transaction(|c| {
        diesel::sql_query(LOCK_TIMEOUT).execute(c)?;
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(LOCK_KEY)
            .execute(c)?;
        let existing = partitions(c)?;
        let mut created = 0;
        for day in today.iter_days().take(AHEAD_DAYS as usize + 1) {
            if !existing.contains(&partition_name(day)) {
                create(c, day)?;
                created += 1;
            }
        }
        Ok(created)
    })
}

/// Creates `day`'s partition. PostgreSQL refuses a partition whose range
/// has rows in the default partition, so any such rows (attempts that
/// arrived before the partition did) move into it first: the new table is
/// filled, then attached.
fn create(c: &mut PgConnection, day: NaiveDate) -> QueryResult<()> {
    let name = partition_name(day);
    let from = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    let to = from + chrono::Duration::days(1);
    let bounds = format!(
        "FOR VALUES FROM ('{}') TO ('{}')",
        from.format("%Y-%m-%d %H:%M:%S"),
        to.format("%Y-%m-%d %H:%M:%S")
    );
    // The lock CREATE … PARTITION OF takes anyway, taken before the check:
    // no attempt lands in the default partition between the two. `history`
    // first, as inserts and reads lock it before its partitions (the other
    // order could deadlock with them).
    diesel::sql_query("LOCK TABLE ONLY history IN ACCESS EXCLUSIVE MODE").execute(c)?;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let stray = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM {DEFAULT_PARTITION} WHERE sent_at >= $1 AND sent_at < $2"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .get_result::<Count>(c)?
    .n;
    if stray == 0 {
        diesel::sql_query(format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF history {bounds}"
        ))
        .execute(c)?;
        return Ok(());
    }
    diesel::sql_query(format!(
        "CREATE TABLE {name} (LIKE history INCLUDING DEFAULTS)"
    ))
    .execute(c)?;
    diesel::sql_query(format!(
        "WITH moved AS (DELETE FROM {DEFAULT_PARTITION} \
         WHERE sent_at >= $1 AND sent_at < $2 RETURNING *) \
         INSERT INTO {name} SELECT * FROM moved"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .execute(c)?;
    diesel::sql_query(format!(
        "ALTER TABLE history ATTACH PARTITION {name} {bounds}"
    ))
    .execute(c)?;
    tracing::info!(partition = %name, rows = stray, "history partition created from the default partition's rows");
    Ok(())
}

/// Drops the oldest daily partition that lies wholly before `cutoff`,
/// after counting its rows per organization (the retention tallies);
/// `None` when there is none. Call inside the retention transaction.
pub fn drop_oldest(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<Option<Tally>> {
    let DbConn::Pg(c) = conn else {
        return Ok(None);
    };
    let oldest = partitions(c)?
        .into_iter()
        .filter_map(|name| partition_day(&name).map(|day| (day, name)))
        .filter(|(day, _)| {
            day.succ_opt()
                .and_then(|next| next.and_hms_opt(0, 0, 0))
                .is_some_and(|end| end <= cutoff)
        })
        .min();
    let Some((_, name)) = oldest else {
        return Ok(None);
    };
    diesel::sql_query(LOCK_TIMEOUT).execute(c)?;
    // Counted without locking: attempts are written with the time they were
    // sent, so none arrives in a day past retention, and other instances'
    // sweeps wait on the retention lock. (Locking the partition first would
    // invert the order in which reads lock `history` and its partitions.)
    #[derive(QueryableByName)]
    struct PerOrg {
        #[diesel(sql_type = Text)]
        organization_id: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let counts: Vec<PerOrg> = diesel::sql_query(format!(
        "SELECT organization_id, COUNT(*) AS n FROM {name} GROUP BY organization_id"
    ))
    .load(c)?;
    diesel::sql_query(format!("DROP TABLE {name}")).execute(c)?;
    Ok(Some(
        counts
            .into_iter()
            .map(|r| (r.organization_id, r.n))
            .collect(),
    ))
}
