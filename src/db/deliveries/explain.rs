//! `EXPLAIN` of a claim's statements on PostgreSQL: the test that keeps
//! claims on their indexes (`tests/it/claim_plans.rs`) reads the plans the
//! server picks for exactly the statements [`Delivery::claim`] runs.
//!
//! [`Delivery::claim`]: super::Delivery::claim

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Text;

use super::claim::{expired_query, mark_query};
use super::fair::{due_query, next_org_query, Due};
use super::{leased, waiting, Candidate};
use crate::db::schema::delivery_queue;
use crate::db::DbConn;

/// `EXPLAIN` in front of a built statement, with its bound parameters.
struct Explain<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

impl<Q> RunQueryDsl<PgConnection> for Explain<Q> {}

/// The plan of each statement a claim at `now` runs, with `org` as the
/// organization of the per-organization query (label, plan text). On SQLite
/// an empty list.
pub fn explain_claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    org: &str,
) -> QueryResult<Vec<(&'static str, String)>> {
    let DbConn::Pg(pg) = conn else {
        return Ok(Vec::new());
    };
    let exclude: Vec<String> = vec!["wh_saturated".into()];
    let skip: Vec<String> = vec!["dlv_taken".into()];
    let due = Due {
        now,
        exclude: &exclude,
    };
    let ids = ["dlv_a", "dlv_b"];
    let plan = |lines: Vec<String>| lines.join("\n");
    Ok(vec![
        (
            "expired leases",
            plan(
                Explain(
                    expired_query!(now, &exclude, 256i64)
                        .for_update()
                        .skip_locked(),
                )
                .load(pg)?,
            ),
        ),
        (
            "next organization",
            plan(Explain(next_org_query!("").limit(1)).load(pg)?),
        ),
        (
            "an organization's due deliveries",
            plan(
                Explain(
                    due_query!(org, due, &Vec::<String>::new(), 128i64)
                        .for_update()
                        .skip_locked(),
                )
                .load(pg)?,
            ),
        ),
        (
            "an organization's due deliveries, second pass",
            plan(
                Explain(
                    due_query!(org, due, &skip, 128i64)
                        .for_update()
                        .skip_locked(),
                )
                .load(pg)?,
            ),
        ),
        (
            "mark claimed",
            plan(Explain(mark_query!(&ids[..], "inst", now)).load(pg)?),
        ),
    ])
}
