//! Content filters (issue 28): a web hook's RFC 9535 JSONPath query,
//! evaluated against a one-element array holding the event, so that
//! `$[?@.profile.source.key == 'src1']` reads naturally. The event is
//! delivered when the query selects at least one node.
//!
//! Queries are checked when a web hook is written, compiled once per web
//! hook at fan-out (the [`Compiled`] cache, keyed by web hook id and query
//! text, so a changed filter is compiled anew) and decided once per event
//! and web hook there.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::error::{Error, Result};

/// Longest filter, in characters: a filter is a routing rule, not a program,
/// and every event of its web hook's types is run through it.
pub const MAX_FILTER_CHARS: usize = 2000;

/// Most compiled queries kept: a bound on memory whatever the number of web
/// hooks; past it the cache starts afresh (a query compiles in microseconds).
const MAX_CACHED: usize = 4096;

/// Parses `text` as a filter: at most [`MAX_FILTER_CHARS`], valid RFC 9535
/// JSONPath. A refusal is a 422 naming `filter` with the parser's message.
pub fn parse(text: &str) -> Result<JsonPath> {
    let chars = text.chars().count();
    if chars > MAX_FILTER_CHARS {
        return Err(Error::field(
            "filter",
            format!("filter must be at most {MAX_FILTER_CHARS} characters, not {chars}"),
        ));
    }
    let query = JsonPath::parse(text).map_err(|e| {
        Error::field(
            "filter",
            format!(
                "filter is not a valid JSONPath query (RFC 9535): {} at character {}; e.g. $[?@.profile.source.key == 'src1']",
                e.message(),
                e.position()
            ),
        )
    })?;
    super::filter_functions::check_literals(text)
        .map_err(|e| Error::field("filter", format!("filter is refused: {e}")))?;
    Ok(query)
}

/// The document a filter reads: the event, alone in an array. `None` when
/// the payload is not JSON (it always is: it was validated on publish).
pub fn document(payload: &str) -> Option<Value> {
    serde_json::from_str(payload)
        .ok()
        .map(|event| Value::Array(vec![event]))
}

/// Whether `query` selects at least one node of `document`.
pub fn selects(query: &JsonPath, document: &Value) -> bool {
    !query.query(document).is_empty()
}

/// Compiled filters by (web hook id, query text).
#[derive(Default)]
pub struct Compiled {
    queries: Mutex<HashMap<(String, String), Arc<JsonPath>>>,
}

/// The process's compiled filters (fan-out runs where no state is at hand:
/// the publish thread, and events hookrelay records itself).
pub static COMPILED: LazyLock<Compiled> = LazyLock::new(Compiled::default);

impl Compiled {
    /// Web hook `id`'s filter `text`, compiled once. `None` if it does not
    /// compile, which only a stored filter from another version could do:
    /// its web hook then gets every event (a warning says why) rather than
    /// silently none.
    pub fn get(&self, id: &str, text: &str) -> Option<Arc<JsonPath>> {
        let key = (id.to_string(), text.to_string());
        if let Some(q) = self.queries.lock().expect("lock").get(&key) {
            return Some(q.clone());
        }
        let query = match parse(text) {
            Ok(q) => Arc::new(q),
            Err(e) => {
                tracing::warn!(webhook = id, error = %e, "stored filter does not compile; delivering unfiltered");
                return None;
            }
        };
        let mut map = self.queries.lock().expect("lock");
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert(key, query.clone());
        Some(query)
    }

    /// How many queries are kept (tests).
    pub fn len(&self) -> usize {
        self.queries.lock().expect("lock").len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn passes(filter: &str, event: Value) -> bool {
        selects(&parse(filter).unwrap(), &Value::Array(vec![event]))
    }

    #[test]
    fn source_key_and_functions() {
        let ev = json!({"type": "profile.parsing.success", "message": "profile parsing done",
            "profile": {"key": "p1", "source": {"key": "src1"}, "tags": [1, 2, 3]}});
        assert!(passes("$[?@.profile.source.key == 'src1']", ev.clone()));
        assert!(!passes("$[?@.profile.source.key == 'src2']", ev.clone()));
        assert!(passes(
            "$[?match(@.message, 'profile (parsing|storing) .*')]",
            ev.clone()
        ));
        assert!(passes("$[?search(@.type, 'parsing')]", ev.clone()));
        assert!(passes("$[?length(@.profile.tags) == 3]", ev.clone()));
        assert!(passes("$[?count(@.profile.tags[*]) > 2]", ev.clone()));
        assert!(passes("$[?value(@.profile.key) == 'p1']", ev.clone()));
        assert!(!passes("$[?@.job]", ev));
    }

    #[test]
    fn the_docs_examples() {
        let job = json!({"type": "job.parsing.failed", "message": "job parsing failed",
            "job": {"key": "j", "board": {"key": "b1"}}});
        assert!(passes("$[?search(@.message, 'failed')]", job.clone()));
        assert!(passes("$[?value(@..board.key) == 'b1']", job.clone()));
        assert!(passes("$[?@.job]", job.clone()));
        let either = "$[?@.profile.source.key == 'src1' || @.profile.source.key == 'src2']";
        assert!(!passes(either, job));
        let p = json!({"profile": {"source": {"key": "src2"}, "skills": [1, 2, 3, 4, 5, 6]}});
        assert!(passes(either, p.clone()));
        assert!(passes("$[?count(@.profile.skills[*]) > 5]", p));
    }

    #[test]
    fn refusals_name_the_field() {
        for bad in [
            "",
            "profile.key",
            "$[?@.a ==]",
            &format!("$.{}", "a".repeat(2000)),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("filter"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn compiled_once_per_text() {
        let c = Compiled::default();
        let a = c.get("wh_1", "$[?@.a]").unwrap();
        let b = c.get("wh_1", "$[?@.a]").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        c.get("wh_1", "$[?@.b]").unwrap();
        assert_eq!(c.len(), 2);
        assert!(c.get("wh_2", "$[?").is_none());
    }
}
