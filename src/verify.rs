//! Signature verification for receivers written in Rust (and for
//! `hookrelay verify`, the receiver's debugging tool).
//!
//! ```
//! use hookrelay::verify::{self, BodyFormat};
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let body = br#"{"type":"profile.parsing.success"}"#;
//! let sig = hookrelay::signing::hrflow_signature(secret, body);
//! assert!(verify::hrflow(secret, body, &sig, BodyFormat::Auto).is_ok());
//! ```

use std::time::Duration;

use serde_json::{Map, Value};

pub use crate::signing::signed_request::Form as SignedRequestForm;
use crate::signing::signed_request::{self, Refused};
use crate::signing::{self, ascii_json};

/// How the HrFlow signature input is derived from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/x-www-form-urlencoded`: the fields, re-encoded as JSON.
    Form,
    /// JSON: the raw body.
    Json,
    /// JSON if the body is a JSON value, form otherwise.
    Auto,
}

/// Why a signature was refused. The message says what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("signature does not match: check the secret, and that the body is byte for byte what was received")]
    Mismatch,
    #[error("signature is not in the expected form: {0}")]
    Malformed(String),
    #[error("webhook-timestamp {timestamp} is {age_secs} s away from now, beyond the tolerance of {tolerance_secs} s (replayed, or a clock is wrong)")]
    Stale {
        timestamp: i64,
        age_secs: i64,
        tolerance_secs: u64,
    },
}

/// Checks an `HTTP-HRFLOW-SIGNATURE` value over a received body.
pub fn hrflow(
    secret: &str,
    body: &[u8],
    signature: &str,
    format: BodyFormat,
) -> Result<(), VerifyError> {
    let signature = signature.trim();
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(VerifyError::Malformed(
            "HTTP-HRFLOW-SIGNATURE is 64 hex digits".into(),
        ));
    }
    let format = match format {
        BodyFormat::Auto if serde_json::from_slice::<Value>(body).is_ok() => BodyFormat::Json,
        BodyFormat::Auto => BodyFormat::Form,
        f => f,
    };
    let input = match format {
        BodyFormat::Form => form_input(body)?.into_bytes(),
        _ => body.to_vec(),
    };
    if signing::verify_hrflow(secret, &input, signature) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// Checks a signed-request `HTTP-HRFLOW-SIGNATURE` (schemes `hrflow_sdk`
/// and `signed_request`) and returns the payload it carries: the event as
/// JSON bytes, which a receiver may use instead of the body.
pub fn signed_request(
    secret: &str,
    value: &str,
    form: SignedRequestForm,
) -> Result<Vec<u8>, VerifyError> {
    match signed_request::open(form, secret, value) {
        Ok(payload) => Ok(payload),
        Err(Refused::Mismatch) => Err(VerifyError::Mismatch),
        Err(Refused::Malformed(why)) => Err(VerifyError::Malformed(why)),
    }
}

/// Whether a received body carries the event a signed request's payload
/// holds: a JSON body is those bytes; a form body has the fields hookrelay
/// renders from that event.
pub fn payload_matches_body(payload: &[u8], body: &[u8]) -> bool {
    if payload == body {
        return true;
    }
    let Ok(Value::Object(event)) = serde_json::from_slice::<Value>(payload) else {
        return false;
    };
    let entity = signing::entity_field(&event);
    let expected = signing::form_body(&signing::form_fields(&event, &entity));
    expected.as_bytes() == body
}

/// What an HrFlow form receiver signs: `json.dumps({k: v[0] for k, v in
/// parse_qs(body).items()}, separators=(',', ':'))`.
fn form_input(body: &[u8]) -> Result<String, VerifyError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| VerifyError::Malformed(format!("body is not a form: {e}")))?;
    let mut fields = Map::new();
    for (k, v) in pairs {
        // parse_qs drops blank values and keeps the first of repeated keys.
        if !v.is_empty() && !fields.contains_key(&k) {
            fields.insert(k, Value::String(v));
        }
    }
    Ok(ascii_json(&Value::Object(fields)))
}

/// The three Standard Webhooks headers of a request.
pub struct StandardHeaders<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

