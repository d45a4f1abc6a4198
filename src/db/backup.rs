//! A consistent copy of a live SQLite database (`hookrelay backup`).
//!
//! Copying `hookrelay.db` with `cp` while the gateway runs is not a backup:
//! committed transactions may still sit in `hookrelay.db-wal`, and a
//! checkpoint may rewrite the file during the copy. `VACUUM INTO` instead
//! reads the whole database in one read transaction and writes a compact,
//! self-contained file: in WAL mode that reader neither blocks the
//! gateway's writer nor sees half of one of its transactions.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// Writes a snapshot of the SQLite database at `db_path` to `dest`, which
/// must not exist, and checks the copy with `PRAGMA integrity_check`.
pub fn sqlite_into(db_path: &str, dest: &Path) -> Result<(), String> {
    if !Path::new(db_path).is_file() {
        // Opening a missing path would create an empty database.
        return Err(format!("no database at {db_path} (check DATABASE_URL)"));
    }
    if dest.exists() {
        return Err(format!(
            "{} already exists: a backup never overwrites a file; name a new one",
            dest.display()
        ));
    }
    let dest_text = dest
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", dest.display()))?;
    let mut conn =
        SqliteConnection::establish(db_path).map_err(|e| format!("cannot open {db_path}: {e}"))?;
    // The gateway's writer may hold the lock for a moment (a checkpoint).
    conn.batch_execute("PRAGMA busy_timeout = 10000;")
        .map_err(|e| format!("cannot open {db_path}: {e}"))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(dest_text)
        .execute(&mut conn)
        .map_err(|e| format!("cannot back {db_path} up into {dest_text}: {e}"))?;
    let mut copy = SqliteConnection::establish(dest_text)
        .map_err(|e| format!("cannot open the backup {dest_text}: {e}"))?;
    let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut copy)
        .map_err(|e| format!("cannot check the backup {dest_text}: {e}"))?;
    match checks.first().map(|c| c.integrity_check.as_str()) {
        Some("ok") => Ok(()),
        other => Err(format!(
            "the backup {dest_text} failed its integrity check: {}",
            other.unwrap_or("no answer")
        )),
    }
}
