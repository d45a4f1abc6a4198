//! HrFlow-compatible signing: the exact bytes receivers recompute.
//!
//! HrFlow's receiver samples verify `HTTP-HRFLOW-SIGNATURE` as the lowercase
//! hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, over
//! `json.dumps(obj, separators=(',', ':'))`: compact JSON in which every
//! non-ASCII character is written as `\uXXXX` (Python's default
//! `ensure_ascii`). For form bodies `obj` is the parsed form (first value of
//! each field, body order); for JSON bodies it is the raw body, which we
//! write in that same encoding. `tests/fixtures/hrflow-signatures.json` pins
//! both byte for byte. The signed-request forms of the same header (the
//! official SDK's and the PHP sample's) are in `signed_request`.

pub mod signed_request;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// Name of the signature header, as the HrFlow docs spell it.
pub const HRFLOW_HEADER: &str = "HTTP-HRFLOW-SIGNATURE";

/// Lowercase hex HMAC-SHA256 of `message` keyed with `secret`.
pub fn hrflow_signature(secret: &str, message: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time check of a received HrFlow signature over `message`.
pub fn verify_hrflow(secret: &str, message: &[u8], signature: &str) -> bool {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(message);
    match hex::decode(signature.trim()) {
        Ok(sig) => mac.verify_slice(&sig).is_ok(),
        Err(_) => false,
    }
}

/// Standard Webhooks (standard-webhooks.com) header names.
pub const STANDARD_ID_HEADER: &str = "Webhook-Id";
pub const STANDARD_TIMESTAMP_HEADER: &str = "Webhook-Timestamp";
pub const STANDARD_SIGNATURE_HEADER: &str = "Webhook-Signature";

/// The HMAC key Standard Webhooks derives from a secret: the base64 after
/// `whsec_`. A secret in another form is used as raw bytes, as some
/// libraries do.
pub fn standard_key(secret: &str) -> Vec<u8> {
    use base64::Engine as _;
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap_or_else(|_| secret.as_bytes().to_vec())
}

/// `v1,<base64 HMAC-SHA256 over "id.timestamp.body">`.
pub fn standard_signature(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine as _;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

crate::text_enum::text_enum! {
    /// Which signature headers a webhook's requests carry.
    Scheme {
        /// `HTTP-HRFLOW-SIGNATURE` only, as a hex digest.
        Hrflow = "hrflow",
        /// `webhook-id`, `webhook-timestamp`, `webhook-signature` only.
        Standard = "standard",
        /// Both sets (the default).
        Both = "both",
        /// `HTTP-HRFLOW-SIGNATURE` as the official HrFlow SDK reads it: a
        /// signed request carrying the event.
        HrflowSdk = "hrflow_sdk",
        /// `HTTP-HRFLOW-SIGNATURE` as the HrFlow docs' PHP
        /// `parse_signed_request` reads it: a signed request carrying the event.
        SignedRequest = "signed_request",
    }
}

impl Scheme {
    /// Whether the Standard Webhooks headers are sent.
    pub fn standard(self) -> bool {
        matches!(self, Scheme::Standard | Scheme::Both)
    }

    /// Whether every signature is keyed with the secret's bytes as they are
    /// (HrFlow's way): such schemes also take a secret HrFlow issued
    /// (`wsk_…`), which Standard Webhooks cannot use.
    pub fn hrflow_only(self) -> bool {
        !self.standard()
    }

    /// The signed-request form its `HTTP-HRFLOW-SIGNATURE` takes, if any.
    fn signed_request(self) -> Option<signed_request::Form> {
        match self {
            Scheme::HrflowSdk => Some(signed_request::Form::Sdk),
            Scheme::SignedRequest => Some(signed_request::Form::Php),
            _ => None,
        }
    }
}

/// What the signatures of one request cover.
#[derive(Debug, Clone, Copy)]
pub struct SigningInput<'a> {
    /// The body as sent (Standard Webhooks).
    pub body: &'a str,
    /// What the hex `HTTP-HRFLOW-SIGNATURE` covers: the body, or for forms
    /// the fields re-encoded as the receiver recomputes them.
    pub hrflow: &'a str,
    /// The event as compact, ASCII-escaped JSON (a JSON webhook's body):
    /// what a signed request carries.
    pub json: &'a str,
}

/// Most bytes of one header line (name, `: `, value) hookrelay sends.
/// Common servers refuse more (nginx's and Apache's defaults are 8 KiB);
/// only a signed request, which carries the event, can come near it.
pub const MAX_HEADER_LINE: usize = 8 * 1024;

/// A header too large to send: the attempt fails instead (not retried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTooLarge {
    pub name: &'static str,
    /// The whole line: name, `: ` and value.
    pub bytes: usize,
}

impl std::fmt::Display for HeaderTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "header_too_large: the {} header would be {} bytes, over the {} bytes (8 KiB) that common servers accept in one header; \
             a signed request carries the whole event in it: sign this webhook with `hrflow` (a 64-digit digest) or publish smaller events",
            self.name, self.bytes, MAX_HEADER_LINE
        )
    }
}

/// The secrets one request is signed with. During a rotation's grace period
/// `previous` is set: HrFlow carries one signature (the new secret's), while
/// Standard Webhooks lists both, space-separated, as its spec allows.
pub struct Signer {
    scheme: Scheme,
    current: String,
    previous: Option<String>,
}

