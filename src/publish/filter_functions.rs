//! The `match` and `search` function extensions of filters (RFC 9535
//! §2.4.6–2.4.7), registered in place of `serde_json_path`'s own, which
//! compile their regular expression again at every evaluation: with a
//! filter run on every event of its web hook's types, that compile would
//! cost more than the rest of fan-out. Here each pattern is compiled once
//! per thread. The semantics are the crate's: `match` is anchored at both
//! ends, `search` is not, `.` matches neither `\n` nor `\r`, and a pattern
//! that does not compile matches nothing.
//!
//! A pattern given as a literal is also checked when a filter is saved
//! ([`check_literals`]), so a typo in it is a 422, not a filter that
//! silently passes nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use regex::Regex;
use serde_json::Value;
use serde_json_path::functions::{LogicalType, ValueType};

/// Patterns kept per thread; past it the cache starts afresh.
const MAX_PATTERNS: usize = 1024;

/// Compiled patterns by (anchored, pattern); `None`: does not compile.
type Patterns = HashMap<(bool, String), Option<Rc<Regex>>>;

thread_local! {
    static PATTERNS: RefCell<Patterns> = RefCell::new(HashMap::new());
}

/// `pattern` as a regular expression, anchored at both ends for `match`.
fn compile(anchored: bool, pattern: &str) -> Result<Regex, regex::Error> {
    if anchored {
        Regex::new(&format!("(?R)^({pattern})$"))
    } else {
        Regex::new(&format!("(?R)({pattern})"))
    }
}

/// Whether `text` matches `pattern`, compiling it at most once per thread.
fn is_match(anchored: bool, pattern: &str, text: &str) -> bool {
    PATTERNS.with(|cell| {
        let mut cache = cell.borrow_mut();
        let key = (anchored, pattern.to_string());
        if let Some(compiled) = cache.get(&key) {
            return compiled.as_ref().is_some_and(|re| re.is_match(text));
        }
        if cache.len() >= MAX_PATTERNS {
            cache.clear();
        }
        let compiled = compile(anchored, pattern).ok().map(Rc::new);
        let matched = compiled.as_ref().is_some_and(|re| re.is_match(text));
        cache.insert(key, compiled);
        matched
    })
}

fn evaluate(anchored: bool, value: ValueType, pattern: ValueType) -> LogicalType {
    match (value.as_value(), pattern.as_value()) {
        (Some(Value::String(text)), Some(Value::String(pattern))) => {
            is_match(anchored, pattern, text).into()
        }
        _ => LogicalType::False,
    }
}

#[serde_json_path::function(name = "match")]
fn match_whole(value: ValueType, pattern: ValueType) -> LogicalType {
    evaluate(true, value, pattern)
}

#[serde_json_path::function(name = "search")]
fn search_within(value: ValueType, pattern: ValueType) -> LogicalType {
    evaluate(false, value, pattern)
}

/// Checks every pattern given as a string literal to `match` or `search` in
/// `query` (already parsed: its brackets and quotes balance). The error
/// says which pattern does not compile, and why.
pub fn check_literals(query: &str) -> Result<(), String> {
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_quote(chars[i]) {
            i = skip_string(&chars, i);
            continue;
        }
        let Some((anchored, open)) = function_call_at(&chars, i) else {
            i += 1;
            continue;
        };
        if let Some(pattern) = second_literal(&chars, open + 1) {
            if let Err(e) = compile(anchored, &pattern) {
                let name = if anchored { "match" } else { "search" };
                return Err(format!(
                    "the pattern '{pattern}' given to {name}() is not a valid regular expression: {}",
                    e.to_string().lines().last().unwrap_or("invalid")
                ));
            }
        }
        i = open + 1;
    }
    Ok(())
}

fn is_quote(c: char) -> bool {
    c == '\'' || c == '"'
}

/// Whether `match(` or `search(` starts at `i`: (anchored, index of `(`).
fn function_call_at(chars: &[char], i: usize) -> Option<(bool, usize)> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    for (name, anchored) in [("match", true), ("search", false)] {
        let end = i + name.len();
        if end <= chars.len() && chars[i..end].iter().copied().eq(name.chars()) {
            let open = (end..chars.len()).find(|&j| !chars[j].is_whitespace())?;
            if chars[open] == '(' {
                return Some((anchored, open));
            }
        }
    }
    None
}

