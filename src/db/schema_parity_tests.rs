//! The SQLite and PostgreSQL migrations define the same tables with the
//! same columns (names, and whether they may be NULL): the two lists of
//! migrations are written by hand, and `schema.rs` describes both. History
//! partitions (PostgreSQL only) are left out; they are `history`.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_migrations::MigrationHarness;

use super::pool::{PG_MIGRATIONS, SQLITE_MIGRATIONS};

/// Table → column → nullable.
type Shape = BTreeMap<String, BTreeMap<String, bool>>;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

fn shape(columns: Vec<Column>) -> Shape {
    let mut out = Shape::new();
    for c in columns {
        if c.table_name == "__diesel_schema_migrations" {
            continue;
        }
        out.entry(c.table_name)
            .or_default()
            .insert(c.column_name, c.nullable);
    }
    out
}

fn sqlite_shape() -> Shape {
    let mut c = SqliteConnection::establish(":memory:").unwrap();
    c.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
    // A primary key column is NOT NULL in effect even where SQLite's
    // catalogue says otherwise (INTEGER PRIMARY KEY is the rowid).
    let columns = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, \
         (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
    )
    .load::<Column>(&mut c)
    .unwrap();
    shape(columns)
}

fn pg_shape(admin: &str) -> Shape {
    let name = format!("hookrelay_parity_{}", std::process::id());
    let mut a = PgConnection::establish(admin).unwrap();
    let drop_db = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    diesel::sql_query(&drop_db).execute(&mut a).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut a)
        .unwrap();
    let base = &admin[..admin.rfind('/').unwrap()];
    let mut c = PgConnection::establish(&format!("{base}/{name}")).unwrap();
    c.run_pending_migrations(PG_MIGRATIONS).unwrap();
    let columns = diesel::sql_query(
        "SELECT c.relname::text AS table_name, a.attname::text AS column_name, \
         NOT a.attnotnull AS nullable \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
         AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .load::<Column>(&mut c)
    .unwrap();
    drop(c);
    diesel::sql_query(&drop_db).execute(&mut a).unwrap();
    shape(columns)
}

#[test]
fn both_backends_define_the_same_tables_and_columns() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("SKIPPED: schema parity (PostgreSQL): TEST_DATABASE_URL is not set");
        return;
    };
    let (sqlite, pg) = (sqlite_shape(), pg_shape(&admin));
    assert!(sqlite.len() > 10, "{sqlite:?}");
    let names = |s: &Shape| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&sqlite), names(&pg), "tables");
    for (table, columns) in &sqlite {
        assert_eq!(columns, &pg[table], "columns of {table} (name → nullable)");
    }
}