/// Checks Standard Webhooks headers: any `v1,` signature in the
/// space-separated list may match (one per secret during a rotation), and
/// the timestamp must be within `tolerance` of `now` (unix seconds).
pub fn standard(
    secret: &str,
    body: &[u8],
    headers: &StandardHeaders<'_>,
    tolerance: Duration,
    now: i64,
) -> Result<(), VerifyError> {
    let timestamp: i64 = headers.timestamp.trim().parse().map_err(|_| {
        VerifyError::Malformed(format!(
            "webhook-timestamp '{}' is not unix seconds",
            headers.timestamp
        ))
    })?;
    // abs_diff: `now - timestamp` overflows (a panic in debug builds) for
    // timestamps near i64::MIN/MAX, which anyone can put in the header.
    let age = now.abs_diff(timestamp);
    if age > tolerance.as_secs() {
        return Err(VerifyError::Stale {
            timestamp,
            age_secs: i64::try_from(age).unwrap_or(i64::MAX),
            tolerance_secs: tolerance.as_secs(),
        });
    }
    let expected =
        signing::standard_signature(&signing::standard_key(secret), headers.id, timestamp, body);
    let expected = expected.as_bytes();
    let mut seen_v1 = false;
    for candidate in headers.signature.split_whitespace() {
        if candidate.starts_with("v1,") {
            seen_v1 = true;
            if bool::from(subtle::ConstantTimeEq::ct_eq(
                candidate.as_bytes(),
                expected,
            )) {
                return Ok(());
            }
        }
    }
    if seen_v1 {
        Err(VerifyError::Mismatch)
    } else {
        Err(VerifyError::Malformed(
            "webhook-signature holds no `v1,<base64>` signature".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn hrflow_form_and_json() {
        let form = b"type=profile.parsing.success&origin=api&message=&profile=%7B%22key%22%3A%22%C3%A9%22%7D";
        let input =
            r#"{"type":"profile.parsing.success","origin":"api","profile":"{\"key\":\"\u00e9\"}"}"#;
        let sig = signing::hrflow_signature(SECRET, input.as_bytes());
        assert_eq!(hrflow(SECRET, form, &sig, BodyFormat::Auto), Ok(()));
        assert_eq!(
            hrflow("other", form, &sig, BodyFormat::Form),
            Err(VerifyError::Mismatch)
        );
        let json = br#"{"a":1}"#;
        let sig = signing::hrflow_signature(SECRET, json);
        assert_eq!(hrflow(SECRET, json, &sig, BodyFormat::Json), Ok(()));
        assert!(matches!(
            hrflow(SECRET, json, "nothex", BodyFormat::Json),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn signed_requests_open_and_match_their_body() {
        let event = br#"{"type":"profile.parsing.success","origin":"api","message":"ok","profile":{"key":"k"}}"#;
        for form in [SignedRequestForm::Sdk, SignedRequestForm::Php] {
            let value = signed_request::sign(form, SECRET, event);
            let payload = signed_request(SECRET, &value, form).unwrap();
            assert!(payload_matches_body(&payload, event));
            let form_body = b"type=profile.parsing.success&origin=api&message=ok&profile=%7B%22key%22%3A%22k%22%7D";
            assert!(payload_matches_body(&payload, form_body));
            assert!(!payload_matches_body(
                &payload,
                b"type=profile.parsing.success"
            ));
            assert_eq!(
                signed_request("other", &value, form),
                Err(VerifyError::Mismatch)
            );
        }
    }

    #[test]
    fn standard_accepts_any_listed_signature_within_tolerance() {
        let body = br#"{"test": 2432232314}"#;
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let h = |sig: &'static str| StandardHeaders {
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: "1614265330",
            signature: sig,
        };
        let tol = Duration::from_secs(300);
        let both = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(standard(SECRET, body, &h(good), tol, 1614265330), Ok(()));
        assert_eq!(standard(SECRET, body, &h(both), tol, 1614265400), Ok(()));
        assert!(matches!(
            standard(SECRET, body, &h(good), tol, 1614265330 + 301),
            Err(VerifyError::Stale { .. })
        ));
        assert_eq!(
            standard(SECRET, b"{}", &h(good), tol, 1614265330),
            Err(VerifyError::Mismatch)
        );
        assert!(matches!(
            standard(SECRET, body, &h("v2,abc"), tol, 1614265330),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn standard_extreme_timestamps_are_stale_not_a_panic() {
        let tol = Duration::from_secs(300);
        for (ts, now) in [
            (i64::MIN, i64::MAX),
            (i64::MAX, i64::MIN),
            (i64::MIN, 1_614_265_330),
            (i64::MAX, 1_614_265_330),
            (i64::MIN + 1, 0),
        ] {
            let ts = ts.to_string();
            let h = StandardHeaders {
                id: "msg_1",
                timestamp: &ts,
                signature: "v1,AAAA",
            };
            assert!(
                matches!(
                    standard(SECRET, b"{}", &h, tol, now),
                    Err(VerifyError::Stale { .. })
                ),
                "{ts} at {now}"
            );
        }
    }
}
