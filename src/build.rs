//! Build script: the migrations are embedded with `embed_migrations!`, which
//! cargo does not know to watch; without this, adding a migration directory
//! would leave a binary that silently lacks it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
