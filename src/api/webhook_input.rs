//! Webhook request bodies, their validation and the API view.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::Caller;
use crate::db::time;
use crate::db::webhooks::{Concurrency, Format, Webhook, WebhookState};
use crate::error::{Error, Result};
use crate::outbound::TargetPolicy;
use crate::signing::Scheme;
use crate::state::AppState;

/// Largest batch a webhook may ask for.
const MAX_EVENTS_PER_REQUEST: i32 = 1000;

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

/// A signature scheme by name.
pub fn check_scheme(scheme: &str) -> Result<Scheme> {
    scheme.parse().map_err(|_| {
        Error::field(
            "signature_scheme",
            format!(
                "signature_scheme must be one of {}, not '{scheme}'",
                Scheme::WORDS.join(", ")
            ),
        )
    })
}

/// A rotation's grace period: `"0s"` to 30 days; 24 hours when absent.
pub fn check_grace(grace: Option<&str>) -> Result<chrono::Duration> {
    let Some(text) = grace else {
        return Ok(chrono::Duration::hours(24));
    };
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d <= std::time::Duration::from_secs(30 * 24 * 3600) => {
            Ok(chrono::Duration::from_std(d).expect("30 days fit"))
        }
        _ => Err(Error::field(
            "grace_period",
            format!("grace_period must be a duration of at most 30 days such as \"24h\" or \"0s\", not '{text}'"),
        )),
    }
}

/// `url` with its credentials masked: user and password become `***`, and
/// so does every query value (`https://***:***@host/path?token=***`). Keys,
/// host and path stay, so the webhook can still be recognised.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        // Stored URLs passed `check_url`; anything else shows nothing.
        return "***".into();
    };
    if !url.username().is_empty() {
        let _ = url.set_username("***");
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if let Some(query) = url.query().map(mask_query) {
        url.set_query(Some(&query));
    }
    url.to_string()
}

