//! A webhook as the API shows it: never its secret, and its URL's
//! credentials only to callers who could change it; plus this process's
//! lane for it.

use serde::Serialize;
use serde_json::Value;

use super::auth::Caller;
use crate::db::time;
use crate::db::webhooks::{Concurrency, Format, Webhook, WebhookState};
use crate::redact::redact_url;
use crate::signing::Scheme;

/// A webhook as the API shows it (never with its secret).
#[derive(Serialize)]
pub struct WebhookView {
    pub id: String,
    pub name: String,
    pub url: String,
    pub event_types: Value,
    pub format: Format,
    pub active: bool,
    pub verify_ssl: bool,
    pub signing: bool,
    pub max_events_per_request: i32,
    pub state: WebhookState,
    pub disabled_reason: Option<String>,
    pub last_triggered_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// `null`: the deployment's schedule applies.
    pub retry_schedule: Option<Value>,
    /// The ceiling of the adaptive limit, or the fixed limit.
    pub max_in_flight: i32,
    pub concurrency: Concurrency,
    /// This process's lane for the webhook (`GET /v1/webhooks/{id}` only):
    /// `null` when this process holds no lane for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane: Option<Value>,
    pub rate_limit_per_sec: Option<i32>,
    pub failing_since: Option<String>,
    pub disabled_at: Option<String>,
    pub signature_scheme: Scheme,
    /// While a rotation's grace period runs: when the old secret stops signing.
    pub previous_secret_expires_at: Option<String>,
    /// The content filter (RFC 9535 JSONPath over `[event]`), or `null`.
    pub filter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookView {
    /// The view without the secret.
    pub fn new(w: Webhook) -> Self {
        let rotating = w
            .previous_secret_expires_at
            .filter(|t| w.previous_secret.is_some() && *t > time::now());
        WebhookView {
            signature_scheme: w.signature_scheme,
            previous_secret_expires_at: time::rfc3339_opt(&rotating),
            event_types: serde_json::from_str(&w.event_types).unwrap_or(Value::Array(vec![])),
            last_triggered_at: time::rfc3339_opt(&w.last_triggered_at),
            created_at: time::rfc3339(&w.created_at),
            updated_at: time::rfc3339(&w.updated_at),
            id: w.id,
            name: w.name,
            url: w.url,
            format: w.format,
            active: w.active,
            verify_ssl: w.verify_ssl,
            signing: w.signing,
            max_events_per_request: w.max_events_per_request,
            state: w.state,
            disabled_reason: w.disabled_reason,
            retry_schedule: w
                .retry_schedule
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            max_in_flight: w.max_in_flight,
            concurrency: w.concurrency,
            lane: None,
            rate_limit_per_sec: w.rate_limit_per_sec,
            failing_since: time::rfc3339_opt(&w.failing_since),
            disabled_at: time::rfc3339_opt(&w.disabled_at),
            filter: w.filter,
            secret: None,
        }
    }

    /// The view for `caller`: credentials in the URL only for those who
    /// could change the webhook anyway (`webhooks:write`).
    pub fn for_caller(w: Webhook, caller: &Caller) -> Self {
        let mut view = WebhookView::new(w);
        if !caller.sees_url_credentials() {
            view.url = redact_url(&view.url);
        }
        view
    }

    /// The view with the secret (in clear): only for create and rotate.
    pub fn with_secret(w: Webhook, secret: String) -> Self {
        WebhookView {
            secret: Some(secret),
            ..WebhookView::new(w)
        }
    }
}

/// What this process's lane for a webhook looks like, for the API.
pub fn lane_view(s: &crate::delivery::lanes::LaneStatus) -> Value {
    let phase = s.phase();
    serde_json::json!({
        "limit": s.limit,
        "in_flight": s.in_flight,
        "held": s.held,
        "rtt_ms": s.rtt.map(|r| (r.as_secs_f64() * 10_000.0).round() / 10.0),
        "phase": phase,
        "paused_until": s.paused_for.map(|d| time::rfc3339(&(time::now() + chrono::Duration::from_std(d).unwrap_or_default()))),
    })
}
