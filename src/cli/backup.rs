//! `hookrelay backup DEST`: a consistent copy of the SQLite database, taken
//! while the gateway runs, and of its master key file.

use std::path::Path;

use super::BackupArgs;
use crate::db::sqlite_file;

/// Runs the backup; what was written goes to stderr.
pub fn main(args: &BackupArgs) -> Result<(), String> {
    let Some(path) = sqlite_file(&args.db.database_url)? else {
        return Err("hookrelay backup copies SQLite databases; back PostgreSQL up with pg_dump (see docs/operations.md, Backups)".into());
    };
    crate::db::backup::sqlite_into(&path, &args.dest)?;
    eprintln!(
        "hookrelay: backed up {path} to {} (checked: integrity ok)",
        args.dest.display()
    );
    let key = crate::vault::default_key_file(Path::new(&path));
    if key.is_file() {
        // Where a gateway on the backup looks for its key.
        let copy = crate::vault::default_key_file(&args.dest);
        copy_key(&key, &copy)?;
        eprintln!(
            "hookrelay: copied the master key file {} to {}: restore the two together (a gateway on {} finds {} beside it)",
            key.display(),
            copy.display(),
            args.dest.display(),
            copy.display()
        );
    } else {
        eprintln!(
            "hookrelay: no master key file beside {path}: the key comes from HOOKRELAY_MASTER_KEY or HOOKRELAY_MASTER_KEY_FILE. Keep a copy of it: without it the backup's webhook secrets and integration settings cannot be read"
        );
    }
    Ok(())
}

/// Copies the key, readable by its owner only, never over another file.
fn copy_key(from: &Path, to: &Path) -> Result<(), String> {
    let text = std::fs::read(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    crate::vault::write_key_file(to, &text)
}
