//! What a caller asks of the web hook service: the bodies of
//! `POST /v1/webhooks`, `PATCH /v1/webhooks/{id}` and `rotate-secret`,
//! as received (the service checks every field; see `rules`).

use serde::Deserialize;
use serde_json::Value;

/// Body of `POST /v1/webhooks`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub format: Option<String>,
    pub active: Option<bool>,
    pub verify_ssl: Option<bool>,
    pub signing: Option<bool>,
    pub max_events_per_request: Option<i32>,
    pub retry_schedule: Option<Vec<String>>,
    pub max_in_flight: Option<i32>,
    /// `adaptive` (default) or `fixed`.
    pub concurrency: Option<String>,
    pub rate_limit_per_sec: Option<i32>,
    pub signature_scheme: Option<String>,
    /// Bring your own secret (`whsec_` + base64, or for the `hrflow` scheme
    /// a secret HrFlow issued); generated when absent.
    pub secret: Option<String>,
    /// A content filter: an RFC 9535 JSONPath query over `[event]`.
    pub filter: Option<String>,
}

/// Body of `PATCH /v1/webhooks/{id}`: every field optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub name: Option<String>,
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub format: Option<String>,
    pub active: Option<bool>,
    pub verify_ssl: Option<bool>,
    pub signing: Option<bool>,
    pub max_events_per_request: Option<i32>,
    /// `null` returns to the deployment's schedule (`Some(None)`), absent
    /// leaves it (`None`).
    #[serde(default, with = "serde_with::rust::double_option")]
    pub retry_schedule: Option<Option<Vec<String>>>,
    pub max_in_flight: Option<i32>,
    pub concurrency: Option<String>,
    /// `null` removes the limit.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub rate_limit_per_sec: Option<Option<i32>>,
    pub signature_scheme: Option<String>,
    /// `null` removes the filter: every subscribed event is delivered.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub filter: Option<Option<String>>,
}

/// Body of `POST /v1/webhooks/{id}/rotate-secret` (the body is optional).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the old secret keeps signing too (`"24h"` by default, `"0s"` for none).
    pub grace_period: Option<String>,
    /// The new secret; generated when absent.
    pub secret: Option<String>,
}

/// Body of `POST /v1/webhooks/filter-test`: a filter and the event to try
/// it on, given whole or as an event type whose example is used.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterTest {
    pub filter: String,
    pub event: Option<Value>,
    pub event_type: Option<String>,
}
