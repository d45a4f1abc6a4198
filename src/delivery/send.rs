//! One HTTP attempt: build the signed request, send it, capture the answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use crate::outbound::delivery_client::DeliveryClient;
use crate::outbound::{HttpClients, USER_AGENT};

use super::concurrency::Signal;
use super::payload::Rendered;
use crate::db::time;
use crate::signing::{Signer, STANDARD_ID_HEADER};
use crate::telemetry::Propagation;

/// Everything history records about one attempt.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub sent_at: chrono::NaiveDateTime,
    /// The request headers as sent, as history stores them (a JSON object).
    pub request_headers: String,
    pub status: Option<u16>,
    /// The answer's headers as history stores them (a JSON object; a name
    /// sent twice holds its values joined by ", ").
    pub response_headers: String,
    pub response_body: String,
    pub truncated: bool,
    pub duration: Duration,
    pub error: Option<String>,
    /// `Retry-After` of a 429 or 503 answer.
    pub retry_after: Option<Duration>,
    /// No answer because the receiver did not keep up: a timeout, or a
    /// connection refused, reset or closed early.
    pub overloaded: bool,
    /// Not sent, for a reason a retry cannot change (a signature header
    /// too large to send): the delivery is not retried.
    pub final_failure: bool,
}

impl Exchange {
    /// What this attempt tells the lane's adaptive limit: 2xx is healthy;
    /// 429, 502, 503, 504 and an overloaded receiver are back-pressure;
    /// any other answer or failure (a 404, a refused target) says nothing
    /// about load.
    pub fn signal(&self) -> Signal {
        match self.status {
            Some(429 | 502 | 503 | 504) => Signal::BackPressure,
            Some(s) if (200..300).contains(&s) => Signal::Healthy,
            Some(_) => Signal::Ignore,
            None if self.overloaded => Signal::BackPressure,
            None => Signal::Ignore,
        }
    }

