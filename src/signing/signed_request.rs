//! HrFlow's *signed request* form of `HTTP-HRFLOW-SIGNATURE`:
//! `<signature>.<payload>`, both parts padded base64url, the payload being
//! the event as compact, ASCII-escaped JSON (`P`). Two real clients read it,
//! and they differ in what the first part holds, so each has its scheme:
//!
//! - `hrflow_sdk` (the official Python SDK, `Hrflow(webhook_secret=…)
//!   .webhooks.handle(…)`): `B(hex(HMAC(secret, P))) "." B(P)`. The SDK
//!   decodes the payload as ASCII with a decoder that needs the padding,
//!   and compares the *hex* digest over the decoded JSON.
//! - `signed_request` (the PHP `parse_signed_request` sample of the HrFlow
//!   docs): `B(HMAC(secret, E)) "." E` with `E = B(P)`: the *raw* digest
//!   over the still-encoded payload.
//!
//! The HMAC key is the secret's UTF-8 bytes, as for the hex `hrflow` form.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Which of the two signed-request forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// First part: base64url of the hex digest over the decoded payload.
    Sdk,
    /// First part: base64url of the raw digest over the encoded payload.
    Php,
}

fn mac(secret: &str, message: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(message);
    mac
}

/// Padded base64url, the encoding both clients decode.
fn b64(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

/// Length of padded base64 for `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Length of the header value for a payload of `n` bytes, computed without
/// building it (a value too large to send is never built).
pub const fn value_len(form: Form, n: usize) -> usize {
    let signature = match form {
        // 64 hex digits, encoded.
        Form::Sdk => encoded_len(64),
        // 32 raw bytes, encoded.
        Form::Php => encoded_len(32),
    };
    signature + 1 + encoded_len(n)
}

/// The header value for `payload` (the event's compact, ASCII-escaped JSON).
pub fn sign(form: Form, secret: &str, payload: &[u8]) -> String {
    let encoded = b64(payload);
    let signature = match form {
        Form::Sdk => b64(hex::encode(mac(secret, payload).finalize().into_bytes()).as_bytes()),
        Form::Php => b64(&mac(secret, encoded.as_bytes()).finalize().into_bytes()),
    };
    let mut value = String::with_capacity(signature.len() + 1 + encoded.len());
    value.push_str(&signature);
    value.push('.');
    value.push_str(&encoded);
    value
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not `<base64url>.<base64url>`; the text says what is wrong.
    Malformed(String),
    /// Well-formed, but the signature is not this secret's.
    Mismatch,
}

/// Checks a signed request of `form` with `secret`; the decoded payload
/// when it verifies. Padding is optional here (receivers differ), and
/// both base64 alphabets are read.
pub fn open(form: Form, secret: &str, value: &str) -> Result<Vec<u8>, Refused> {
    let value = value.trim();
    let Some((signature, encoded)) = value.split_once('.') else {
        return Err(Refused::Malformed(
            "a signed request is `<signature>.<payload>`, two base64url parts joined by a dot"
                .into(),
        ));
    };
    let signature = decode(signature)
        .ok_or_else(|| Refused::Malformed("the part before the dot is not base64url".into()))?;
    let payload = decode(encoded)
        .ok_or_else(|| Refused::Malformed("the part after the dot is not base64url".into()))?;
    let ok = match form {
        Form::Sdk => {
            let hex_digest = std::str::from_utf8(&signature)
                .ok()
                .and_then(|s| hex::decode(s).ok())
                .ok_or_else(|| {
                    Refused::Malformed(
                        "the signature part does not decode to hex digits (is this a `signed_request` value? its signature is the raw digest)"
                            .into(),
                    )
                })?;
            mac(secret, &payload).verify_slice(&hex_digest).is_ok()
        }
        Form::Php => mac(secret, encoded.as_bytes())
            .verify_slice(&signature)
            .is_ok(),
    };
    if ok {
        Ok(payload)
    } else {
        Err(Refused::Mismatch)
    }
}

/// base64url or standard base64, padded or not.
fn decode(text: &str) -> Option<Vec<u8>> {
    let unified: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(unified).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_known_before_signing() {
        for n in [0, 1, 2, 3, 4, 5, 100, 8000] {
            let payload = vec![b'a'; n];
            for form in [Form::Sdk, Form::Php] {
                assert_eq!(sign(form, "k", &payload).len(), value_len(form, n), "{n}");
            }
        }
    }

    #[test]
    fn each_form_opens_its_own_and_refuses_the_other() {
        let p = br#"{"type":"profile.parsing.success"}"#;
        for (form, other) in [(Form::Sdk, Form::Php), (Form::Php, Form::Sdk)] {
            let v = sign(form, "secret", p);
            assert_eq!(open(form, "secret", &v), Ok(p.to_vec()));
            assert_eq!(open(form, "wrong", &v), Err(Refused::Mismatch));
            assert!(open(other, "secret", &v).is_err());
        }
    }

    #[test]
    fn tampered_and_malformed_values_are_refused() {
        let v = sign(Form::Php, "s", b"{\"a\":1}");
        let (sig, _) = v.split_once('.').unwrap();
        let forged = format!("{sig}.{}", URL_SAFE.encode(b"{\"a\":2}"));
        assert_eq!(open(Form::Php, "s", &forged), Err(Refused::Mismatch));
        assert!(matches!(
            open(Form::Php, "s", "no-dot-here"),
            Err(Refused::Malformed(_))
        ));
        assert!(matches!(
            open(Form::Sdk, "s", "!!.??"),
            Err(Refused::Malformed(_))
        ));
    }
}