/// The index just past the string literal that starts at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut j = start + 1;
    while j < chars.len() && chars[j] != quote {
        j += if chars[j] == '\\' { 2 } else { 1 };
    }
    j + 1
}

/// The second argument of the call whose arguments start at `from`, when
/// it is a string literal, unescaped.
fn second_literal(chars: &[char], from: usize) -> Option<String> {
    let mut depth = 0usize;
    let mut j = from;
    while j < chars.len() {
        match chars[j] {
            c if is_quote(c) => {
                j = skip_string(chars, j);
                continue;
            }
            '(' | '[' => depth += 1,
            ')' | ']' if depth == 0 => return None,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => break,
            _ => {}
        }
        j += 1;
    }
    let start = (j + 1..chars.len()).find(|&k| !chars[k].is_whitespace())?;
    if !is_quote(chars[start]) {
        return None;
    }
    let end = skip_string(chars, start) - 1;
    unescape(chars[start], &chars[start + 1..end.min(chars.len())])
}

/// A JSONPath string literal's content as the string it denotes: its
/// escapes are JSON's, plus `\'` in single quotes.
fn unescape(quote: char, content: &[char]) -> Option<String> {
    let mut json = String::with_capacity(content.len() + 2);
    json.push('"');
    let mut k = 0;
    while k < content.len() {
        match (content[k], content.get(k + 1)) {
            ('\\', Some('\'')) => {
                json.push('\'');
                k += 2;
            }
            ('\\', Some(&next)) => {
                json.push('\\');
                json.push(next);
                k += 2;
            }
            ('"', _) if quote == '\'' => {
                json.push_str("\\\"");
                k += 1;
            }
            (c, _) => {
                json.push(c);
                k += 1;
            }
        }
    }
    json.push('"');
    serde_json::from_str(&json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_checked_where_they_are_patterns() {
        for good in [
            "$[?match(@.message, 'profile (parsing|storing) .*')]",
            "$[?search(@.type, \"pars\\\\w+\")]",
            "$[?match(@.a, @.b)]",
            "$[?@.note == 'match(@.x, \"[\")']",
            "$[?count(@[?match(@.k, 'a|b')]) > 1]",
        ] {
            assert_eq!(check_literals(good), Ok(()), "{good}");
        }
        for (bad, shown) in [
            ("$[?match(@.message, 'profile [')]", "'profile ['"),
            ("$[?search(@.type, \"(\")]", "'('"),
            ("$[?@.a && search( @.b , 'x{2,1}' )]", "'x{2,1}'"),
            ("$[?count(@[?match(@.k, 'a)')]) > 1]", "'a)'"),
            ("$[?search(@.t, 'it\\'s (')]", "'it's ('"),
        ] {
            let e = check_literals(bad).unwrap_err();
            assert!(e.contains(shown), "{bad}: {e}");
        }
    }

    #[test]
    fn each_pattern_compiles_once_per_thread() {
        let pattern = "once-[0-9]+";
        for n in 0..100 {
            assert!(is_match(true, pattern, &format!("once-{n}")));
        }
        let kept = PATTERNS.with(|c| c.borrow().contains_key(&(true, pattern.to_string())));
        assert!(kept);
        assert!(!is_match(true, pattern, "not once-1"));
        assert!(is_match(false, pattern, "not once-1"));
        assert!(!is_match(true, "(", "("));
    }

    #[test]
    fn queries_use_these_functions() {
        let query = serde_json_path::JsonPath::parse("$[?search(@.m, 'via-query')]").unwrap();
        let doc = serde_json::json!([{"m": "found via-query here"}]);
        assert_eq!(query.query(&doc).len(), 1);
        let kept = PATTERNS.with(|c| c.borrow().contains_key(&(false, "via-query".to_string())));
        assert!(kept, "the crate's own search() ran, not this module's");
    }
}