impl Signer {
    pub fn new(scheme: Scheme, current: String, previous: Option<String>) -> Signer {
        Signer {
            scheme,
            current,
            previous,
        }
    }

    /// Signature headers for a request, or the header that would be too
    /// large to send (checked before it is built).
    pub fn headers(
        &self,
        msg_id: &str,
        timestamp: i64,
        input: SigningInput<'_>,
    ) -> Result<Vec<(&'static str, String)>, HeaderTooLarge> {
        let mut out = Vec::with_capacity(3);
        match self.scheme.signed_request() {
            Some(form) => {
                let bytes =
                    HRFLOW_HEADER.len() + 2 + signed_request::value_len(form, input.json.len());
                if bytes > MAX_HEADER_LINE {
                    return Err(HeaderTooLarge {
                        name: HRFLOW_HEADER,
                        bytes,
                    });
                }
                out.push((
                    HRFLOW_HEADER,
                    signed_request::sign(form, &self.current, input.json.as_bytes()),
                ));
            }
            None if self.scheme != Scheme::Standard => out.push((
                HRFLOW_HEADER,
                hrflow_signature(&self.current, input.hrflow.as_bytes()),
            )),
            None => {}
        }
        if self.scheme.standard() {
            let body = input.body.as_bytes();
            let mut sigs =
                standard_signature(&standard_key(&self.current), msg_id, timestamp, body);
            if let Some(prev) = &self.previous {
                sigs.push(' ');
                sigs.push_str(&standard_signature(
                    &standard_key(prev),
                    msg_id,
                    timestamp,
                    body,
                ));
            }
            out.push((STANDARD_TIMESTAMP_HEADER, timestamp.to_string()));
            out.push((STANDARD_SIGNATURE_HEADER, sigs));
        }
        Ok(out)
    }
}

// No Debug derive: a signer holds secrets in clear.
impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme)
            .field("rotating", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

/// Compact JSON as Python's `json.dumps(v, separators=(',', ':'))` writes it.
pub fn ascii_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, AsciiFormatter);
    serde::Serialize::serialize(value, &mut ser).expect("serializing a Value cannot fail");
    String::from_utf8(out).expect("ASCII output")
}

/// The entity field of an event: its type's first segment (`profile` for
/// `profile.parsing.success`), empty when it has no type.
pub fn entity_field(event: &Map<String, Value>) -> String {
    event
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| t.split('.').next())
        .unwrap_or_default()
        .to_string()
}

/// The form fields of an HrFlow event in wire order: `type`, `origin`,
/// `message`, then the entity field as compact (UTF-8) JSON text. Empty
/// fields are left out, as a receiver's `parse_qs` would drop them anyway.
pub fn form_fields(event: &Map<String, Value>, entity: &str) -> Vec<(String, String)> {
    let mut fields = Vec::with_capacity(4);
    for key in ["type", "origin", "message"] {
        if let Some(text) = event.get(key).and_then(scalar_text) {
            if !text.is_empty() {
                fields.push((key.to_string(), text));
            }
        }
    }
    if let Some(obj) = event.get(entity) {
        fields.push((
            entity.to_string(),
            serde_json::to_string(obj).expect("Value serializes"),
        ));
    }
    fields
}

/// `application/x-www-form-urlencoded` body, encoded like Python's `quote_plus`.
pub fn form_body(fields: &[(String, String)]) -> String {
    let mut body = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            body.push('&');
        }
        quote_plus_into(k, &mut body);
        body.push('=');
        quote_plus_into(v, &mut body);
    }
    body
}

/// What a form receiver recomputes and signs: the fields as an ASCII JSON object.
pub fn form_signing_input(fields: &[(String, String)]) -> String {
    let obj: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    ascii_json(&Value::Object(obj))
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Percent-encodes like Python's `urllib.parse.quote_plus`: unreserved
/// `A-Z a-z 0-9 _ . - ~` stay, space becomes `+`, every other byte `%XX`.
fn quote_plus_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// serde_json formatter that escapes everything outside printable ASCII as
/// `\uXXXX` (UTF-16 units, lowercase hex), matching Python's `ensure_ascii`.
struct AsciiFormatter;

impl serde_json::ser::Formatter for AsciiFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if (' '..='~').contains(&ch) {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(w, "\\u{unit:04x}")?;
            }
            start = i + ch.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_python() {
        let v: Value =
            serde_json::from_str(r#"{"a":"Zoë 😀 \u007f\n/","b":[1,2.5,true,null]}"#).unwrap();
        assert_eq!(
            ascii_json(&v),
            r#"{"a":"Zo\u00eb \ud83d\ude00 \u007f\n/","b":[1,2.5,true,null]}"#
        );
    }

    #[test]
    fn quote_plus_matches_python() {
        let mut out = String::new();
        quote_plus_into("a b+c&d=e/f~g*h_i.j-k", &mut out);
        assert_eq!(out, "a+b%2Bc%26d%3De%2Ff~g%2Ah_i.j-k");
    }

    #[test]
    fn standard_signature_matches_the_spec_example() {
        // The example in the Standard Webhooks spec and its libraries' tests.
        let key = standard_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            standard_signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                body.as_bytes()
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verify_accepts_own_signature_only() {
        let sig = hrflow_signature("k", b"msg");
        assert!(verify_hrflow("k", b"msg", &sig));
        assert!(!verify_hrflow("k", b"msg2", &sig));
        assert!(!verify_hrflow("k", b"msg", "zz"));
    }
}
