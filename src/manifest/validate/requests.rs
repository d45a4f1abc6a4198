//! Checks of request-shaped items: `execute` items, `exists`, `revoke`,
//! `oauth` and `initial_data_form` entries.

use serde_json::{Map, Value};

use super::{join, Checker, METHODS};

impl Checker {
    /// `url`, `method`, `data`, `headers`, `status_code`, `extra_headers`:
    /// what every request-shaped object shares.
    pub(super) fn request(&mut self, o: &Map<String, Value>, path: &str, methods: &[&str]) {
        self.required_str(o, "url", path);
        self.url(o, "url", path);
        self.method(o, path, methods);
        if let Some(h) = o.get("headers") {
            self.headers(h, &join(path, "headers"));
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

    pub(super) fn execute_item(&mut self, item: &Value, path: &str) {
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

    pub(super) fn initial_data_item(&mut self, item: &Value, path: &str) {
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

    pub(super) fn oauth(&mut self, v: &Value) {
        let Some(o) = self.object(v, "oauth") else {
            return;
        };
        if o.is_empty() {
            return;
        }
        self.optional_str(o, "authenticate_url", "oauth");
        self.url(o, "authenticate_url", "oauth");
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
}
