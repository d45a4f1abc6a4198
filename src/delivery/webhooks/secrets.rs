//! The rules of signing secrets: the generated form, the forms a caller may
//! bring (and with which schemes), and which schemes a stored secret allows.

use crate::db::webhooks::Scheme;
use crate::error::{Error, Result};

/// A fresh signing secret: `whsec_` + 32 random bytes, base64 (Standard Webhooks style).
pub fn new_secret() -> String {
    use base64::Engine as _;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
    )
}

/// Whether `secret` is `whsec_` + base64 of 24 to 64 bytes: the form of
/// generated secrets, usable by Standard Webhooks libraries too.
fn is_whsec(secret: &str) -> bool {
    use base64::Engine as _;
    secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .is_some_and(|bytes| (24..=64).contains(&bytes.len()))
}

/// Lengths of a secret HrFlow.ai issued (e.g. `wsk_…`), in characters.
pub const HRFLOW_SECRET_CHARS: std::ops::RangeInclusive<usize> = 16..=256;

/// Whether `secret` has the form of a secret HrFlow.ai issued: 16 to 256
/// visible ASCII characters (no spaces). HrFlow receivers key the HMAC with
/// the secret's bytes as they are, so any such string works for them.
fn is_hrflow_secret(secret: &str) -> bool {
    HRFLOW_SECRET_CHARS.contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic())
}

/// A caller's own secret. `whsec_` + base64 of 24 to 64 bytes always (so
/// Standard Webhooks libraries can use it as well as HrFlow receivers); for
/// a webhook signing only the HrFlow way (`hrflow`, `hrflow_sdk`,
/// `signed_request`) also a secret HrFlow issued, so receivers migrating
/// from HrFlow keep theirs.
pub fn check_secret(secret: &str, scheme: Scheme) -> Result<String> {
    let hrflow_only = scheme.hrflow_only();
    if is_whsec(secret) || (hrflow_only && is_hrflow_secret(secret)) {
        return Ok(secret.to_string());
    }
    let message = if hrflow_only {
        "secret must be `whsec_` followed by 24 to 64 random bytes in base64, or a secret HrFlow.ai issued: 16 to 256 visible ASCII characters (leave it out to have one generated)"
    } else {
        "secret must be `whsec_` followed by 24 to 64 random bytes in base64 (leave it out to have one generated); a secret HrFlow.ai issued is accepted only with signature_scheme `hrflow`, `hrflow_sdk` or `signed_request`"
    };
    Err(Error::field("secret", message))
}

/// A webhook whose secret is not in `whsec_` form (one HrFlow issued) must
/// keep a scheme that signs only the HrFlow way: Standard Webhooks
/// signatures need `whsec_`.
pub fn check_scheme_fits_secret(scheme: Scheme, secrets: &[&str]) -> Result<()> {
    if scheme.hrflow_only() || secrets.iter().all(|s| is_whsec(s)) {
        return Ok(());
    }
    Err(Error::field(
        "signature_scheme",
        format!("this webhook signs with a secret HrFlow.ai issued, which only the `hrflow`, `hrflow_sdk` and `signed_request` schemes use; rotate to a `whsec_` secret (POST /v1/webhooks/{{id}}/rotate-secret) before choosing '{scheme}'"),
    ))
}
