//! Manifest validation: the reference's schema, with the relaxations its own
//! runtime relies on (see docs/manifests.md). Every problem carries the JSON
//! path of the offending value, e.g. `execute[1].polling.interval`.

use serde::Serialize;
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
        c.string_map(v, "headers");
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

    /// `url`, `method`, `data`, `headers`, `status_code`, `extra_headers`:
    /// what every request-shaped object shares.
    fn request(&mut self, o: &Map<String, Value>, path: &str, methods: &[&str]) {
        self.required_str(o, "url", path);
        self.method(o, path, methods);
        if let Some(h) = o.get("headers") {
            self.string_map(h, &join(path, "headers"));
        }
        self.status_codes(o, path);
        if let Some(v) = o.get("extra_headers") {
            if v != "pritunl" {
                self.error(&join(path, "extra_headers"), "must be \"pritunl\"");
            }
        }
        for key in ["cast_data_to_json", "allow_cross_origin_redirects"] {
            if let Some(v) = o.get(key) {
                if !v.is_boolean() {
                    self.error(&join(path, key), "must be true or false");
                }
            }
        }
    }

    fn execute_item(&mut self, item: &Value, path: &str) {
        let Some(o) = self.object(item, path) else {
            return;
        };
        self.request(o, path, METHODS);
        for key in ["store_data", "files"] {
            if let Some(v) = o.get(key) {
                self.string_map(v, &join(path, key));
            }
        }
        self.optional_str(o, "save_as_file", path);
        if let Some(v) = o.get("continue_if") {
            let p = join(path, "continue_if");
            if let Some(ci) = self.object(v, &p) {
                match ci.get("response_notation") {
                    Some(Value::String(_)) => {}
                    _ => self.error(
                        &join(&p, "response_notation"),
                        "is required (a dotted path, \"\" for the whole response)",
                    ),
                }
                self.required_str(ci, "value", &p);
            }
        }
        if let Some(v) = o.get("polling") {
            let p = join(path, "polling");
            if let Some(po) = self.object(v, &p) {
                match po.get("interval").and_then(Value::as_f64) {
                    Some(s) if s > 0.0 && s <= 3600.0 => {}
                    _ => self.error(
                        &join(&p, "interval"),
                        "must be a number of seconds, more than 0 and at most 3600",
                    ),
                }
                match po.get("amount").and_then(Value::as_u64) {
                    Some(n) if (1..=100).contains(&n) => {}
                    _ => self.error(&join(&p, "amount"), "must be an integer 1..100"),
                }
            }
            if !o.contains_key("continue_if") {
                self.error(
                    &p,
                    "needs continue_if: polling repeats the request until its condition holds",
                );
            }
        }
    }

    fn initial_data_item(&mut self, item: &Value, path: &str) {
        let Some(o) = self.object(item, path) else {
            return;
        };
        self.required_str(o, "id", path);
        self.required_str(o, "name", path);
        match o.get("description") {
            Some(Value::String(_)) | None => {}
            Some(_) => self.error(&join(path, "description"), "must be a string"),
        }
        if let Some(v) = o.get("secret") {
            if !v.is_boolean() {
                self.error(&join(path, "secret"), "must be true or false");
            }
        }
    }

    fn oauth(&mut self, v: &Value) {
        let Some(o) = self.object(v, "oauth") else {
            return;
        };
        if o.is_empty() {
            return;
        }
        self.optional_str(o, "authenticate_url", "oauth");
        for key in ["access_token", "refresh"] {
            if let Some(item) = o.get(key) {
                let p = join("oauth", key);
                if let Some(io) = self.object(item, &p) {
                    self.request(io, &p, METHODS);
                }
            }
        }
        if o.contains_key("authenticate_url") && !o.contains_key("access_token") {
            self.error(
                "oauth.access_token",
                "is required with authenticate_url: the callback runs it to get the token",
            );
        }
        for key in ["without_code", "pkce"] {
            if let Some(v) = o.get(key) {
                if !v.is_boolean() {
                    self.error(&join("oauth", key), "must be true or false");
                }
            }
        }
    }

    fn webhook_parts(&mut self, top: &Map<String, Value>) {
        if let Some(v) = top.get("exists") {
            if let Some(o) = self.object(v, "exists") {
                self.request(o, "exists", &["GET", "POST", "PUT"]);
                self.required_str(o, "expected", "exists");
                if let Some(f) = o.get("fail_when_4xx_response_code") {
                    if !f.is_boolean() {
                        self.error(
                            "exists.fail_when_4xx_response_code",
                            "must be true or false",
                        );
                    }
                }
            }
        }
        if let Some(v) = top.get("revoke") {
            self.list(v, "revoke", |c, item, p| {
                if let Some(o) = c.object(item, p) {
                    c.request(o, p, METHODS);
                }
            });
        }
        if let Some(v) = top.get("form") {
            self.list(v, "form", |c, item, p| {
                let Some(o) = c.object(item, p) else { return };
                c.required_str(o, "id", p);
                c.required_str(o, "name", p);
                match o.get("type").and_then(Value::as_str) {
                    Some("multiple_choice" | "choice" | "input" | "generate") => {}
                    _ => c.error(
                        &join(p, "type"),
                        "must be one of multiple_choice, choice, input, generate",
                    ),
                }
                for key in ["url", "data_from", "choice_value", "choice_name"] {
                    if let Some(Value::String(_)) | None = o.get(key) {
                        continue;
                    }
                    c.error(&join(p, key), "must be a string");
                }
                if let Some(h) = o.get("headers") {
                    c.string_map(h, &join(p, "headers"));
                }
                c.method(o, p, METHODS);
            });
        }
        if let Some(v) = top.get("post_execute_notification") {
            self.list(v, "post_execute_notification", |c, item, p| {
                let Some(o) = c.object(item, p) else { return };
                match o.get("type").and_then(Value::as_str) {
                    Some("email" | "text") => {}
                    _ => c.error(&join(p, "type"), "must be email or text"),
                }
                c.required_str(o, "to", p);
                c.required_str(o, "message", p);
                if o.get("type").and_then(Value::as_str) == Some("email") {
                    c.required_str(o, "subject", p);
                }
            });
        }
        if let Some(v) = top.get("extra_user_info") {
            self.list(v, "extra_user_info", |c, item, p| {
                if let Some(o) = c.object(item, p) {
                    c.required_str(o, "id", p);
                    c.required_str(o, "name", p);
                }
            });
        }
    }

    fn sync_parts(&mut self, top: &Map<String, Value>) {
        match top.get("action") {
            None => self.warn(
                "action",
                "missing: defaults to create, as the reference runtime does",
            ),
            Some(Value::String(a)) if a == "create" || a == "update" => {}
            Some(_) => self.error("action", "must be create or update"),
        }
        match top.get("data_structure") {
            None => self.error(
                "data_structure",
                "is required: which record field becomes which user field",
            ),
            Some(v) => self.string_map(v, "data_structure"),
        }
        for key in [
            "data_from",
            "next_page_token_from",
            "next_page",
            "next_page_from",
        ] {
            match top.get(key) {
                None | Some(Value::String(_)) => {}
                Some(_) => self.error(key, "must be a string"),
            }
        }
        if let Some(v) = top.get("amount_pages_to_fetch") {
            if !v.as_u64().is_some_and(|n| (1..=1000).contains(&n)) {
                self.error("amount_pages_to_fetch", "must be an integer 1..1000");
            }
        }
        if let Some(v) = top.get("schedule") {
            match v.as_str().map(super::sync::parse_schedule) {
                Some(Ok(_)) => {}
                Some(Err(e)) => self.error("schedule", &e),
                None => self.error("schedule", "must be a cron expression string"),
            }
        }
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
