//! Checks of the top-level parts that depend on the kind: a `webhook`
//! manifest's `exists`, `revoke`, `form`, notifications; a `sync_users`
//! manifest's pagination, schedule and mapping.

use serde_json::{Map, Value};

use super::{join, Checker, METHODS};

impl Checker {
    pub(super) fn webhook_parts(&mut self, top: &Map<String, Value>) {
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
                c.url(o, "url", p);
                if let Some(h) = o.get("headers") {
                    c.headers(h, &join(p, "headers"));
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

    pub(super) fn sync_parts(&mut self, top: &Map<String, Value>) {
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
        self.url(top, "next_page", "");
        if let Some(v) = top.get("amount_pages_to_fetch") {
            if !v.as_u64().is_some_and(|n| (1..=1000).contains(&n)) {
                self.error("amount_pages_to_fetch", "must be an integer 1..1000");
            }
        }
        if let Some(v) = top.get("schedule") {
            match v.as_str().map(crate::manifest::sync::parse_schedule) {
                Some(Ok(_)) => {}
                Some(Err(e)) => self.error("schedule", &e),
                None => self.error("schedule", "must be a cron expression string"),
            }
        }
    }
}
