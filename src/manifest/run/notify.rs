//! `post_execute_notification`: one email or text message, rendered by the
//! runner, sent within the organization's allowance and logged as a step.

use std::time::Instant;

use serde_json::Map;

use super::Step;
use crate::manifest::notify::Notifier;

/// One notification item, its fields rendered.
pub(super) struct Notification {
    /// `email` (the default) or `text`.
    pub(super) kind: String,
    pub(super) to: String,
    pub(super) subject: String,
    pub(super) message: String,
}

impl Notification {
    /// Sends it for organization `org` (a text goes to `phone`, the user's,
    /// as the reference does; to `to` when they have none) and returns the
    /// step that logs it, unmasked: the runner masks it.
    pub(super) async fn send(
        self,
        notifier: &Notifier,
        org: &str,
        phone: &str,
        label: String,
    ) -> Step {
        let Notification {
            kind,
            to,
            subject,
            message,
        } = self;
        let started = Instant::now();
        let phone = if phone.is_empty() {
            to.clone()
        } else {
            phone.to_string()
        };
        let url = if kind == "text" {
            format!("sms:{phone}")
        } else {
            format!("mailto:{to}")
        };
        // Within the organization's allowance, or logged as not sent.
        let result = match notifier.admit(org) {
            Err(e) => Err(e),
            Ok(()) if kind == "text" => notifier
                .text(&phone, &message)
                .await
                .map(|s| format!("HTTP {s}")),
            Ok(()) => notifier.email(&to, &subject, &message).await,
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
        Step {
            label,
            url,
            method: kind.to_uppercase(),
            request_headers: Map::new(),
            request_body: body,
            status: None,
            response_body,
            response_truncated: false,
            duration_ms: started.elapsed().as_millis() as i64,
            error,
        }
    }
}
