//! `post_execute_notification`: emails and texts sent after `execute`,
//! each logged as a step.

use std::time::Instant;

use serde_json::{Map, Value};

use super::{list, Runner, Step};
use crate::manifest::render::plain_text;

impl Runner<'_> {
    /// Sends every `post_execute_notification`, logging each as a step.
    pub(super) async fn notify(&mut self) {
        let items: Vec<Value> = list(&self.manifest, "post_execute_notification")
            .cloned()
            .collect();
        for (i, n) in items.iter().enumerate() {
            let field = |k: &str| n.get(k).map(plain_text).unwrap_or_default();
            let to = self.render_or_keep(field("to")).await;
            let subject = self.render_or_keep(field("subject")).await;
            let message = self.render_or_keep(field("message")).await;
            let kind = n.get("type").and_then(Value::as_str).unwrap_or("email");
            let started = Instant::now();
            // The user's phone, as the reference does; `to` when they have none.
            let phone = if self.phone.is_empty() {
                to.clone()
            } else {
                self.phone.clone()
            };
            let url = if kind == "text" {
                format!("sms:{phone}")
            } else {
                format!("mailto:{to}")
            };
            // Within the organization's allowance, or logged as not sent.
            let result = match self.svc.notifier.admit(&self.organization) {
                Err(e) => Err(e),
                Ok(()) if kind == "text" => self
                    .svc
                    .notifier
                    .text(&phone, &message)
                    .await
                    .map(|s| format!("HTTP {s}")),
                Ok(()) => self.svc.notifier.email(&to, &subject, &message).await,
            };
            let body = if kind == "text" {
                message
            } else {
                format!("Subject: {subject}\n\n{message}")
            };
            let (response_body, error) = match result {
                Ok(r) => (r, None),
                Err(e) => (String::new(), Some(e)),
            };
            self.steps.push(Step {
                label: format!("post_execute_notification[{i}]"),
                url: self.masker.mask(&url),
                method: kind.to_uppercase(),
                request_headers: Map::new(),
                request_body: self.masker.mask(&body),
                status: None,
                response_body: self.masker.mask(&response_body),
                response_truncated: false,
                duration_ms: started.elapsed().as_millis() as i64,
                error: error.map(|e| self.masker.mask(&e)),
            });
        }
    }
}