/// `a=1&b&c=2` → `a=***&***&c=***`: keys kept, values (and bare items) masked.
fn mask_query(query: &str) -> String {
    query
        .split('&')
        .map(|item| match item.split_once('=') {
            Some((key, _)) => format!("{key}=***"),
            None if item.is_empty() => String::new(),
            None => "***".into(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An absolute http(s) URL with a host; https only when so configured.
pub fn check_url(raw: &str, require_https: bool, policy: &TargetPolicy) -> Result<String> {
    if raw.len() > 2048 {
        return Err(Error::field_code(
            crate::error::ErrorCode::InvalidUrl,
            "url",
            "url must be at most 2048 characters",
        ));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| {
        Error::field_code(
            crate::error::ErrorCode::InvalidUrl,
            "url",
            format!("url is not an absolute URL ({e}); e.g. https://example.com/hooks"),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if !require_https => {}
        "http" => {
            return Err(Error::field_code(
                crate::error::ErrorCode::InvalidUrl,
                "url",
                "url must use https (HOOKRELAY_REQUIRE_HTTPS is on)",
            ))
        }
        other => {
            return Err(Error::field_code(
                crate::error::ErrorCode::InvalidUrl,
                "url",
                format!("url scheme must be http or https, not '{other}'"),
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::field_code(
            crate::error::ErrorCode::InvalidUrl,
            "url",
            "url must name a host",
        ));
    }
    // Hostnames are checked after resolution at every attempt; a literal
    // internal IP can be refused right away.
    policy
        .check_literal(&url)
        .map_err(|why| Error::field_code(crate::error::ErrorCode::ForbiddenTarget, "url", why))?;
    Ok(url.to_string())
}

/// 0 to 20 delays (none: no retries) such as `"30s"` or `"2h"`; stored as a JSON array.
pub fn check_retry_schedule(list: &[String]) -> Result<String> {
    if list.len() > 20 {
        return Err(Error::field(
            "retry_schedule",
            "retry_schedule holds at most 20 delays",
        ));
    }
    for (i, d) in list.iter().enumerate() {
        match humantime::parse_duration(d) {
            Ok(dur) if dur <= std::time::Duration::from_secs(7 * 24 * 3600) => {}
            _ => {
                return Err(Error::field(
                    format!("retry_schedule[{i}]"),
                    format!(
                        "'{d}' is not a delay of at most 7 days such as \"30s\", \"5m\" or \"2h\""
                    ),
                ))
            }
        }
    }
    Ok(serde_json::to_string(list).expect("strings serialize"))
}

/// `adaptive` or `fixed`.
/// A lane mode by name.
pub fn check_concurrency(mode: &str) -> Result<Concurrency> {
    mode.parse().map_err(|_| {
        Error::field(
            "concurrency",
            format!("concurrency must be adaptive or fixed, not '{mode}'"),
        )
    })
}

/// What this process's lane for a webhook looks like, for the API.
pub fn lane_view(s: &crate::delivery::lanes::LaneStatus) -> Value {
    let phase = if s.paused_for.is_some() {
        "paused"
    } else if s.slow_start {
        "slow_start"
    } else {
        "steady"
    };
    serde_json::json!({
        "limit": s.limit,
        "in_flight": s.in_flight,
        "held": s.held,
        "rtt_ms": s.rtt.map(|r| (r.as_secs_f64() * 10_000.0).round() / 10.0),
        "phase": phase,
        "paused_until": s.paused_for.map(|d| time::rfc3339(&(time::now() + chrono::Duration::from_std(d).unwrap_or_default()))),
    })
}

pub fn check_in_flight(n: i32) -> Result<i32> {
    if (1..=1000).contains(&n) {
        Ok(n)
    } else {
        Err(Error::field(
            "max_in_flight",
            "max_in_flight must be 1 to 1000",
        ))
    }
}

pub fn check_rate(n: i32) -> Result<i32> {
    if (1..=100_000).contains(&n) {
        Ok(n)
    } else {
        Err(Error::field(
            "rate_limit_per_sec",
            "rate_limit_per_sec must be 1 to 100000, or null for no limit",
        ))
    }
}

/// A body format by name.
pub fn check_format(format: &str) -> Result<Format> {
    format.parse().map_err(|_| {
        Error::field(
            "format",
            format!("format must be form or json, not '{format}'"),
        )
    })
}

/// Events per request: 1 to the maximum, several only in JSON.
pub fn check_batch(max: i32, format: Format) -> Result<i32> {
    if !(1..=MAX_EVENTS_PER_REQUEST).contains(&max) {
        return Err(Error::field(
            "max_events_per_request",
            format!("max_events_per_request must be 1 to {MAX_EVENTS_PER_REQUEST}"),
        ));
    }
    if max > 1 && format != Format::Json {
        return Err(Error::field(
            "max_events_per_request",
            "several events per request need format json",
        ));
    }
    Ok(max)
}

/// Names must exist; `*` and `prefix.*` patterns are accepted as written.
pub async fn check_event_types(state: &AppState, list: &[String]) -> Result<String> {
    if list.is_empty() {
        return Err(Error::field(
            "event_types",
            "event_types must list at least one name or pattern (e.g. \"profile.*\" or \"*\")",
        ));
    }
    for (i, name) in list.iter().enumerate() {
        let field = format!("event_types[{i}]");
        if name == "*" {
            continue;
        }
        if let Some(prefix) = name.strip_suffix(".*") {
            let ok = !prefix.is_empty()
                && prefix.split('.').all(|s| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                });
            if !ok {
                return Err(Error::field(
                    field,
                    format!("'{name}' is not a valid pattern; use `entity.*` such as `profile.*`"),
                ));
            }
            continue;
        }
        if state.types.entity_of(&state.db, name).await?.is_none() {
            return Err(Error::field_code(
                crate::error::ErrorCode::UnknownEventType,
                field,
                format!("event type '{name}' does not exist; GET /v1/event-types lists them"),
            ));
        }
    }
    Ok(serde_json::to_string(list).expect("strings serialize"))
}

#[cfg(test)]
mod redaction_tests {
    use super::redact_url;

    #[test]
    fn credentials_in_urls_are_masked() {
        assert_eq!(
            redact_url("https://user:pa55@example.com/hooks?token=abc&v=2"),
            "https://***:***@example.com/hooks?token=***&v=***"
        );
        assert_eq!(
            redact_url("https://tok@example.com/h?secret"),
            "https://***@example.com/h?***"
        );
        assert_eq!(
            redact_url("http://example.com:8080/plain"),
            "http://example.com:8080/plain"
        );
        assert_eq!(redact_url("not a url"), "***");
    }
}
