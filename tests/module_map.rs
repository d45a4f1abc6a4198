//! docs/architecture.md's module map tells the truth: every module under
//! `src/` is named in it, and every path it names exists.
//!
//! The map is the fenced block under "## Module map": one entry per line,
//! the path first (a folder ends with `/`), then what it holds; a child is
//! indented two spaces more than its folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const DOC: &str = "docs/architecture.md";

/// The map's entries as paths relative to the repository, in order.
fn entries(doc: &str) -> Result<Vec<PathBuf>, String> {
    let section = doc
        .split("\n## Module map")
        .nth(1)
        .ok_or("no \"## Module map\" section")?;
    let block = section
        .split("```")
        .nth(1)
        .ok_or("no fenced block in the module map section")?;
    let mut folders: Vec<PathBuf> = Vec::new();
    let mut out = Vec::new();
    for (n, line) in block
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let indent = line.len() - line.trim_start().len();
        if indent % 2 != 0 {
            return Err(format!(
                "line {n} of the map: indent {indent} is not a multiple of 2: {line:?}"
            ));
        }
        let depth = indent / 2;
        if depth > folders.len() {
            return Err(format!(
                "line {n} of the map: indented deeper than its folder: {line:?}"
            ));
        }
        folders.truncate(depth);
        let name = line.split_whitespace().next().unwrap_or_default();
        if !(name.ends_with('/') || name.contains('.')) {
            return Err(format!(
                "line {n} of the map: {name:?} is neither a folder (ending in /) nor a file"
            ));
        }
        let path = folders
            .last()
            .map_or_else(|| PathBuf::from(name), |dir| dir.join(name));
        if name.ends_with('/') {
            folders.push(path.clone());
        }
        out.push(path);
    }
    Ok(out)
}

/// Every folder and module file under `src/`; a folder's `mod.rs` is the
/// folder's own entry.
fn modules(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.insert(path.clone());
            modules(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("mod.rs") {
            out.insert(path);
        }
    }
}

#[test]
fn the_module_map_names_every_module_and_only_real_paths() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join(DOC)).unwrap();
    let named = entries(&doc).unwrap_or_else(|e| panic!("{DOC}: {e}"));

    let missing_paths: Vec<_> = named.iter().filter(|p| !root.join(p).exists()).collect();
    assert!(
        missing_paths.is_empty(),
        "{DOC} names paths that do not exist: {missing_paths:?}"
    );

    let named: BTreeSet<PathBuf> = named.into_iter().collect();
    let mut actual = BTreeSet::new();
    modules(&root.join("src"), &mut actual);
    let unnamed: Vec<_> = actual
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .filter(|p| !named.contains(p))
        .collect();
    assert!(
        unnamed.is_empty(),
        "{DOC}'s module map does not name: {unnamed:?}"
    );
}

#[test]
fn the_map_reader_catches_what_it_must() {
    let doc = |block: &str| format!("# A\n\n## Module map\n\n```\n{block}```\n");
    let read = entries(&doc("src/\n  a.rs  x\n  b/\n    c.rs  y\n  d.rs\n")).unwrap();
    let want: Vec<PathBuf> = ["src/", "src/a.rs", "src/b/", "src/b/c.rs", "src/d.rs"]
        .iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(read, want);
    assert!(entries(&doc("src/\n   a.rs\n")).is_err(), "odd indent");
    assert!(entries(&doc("src/\n    a.rs\n")).is_err(), "too deep");
    assert!(entries(&doc("src/\n  the engine\n")).is_err(), "not a path");
    assert!(entries("# no map").is_err());
}