    /// 2xx counts as delivered.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Where a webhook's requests go: its URL parsed and checked against the
/// SSRF policy once (per claim for deliveries), not once per attempt.
/// Literal IPs never pass through the resolver, so they are checked here;
/// the client connects to the checked address as it is.
pub struct Target {
    place: Result<Place, String>,
    /// Certificate-checking unless the webhook opted out (`verify_ssl`).
    client: DeliveryClient,
}

/// A checked URL as the client takes it: without its user and password,
/// which go as a `Basic` `Authorization` header.
struct Place {
    uri: hyper::Uri,
    basic_auth: Option<HeaderValue>,
}

impl Target {
    pub fn new(clients: &HttpClients, url: &str, verify_ssl: bool) -> Target {
        let place = url::Url::parse(url)
            .map_err(|e| format!("invalid URL: {e}"))
            .and_then(|u| clients.policy().check_literal(&u).map(|()| u))
            .and_then(|mut u| {
                let basic_auth = basic_auth(&u);
                // Neither part fails on an http(s) URL with a host.
                let _ = u.set_username("");
                let _ = u.set_password(None);
                let uri = u
                    .as_str()
                    .parse()
                    .map_err(|e| format!("invalid URL: {e}"))?;
                Ok(Place { uri, basic_auth })
            });
        Target {
            place,
            client: clients.for_delivery(verify_ssl).clone(),
        }
    }
}

/// `Authorization: Basic …` from a URL's user and password, if it has any.
fn basic_auth(url: &url::Url) -> Option<HeaderValue> {
    use base64::Engine;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let pair = format!(
        "{}:{}",
        decode(url.username()),
        url.password().map(decode).unwrap_or_default()
    );
    let token = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = HeaderValue::try_from(format!("Basic {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// POSTs `rendered` to `target` with hookrelay's headers, signed by `signer`
/// at the moment of sending (Standard Webhooks signatures cover the time).
pub async fn send(
    target: &Target,
    msg_id: &str,
    rendered: &Arc<Rendered>,
    signer: Option<&Signer>,
    trace: Option<Propagation>,
) -> Exchange {
    // Header names as history shows them, beside their values.
    let mut wire: Vec<(&'static str, String)> = Vec::with_capacity(6);
    wire.push((STANDARD_ID_HEADER, msg_id.to_string()));
    // With traces exported, the receiver continues the attempt's trace.
    if let Some(p) = trace {
        wire.push(("traceparent", p.traceparent));
        if let Some(state) = p.tracestate {
            wire.push(("tracestate", state));
        }
    }
    let mut too_large = None;
    if let Some(signer) = signer {
        let timestamp = chrono::Utc::now().timestamp();
        match signer.headers(msg_id, timestamp, rendered.signing_input()) {
            Ok(signatures) => wire.extend(signatures),
            Err(e) => {
                // History shows what was not sent, not a megabyte of base64.
                wire.push((e.name, format!("[not sent: {} bytes]", e.bytes)));
                too_large = Some(e);
            }
        }
    }
    // History keeps signatures (they prove nothing without the secret).
    let logged = [
        ("Content-Type", rendered.content_type),
        ("User-Agent", USER_AGENT),
    ]
    .into_iter()
    .chain(wire.iter().map(|(n, v)| (*n, v.as_str())));
    let sent_at = time::now();
    let started = Instant::now();
    let mut exchange = Exchange {
        sent_at,
        request_headers: headers_json(logged),
        status: None,
        response_headers: "{}".into(),
        response_body: String::new(),
        truncated: false,
        duration: Duration::ZERO,
        error: None,
        retry_after: None,
        overloaded: false,
        final_failure: false,
    };
    if let Some(e) = too_large {
        exchange.error = Some(e.to_string());
        exchange.final_failure = true;
        return exchange;
    }
    let place = match &target.place {
        Ok(p) => p,
        Err(why) => {
            exchange.error = Some(why.clone());
            return exchange;
        }
    };
    let mut headers = HeaderMap::with_capacity(wire.len() + 3);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(rendered.content_type),
    );
    headers.insert(
        reqwest::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    for (name, value) in wire {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::try_from(value),
        ) {
            (Ok(n), Ok(v)) => {
                headers.insert(n, v);
            }
            _ => {
                exchange.error = Some(format!("header {name} cannot be sent"));
                exchange.final_failure = true;
                return exchange;
            }
        }
    }
    // Sent, never written to history.
    if let Some(auth) = &place.basic_auth {
        headers.insert(AUTHORIZATION, auth.clone());
    }
    // The body is the event's rendering, shared with every other request
    // for it: no copy per request.
    let body = Bytes::from_owner(SharedBody(rendered.clone()));
    match target.client.post(place.uri.clone(), headers, body).await {
        Ok(answer) => {
            exchange.status = Some(answer.status);
            if matches!(answer.status, 429 | 503) {
                exchange.retry_after = answer
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
            }
            exchange.response_headers = response_headers_json(&answer.headers);
            exchange.response_body = answer.body;
            exchange.truncated = answer.truncated;
            exchange.error = answer.body_error;
        }
        Err(failed) => {
            exchange.overloaded = failed.overloaded;
            exchange.error = Some(failed.message);
        }
    }
    exchange.duration = started.elapsed();
    exchange
}

/// A rendered body lent to the HTTP client without copying it.
struct SharedBody(Arc<Rendered>);

impl AsRef<[u8]> for SharedBody {
    fn as_ref(&self) -> &[u8] {
        self.0.body.as_bytes()
    }
}

/// Headers as history stores them: a JSON object in the order given,
/// credentials redacted.
fn headers_json<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    use serde::ser::{SerializeMap, Serializer};
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::new(&mut out);
    let mut map = ser.serialize_map(None).expect("writes to a Vec");
    for (name, value) in pairs {
        let value = if is_credential_header(name) {
            REDACTED
        } else {
            value
        };
        map.serialize_entry(name, value).expect("writes to a Vec");
    }
    map.end().expect("writes to a Vec");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// An answer's headers for history: one entry per name (a repeated name's
/// values joined by ", "; hyper yields them one after another).
fn response_headers_json(headers: &HeaderMap) -> String {
    let mut joined: Vec<(&str, std::borrow::Cow<'_, str>)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes());
        match joined.last_mut() {
            Some((last, prev)) if *last == name.as_str() => {
                let prev = prev.to_mut();
                prev.push_str(", ");
                prev.push_str(&v);
            }
            _ => joined.push((name.as_str(), v)),
        }
    }
    headers_json(joined.iter().map(|(n, v)| (*n, v.as_ref())))
}

/// What history shows instead of a credential.
pub const REDACTED: &str = "[redacted]";

/// Headers whose values are credentials, kept out of history.
pub fn is_credential_header(name: &str) -> bool {
    [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// `Retry-After`: delta-seconds or an HTTP date (a date in the past: none).
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    when.duration_since(std::time::SystemTime::now()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        let later =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(600));
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(590) && d <= Duration::from_secs(600),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
