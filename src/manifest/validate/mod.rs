//! Manifest validation: the reference's schema, with the relaxations its own
//! runtime relies on (see docs/manifests.md). Every problem carries the JSON
//! path of the offending value, e.g. `execute[1].polling.interval`.

use serde::Serialize;
mod parts;
mod requests;
pub mod targets;

use serde_json::{Map, Value};

use super::Kind;

/// A problem of a manifest (defined with the errors that carry it).
pub use crate::error::Problem;

/// What validation found: errors refuse the manifest, warnings do not.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

const METHODS: &[&str] = &["HEAD", "GET", "POST", "PUT", "PATCH", "DELETE"];
const WEBHOOK_KEYS: &[&str] = &[
    "form",
    "exists",
    "revoke",
    "execute",
    "post_execute_notification",
    "initial_data_form",
    "extra_user_info",
    "headers",
    "oauth",
];
const SYNC_KEYS: &[&str] = &[
    "data_from",
    "data_structure",
    "execute",
    "next_page_token_from",
    "next_page",
    "next_page_from",
    "schedule",
    "action",
    "amount_pages_to_fetch",
    "initial_data_form",
    "headers",
    "oauth",
];

struct Checker {
    report: Report,
}

/// Validates `manifest` as a manifest of `kind`.
pub fn validate(manifest: &Value, kind: Kind) -> Report {
    let mut c = Checker {
        report: Report::default(),
    };
    let Some(top) = manifest.as_object() else {
        c.error("$", "a manifest is a JSON object");
        return c.report;
    };
    let allowed = match kind {
        Kind::Webhook => WEBHOOK_KEYS,
        Kind::SyncUsers => SYNC_KEYS,
    };
    for key in top.keys() {
        if !allowed.contains(&key.as_str()) {
            if kind == Kind::SyncUsers && key == "form" {
                // The reference's own sample import manifest carries one.
                c.warn(
                    key,
                    "`form` is not used by sync_users manifests and is ignored",
                );
            } else {
                c.error(
                    key,
                    &format!(
                        "unknown key for a {} manifest; allowed: {}",
                        kind.as_str(),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }
    match top.get("execute") {
        Some(v) => c.list(v, "execute", |c, item, p| c.execute_item(item, p)),
        None if kind == Kind::SyncUsers => c.error("execute", "is required"),
        None => c.warn(
            "execute",
            "missing: the integration runs no requests when executed",
        ),
    }
    if let Some(v) = top.get("headers") {
        c.headers(v, "headers");
    }
    if let Some(v) = top.get("initial_data_form") {
        c.list(v, "initial_data_form", |c, item, p| {
            c.initial_data_item(item, p)
        });
    }
    if let Some(v) = top.get("oauth") {
        c.oauth(v);
    }
    match kind {
        Kind::Webhook => c.webhook_parts(top),
        Kind::SyncUsers => c.sync_parts(top),
    }
    c.report
}

impl Checker {
    fn error(&mut self, path: &str, message: &str) {
        self.report.errors.push(Problem {
            path: path.to_string(),
            message: message.to_string(),
        });
    }

    fn warn(&mut self, path: &str, message: &str) {
        self.report.warnings.push(Problem {
            path: path.to_string(),
            message: message.to_string(),
        });
    }

    fn object<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.error(path, "must be an object");
        }
        o
    }

    fn list(&mut self, v: &Value, path: &str, mut each: impl FnMut(&mut Self, &Value, &str)) {
        match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    each(self, item, &format!("{path}[{i}]"));
                }
            }
            None => self.error(path, "must be a list"),
        }
    }

    /// A required non-blank string (numbers are accepted as their text).
    fn required_str(&mut self, o: &Map<String, Value>, key: &str, path: &str) {
        match o.get(key) {
            None => self.error(&join(path, key), "is required"),
            Some(v) => self.text(v, &join(path, key)),
        }
    }

    fn optional_str(&mut self, o: &Map<String, Value>, key: &str, path: &str) {
        if let Some(v) = o.get(key) {
            self.text(v, &join(path, key));
        }
    }

    fn text(&mut self, v: &Value, path: &str) {
        match v {
            Value::String(s) if !s.trim().is_empty() => {}
            Value::String(_) => self.error(path, "must not be blank"),
            Value::Number(_) => {}
            _ => self.error(path, "must be a string"),
        }
    }

    fn string_map(&mut self, v: &Value, path: &str) {
        if let Some(o) = self.object(v, path) {
            for (k, v) in o {
                match v {
                    Value::String(_) | Value::Number(_) => {}
                    _ => self.error(&join(path, k), "must be a string"),
                }
            }
        }
    }

    fn method(&mut self, o: &Map<String, Value>, path: &str, allowed: &[&str]) {
        match o.get("method") {
            // The reference runtime sends POST when absent.
            None => {}
            Some(Value::String(m)) if allowed.contains(&m.as_str()) => {}
            Some(_) => self.error(
                &join(path, "method"),
                &format!("must be one of {}", allowed.join(", ")),
            ),
        }
    }

    fn status_codes(&mut self, o: &Map<String, Value>, path: &str) {
        let Some(v) = o.get("status_code") else {
            return;
        };
        let p = join(path, "status_code");
        self.list(v, &p, |c, code, p| {
            let n = match code {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            if !n.is_some_and(|n| (100..=599).contains(&n)) {
                c.error(
                    p,
                    "must be an HTTP status code (100..599), as a number or a string",
                );
            }
        });
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_name_every_problem() {
        let m = json!({
            "execute": [
                {"url": "https://x", "method": "GET"},
                {"url": "", "method": "FETCH", "polling": {"interval": 0, "amount": 3}, "status_code": [200, "abc"]}
            ],
            "exists": {"url": "https://x", "method": "DELETE"},
            "bogus": 1
        });
        let r = validate(&m, Kind::Webhook);
        let paths: Vec<&str> = r.errors.iter().map(|p| p.path.as_str()).collect();
        for p in [
            "bogus",
            "execute[1].url",
            "execute[1].method",
            "execute[1].status_code[1]",
            "execute[1].polling.interval",
            "execute[1].polling",
            "exists.method",
            "exists.expected",
        ] {
            assert!(paths.contains(&p), "{p} missing from {paths:?}");
        }
    }

    #[test]
    fn every_real_manifest_loads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/manifests");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let kind = Kind::guess(&v);
            let r = validate(&v, kind);
            assert!(r.is_ok(), "{}: {:?}", path.display(), r.errors);
            n += 1;
        }
        assert_eq!(n, 17);
    }
}
