//! Raw PostgreSQL statements prepared once per connection.
//!
//! diesel keeps a connection's prepared statements keyed by the query's
//! type; a `sql_query` has no type of its own, so PostgreSQL would parse and
//! plan it on every run (0.1–0.2 ms for the settlement statement, measured
//! with `EXPLAIN (ANALYZE, SUMMARY)`: paid on every recorder flush).
//! [`pg_statement!`] gives a hot-path statement a struct of its own: its
//! SQL with a `?` per bind, and its binds as fields, in order.

/// Defines `$name`, a PostgreSQL statement diesel prepares once per
/// connection: `$sql` with one `?` per field, each field bound as its SQL
/// type. Run it with `.execute(&mut pg_connection)`.
macro_rules! pg_statement {
    (
        $(#[$meta:meta])*
        $name:ident<$lt:lifetime> { $($field:ident: $ty:ty => $st:ty),* $(,)? } = $sql:expr
    ) => {
        $(#[$meta])*
        pub struct $name<$lt> {
            $(pub $field: $ty),*
        }

        impl<$lt> diesel::query_builder::QueryId for $name<$lt> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl<$lt> diesel::query_builder::QueryFragment<diesel::pg::Pg> for $name<$lt> {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> diesel::QueryResult<()> {
                let mut parts = $sql.split('?');
                out.push_sql(parts.next().unwrap_or_default());
                $(
                    out.push_bind_param::<$st, _>(&self.$field)?;
                    out.push_sql(parts.next().unwrap_or_default());
                )*
                debug_assert!(parts.next().is_none(), "one ? per bind");
                Ok(())
            }
        }

        impl<$lt> diesel::RunQueryDsl<diesel::PgConnection> for $name<$lt> {}
    };
}
pub(crate) use pg_statement;
