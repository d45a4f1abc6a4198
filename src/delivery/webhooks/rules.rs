//! The rules of a web hook's fields, each checked alone (the rules that
//! involve stored state, or several fields, are applied by the service in
//! its transaction). A wrong field answers 422 naming it.

use crate::db::webhooks::{Concurrency, Format};
use crate::error::{Error, Result};
use crate::outbound::TargetPolicy;
use crate::signing::Scheme;

/// Largest batch a webhook may ask for.
pub const MAX_EVENTS_PER_REQUEST: i32 = 1000;

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

/// A content filter: stored as given once it compiles (the fan-out
/// compiles it again, once, from what is stored).
pub fn check_filter(text: &str) -> Result<String> {
    crate::publish::filter::parse(text)?;
    Ok(text.to_string())
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
