//! The documentation's relative links resolve: every `[text](target)` in
//! `README.md` and `docs/*.md` whose target is not an `http(s)://` or
//! `mailto:` address names a file that exists (relative to the linking
//! file) and, with a `#anchor`, a heading of that file whose GitHub-style
//! anchor is the same. Links inside fenced code blocks and code spans are
//! ignored. Also keeps the README a front page (at most 260 lines).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

const README_MAX_LINES: usize = 260;

/// Whether a line opens or closes a fenced code block (up to three spaces of
/// indentation, then three or more backticks or tildes).
fn is_fence(line: &str) -> bool {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    indent <= 3 && (rest.starts_with("```") || rest.starts_with("~~~"))
}

/// The lines of a markdown file that are outside fenced code blocks, with
/// their 1-based line numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            out.push((i + 1, line));
        }
    }
    out
}

/// GitHub's anchor for a heading's text: lowercase, spaces become `-`,
/// punctuation other than `-` and `_` is dropped (code-span backticks
/// included).
fn github_anchor(heading: &str) -> String {
    let mut out = String::new();
    for c in heading.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if c == ' ' {
            out.push('-');
        }
    }
    out
}

/// The anchors of a markdown file's ATX headings (`# …` to `###### …`),
/// with GitHub's `-1`, `-2`, … suffixes for repeated headings.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.len() - line.trim_start_matches('#').len();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let text = line[hashes..].trim().trim_end_matches('#').trim();
        let base = github_anchor(text);
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// The targets of the inline links on one line, outside code spans.
fn link_targets(line: &str) -> Vec<String> {
    // Blank out code spans, keeping byte offsets.
    let bytes = line.as_bytes();
    let mut prose = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
            // Find a closing run of exactly the same length.
            let mut j = i + run;
            let mut close = None;
            while j < bytes.len() {
                if bytes[j] == b'`' {
                    let r = bytes[j..].iter().take_while(|&&b| b == b'`').count();
                    if r == run {
                        close = Some(j + r);
                        break;
                    }
                    j += r;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(end) => {
                    prose[i..end].iter_mut().for_each(|b| *b = b' ');
                    i = end;
                }
                None => i += run,
            }
        } else {
            i += 1;
        }
    }

    let mut targets = Vec::new();
    let mut k = 0;
    while k + 1 < prose.len() {
        if prose[k] == b']' && prose[k + 1] == b'(' {
            let start = k + 2;
            if let Some(len) = prose[start..].iter().position(|&b| b == b')') {
                let raw = line[start..start + len].trim();
                // Drop an optional title (`target "title"`) and angle brackets.
                let raw = raw.split_whitespace().next().unwrap_or("");
                let raw = raw.trim_start_matches('<').trim_end_matches('>');
                targets.push(raw.to_string());
                k = start + len;
                continue;
            }
        }
        k += 1;
    }
    targets
}

fn is_external(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

/// Every broken relative link in `files`, as `file:line: target: reason`.
fn broken_links(files: &[PathBuf]) -> Vec<String> {
    let mut problems = Vec::new();
    for file in files {
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let dir = file.parent().unwrap_or(Path::new("."));
        for (n, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if is_external(&target) {
                    continue;
                }
                let (path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target.as_str(), None),
                };
                let where_ = format!("{}:{n}: `{target}`", file.display());
                if path.is_empty() && anchor.is_none() {
                    problems.push(format!("{where_}: empty link"));
                    continue;
                }
                let linked = if path.is_empty() {
                    file.clone()
                } else {
                    dir.join(path)
                };
                if !linked.exists() {
                    problems.push(format!("{where_}: {} does not exist", linked.display()));
                    continue;
                }
                let Some(anchor) = anchor else { continue };
                if linked.extension().and_then(|e| e.to_str()) != Some("md") {
                    problems.push(format!(
                        "{where_}: an anchor into a file that is not markdown"
                    ));
                    continue;
                }
                let linked_text = fs::read_to_string(&linked)
                    .unwrap_or_else(|e| panic!("{}: {e}", linked.display()));
                if !anchors(&linked_text).contains(anchor) {
                    problems.push(format!(
                        "{where_}: {} has no heading with anchor #{anchor}",
                        linked.display()
                    ));
                }
            }
        }
    }
    problems
}

fn doc_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("readable docs/ entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn readme_and_docs_links_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = doc_files(root);
    assert!(files.len() > 1, "no docs/*.md found");

    let readme = fs::read_to_string(root.join("README.md")).expect("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines; keep it a front page of at most {README_MAX_LINES} and move detail into docs/"
    );

    let problems = broken_links(&files);
    assert!(
        problems.is_empty(),
        "{} broken link(s) in the documentation:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn link_checker_parses_what_it_should() {
    assert_eq!(
        github_anchor("Writing manifests: `hookrelay manifest`"),
        "writing-manifests-hookrelay-manifest"
    );
    assert_eq!(
        github_anchor("1.2 Creating and running"),
        "12-creating-and-running"
    );
    assert_eq!(
        github_anchor("Rotating a webhook's secret"),
        "rotating-a-webhooks-secret"
    );
    assert_eq!(
        link_targets("see [a](x.md#b) and `[c](nope.md)` or [d](https://e) [f](<g.md> \"t\")"),
        vec!["x.md#b", "https://e", "g.md"]
    );
    let text = "# A\n```\n# Not a heading\n[x](missing.md)\n```\n## A\n";
    let found = anchors(text);
    assert!(found.contains("a") && found.contains("a-1") && !found.contains("not-a-heading"));
    assert_eq!(
        prose_lines(text)
            .iter()
            .filter(|(_, l)| l.contains("missing"))
            .count(),
        0
    );
}
