//! Webhook request bodies and their validation (the view is `webhook_view`).

use serde::Deserialize;

use crate::db::webhooks::{Concurrency, Format};
use crate::error::{Error, Result};
use crate::outbound::TargetPolicy;
use crate::publish::{catalogue, subscribes};
use crate::signing::Scheme;
use crate::state::AppState;
use crate::text::closest;

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

/// An absolute http(s) URL with a host; https only when so configured; not
/// an address the SSRF guard refuses (a literal one, or a host name that
/// resolves only to refused ones).
pub async fn check_url(raw: &str, require_https: bool, policy: &TargetPolicy) -> Result<String> {
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
    // Every attempt checks again: a name's addresses can change.
    policy
        .check_host(&url)
        .await
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

/// The format of a web hook created without one: `json` for the
/// `standard` scheme, whose libraries (Svix, `standardwebhooks`) parse the
/// body they verify as JSON; `form` otherwise, which HrFlow receivers expect
/// (with a signed request the event is in the header either way).
pub fn default_format(scheme: Scheme) -> Format {
    match scheme {
        Scheme::Standard => Format::Json,
        Scheme::Hrflow | Scheme::Both | Scheme::HrflowSdk | Scheme::SignedRequest => Format::Form,
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

/// Names must be types organization `org` has (built-in or its own), and
/// `prefix.*` patterns must match at least one of them; `*` matches all. A
/// likely typo is answered with the closest existing name or pattern.
pub async fn check_event_types(state: &AppState, org: &str, list: &[String]) -> Result<String> {
    if list.is_empty() {
        return Err(Error::field(
            "event_types",
            "event_types must list at least one name or pattern (e.g. \"profile.*\" or \"*\")",
        ));
    }
    // The catalogue, read once and only when a pattern or an unknown name needs it.
    let mut catalogue: Option<Vec<String>> = None;
    for (i, name) in list.iter().enumerate() {
        let field = format!("event_types[{i}]");
        if name == "*" {
            continue;
        }
        let pattern = name.strip_suffix(".*");
        if let Some(prefix) = pattern {
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
        } else if state.types.entity_of(&state.db, org, name).await?.is_some() {
            continue;
        }
        let names = match &mut catalogue {
            Some(names) => names,
            None => catalogue.insert(catalogue::type_names(&state.db, org.to_string()).await?),
        };
        let matched = pattern.is_some()
            && names
                .iter()
                .any(|n| subscribes(std::slice::from_ref(name), n));
        if !matched {
            return Err(unknown(field, name, pattern.is_some(), names));
        }
    }
    Ok(serde_json::to_string(list).expect("strings serialize"))
}

/// `unknown_event_type` for a name or pattern that nothing in the
/// catalogue answers to, with the closest one that exists.
fn unknown(field: String, name: &str, is_pattern: bool, names: &[String]) -> Error {
    let (what, candidates) = if is_pattern {
        (
            format!("pattern '{name}' matches no event type"),
            catalogue::patterns_of(names),
        )
    } else {
        (
            format!("event type '{name}' does not exist"),
            names.to_vec(),
        )
    };
    let hint = match closest(name, candidates.iter().map(String::as_str)) {
        Some(close) => format!("did you mean `{close}`? "),
        None => String::new(),
    };
    Error::field_code(
        crate::error::ErrorCode::UnknownEventType,
        field,
        format!("{what}; {hint}GET /v1/event-types lists the event types (built-in and this organization's)"),
    )
}
